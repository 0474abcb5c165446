# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The conda init block goes into the file a symlinked ``~/.bashrc`` points to (dotfiles kept in a repository),
written by conda_install on a real installation of the offline conda world."""
from __future__ import annotations

import os
import stat
import subprocess

from ansible_collections.condafleet.conda.plugins.module_utils import _installer as inst

MODULE = "condafleet.conda.conda_install"


def test_symlinked_bashrc_gets_the_block_through_the_link(run_module, conda_base, tmp_path):
    home = tmp_path / "alice"
    dotfiles = tmp_path / "dotfiles"
    home.mkdir()
    dotfiles.mkdir()
    target = dotfiles / "bashrc"
    target.write_text("alias ll='ls -l'\n")
    os.chmod(str(target), 0o600)
    os.symlink("../dotfiles/bashrc", str(home / ".bashrc"))
    args = {"prefix": conda_base, "init_shells": ["bash"]}
    env = {"HOME": str(home)}
    check = run_module(MODULE, args, check=True, environment=env)
    assert check.changed and not check.failed and target.read_text() == "alias ll='ls -l'\n", check.result
    first = run_module(MODULE, args, environment=env)
    assert first.changed and not first.failed and first["rc_files"] == [str(home / ".bashrc")], first.result
    assert os.path.islink(str(home / ".bashrc")) and os.readlink(str(home / ".bashrc")) == "../dotfiles/bashrc"
    text = target.read_text()
    assert text.startswith("alias ll='ls -l'\n") and inst.has_init(text, conda_base)
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o600 and sorted(os.listdir(str(dotfiles))) == ["bashrc"]
    assert sorted(os.listdir(str(home))) == [".bashrc"]
    shell = subprocess.run(["bash", "-c", "source ~/.bashrc && type conda | head -1"], env={"HOME": str(home),
                           "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False)
    assert shell.returncode == 0 and "conda is a function" in shell.stdout, shell.stdout + shell.stderr
    assert not run_module(MODULE, args, environment=env).changed


def test_dangling_bashrc_link_is_refused_before_anything_changes(run_module, conda_base, tmp_path):
    home = tmp_path / "bob"
    home.mkdir()
    os.symlink(str(tmp_path / "unchecked-out-dotfiles" / "bashrc"), str(home / ".bashrc"))
    for check in (True, False):
        result = run_module(MODULE, {"prefix": conda_base, "init_shells": ["bash"]}, check=check,
                            environment={"HOME": str(home)})
        assert result.failed and "dangling" in result["msg"] and str(home / ".bashrc") in result["msg"], result.result
    assert os.path.islink(str(home / ".bashrc")) and not os.path.exists(str(tmp_path / "unchecked-out-dotfiles"))
