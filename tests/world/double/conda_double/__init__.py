# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""conda_double: a stand-in for the ``conda`` CLI (26.7 behaviour): TEST INFRASTRUCTURE ONLY.

It is laid down by ``tests/world/installer.py`` as ``PREFIX/bin/conda`` and
solves/links real conda packages with py-rattler (0.25.0, bundled by the
installer), writing ``conda-meta`` records, ``conda-meta/history`` and
``~/.conda/environments.txt`` the way conda does. Its JSON shapes, exit codes
and ``exception_name``s follow the transcripts in ``tests/world/reference``.
Nothing in ``plugins/`` or ``roles/`` knows about it.
"""
from __future__ import annotations

try:  # written by the installer
    from ._version import VERSION, DISTRIBUTION  # type: ignore
except ImportError:  # pragma: no cover - running from the source tree
    VERSION = "26.7.1"
    DISTRIBUTION = "Miniconda3"

__all__ = ["VERSION", "DISTRIBUTION"]
