"""``python -m benchmarks.operator``: see :mod:`benchmarks.operator`."""

import sys

from benchmarks.operator.cli import main

sys.exit(main())
