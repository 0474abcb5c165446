# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""``module_defaults: group/condafleet.conda.conda`` (meta/runtime.yml's action group) reaches every module."""
from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.world, pytest.mark.slow]


def _task(module, args, name, check=False):
    task = {"name": name, module: args, "register": name, "ignore_errors": True}
    if check:
        task["check_mode"] = True
    return task


def test_group_defaults_give_every_module_its_prefix(conda_base, tmp_path, ansible_playbook):
    results = tmp_path / "results.json"
    tasks = [
        _task("condafleet.conda.conda_env_info", {}, "info"),
        _task("condafleet.conda.conda_env", {"name": "base"}, "env"),
        _task("condafleet.conda.conda_config", {"settings": {"channel_priority": "strict"}}, "config", check=True),
        # installer_cache=controller: the action plugin itself reads the arguments (check mode: nothing is fetched
        # even if the default prefix were used)
        _task("condafleet.conda.conda_install", {"distribution": "miniforge", "installer_cache": "controller"},
              "install", check=True),
        {"name": "Save", "ansible.builtin.copy": {
            "content": "{{ {'info': info, 'env': env, 'config': config, 'install': install} | to_json }}",
            "dest": str(results), "mode": "0600"}},
    ]
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/condafleet.conda.conda": {"prefix": conda_base}}, "tasks": tasks}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(play))
    proc = ansible_playbook(["-i", "localhost,", "-c", "local", str(playbook)], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(results.read_text())
    for name in ("info", "env", "config", "install"):
        assert not got[name].get("failed"), (name, got[name])
    assert [env["prefix"] for env in got["info"]["environments"] if env["base"]] == [conda_base]
    assert got["env"]["prefix"] == conda_base and got["env"]["changed"] is False
    assert got["config"]["path"] == conda_base + "/.condarc"
    assert got["install"]["prefix"] == conda_base and got["install"]["changed"] is False
