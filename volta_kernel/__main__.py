"""``python -m volta_kernel``."""

import sys

from volta_kernel import main

if __name__ == "__main__":
    sys.exit(main())
