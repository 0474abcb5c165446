# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""What the user asked for in an environment, read from its ``conda-meta/history``.
"""

from __future__ import annotations

import os
import re

from ansible_collections.condafleet.conda.plugins.module_utils._prefix import HISTORY

_HISTORY_SPECS_RE = re.compile(r"^#\s*(update|install|create|remove|neutered)\s+specs:\s*(.*)$")
_SPEC_NAME_RE = re.compile(r"^\s*(?:[^\s:]+::)?([A-Za-z0-9_][A-Za-z0-9_.\-]*)")


def _history_list(text):
    import ast
    text = text.strip()
    if text.startswith("["):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return []
        return [str(item) for item in value] if isinstance(value, (list, tuple)) else []
    return [part.strip() for part in text.split(",") if part.strip()]  # conda < 4.5


def history_spec_name(spec):
    match = _SPEC_NAME_RE.match(spec or "")
    return match.group(1).lower() if match else None


def read_history_specs(prefix, installed_names=None):
    """The specs the user asked for in ``prefix``, by package name, from ``conda-meta/history``.

    Follows conda's ``History.get_requested_specs_map()``: later ``update``
    specs overwrite earlier ones, ``remove`` specs drop the name. With
    ``installed_names`` only names still installed are kept.
    """
    specs = {}
    try:
        with open(os.path.join(prefix, HISTORY), "r", encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except OSError:
        return specs
    for line in lines:
        match = _HISTORY_SPECS_RE.match(line.strip())
        if not match:
            continue
        kind, items = match.group(1), _history_list(match.group(2))
        for spec in items:
            name = history_spec_name(spec)
            if not name:
                continue
            if kind == "remove":
                specs.pop(name, None)
            else:
                specs[name] = spec
    if installed_names is not None:
        installed = set(installed_names)
        specs = dict((k, v) for k, v in specs.items() if k in installed)
    return specs


def history_revision(prefix):
    """The number of the last revision of ``prefix`` (0 after create), or ``None`` without history."""
    try:
        with open(os.path.join(prefix, HISTORY), "r", encoding="utf-8", errors="replace") as handle:
            count = sum(1 for line in handle if line.startswith("==>") and line.rstrip().endswith("<=="))
    except OSError:
        return None
    return max(count - 1, 0)
