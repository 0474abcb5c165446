# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the unit tests need from ansible-core, on every release meta/runtime.yml claims (2.17 and later).

ansible-core 2.19 gives tests ``ansible.module_utils.testing.patch_module_args`` and an
``is_controller`` switch; 2.17 and 2.18 read a module's arguments from ``basic._ANSIBLE_ARGS``
(JSON bytes) and always put module warnings in the result. ``scripts/core-matrix`` runs the
unit tests on each.
"""
from __future__ import annotations

import contextlib
import json
import types

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as common_warnings

__all__ = ("module_utils_internal", "no_warnings", "patch_module_args")

try:
    from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+
except ImportError:  # ansible-core 2.17, 2.18
    @contextlib.contextmanager
    def patch_module_args(args=None):
        """Make ``args`` the arguments the next ``AnsibleModule`` reads, as the module's stdin would."""
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": dict(args or {})}).encode("utf-8")
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

try:
    from ansible.module_utils import _internal as module_utils_internal
except ImportError:  # ansible-core 2.17
    module_utils_internal = None
if not hasattr(module_utils_internal, "is_controller"):
    # Before 2.19 a module's warnings always go to its result: the switch the tests turn off is a stand-in.
    module_utils_internal = types.SimpleNamespace(is_controller=False)


def no_warnings():
    """An empty store of the process-wide module warnings (a dict from 2.19, a list before)."""
    return type(common_warnings._global_warnings)()
