# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The environments of a conda installation, and the state of one, from disk.

``environments()`` finds every environment of an installation (base,
``envs/*`` and the ``~/.conda/environments.txt`` entries its conda made);
``environment_state()`` tells a complete environment from a half-made one
(on positive evidence only: this collection's create marker, or package
records conda wrote) and from anything else at a path.
"""

from __future__ import annotations

import json
import os

from ansible_collections.condafleet.conda.plugins.module_utils._prefix import (
    CONDA_META, HISTORY, is_conda_prefix, is_package_record, read_json_file)

#: Written by ``conda_env`` into the environment's directory before ``conda create`` runs and removed
#: once conda has created the environment: the positive evidence that a half-made
#: environment is one this collection started creating. It holds the base prefix whose
#: conda ran (JSON ``{"base": ...}``). It is at the top of the target, not in ``conda-meta/``: conda 25.x refuses to create into a directory that holds a
#: ``conda-meta`` ("prefix already exists"), and accepts one that holds other files
CREATE_MARKER = ".condafleet-create"


def environment_state(path):
    """Describe the environment at ``path`` from disk alone (for conda_env and conda_env_info).

    Returns a dict with ``state``:

    - ``absent``: nothing there, or an empty directory;
    - ``environment``: a complete environment (``conda-meta/history``, no create marker);
    - ``incomplete``: a half-made environment, on positive evidence only: this collection's
      create marker (:data:`CREATE_MARKER`), or package records conda wrote in
      ``conda-meta/`` (conda writes ``history`` last, so a create killed half-way leaves
      records without it);
    - ``foreign``: anything else (a file, a directory of other things, an empty
      ``conda-meta/`` beside user files): never an environment, never removed.

    and ``marker`` (the base prefix the marker names, or ``None``), ``records`` (how many
    package records), ``found`` (what is there, in words, for messages).
    """
    info = {"state": "absent", "marker": None, "records": 0, "found": "nothing"}
    if not os.path.lexists(path):
        return info
    if not os.path.isdir(path):
        info.update(state="foreign", found="a symlink to %s" % os.path.realpath(path) if os.path.islink(path) else "a file")
        return info
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        info.update(state="foreign", found="a directory that cannot be read (%s)" % exc.strerror)
        return info
    if not entries:
        info["found"] = "an empty directory"
        return info
    meta = os.path.join(path, CONDA_META)
    try:
        meta_entries = sorted(os.listdir(meta)) if os.path.isdir(meta) else []
    except OSError:
        meta_entries = []
    info["records"] = sum(1 for name in meta_entries if is_package_record(meta, name))
    if os.path.isfile(os.path.join(path, CREATE_MARKER)):
        marker = read_json_file(os.path.join(path, CREATE_MARKER))
        info["marker"] = str(marker.get("base") or "") if isinstance(marker, dict) else ""
    history = os.path.isfile(os.path.join(path, HISTORY))
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    if info["marker"] is not None or (info["records"] and not history):
        info["state"] = "incomplete"
        info["found"] = "a half-made environment (%s, %d package record%s, %s)" % (
            "a create this collection started" if info["marker"] is not None else "conda package records",
            info["records"], "" if info["records"] == 1 else "s",
            "conda-meta/history" if history else "no conda-meta/history")
    elif history:
        info["state"] = "environment"
        info["found"] = "a conda environment"
    else:
        info["state"] = "foreign"
        info["found"] = "%s, holding %d entr%s: %s" % (
            "a conda-meta directory without package records or history" if os.path.isdir(meta)
            else "a directory that conda did not write", len(entries), "y" if len(entries) == 1 else "ies", shown)
    return info


def write_create_marker(path, base_prefix):
    """Mark ``path`` as an environment this collection is creating (see :data:`CREATE_MARKER`)."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, CREATE_MARKER), "w", encoding="utf-8") as handle:
        json.dump({"base": os.path.normpath(base_prefix)}, handle)


def remove_create_marker(path):
    try:
        os.unlink(os.path.join(path, CREATE_MARKER))
    except FileNotFoundError:
        pass


def incomplete_environments(base_prefix):
    """The half-made environments in ``<base_prefix>/envs`` (see :func:`environment_state`), by prefix."""
    envs_dir = os.path.join(os.path.normpath(base_prefix), "envs")
    try:
        names = sorted(os.listdir(envs_dir))
    except OSError:
        return []
    return [os.path.join(envs_dir, name) for name in names
            if environment_state(os.path.join(envs_dir, name))["state"] == "incomplete"]


def _belongs_to(prefix, base_prefix):
    """Whether the environment at ``prefix`` was made by the conda of ``base_prefix``."""
    base = os.path.realpath(base_prefix).rstrip("/") + "/"
    if os.path.realpath(prefix).startswith(base):
        return True
    try:
        with open(os.path.join(prefix, HISTORY), "r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("# cmd:"):
                    return base in line or base_prefix.rstrip("/") + "/" in line
    except OSError:
        return False
    return False


def environments(base_prefix, home=None):
    """Every environment of the installation at ``base_prefix``, from disk.

    Base, ``envs/*`` with ``conda-meta/history``, and the entries of
    ``~/.conda/environments.txt`` that this installation's conda made. Each is
    ``{"name", "prefix", "base"}``; ``name`` is ``""`` for environments outside
    an ``envs`` directory (as conda shows them).
    """
    base_prefix = os.path.normpath(base_prefix)
    found = []
    seen = set()

    def add(path, name, is_base=False):
        real = os.path.realpath(path)
        if real in seen or not is_conda_prefix(path):
            return
        seen.add(real)
        found.append({"name": name, "prefix": os.path.normpath(path), "base": is_base})

    add(base_prefix, "base", True)
    envs_dir = os.path.join(base_prefix, "envs")
    try:
        for entry in sorted(os.listdir(envs_dir)):
            add(os.path.join(envs_dir, entry), entry)
    except OSError:
        pass
    home = home or os.path.expanduser("~")
    try:
        with open(os.path.join(home, ".conda", "environments.txt"), "r", encoding="utf-8") as handle:
            listed = [line.strip() for line in handle if line.strip()]
    except OSError:
        listed = []
    for path in listed:
        if os.path.isabs(path) and is_conda_prefix(path) and _belongs_to(path, base_prefix):
            parent = os.path.basename(os.path.dirname(os.path.normpath(path)))
            add(path, os.path.basename(os.path.normpath(path)) if parent == "envs" else "")
    return found


def all_environments(base_prefix):
    """The installation's environments (``complete``), then the half-made ones in its ``envs`` (``complete: false``)."""
    envs = [dict(env, complete=True) for env in environments(base_prefix)]
    envs += [{"name": os.path.basename(path), "prefix": path, "base": False, "complete": False}
             for path in incomplete_environments(base_prefix)]
    return envs


def resolve_target(base_prefix, name, path):
    """Where the environment O(name) or O(path) is, or would be created: ``(prefix, is_base)``.

    ``path`` as given; ``base`` is the installation; another name is the installation's
    environment of that name (:func:`environments`), else ``<base_prefix>/envs/<name>``.
    """
    base = os.path.normpath(base_prefix)
    if path:
        target = os.path.normpath(path)
    elif name == "base":
        target = base
    else:
        target = os.path.join(base, "envs", name)
        for env in environments(base):
            if env["name"] == name and not env["base"]:
                target = env["prefix"]
                break
    return target, os.path.realpath(target) == os.path.realpath(base)
