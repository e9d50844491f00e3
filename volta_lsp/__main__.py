"""``python -m volta_lsp``."""

import sys

from volta_lsp import main

if __name__ == "__main__":
    sys.exit(main())
