"""``python -m windpitch``: see :mod:`windpitch.cli`."""

import sys

from .cli import main

sys.exit(main())
