# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Channel credentials leave the URL for conda's netrc and token files (decisions, and the files as written)."""
from __future__ import annotations

import netrc
import os
import stat
from urllib.parse import unquote_plus

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _channel_auth


@pytest.mark.parametrize("url, expected", [
    ("https://conda.anaconda.org/conda-forge", ("https://conda.anaconda.org/conda-forge", None, None, None)),
    ("https://bob:s3cret@mirror.example.com/conda-forge/",
     ("https://mirror.example.com/conda-forge", "bob", "s3cret", None)),
    ("https://bob:p%40ss%3Aw@mirror.example.com:8443/cf", ("https://mirror.example.com:8443/cf", "bob", "p@ss:w", None)),
    ("https://conda.anaconda.org/t/tk-123-abc/private", ("https://conda.anaconda.org/private", None, None, "tk-123-abc")),
    ("http://10.0.0.2:8080/conda/t/tk-1/main", ("http://10.0.0.2:8080/conda/main", None, None, "tk-1")),
    ("file:///srv/t/abc/channel", ("file:///srv/t/abc/channel", None, None, None)),
    ("conda-forge", ("conda-forge", None, None, None)),
])
def test_split_url(url, expected):
    assert _channel_auth.split_url(url) == expected


def test_plan_cleans_the_urls_and_keeps_the_order():
    auth = _channel_auth.plan(["https://bob:pw@mirror.example.com/cf", "defaults",
                               "https://repo.example.org/t/tok-9/internal"])
    assert auth.channels == ["https://mirror.example.com/cf", "defaults", "https://repo.example.org/internal"]
    assert auth.netrc == {"mirror.example.com": ("bob", "pw")}
    assert auth.tokens == {"https://repo.example.org/internal/": "tok-9"}
    assert auth.kept == [] and auth


def test_channels_without_credentials_need_no_files():
    auth = _channel_auth.plan(["conda-forge", "https://mirror.example.com/cf"])
    assert not auth and auth.channels == ["conda-forge", "https://mirror.example.com/cf"]


@pytest.mark.parametrize("channels, kept", [
    (["https://bob:two words@h.example/cf"], [0]),
    (["https://bob:%22quote@h.example/cf"], [0]),
    (["https://bob:back%5Cslash@h.example/cf"], [0]),
    (["https://bob:p'w%40x:C%231%22@h.example/cf"], []),
    (["https://bob:@h.example/cf"], [0]),
    (["https://bob:pw@ho st/cf"], [0]),
    (["https://bob:pw@host%0Amachine/cf"], [0]),
    (["https://bob:pw@[::1]:8443/cf"], []),
    (["https://bob:a@h.example/cf", "https://eve:b@h.example/other"], [1]),
    (["https://bob:a@h.example/cf", "https://bob:a@h.example/other"], []),
])
def test_what_netrc_cannot_hold_stays_in_the_url(channels, kept):
    auth = _channel_auth.plan(channels)
    assert [index for index, _why in auth.kept] == kept
    for index in kept:
        assert auth.channels[index] == channels[index]


def test_the_files_are_private_and_read_as_conda_reads_them(tmp_path):
    home_netrc = tmp_path / "user-netrc"
    home_netrc.write_text("machine pypi.example.com login alice password other\n")
    user_tokens = tmp_path / "user-binstar" / "data"
    user_tokens.mkdir(parents=True)
    (user_tokens / "https%3A%2F%2Fconda.anaconda.org%2Fmine.token").write_text("tk-mine")
    auth = _channel_auth.plan(["https://bob:p'%40s%23s%22@mirror.example.com/cf", "https://repo.example.org/t/tok-9/internal"])
    env = _channel_auth.write_files(auth, str(tmp_path), {"NETRC": str(home_netrc),
                                                          "BINSTAR_CONFIG_DIR": str(tmp_path / "user-binstar")})
    private = tmp_path / "condafleet-channel-auth"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    parsed = netrc.netrc(env["NETRC"])
    assert parsed.authenticators("mirror.example.com") == ("bob", "", "p'@s#s\"")
    assert parsed.authenticators("pypi.example.com") == ("alice", "", "other")
    data = os.path.join(env["BINSTAR_CONFIG_DIR"], "data")
    tokens = {}
    for name in os.listdir(data):
        path = os.path.join(data, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, encoding="utf-8") as handle:
            tokens[unquote_plus(name)[:-len(".token")]] = handle.read()
    assert tokens == {"https://repo.example.org/internal/": "tok-9", "https://conda.anaconda.org/mine": "tk-mine"}
    assert stat.S_IMODE(os.stat(env["NETRC"]).st_mode) == 0o600


def test_no_credentials_write_nothing(tmp_path):
    assert _channel_auth.write_files(_channel_auth.plan(["conda-forge"]), str(tmp_path), {}) == {}
    assert os.listdir(str(tmp_path)) == []
