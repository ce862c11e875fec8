"""``python -m windpitch_deploy dashboard|layer|pin|settings ...``: see windpitch_deploy.dashboard, .layers, .built
and .settings_doc."""

import sys

from . import built, dashboard, layers, settings_doc

if __name__ == "__main__":
    command = sys.argv[1:2]
    if command == ["layer"]:
        sys.exit(layers.main(sys.argv[2:]))
    if command == ["pin"]:
        sys.exit(built.main(sys.argv[2:]))
    if command == ["settings"]:
        sys.exit(settings_doc.main(sys.argv[2:]))
    sys.exit(dashboard.main())
