# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""pytest glue for tests/world: TEST INFRASTRUCTURE ONLY. Puts tests/world on
sys.path and exposes the world fixtures (see fixtures.py)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from fixtures import (  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
    conda_base,
    conda_base_old,
    conda_home,
    miniforge_base,
    shared_pkgs_dir,
    world,
    world_server,
)
