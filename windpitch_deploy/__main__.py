"""``python -m windpitch_deploy dashboard --stack-name windpitch-dev``: see windpitch_deploy.dashboard."""

import sys

from .dashboard import main

if __name__ == "__main__":
    sys.exit(main())
