"""``python -m windpitch_deploy dashboard ...`` (windpitch_deploy.dashboard), ``... layer ...`` (.layers)."""

import sys

from . import dashboard, layers

if __name__ == "__main__":
    if sys.argv[1:2] == ["layer"]:
        sys.exit(layers.main(sys.argv[2:]))
    sys.exit(dashboard.main())
