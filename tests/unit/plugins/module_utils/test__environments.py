# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_environments: the environments of an installation and the state of one, on real directories."""
from __future__ import annotations

import json

from ansible_collections.condafleet.conda.plugins.module_utils import _environments

from recordings import make_env


def test_environments_from_disk(tmp_path, monkeypatch):
    base = make_env(tmp_path / "conda", history="==> 2026 <==\n# cmd: x\n")
    make_env(base / "envs" / "vision")
    (base / "envs" / "not-an-env").mkdir()
    mine = make_env(tmp_path / "srv" / "e3", history="# cmd: %s/bin/conda create -p /srv/e3\n" % base)
    other = make_env(tmp_path / "other" / "e4", history="# cmd: /elsewhere/bin/conda create -p x\n")
    home = tmp_path / "home"
    (home / ".conda").mkdir(parents=True)
    (home / ".conda" / "environments.txt").write_text("%s\n%s\n%s\n/gone\n" % (base, mine, other))
    envs = _environments.environments(str(base), home=str(home))
    assert envs == [
        {"name": "base", "prefix": str(base), "base": True},
        {"name": "vision", "prefix": str(base / "envs" / "vision"), "base": False},
        {"name": "", "prefix": str(mine), "base": False},
    ]


def _record(meta, name, version, build):
    meta.mkdir(parents=True, exist_ok=True)
    (meta / ("%s-%s-%s.json" % (name, version, build))).write_text(
        json.dumps({"name": name, "version": version, "build": build, "files": []}))


def test_environment_state_needs_positive_evidence(tmp_path):
    assert _environments.environment_state(str(tmp_path / "none"))["state"] == "absent"
    (tmp_path / "empty").mkdir()
    assert _environments.environment_state(str(tmp_path / "empty"))["state"] == "absent"
    # records without history: a create killed half-way
    _record(tmp_path / "killed" / "conda-meta", "python", "3.11.9", "h0_0_cpython")
    killed = _environments.environment_state(str(tmp_path / "killed"))
    assert killed["state"] == "incomplete" and killed["records"] == 1 and killed["marker"] is None
    assert "no conda-meta/history" in killed["found"]
    # this collection's marker, even before conda wrote anything
    _environments.write_create_marker(str(tmp_path / "started"), "/opt/conda")
    started = _environments.environment_state(str(tmp_path / "started"))
    assert started["state"] == "incomplete" and started["marker"] == "/opt/conda"
    _environments.remove_create_marker(str(tmp_path / "started"))
    assert _environments.environment_state(str(tmp_path / "started"))["state"] == "absent"  # the empty directory it was
    # an empty conda-meta beside user files, or a .json that is not a record: not an environment
    user = tmp_path / "user"
    (user / "conda-meta").mkdir(parents=True)
    (user / "conda-meta" / "notes-1-2.json").write_text('{"name": "other"}')
    (user / "thesis.tex").write_text("x")
    found = _environments.environment_state(str(user))
    assert found["state"] == "foreign" and "thesis.tex" in found["found"]
    (tmp_path / "file").write_text("x")
    assert _environments.environment_state(str(tmp_path / "file"))["state"] == "foreign"
    env = make_env(tmp_path / "env")
    assert _environments.environment_state(str(env))["state"] == "environment"


def test_incomplete_environments_of_an_installation(tmp_path):
    base = make_env(tmp_path / "conda")
    _record(base / "envs" / "half" / "conda-meta", "python", "3.11.9", "h0_0_cpython")
    make_env(base / "envs" / "whole")
    (base / "envs" / "junk").mkdir()
    (base / "envs" / "junk" / "file").write_text("x")
    assert _environments.incomplete_environments(str(base)) == [str(base / "envs" / "half")]


def test_resolve_target_is_where_conda_env_works_and_conda_env_info_looks(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    base = make_env(tmp_path / "conda", history="# cmd: x\n")
    make_env(base / "envs" / "vision")
    resolve = _environments.resolve_target
    assert resolve(str(base) + "/", "base", None) == (str(base), True)
    assert resolve(str(base), "vision", None) == (str(base / "envs" / "vision"), False)
    assert resolve(str(base), "new", None) == (str(base / "envs" / "new"), False)  # where a create puts it
    assert resolve(str(base), None, str(tmp_path / "srv" / ".." / "e1")) == (str(tmp_path / "e1"), False)
    assert resolve(str(base), None, str(base)) == (str(base), True)
