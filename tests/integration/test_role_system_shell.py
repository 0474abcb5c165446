# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The conda role's system-wide shell setup (conda_system_shell_init), against localhost.

The role runs with --tags conda_shell on a real installation; its internal map of the system
files (/etc/profile.d/conda.sh, /etc/fish/conf.d/conda.fish) points into a temporary directory
(extra vars win over role vars), so that this machine's /etc is never touched. The files are
then sourced by real shells in an empty environment: no ~/.bashrc, no conda on PATH.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess

import pytest

pytestmark = [pytest.mark.world]

RECAP = re.compile(r"^localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)\b", re.M)
MARKER = "# Written by the condafleet.conda.conda role (conda_system_shell_init); do not edit."
PLAY = """- name: The conda role's shell setup
  hosts: localhost
  gather_facts: false
  roles:
    - role: condafleet.conda.conda
"""


class Run:
    """One ansible-playbook run: its exit status, output and the recap's changed and failed counts."""

    def __init__(self, proc):
        recap = RECAP.search(proc.stdout)
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        self.changed = int(recap.group(1)) if recap else None
        self.failed = int(recap.group(2)) if recap else None


def run_role(ansible_playbook, tmp_path, extra_vars, check=False):
    """Run the role's shell tasks."""
    (tmp_path / "play.yml").write_text(PLAY)
    varsfile = tmp_path / "vars.json"
    varsfile.write_text(json.dumps(extra_vars))
    args = ["-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"), "-e", "@%s" % varsfile,
            "--tags", "conda_shell"] + (["--check"] if check else [])
    return Run(ansible_playbook(args, tmp_path))


def shell(argv, home):
    """A shell with nothing of this session's: no conda variables, PATH without conda, an empty HOME."""
    env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "TERM": "dumb"}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="the role writes the system files as root")
def test_system_shell_files_give_every_user_conda_and_only_the_roles_files_go(conda_base, tmp_path,
                                                                              ansible_playbook):
    etc = tmp_path / "etc"
    files = {"bash": str(etc / "profile.d" / "conda.sh"), "fish": str(etc / "fish" / "conf.d" / "conda.fish")}
    (etc / "profile.d").mkdir(parents=True)
    home = tmp_path / "user"
    home.mkdir()
    base = {"conda_prefix": conda_base, "ansible_become": False, "__conda_system_shell_files": files,
            "conda_system_shell_init": True, "conda_system_shells": ["bash", "fish"]}

    # off by default: nothing written, nothing changed
    run = run_role(ansible_playbook, tmp_path, dict(base, conda_system_shell_init=False))
    assert run.rc == 0 and run.changed == 0, run.out
    assert not os.path.exists(files["bash"]) and not os.path.exists(files["fish"]), run.out

    run = run_role(ansible_playbook, tmp_path, base, check=True)
    assert run.rc == 0 and run.changed, run.out
    assert not os.path.exists(files["bash"]) and not os.path.exists(files["fish"]), run.out

    run = run_role(ansible_playbook, tmp_path, base)
    assert run.rc == 0 and run.changed, run.out
    for path in files.values():
        info = os.stat(path)
        assert stat.S_IMODE(info.st_mode) == 0o644 and info.st_uid == 0, path
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert text.splitlines()[0] == MARKER
        assert conda_base in text
    run = run_role(ansible_playbook, tmp_path, base)
    assert run.rc == 0 and run.changed == 0, run.out

    # sh (dash) and bash get the conda function and condabin on PATH; no environment is activated
    probe = ('. %s; type conda; conda --version; echo "PATH=$PATH"; echo "ENV=${CONDA_DEFAULT_ENV:-none}"'
             % files["bash"])
    for argv in (["bash", "--noprofile", "--norc", "-c", probe], ["sh", "-c", probe],
                 ["bash", "--noprofile", "--norc", "-i", "-c", probe]):
        proc = shell(argv, home)
        assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
        assert "conda is a" in proc.stdout and "function" in proc.stdout, proc.stdout
        assert "conda 26.7.1" in proc.stdout, proc.stdout
        assert "PATH=%s/condabin:" % conda_base in proc.stdout, proc.stdout
        assert "ENV=none" in proc.stdout, proc.stdout
    if shutil.which("fish"):
        proc = shell(["fish", "--no-config", "-c", "source %s; type -q conda; and conda --version" % files["fish"]],
                     home)
        assert proc.returncode == 0 and "conda 26.7.1" in proc.stdout, (proc.stdout, proc.stderr)

    # conda_auto_activate: interactive shells activate base, scripts do not
    run = run_role(ansible_playbook, tmp_path, dict(base, conda_auto_activate=True))
    assert run.rc == 0 and run.changed, run.out
    probe = '. %s; echo "ENV=${CONDA_DEFAULT_ENV:-none}"' % files["bash"]
    assert "ENV=base" in shell(["bash", "--noprofile", "--norc", "-i", "-c", probe], home).stdout
    assert "ENV=none" in shell(["bash", "--noprofile", "--norc", "-c", probe], home).stdout

    # a file the role did not write is never replaced nor removed
    with open(files["fish"], "w", encoding="utf-8") as handle:
        handle.write("# the site's own fish setup\n")
    run = run_role(ansible_playbook, tmp_path, base)
    assert run.rc != 0 and run.failed, run.out
    assert "was not written by this role" in run.out, run.out
    with open(files["fish"], encoding="utf-8") as handle:
        assert handle.read() == "# the site's own fish setup\n"

    # turned off: the role's file goes, the foreign one stays
    run = run_role(ansible_playbook, tmp_path, dict(base, conda_system_shell_init=False))
    assert run.rc == 0 and run.changed, run.out
    assert not os.path.exists(files["bash"]), run.out
    with open(files["fish"], encoding="utf-8") as handle:
        assert handle.read() == "# the site's own fish setup\n"
    run = run_role(ansible_playbook, tmp_path, dict(base, conda_system_shell_init=False))
    assert run.rc == 0 and run.changed == 0, run.out

    # a shell left out of the list loses its file; conda_state=absent removes the rest
    os.remove(files["fish"])
    run = run_role(ansible_playbook, tmp_path, base)
    assert run.rc == 0 and run.changed, run.out
    run = run_role(ansible_playbook, tmp_path, dict(base, conda_system_shells=["bash"]))
    assert run.rc == 0 and run.changed and os.path.exists(files["bash"]) and not os.path.exists(files["fish"]), run.out
    run = run_role(ansible_playbook, tmp_path, dict(base, conda_state="absent"))
    assert run.rc == 0 and run.changed and not os.path.exists(files["bash"]), run.out
