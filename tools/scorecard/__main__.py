"""``python -m tools.scorecard [--out DIR] [--budget tiny|full] [--run-benchmarks]``."""

import sys

from tools.scorecard.generate import main

sys.exit(main())
