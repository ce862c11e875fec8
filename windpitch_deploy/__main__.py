"""``python -m windpitch_deploy dashboard|layer|pin ...``: see windpitch_deploy.dashboard, .layers and .built."""

import sys

from . import built, dashboard, layers

if __name__ == "__main__":
    command = sys.argv[1:2]
    if command == ["layer"]:
        sys.exit(layers.main(sys.argv[2:]))
    if command == ["pin"]:
        sys.exit(built.main(sys.argv[2:]))
    sys.exit(dashboard.main())
