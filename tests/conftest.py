# SPDX-License-Identifier: GPL-3.0-or-later
"""Make this checkout importable as ``ansible_collections.condafleet.conda``.

scripts/bootstrap links the checkout into ``.cache/collections``; this file
re-creates the link when it is missing so that a plain ``pytest`` works too.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "condafleet", "conda")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.join("..", "..", "..", ".."), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


@pytest.fixture
def shared_dir():
    """Return ``make(mode)``: a directory outside pytest's 0700 tmp (which other users cannot reach), with ``mode``.

    For tests that act as another user (``nobody``); the directories are removed afterwards.
    """
    made = []

    def make(mode):
        path = tempfile.mkdtemp(prefix="condafleet-shared-")
        os.chmod(path, mode)
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)
