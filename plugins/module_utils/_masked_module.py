# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The AnsibleModule every module of the collection uses: all it returns or logs passes ``_secrets.mask``.

Results of ``exit_json``/``fail_json`` (``msg``, ``cmd``, ``commands``, ``stdout``, ``stderr``,
``diff``, every value), the ``invocation`` (the options, with ``no_log`` ones shown as Ansible shows
them), warnings, the traceback of a failure and what is logged on the host (syslog or
journal, ``run_command``'s debug log) are masked by one rule. Modules need not mask anything
themselves.

Ansible also hides each ``no_log`` option's value wherever it occurs in the output, literally. A
short value would hide ordinary text (a one-character password masks that character in every
string), so values shorter than ``SHORTEST_LITERAL`` are left to the pattern rule, which finds
credentials by where they are written (URLs, proxies, ``/t/<token>``).
"""

from __future__ import annotations

import inspect
import sys
import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.condafleet.conda.plugins.module_utils._secrets import NO_LOG_PLACEHOLDER, mask

SHORTEST_LITERAL = 8


def traceback_gated_by_core():
    """True where ansible-core adds a failure's traceback only when its display is enabled (2.19 and later).

    Before 2.19, a traceback was only added at -vvv or with ANSIBLE_DEBUG. Asked at run time: while
    ``ansible-test sanity`` imports a module, ``AnsibleModule`` is a stand-in without ``fail_json``.
    """
    fail_json = getattr(AnsibleModule, "fail_json", None)
    return fail_json is not None and "exception" in inspect.signature(fail_json).parameters


def hide_no_log(params, spec):
    """``params`` with the value of every ``no_log`` option (suboptions too) replaced as Ansible shows it."""
    out = dict(params)
    for name, option in (spec or {}).items():
        value = out.get(name)
        if value is None:
            continue
        if option.get("no_log"):
            out[name] = NO_LOG_PLACEHOLDER
        elif option.get("options") and isinstance(value, dict):
            out[name] = hide_no_log(value, option["options"])
        elif option.get("options") and isinstance(value, list):
            out[name] = [hide_no_log(item, option["options"]) if isinstance(item, dict) else item for item in value]
    return out


class MaskedModule(AnsibleModule):
    """``AnsibleModule`` whose results, warnings and logs carry no credentials."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.no_log_values = set(value for value in self.no_log_values if len(str(value)) >= SHORTEST_LITERAL)

    def _invocation(self):
        return {"module_args": mask(hide_no_log(self.params, self.argument_spec))}

    def exit_json(self, **kwargs):
        kwargs.setdefault("invocation", self._invocation())
        super().exit_json(**mask(kwargs))

    def fail_json(self, msg, **kwargs):
        kwargs.setdefault("invocation", self._invocation())
        if "exception" not in kwargs and sys.exc_info()[1] is not None and (
                traceback_gated_by_core() or self._debug or self._verbosity >= 3):
            kwargs["exception"] = traceback.format_exc()  # masked below, instead of the raw one core would add
        super().fail_json(mask(str(msg)), **mask(kwargs))

    def warn(self, warning, *args, **kwargs):
        super().warn(mask(warning), *args, **kwargs)

    def log(self, msg, log_args=None):
        super().log(mask(msg), mask(log_args) if log_args else log_args)
