# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_files: atomic replacement through symlinks, on real files in a temporary directory."""
from __future__ import annotations

import os
import re
import stat

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _files as files

NOBODY = 65534


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_symlink_target_replaced_in_place_link_kept(tmp_path):
    real_dir = tmp_path / "dotfiles"
    real_dir.mkdir()
    target = real_dir / "condarc"
    target.write_text("channels: [defaults]\n")
    os.chmod(str(target), 0o640)
    link = tmp_path / ".condarc"
    os.symlink(str(target), str(link))
    written = files.write_atomic(str(link), b"channels: [conda-forge]\n")
    assert written == str(target)
    assert os.path.islink(str(link)) and os.readlink(str(link)) == str(target)
    assert target.read_text() == "channels: [conda-forge]\n" and mode_of(str(target)) == 0o640
    assert sorted(os.listdir(str(real_dir))) == ["condarc"] and sorted(os.listdir(str(tmp_path))) == [
        ".condarc", "dotfiles"]  # no temporary file left, none made beside the link


def test_relative_symlink_chain(tmp_path):
    (tmp_path / "a").write_text("x: 1\n")
    os.symlink("a", str(tmp_path / "b"))
    os.symlink("b", str(tmp_path / "c"))
    assert files.write_atomic(str(tmp_path / "c"), b"x: 2\n") == str(tmp_path / "a")
    assert os.path.islink(str(tmp_path / "c")) and os.path.islink(str(tmp_path / "b"))
    assert (tmp_path / "a").read_text() == "x: 2\n"


def test_dangling_symlink_refused(tmp_path):
    os.symlink(str(tmp_path / "missing"), str(tmp_path / ".condarc"))
    with pytest.raises(files.FileError, match="dangling"):
        files.write_atomic(str(tmp_path / ".condarc"), b"x: 1\n")
    assert "dangling" in files.write_problem(str(tmp_path / ".condarc"))
    assert not os.path.lexists(str(tmp_path / "missing"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own files as another user")
def test_root_does_not_follow_a_users_link_to_someone_elses_file(tmp_path):
    victim = tmp_path / "shadow"
    victim.write_text("secret: 1\n")
    link = tmp_path / ".condarc"
    os.symlink(str(victim), str(link))
    os.lchown(str(link), NOBODY, NOBODY)
    with pytest.raises(files.FileError, match="not followed as root"):
        files.resolve(str(link))
    os.chown(str(victim), NOBODY, NOBODY)  # the user's own file: followed
    assert files.resolve(str(link)) == str(victim)


def test_non_regular_files_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    with pytest.raises(files.FileError, match="a FIFO"):
        files.read_text(str(fifo))  # would block forever if opened
    with pytest.raises(files.FileError, match="a directory"):
        files.read_text(str(tmp_path))


def test_read_text_not_utf8(tmp_path):
    (tmp_path / "f").write_bytes(b"channels:\n  - caf\xe9\n")
    with pytest.raises(files.FileError, match="not UTF-8 text .byte 0xe9 at offset 17"):
        files.read_text(str(tmp_path / "f"))
    assert files.read_text(str(tmp_path / "absent")) == ("", None)


def test_new_file_mode_and_mode_given(tmp_path):
    files.write_atomic(str(tmp_path / "sub" / "new"), b"a: 1\n")
    assert mode_of(str(tmp_path / "sub" / "new")) == 0o644
    files.write_atomic(str(tmp_path / "sub" / "new"), b"a: 2\n", mode=0o600)
    assert mode_of(str(tmp_path / "sub" / "new")) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_owner_kept_and_new_owner(tmp_path):
    path = tmp_path / "owned"
    path.write_text("a: 1\n")
    os.chown(str(path), NOBODY, NOBODY)
    files.write_atomic(str(path), b"a: 2\n")
    assert (os.stat(str(path)).st_uid, os.stat(str(path)).st_gid) == (NOBODY, NOBODY)
    files.write_atomic(str(tmp_path / "fresh"), b"a: 1\n", new_owner=(NOBODY, NOBODY))
    assert os.stat(str(tmp_path / "fresh")).st_uid == NOBODY


def test_write_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_text("a: 1\n")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(files.FileError, match="cannot write .* Permission denied"):
        files.write_atomic(str(path), b"a: 2\n")
    assert path.read_text() == "a: 1\n" and os.listdir(str(tmp_path)) == ["f"]


def test_write_problem_permissions(tmp_path, monkeypatch):
    assert files.write_problem(str(tmp_path / "new" / "deeper" / "f")) is None
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(os, "access", lambda path, how, effective_ids=False: False)
    problem = files.write_problem(str(tmp_path / "f"))
    assert "is not writable by" in problem and str(tmp_path) in problem


@pytest.mark.parametrize("value, expected", [("0022", 0o022), ("027", 0o027), ("0002", 0o002)])
def test_parse_umask(value, expected):
    assert files.parse_umask(value) == expected


@pytest.mark.parametrize("value", ["22", "0o22", "0088", "", None, "00022"])
def test_parse_umask_names_the_bad_value(value):
    with pytest.raises(ValueError, match="umask must be an octal string such as '0022', got %s" % re.escape(repr(value))):
        files.parse_umask(value)
