# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/bootstrap_cloud.yml as ansible-pull runs it on a fresh VM: against localhost.

The VM here is this machine, with the installation in a temporary prefix: Miniforge
and the channel come from the offline world (the playbook's defaults point at
conda-forge, so the world's server stands in as the site's mirror), and the team's
environment is playbooks/files/team-default.yml, unchanged.
"""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

pytestmark = [pytest.mark.world]

PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "playbooks", "bootstrap_cloud.yml")
RECAP = re.compile(r"^localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0\b", re.M)


def pull(ansible_playbook, tmp_path, extra_vars, check=False):
    """Run the playbook the way the cloud-init example does; return (rc, output, changed)."""
    varsfile = tmp_path / "conda.json"
    varsfile.write_text(json.dumps(extra_vars))
    args = ["-i", "localhost,", PLAYBOOK, "-e", "@%s" % varsfile] + (["--check"] if check else [])
    proc = ansible_playbook(args, tmp_path)
    recap = RECAP.search(proc.stdout)
    return proc.returncode, proc.stdout + proc.stderr, int(recap.group(1)) if recap else None


def test_bootstrap_cloud_installs_the_team_environment_then_changes_nothing(world, world_server, tmp_path,
                                                                            conda_home, ansible_playbook):
    installer = world.installer("Miniforge3")
    with open(installer + ".sha256", encoding="utf-8") as handle:
        digest = handle.read().split()[0]
    prefix = tmp_path / "conda"
    extra_vars = {
        "conda_prefix": str(prefix),
        "conda_version": "26.7.1-0",
        "conda_installer_mirror_url": world_server.url.rstrip("/") + "/installers",
        "conda_installer_checksum": "sha256:" + digest,
        "conda_mirror_url": world_server.url.rstrip("/"),
        # cloud-init runs ansible-pull as root: nothing to become (this machine may lack sudo)
        "ansible_become": False,
    }

    rc, out, changed = pull(ansible_playbook, tmp_path, extra_vars, check=True)
    assert rc == 0, out
    assert changed and not prefix.exists(), out
    assert "creates the environment team-default" in out

    rc, out, changed = pull(ansible_playbook, tmp_path, extra_vars)
    assert rc == 0, out
    assert changed, out
    python = prefix / "envs" / "team-default" / "bin" / "python"
    version = subprocess.run([str(python), "--version"], capture_output=True, text=True, check=True)
    assert (version.stdout + version.stderr).strip().startswith("Python 3.12."), version
    meta = os.listdir(prefix / "envs" / "team-default" / "conda-meta")
    for name in ("numpy", "pandas", "scikit-learn", "pip"):
        assert any(entry.startswith(name + "-") for entry in meta), (name, meta)
    with open(prefix / ".condarc", encoding="utf-8") as handle:
        condarc = handle.read()
    assert "auto_activate: false" in condarc and "defaults" not in condarc.replace("nodefaults", "")

    rc, out, changed = pull(ansible_playbook, tmp_path, extra_vars)
    assert rc == 0 and changed == 0, out
