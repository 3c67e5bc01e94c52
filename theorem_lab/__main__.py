"""``python -m theorem_lab``: the same as the ``theorem-lab`` console script."""

import sys

from .cli import main

sys.exit(main())
