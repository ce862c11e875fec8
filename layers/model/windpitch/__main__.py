"""``python -m windpitch``: the command line, :mod:`windpitch_cli` (an adapter over this package).

The one import from the core to an adapter, allowed by name in the import contracts: this file is only
run as a program, never imported, and the Lambda layers leave it out.
"""

import sys

from windpitch_cli import main

sys.exit(main())
