# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""``python -m conda_double``: the conda double's entry point (TEST INFRASTRUCTURE ONLY)."""
import os
import sys

from conda_double.cli import main

rc = main()
try:
    sys.stdout.flush()
    sys.stderr.flush()
finally:
    # rattler's runtime threads can abort interpreter finalization; leave at once
    os._exit(rc if isinstance(rc, int) else 1)
