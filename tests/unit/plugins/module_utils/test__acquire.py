# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_acquire carrying out acquisition plans against a loopback http.server and file:// URLs, with Ansible's open_url."""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading

import pytest
from ansible.module_utils.urls import open_url

from ansible_collections.condafleet.conda.plugins.module_utils import _acquire as acquire
from ansible_collections.condafleet.conda.plugins.module_utils import _installer as inst

NAME = "Miniforge3-26.7.1-0-Linux-x86_64.sh"
INSTALLER = b"#!/bin/sh\n# NAME:  Miniforge3\n# VER:   26.7.1-0\n" + b"x" * (3 * acquire.CHUNK + 17)
DIGEST = hashlib.sha256(INSTALLER).hexdigest()
HEADER_ONLY = b"#!/bin/sh\nexport INSTALLER_VER='25.3.1-0'\n" + b"y" * (4 * acquire.PROBE_BYTES)
TOKEN = "tk-S3cretT0ken"


class Handler(http.server.BaseHTTPRequestHandler):
    routes = {
        "/dl/" + NAME: (200, INSTALLER),
        "/dl/" + NAME + ".sha256": (200, ("%s  %s\n" % (DIGEST, NAME)).encode()),
        "/dl/bad.sha256": (200, b"no digest here\n"),
        "/latest/Miniforge3-Linux-x86_64.sh": (302, "/dl/" + NAME),
        "/plain/installer.sh": (200, HEADER_ONLY),
        "/t/%s/dl/%s" % (TOKEN, NAME): (200, INSTALLER),
    }

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.log.append(self.path)
        status, body = self.routes.get(self.path, (404, b"not here\n"))
        self.send_response(status)
        if status == 302:
            self.send_header("Location", body)
            body = b""
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # a partial read closes early
            pass

    def log_message(self, *_args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.log = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = "http://127.0.0.1:%d" % srv.server_address[1]
    yield srv
    srv.shutdown()
    srv.server_close()


OPENER = functools.partial(open_url, timeout=10)


def url_plan(url, checksum=("none", None)):
    return {"kind": "url", "path": None, "url": url, "sidecar": None, "name": inst.url_basename(url),
            "display": url.replace(TOKEN, "********"), "where": "host", "discover": False, "pin": False,
            "checksum": {"kind": checksum[0], "value": checksum[1], "missing": None}}


def file_plan(path, checksum):
    return {"kind": "file", "path": path, "url": None, "sidecar": None, "name": os.path.basename(path), "display": path,
            "where": "host", "discover": False, "pin": False, "checksum": checksum}


# -- download, verified ------------------------------------------------------------------------------------


def test_fetch_verified_downloads_in_chunks_and_renames_only_a_match(server, tmp_path):
    dest = tmp_path / NAME
    plan = url_plan(server.url + "/dl/" + NAME, ("url", server.url + "/dl/" + NAME + ".sha256"))
    expected = acquire.expected_digest(plan, OPENER)
    assert expected == DIGEST
    assert acquire.fetch_verified(plan, OPENER, str(dest), expected) == DIGEST
    assert dest.read_bytes() == INSTALLER and os.stat(str(dest)).st_mode & 0o777 == 0o644
    assert os.listdir(str(tmp_path)) == [NAME]  # no temporary file left


def test_fetch_verified_refuses_a_mismatch_and_leaves_nothing(server, tmp_path):
    dest = tmp_path / NAME
    plan = url_plan(server.url + "/dl/" + NAME)
    with pytest.raises(acquire.AcquireError) as err:
        acquire.fetch_verified(plan, OPENER, str(dest), "0" * 64)
    assert str(err.value) == ("checksum mismatch for %s/dl/%s: expected sha256:%s, got sha256:%s; nothing was installed"
                              % (server.url, NAME, "0" * 64, DIGEST))
    assert os.listdir(str(tmp_path)) == []


def test_fetch_verified_unverified_takes_what_comes(server, tmp_path):
    plan = url_plan(server.url + "/dl/" + NAME)
    assert acquire.expected_digest(plan, OPENER) is None
    assert acquire.fetch_verified(plan, OPENER, str(tmp_path / "i.sh"), None) == DIGEST


def test_a_failed_download_is_masked_and_leaves_nothing(server, tmp_path):
    url = "%s/t/%s/dl/missing.sh" % (server.url, TOKEN)
    with pytest.raises(acquire.AcquireError) as err:
        acquire.fetch_verified(url_plan(url), OPENER, str(tmp_path / "i.sh"), None)
    msg = str(err.value)
    assert msg.startswith("downloading %s/t/********/dl/missing.sh failed: " % server.url) and "404" in msg, msg
    assert TOKEN not in msg and os.listdir(str(tmp_path)) == []


def test_credentials_in_a_url_are_masked_in_every_message(server, tmp_path):
    url = server.url.replace("http://", "http://fleet:pa55word@") + "/dl/" + NAME
    plan = dict(url_plan(url), display=url)
    with pytest.raises(acquire.AcquireError) as err:
        acquire.fetch_verified(plan, OPENER, str(tmp_path / "i.sh"), "1" * 64)
    assert "pa55word" not in str(err.value) and "fleet:********@" in str(err.value)


def test_fetch_over_file_urls(tmp_path):
    src = tmp_path / "mirror" / NAME
    src.parent.mkdir()
    src.write_bytes(INSTALLER)
    (tmp_path / "mirror" / (NAME + ".sha256")).write_text("%s  %s\n" % (DIGEST, NAME))
    plan = url_plan("file://" + str(src), ("url", "file://%s.sha256" % src))
    (tmp_path / "dl").mkdir()
    assert acquire.fetch_verified(plan, OPENER, str(tmp_path / "dl" / NAME), acquire.expected_digest(plan, OPENER)) == DIGEST
    assert (tmp_path / "dl" / NAME).read_bytes() == INSTALLER


# -- the digest to trust ---------------------------------------------------------------------------------


def test_a_cached_sidecar_is_kept_and_used_again(server, tmp_path):
    cached = tmp_path / (NAME + ".sha256")
    plan = url_plan(server.url + "/dl/" + NAME, ("url", server.url + "/dl/" + NAME + ".sha256"))
    before = len(server.log)
    assert acquire.expected_digest(plan, OPENER, cached=str(cached)) == DIGEST
    assert cached.read_text() == "%s  %s\n" % (DIGEST, NAME) and os.stat(str(cached)).st_mode & 0o777 == 0o644
    assert acquire.expected_digest(plan, OPENER, cached=str(cached)) == DIGEST
    assert len(server.log) - before == 1  # read once


def test_a_checksum_file_without_a_digest_is_named(server):
    origin = server.url + "/dl/bad.sha256"
    with pytest.raises(acquire.AcquireError, match="no sha256 digest for %s \\(%s\\)" % (NAME, origin)):
        acquire.expected_digest(url_plan(server.url + "/dl/" + NAME, ("url", origin)), OPENER)


def test_digest_of_an_installer_src(tmp_path):
    src = tmp_path / NAME
    src.write_bytes(INSTALLER)
    side = str(src) + ".sha256"
    missing = "no checksum for installer_src %s" % src
    plan = file_plan(str(src), {"kind": "file", "value": side, "missing": missing})
    with pytest.raises(acquire.AcquireError, match=missing):
        acquire.check_checksum(plan, local=True)
    acquire.check_checksum(plan, local=False)  # the file is on the other machine: seen there
    with pytest.raises(acquire.AcquireError, match=missing):
        acquire.expected_digest(plan, None)
    (tmp_path / (NAME + ".sha256")).write_text(DIGEST + "\n")
    acquire.check_checksum(plan, local=True)
    assert acquire.expected_digest(plan, None) == DIGEST
    assert acquire.verify_file(str(src), DIGEST) == DIGEST
    with pytest.raises(acquire.AcquireError, match="checksum mismatch for %s" % src):
        acquire.verify_file(str(src), "f" * 64)
    unverified = file_plan(str(tmp_path / "other.sh"), {"kind": "file", "value": str(tmp_path / "other.sh.sha256"),
                                                        "missing": None})
    assert acquire.expected_digest(unverified, None) is None
    literal = file_plan(str(src), {"kind": "literal", "value": DIGEST, "missing": None})
    assert acquire.expected_digest(literal, None) == DIGEST


def test_a_checksum_error_in_the_plan_is_raised_when_asked(server):
    plan = url_plan(server.url + "/x.sh", ("error", "no checksum for x.sh: give checksum"))
    with pytest.raises(acquire.AcquireError, match="no checksum for x.sh"):
        acquire.check_checksum(plan, local=False)
    with pytest.raises(acquire.AcquireError, match="no checksum for x.sh"):
        acquire.expected_digest(plan, OPENER)


# -- the release that latest stands for --------------------------------------------------------------------


def test_discover_from_the_redirect_target(server):
    assert acquire.discover_release(url_plan(server.url + "/latest/Miniforge3-Linux-x86_64.sh"), OPENER) == "26.7.1-0"


def test_discover_from_the_header_of_an_unversioned_name(server, tmp_path):
    assert acquire.discover_release(url_plan(server.url + "/plain/installer.sh"), OPENER) == "25.3.1-0"
    src = tmp_path / "installer.sh"
    src.write_bytes(HEADER_ONLY)
    assert acquire.discover_release(file_plan(str(src), None), None) == "25.3.1-0"
    named = tmp_path / "Miniforge3-24.1.2-0-Linux-x86_64.sh"
    named.write_bytes(b"#!/bin/sh\n")
    assert acquire.discover_release(file_plan(str(named), None), None) == "24.1.2-0"


def test_discover_fails_clearly(server, tmp_path):
    anonymous = tmp_path / "installer.sh"
    anonymous.write_bytes(b"#!/bin/sh\necho hi\n")
    with pytest.raises(acquire.AcquireError, match="cannot tell which conda version %s installs" % anonymous):
        acquire.discover_release(file_plan(str(anonymous), None), None)
    with pytest.raises(acquire.AcquireError, match="cannot read installer_src"):
        acquire.discover_release(file_plan(str(tmp_path / "gone.sh"), None), None)
    with pytest.raises(acquire.AcquireError, match="reading %s/t/\\*+/missing.sh failed: .*404" % server.url):
        acquire.discover_release(url_plan("%s/t/%s/missing.sh" % (server.url, TOKEN)), OPENER)
