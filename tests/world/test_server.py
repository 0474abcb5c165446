# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Tests of the offline conda world's loopback HTTP server (TEST INFRASTRUCTURE)."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from server import Server, count_requests, mask, read_log  # noqa: E402

pytestmark = pytest.mark.world

TOKEN = "tk-0123456789abcdef"


@pytest.fixture()
def root(tmp_path):
    d = tmp_path / "root"
    (d / "conda-forge" / "noarch").mkdir(parents=True)
    (d / "conda-forge" / "noarch" / "repodata.json").write_text('{"packages": {}}\n')
    (d / "installers").mkdir()
    (d / "installers" / "Miniconda3-latest-Linux-x86_64.sh").write_bytes(bytes(range(256)) * 4)
    (d / "pypi" / "simple" / "tinyjson").mkdir(parents=True)
    (d / "pypi" / "simple" / "tinyjson" / "index.html").write_text("<html>tinyjson</html>\n")
    (tmp_path / "secret.txt").write_text("outside the root\n")
    return str(d)


def _get(url, headers=None, method="GET"):
    """(status, headers, body) without raising on HTTP errors and without redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_no_auth_basics(root, tmp_path):
    log = str(tmp_path / "access.log")
    with Server(root, log_path=log) as srv:
        assert srv.url.startswith("http://127.0.0.1:") and srv.port > 0
        assert srv.log_path == log
        status, headers, body = _get(srv.url + "/conda-forge/noarch/repodata.json")
        assert status == 200 and json.loads(body) == {"packages": {}}
        assert headers["Content-Type"] == "application/json"
        status, headers, body = _get(srv.url + "/conda-forge/noarch/repodata.json", method="HEAD")
        assert status == 200 and body == b"" and headers["Content-Length"] == "17"
        assert _get(srv.url + "/nope.json")[0] == 404
        assert _get(srv.url + "/../secret.txt")[0] in (403, 404)
        assert _get(srv.url + "/conda-forge/%2e%2e/%2e%2e/secret.txt")[0] in (403, 404)
        # directory: redirect, then index.html or a listing
        status, headers, _body = _get(srv.url + "/pypi/simple/tinyjson")
        assert status == 301 and headers["Location"] == "/pypi/simple/tinyjson/"
        assert _get(srv.url + "/pypi/simple/tinyjson/")[2] == b"<html>tinyjson</html>\n"
        status, _hdrs, body = _get(srv.url + "/installers/")
        assert status == 200 and b"Miniconda3-latest-Linux-x86_64.sh" in body
        assert _get(srv.url + "/conda-forge/noarch/repodata.json", method="POST")[0] == 405
        assert srv.count("repodata.json") == 3
        assert srv.count("repodata.json", status=200, method="GET") == 1
        assert srv.count("") == len(srv.requests()) == 9
    entries = read_log(log)
    assert len(entries) == 9
    assert set(entries[0]) == {"time", "method", "path", "status", "bytes", "auth_ok"}
    assert entries[0]["bytes"] == 17 and entries[0]["auth_ok"] is True
    assert entries[1]["method"] == "HEAD" and entries[1]["bytes"] == 0
    assert count_requests(log, "/installers/") == 1


def test_range_requests(root):
    data = bytes(range(256)) * 4
    with Server(root) as srv:
        url = srv.url + "/installers/Miniconda3-latest-Linux-x86_64.sh"
        status, headers, body = _get(url, {"Range": "bytes=10-19"})
        assert status == 206 and body == data[10:20]
        assert headers["Content-Range"] == "bytes 10-19/1024"
        status, _hdrs, body = _get(url, {"Range": "bytes=1000-"})
        assert status == 206 and body == data[1000:]
        status, _hdrs, body = _get(url, {"Range": "bytes=-4"})
        assert status == 206 and body == data[-4:]
        status, headers, _body = _get(url, {"Range": "bytes=5000-6000"})
        assert status == 416 and headers["Content-Range"] == "bytes */1024"
        status, headers, body = _get(url)
        assert status == 200 and body == data and headers["Accept-Ranges"] == "bytes"
        assert _get(url, {"If-None-Match": headers["ETag"]})[0] == 304
        assert srv.requests()[0]["bytes"] == 10


def test_token_mode(root):
    with Server(root, token=TOKEN) as srv:
        path = "/conda-forge/noarch/repodata.json"
        assert _get(srv.url + path)[0] == 401
        assert _get(srv.url + "/t/wrong" + path)[0] == 403
        assert _get(srv.url + path, {"Authorization": "Bearer wrong"})[0] == 403
        assert _get(srv.url + "/t/%s%s" % (TOKEN, path))[0] == 200
        assert srv.channel_url("conda-forge") == "%s/t/%s/conda-forge" % (srv.url, TOKEN)
        assert _get(srv.channel_url("conda-forge") + "/noarch/repodata.json")[0] == 200
        assert _get(srv.url + path, {"Authorization": "Bearer " + TOKEN})[0] == 200
        assert _get(srv.url + path + "?token=" + TOKEN)[0] == 200
        assert _get(srv.url + path + "?token=nope")[0] == 403
        # directory redirects keep the token prefix
        status, headers, _body = _get(srv.url + "/t/%s/pypi/simple/tinyjson" % TOKEN)
        assert status == 301 and headers["Location"] == "/t/%s/pypi/simple/tinyjson/" % TOKEN
        entries = srv.requests()
        assert [e["auth_ok"] for e in entries[:3]] == [False, False, False]
        assert entries[3]["auth_ok"] is True and entries[3]["path"] == "/t/***" + path
        assert srv.count("/t/***/conda-forge/noarch/repodata.json", status=200) == 2
        assert srv.count(path, status=401) == 1 and srv.count(path, status=403) == 3
        with open(srv.log_path) as fh:
            text = fh.read()
        assert TOKEN not in text and "token=***" in text


def test_mask():
    assert mask("/t/abc/conda-forge/x") == "/t/***/conda-forge/x"
    assert mask("/x?a=1&token=abc&b=2") == "/x?a=1&token=***&b=2"
    assert mask("/x?token=abc") == "/x?token=***"
    assert mask("/conda-forge/t/abc") == "/conda-forge/t/abc"


def test_basic_mode(root):
    with Server(root, basic="alice:s3cret") as srv:
        url = srv.url + "/conda-forge/noarch/repodata.json"
        status, headers, _body = _get(url)
        assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="condafleet-world"'
        bad = base64.b64encode(b"alice:wrong").decode()
        status, headers, _body = _get(url, {"Authorization": "Basic " + bad})
        assert status == 401 and "WWW-Authenticate" in headers
        good = base64.b64encode(b"alice:s3cret").decode()
        assert _get(url, {"Authorization": "Basic " + good})[0] == 200
        assert srv.channel_url("conda-forge").startswith("http://alice:s3cret@127.0.0.1:")
        # urllib's own basic-auth handling answers the 401 challenge
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, srv.url, "alice", "s3cret")
        opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(mgr))
        with opener.open(url, timeout=10) as resp:
            assert resp.status == 200
        assert srv.count("repodata.json", status=401) == 3
        assert srv.count("repodata.json", status=200) == 2
        assert [e["auth_ok"] for e in srv.requests()] == [False, False, True, False, True]


def test_constructor_validation(root):
    with pytest.raises(ValueError):
        Server(root, token="a", basic="u:p")
    with pytest.raises(ValueError):
        Server(root, basic="nopassword")


def test_fixed_port_and_loopback_only(root):
    with Server(root) as first:
        port = first.port
    with Server(root, port=port) as srv:
        assert srv.port == port
        assert srv._httpd.server_address[0] == "127.0.0.1"


@pytest.mark.slow
def test_cli_daemon(root, tmp_path):
    script = os.path.join(HERE, "server.py")
    log = str(tmp_path / "cli.log")
    pidfile = str(tmp_path / "srv.pid")
    portfile = str(tmp_path / "srv.port")
    out = subprocess.run([sys.executable, script, "--root", root, "--token", TOKEN, "--log", log,
                          "--pidfile", pidfile, "--portfile", portfile, "--daemon"],
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    try:
        assert info["url"] == "http://127.0.0.1:%d" % info["port"]
        with open(pidfile) as fh:
            assert int(fh.read()) == info["pid"]
        with open(portfile) as fh:
            assert int(fh.read()) == info["port"]
        assert _get(info["url"] + "/conda-forge/noarch/repodata.json")[0] == 401
        assert _get("%s/t/%s/conda-forge/noarch/repodata.json" % (info["url"], TOKEN))[0] == 200
        assert count_requests(log, "/t/***/conda-forge/", status=200) == 1
    finally:
        stop = subprocess.run([sys.executable, script, "--stop", "--pidfile", pidfile],
                              capture_output=True, text=True, timeout=30, check=False)
    assert json.loads(stop.stdout) == {"stopped": True}
    assert not os.path.exists(pidfile)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(info["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("daemon still running")
    # stopping again is harmless
    stop = subprocess.run([sys.executable, script, "--stop", "--pidfile", pidfile],
                          capture_output=True, text=True, timeout=30, check=False)
    assert json.loads(stop.stdout) == {"stopped": False}


@pytest.mark.slow
def test_cli_foreground_lifetime(root, tmp_path):
    script = os.path.join(HERE, "server.py")
    log = str(tmp_path / "fg.log")
    proc = subprocess.Popen([sys.executable, script, "--root", root, "--log", log,
                             "--lifetime", "1.5"], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert _get(info["url"] + "/installers/")[0] == 200
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert count_requests(log, "/installers/") == 1
