# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Each module run in these tests stands for one module process on a managed node."""
from __future__ import annotations

import pytest

from ansible.module_utils.common import warnings as common_warnings
from core_compat import module_utils_internal, no_warnings


@pytest.fixture(autouse=True)
def module_process(monkeypatch):
    # Importing controller code (ansible.errors, the filter plugin, the action plugin) flips
    # is_controller, which sends module warnings to the display instead of the result; a module
    # runs on a target. Warnings are collected process-wide: every test starts with none.
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    monkeypatch.setattr(common_warnings, "_global_warnings", no_warnings(), raising=False)
