# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_config on hostile ``.condarc`` files, hostile paths and secrets, read back by the real conda.

Each hostile file either gets a clear error naming it (and is left byte for
byte) or is updated so that the installation's own conda reads the new
setting; never a traceback, never a lost file.
"""
from __future__ import annotations

import os
import stat
import threading

import pytest
from fixtures import run_conda  # noqa: F401  (tests/world, on sys.path through the conftest)

import reliability_harness as harness

MODULE = "condafleet.conda.conda_config"

pytestmark = [pytest.mark.reliability, pytest.mark.world, pytest.mark.slow]

HOSTILE_CONDARC = {
    "bom": "\ufeffchannels:\n  - defaults\n".encode("utf-8"),
    "duplicate-keys": b"channels:\n  - defaults\nchannels:\n  - conda-forge\n",
    "tabs": b"channels:\n\t- defaults\n",
    "anchors": b"base: &chans\n  - defaults\nchannels: *chans\n",
    "non-utf8": b"# caf\xe9 au lait\nchannels:\n  - defaults\n",
    "huge": b"channels:\n  - defaults\n" + b"# padding padding padding padding padding padding padding\n" * 20000,
    "list-not-mapping": b"- defaults\n- conda-forge\n",
    "scalar": b"just some text\n",
    "nul-bytes": b"channels:\n  - def\x00aults\n",
    "crlf": b"channels:\r\n  - defaults\r\nchannel_priority: flexible\r\n",
    "flow-style": b"{channels: [defaults], channel_priority: flexible}\n",
    "deep-nesting": b"channels:\n  - defaults\nx_site_notes: " + b"[" * 500 + b"]" * 500 + b"\n",
    "empty": b"",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CONDARC) + ["symlink", "symlink-loop", "directory", "fifo"])
def test_hostile_condarc(rel, conda_base, tmp_path, case):
    path = os.path.join(conda_base, ".condarc")
    os.unlink(path)
    elsewhere = None
    if case == "symlink":
        elsewhere = rel.sentinels.file(tmp_path / "shared" / "site-condarc", "channels:\n  - defaults\n", mode=0o644)
        os.symlink(elsewhere, path)
        rel.sentinels.files.pop(elsewhere)  # writing through the link is a possible right answer; checked below
    elif case == "symlink-loop":
        os.symlink(path, path)
    elif case == "directory":
        rel.sentinels.file(os.path.join(path, "user-file"), "inside a directory named .condarc\n")
    elif case == "fifo":
        os.mkfifo(path)
    else:
        rel.sentinels.file(path, HOSTILE_CONDARC[case], mode=0o644)
        rel.sentinels.files.pop(path)  # a successful run rewrites it: compared below instead
    before = _bytes(path)
    args = {"prefix": conda_base, "settings": {"channel_priority": "strict"}}
    hung = []
    watchdog = threading.Timer(60, _unblock, args=(path, hung))  # a reader blocked on a FIFO gets EOF after 60 s
    watchdog.start()
    try:
        result = rel.run(MODULE, args)
    finally:
        watchdog.cancel()
    assert not hung, "the module blocked reading %s" % path
    assert harness.no_traceback(result), result.result
    if result.failed:
        assert path in result["msg"], result["msg"]
        assert _bytes(path) == before
    else:
        shown = run_conda(conda_base, "config", "--show", "channel_priority", "--json")
        assert shown.returncode == 0 and shown.json["channel_priority"] == "strict", (shown.stdout, shown.stderr)
        if case == "symlink":
            assert os.path.islink(path) and "strict" in _bytes(elsewhere).decode()
    rel.assert_safe()


def _unblock(path, hung):
    try:
        if stat.S_ISFIFO(os.lstat(path).st_mode):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            hung.append(path)
    except OSError:
        pass


def _bytes(path):
    try:
        if stat.S_ISREG(os.stat(path).st_mode):
            with open(path, "rb") as handle:
                return handle.read()
        return "not a regular file"
    except OSError as exc:
        return str(exc.errno)


def _hostile_paths(tmp_path):
    loop = tmp_path / "loop"
    os.symlink(str(loop), str(loop))
    (tmp_path / "a-dir").mkdir()
    return {"relative": "relative/condarc", "a-directory": str(tmp_path / "a-dir"), "symlink-loop": str(loop),
            "newline": str(tmp_path / "new\nline" / ".condarc"), "missing-parent": str(tmp_path / "no" / "such" / "rc")}


@pytest.mark.parametrize("which", ["relative", "a-directory", "symlink-loop", "newline", "missing-parent"])
def test_hostile_config_paths(rel, tmp_path, which, conda_home):
    path = _hostile_paths(tmp_path)[which]
    if which == "a-directory":
        rel.sentinels.file(os.path.join(path, "keep.txt"), "mine\n")
    result = rel.run(MODULE, {"scope": "path", "path": path, "settings": {"channel_priority": "strict"}})
    assert harness.no_traceback(result), result.result
    if result.failed:
        assert harness.names_value(result["msg"], path), result["msg"]
    else:
        assert os.path.isfile(path) and "strict" in open(path, encoding="utf-8").read()
    rel.assert_safe()


@pytest.mark.parametrize("user", ["../../root", "no-such-user-xyz", "root\nx"])
def test_hostile_user_scope(rel, user, conda_home):
    result = rel.run(MODULE, {"scope": "user", "user": user, "settings": {"channel_priority": "strict"}}, check=True)
    assert harness.no_traceback(result), result.result
    assert result.failed and harness.names_value(result["msg"], user), result.result
    rel.assert_safe()


def _secret_settings(token_server, basic_server):
    return {
        "proxy": {"settings": {"proxy_servers": {scheme: harness.userinfo_url("http://proxy.example.com:3128", harness.PROXY)
                                                 for scheme in ("http", "https")}}},
        "token-channel": {"channels": [token_server.channel_url("conda-forge")]},
        "basic-channel": {"channels": [basic_server.channel_url("conda-forge")]},
        "mirror-password": {"mirror": {"url": "https://mirror.example.com/conda", "username": harness.BASIC.user,
                                       "password": harness.BASIC.value, "custom_channels": ["conda-forge"]}},
        "mirror-token": {"mirror": {"url": "https://mirror.example.com", "token": harness.TOKEN.value}},
    }


@pytest.mark.parametrize("case", ["proxy", "token-channel", "basic-channel", "mirror-password", "mirror-token"])
@pytest.mark.parametrize("outcome", ["ok", "failing"])
def test_secrets_in_settings_stay_unseen(rel, conda_base, token_server, basic_server, case, outcome):
    args = dict(_secret_settings(token_server, basic_server)[case], prefix=conda_base)
    if outcome == "failing":
        args.setdefault("settings", {})
        args["settings"] = dict(args["settings"], no_such_key=1)
    for check in (True, False) if outcome == "ok" else (False,):
        result = rel.run(MODULE, args, check=check)
        assert harness.no_traceback(result), result.result
        assert result.failed == (outcome == "failing"), result.result
    if outcome == "ok":
        shown = run_conda(conda_base, "config", "--show", "--json")
        assert shown.returncode == 0, shown.stderr
    rel.assert_safe()
