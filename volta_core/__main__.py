"""``python -m volta_core``: the same program as the ``volta`` console script."""

import sys

from volta_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
