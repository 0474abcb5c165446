# SPDX-License-Identifier: GPL-3.0-or-later
"""Make this checkout importable as ``ansible_collections.condafleet.conda``.

scripts/bootstrap links the checkout into ``.cache/collections``; this file
re-creates the link when it is missing so that a plain ``pytest`` works too.
"""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "condafleet", "conda")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.join("..", "..", "..", ".."), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
