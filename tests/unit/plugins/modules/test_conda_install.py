# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""conda_install run in-process: decisions, installer argv and umask, checksums, check/diff, rc files, refusals.

``run_command`` is replaced by a recorder that plays the installer (it writes
what a finished install leaves on disk), so each test asserts the exact argv and
how many times the installer ran.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import pytest
from ansible.module_utils import basic, urls
from core_compat import patch_module_args

from ansible_collections.condafleet.conda.plugins.module_utils._install_lock import PrefixLock, lock_path
from ansible_collections.condafleet.conda.plugins.modules import conda_install

INSTALLER = b"#!/bin/sh\n# NAME:  Miniforge3\n# VER:   26.7.1-0\necho installing\n"
DIGEST = hashlib.sha256(INSTALLER).hexdigest()


def make_install(prefix, version):
    meta = os.path.join(prefix, "conda-meta")
    os.makedirs(meta, exist_ok=True)
    os.makedirs(os.path.join(prefix, "bin"), exist_ok=True)
    for name in os.listdir(meta):
        if name.startswith("conda-") and name[6:7].isdigit():
            os.unlink(os.path.join(meta, name))
    with open(os.path.join(meta, "conda-%s-py_0.json" % version), "w") as handle:
        json.dump({"name": "conda", "version": version}, handle)
    with open(os.path.join(meta, "history"), "a") as handle:
        handle.write("==> install <==\n")
    with open(os.path.join(prefix, "bin", "conda"), "w") as handle:
        handle.write("#!/bin/sh\n")


class Installer:
    """Stands in for run_command: records argv/umask and installs ``version`` into the -p prefix."""

    def __init__(self, version="26.7.1", rc=0):
        self.calls = []
        self.version = version
        self.rc = rc

    def __call__(self, _module, cmd, **kwargs):
        self.calls.append({"argv": list(cmd), "umask": kwargs.get("umask"), "env": kwargs.get("environ_update")})
        if self.rc == 0:
            make_install(cmd[cmd.index("-p") + 1], self.version)
        return self.rc, "installed\n", ""


@pytest.fixture
def installer_file(tmp_path):
    path = tmp_path / "Miniforge3-26.7.1-0-Linux-x86_64.sh"
    path.write_bytes(INSTALLER)
    return str(path)


@pytest.fixture
def run(monkeypatch, capsys, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))

    def _run(args, check=False, diff=False, installer=None):
        fake = installer or Installer()

        def run_command(self, cmd, **kw):
            return fake(self, cmd, **kw)

        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff, _ansible_tmpdir=str(tmp_path))
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                conda_install.main()
        result = json.loads(capsys.readouterr().out)
        result["_calls"] = fake.calls
        return result

    _run.home = home
    return _run


def src_args(prefix, src, **kw):
    args = dict(prefix=str(prefix), distribution="miniforge", version="26.7.1-0", installer_src=src, remote_src=True,
                checksum="sha256:" + DIGEST)
    args.update(kw)
    return args


def test_fresh_install_argv_umask_and_result(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    res = run(src_args(prefix, installer_file))
    assert res["changed"] is True and res["action"] == "install"
    assert [c["argv"] for c in res["_calls"]] == [["bash", installer_file, "-b", "-p", str(prefix), "-f"]]
    assert res["_calls"][0]["umask"] == 0o022
    assert res["version"] == "26.7.1" and res["previous_version"] is None
    assert res["conda_exe"] == str(prefix / "bin" / "conda")
    assert res["installer_sha256"] == DIGEST


def test_at_requested_version_nothing_runs(run, tmp_path):
    prefix = tmp_path / "conda"
    make_install(str(prefix), "26.7.1")
    # A URL that cannot be reached: proves nothing is downloaded.
    res = run(dict(prefix=str(prefix), distribution="miniforge", version="26.7.1-0", mirror_url="https://127.0.0.1:9/none"))
    assert res["changed"] is False and res["action"] == "none" and res["_calls"] == []
    assert res["installer_url"] is None


def test_present_keeps_any_version_and_never_downgrades(run, tmp_path):
    prefix = tmp_path / "conda"
    make_install(str(prefix), "26.7.1")
    assert run(dict(prefix=str(prefix), distribution="miniforge"))["changed"] is False
    res = run(dict(prefix=str(prefix), distribution="miniforge", version="25.3.1-0", mirror_url="https://127.0.0.1:9/x"))
    assert res["changed"] is False and "not downgrading" in res["reason"]


def test_upgrade_uses_u_and_reports_versions(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    make_install(str(prefix), "25.3.1")
    res = run(src_args(prefix, installer_file), diff=True)
    assert res["action"] == "upgrade"
    assert res["_calls"][0]["argv"] == ["bash", installer_file, "-b", "-p", str(prefix), "-u", "-f"]
    assert (res["previous_version"], res["version"]) == ("25.3.1", "26.7.1")
    assert res["diff"]["before"] == {"prefix": str(prefix), "state": "installed", "version": "25.3.1"}
    assert res["diff"]["after"] == {"prefix": str(prefix), "state": "installed", "version": "26.7.1"}


def test_state_latest_learns_the_version_from_the_installer_header(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    make_install(str(prefix), "26.7.1")
    res = run(src_args(prefix, installer_file, version="latest", state="latest"))
    assert res["changed"] is False and res["_calls"] == []
    make_install(str(prefix), "25.3.1")
    res = run(src_args(prefix, installer_file, version="latest", state="latest"), check=True)
    assert res["changed"] is True and res["action"] == "upgrade" and res["version"] == "26.7.1" and res["_calls"] == []


def test_interrupted_install_is_reinstalled(run, tmp_path, installer_file):
    """An install this module started (its marker) and did not finish is repaired."""
    prefix = tmp_path / "conda"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "pkgs").mkdir()
    (prefix / ".condafleet-install").write_text('{"action": "install"}\n')
    res = run(src_args(prefix, installer_file))
    assert res["action"] == "reinstall"
    assert res["_calls"][0]["argv"][-2:] == ["-u", "-f"]
    assert res["version"] == "26.7.1"
    assert not (prefix / ".condafleet-install").exists()


@pytest.mark.parametrize("layout", [
    ["conda-meta/"],                                # an empty conda-meta: no evidence of an installation
    ["conda-meta/history", "bin/python"],           # a plain environment
    ["bin/", "lib/", "pkgs/"],                      # what an installer lays out, but no installer of ours ran
    ["conda-meta/", "thesis.tex"],                  # a folder with a thesis next to an empty conda-meta
])
def test_what_is_not_positively_an_installation_is_refused_and_untouched(run, tmp_path, installer_file, layout):
    prefix = tmp_path / "conda"
    for rel in layout:
        path = prefix / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("precious")
    before = sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*"))
    for state in ("present", "absent", "latest"):
        res = run(src_args(prefix, installer_file, state=state))
        assert res["failed"] is True and "not a conda installation" in res["msg"] and res["_calls"] == [], res
        assert str(prefix) in res["msg"]
    assert sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*")) == before


def test_prefix_with_a_space_is_refused_before_anything(run, tmp_path, installer_file):
    prefix = tmp_path / "my conda"
    res = run(src_args(prefix, installer_file))
    assert res["failed"] is True and repr(str(prefix)) in res["msg"] and res["_calls"] == []
    assert not prefix.exists()


def test_empty_directory_is_installed_into_with_f(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    prefix.mkdir()
    res = run(src_args(prefix, installer_file))
    assert res["action"] == "install" and res["_calls"][0]["argv"][-1] == "-f"


def test_user_directory_is_refused_and_untouched(run, tmp_path, installer_file):
    prefix = tmp_path / "data"
    prefix.mkdir()
    (prefix / "thesis.tex").write_text("precious")
    for state in ("present", "absent"):
        res = run(src_args(prefix, installer_file, state=state))
        assert res["failed"] is True and "not a conda installation" in res["msg"] and res["_calls"] == []
        if state == "absent":  # most likely the wrong prefix: what is there, and where installations usually are
            assert res["msg"].startswith("no conda installation at %s (a directory that no conda installer or conda "
                                         "wrote, holding 1 entry: thesis.tex); set prefix (Miniforge" % prefix), res
    assert (prefix / "thesis.tex").read_text() == "precious"


def test_checksum_mismatch_fails_before_running(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    res = run(src_args(prefix, installer_file, checksum="sha256:" + "0" * 64))
    assert res["failed"] is True and "checksum mismatch" in res["msg"] and res["_calls"] == []
    assert not prefix.exists()


@pytest.mark.skipif(os.uname()[0] != "Linux" or os.uname()[4] != "x86_64", reason="installer name is for Linux-x86_64")
def test_download_over_file_url_is_verified_and_cleaned(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    (tmp_path / "dl").mkdir()
    res = run(dict(prefix=str(prefix), distribution="miniforge", version="26.7.1-0", mirror_url="file://" + str(tmp_path),
                   checksum="sha256:" + DIGEST, tmp_dir=str(tmp_path / "dl")))
    assert res["action"] == "install" and res["installer_sha256"] == DIGEST
    assert res["installer_url"] == "file://%s/Miniforge3-26.7.1-0-Linux-x86_64.sh" % tmp_path
    assert res["_calls"][0]["argv"][1].startswith(str(tmp_path / "dl"))
    assert os.listdir(str(tmp_path / "dl")) == []  # the download is removed


def test_failing_installer_reports_rc_and_hides_nothing_secret(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    res = run(src_args(prefix, installer_file, url_password="s3cret", headers={"Authorization": "Bearer s3cret"}),
              installer=Installer(rc=1))
    assert res["failed"] is True and res["rc"] == 1 and "repair" in res["msg"]
    assert "s3cret" not in json.dumps({k: v for k, v in res.items() if k != "invocation"})
    assert "s3cret" not in json.dumps(res["invocation"])


def test_check_mode_predicts_and_does_nothing(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    res = run(src_args(prefix, installer_file), check=True, diff=True)
    assert res["changed"] is True and res["action"] == "install" and res["_calls"] == []
    assert res["diff"]["after"] == {"prefix": str(prefix), "state": "installed", "version": "26.7.1"}
    assert not prefix.exists()


def test_missing_checksum_fails_before_anything(run, tmp_path):
    prefix = tmp_path / "conda"
    res = run(dict(prefix=str(prefix), distribution="miniconda", version="26.5.3-1"))  # upstream: no sidecar
    assert res["failed"] is True and "allow_unverified" in res["msg"] and not prefix.exists()


@pytest.mark.parametrize("args,words", [
    (dict(prefix="relative/conda"), "prefix must be an absolute path"),
    (dict(prefix="/opt/conda", version="26"), "got '26'"),
    (dict(prefix="/opt/conda", umask="9"), "umask must be"),
    (dict(prefix="/opt/conda", init_shells=["tcsh"]), "got 'tcsh'"),
    (dict(prefix="/opt/conda", lock_timeout=-1), "lock_timeout must be a number of seconds, 0 or more, got -1"),
])
def test_input_errors(run, args, words):
    res = run(args)
    assert res["failed"] is True and words in res["msg"] and res["_calls"] == []


def test_group_writable_umask(run, tmp_path, installer_file):
    res = run(src_args(tmp_path / "conda", installer_file, group_writable=True, mode="2775"))
    assert res["_calls"][0]["umask"] == 0o002
    assert oct(os.stat(str(tmp_path / "conda")).st_mode & 0o7777) == "0o2775"
    assert os.stat(str(tmp_path / "conda" / "bin" / "conda")).st_mode & 0o020


def test_init_shells_and_absent_reverses_them(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    bashrc = run.home / ".bashrc"
    bashrc.write_text("export EDITOR=vi\n")
    res = run(src_args(prefix, installer_file, init_shells=["bash", "zsh"]))
    assert res["changed"] and sorted(res["rc_files"]) == [str(bashrc), str(run.home / ".zshrc")]
    assert "'%s/bin/conda' 'shell.bash' 'hook'" % prefix in bashrc.read_text()
    again = run(src_args(prefix, installer_file, init_shells=["bash", "zsh"]))
    assert again["changed"] is False and again["_calls"] == []
    predicted = run(dict(prefix=str(prefix), state="absent"), check=True)
    assert predicted["changed"] and predicted["action"] == "remove" and prefix.exists()
    gone = run(dict(prefix=str(prefix), state="absent"))
    assert gone["changed"] and not prefix.exists()
    assert bashrc.read_text() == "export EDITOR=vi\n"
    nothing = run(dict(prefix=str(prefix), state="absent"))
    assert nothing["changed"] is False and not nothing.get("failed"), nothing
    assert nothing["msg"] == ("no conda installation at %s (nothing is there); set prefix (Miniforge installs into "
                              "~/miniforge3 or /opt/miniforge3, Miniconda into ~/miniconda3); nothing to remove" % prefix)


class FakeResponse:
    def __init__(self, url, body):
        self.url, self.body, self.pos = url, body, 0

    def geturl(self):
        return self.url

    def read(self, size=-1):
        chunk = self.body[self.pos:] if size < 0 else self.body[self.pos:self.pos + size]
        self.pos += len(chunk)
        return chunk

    def close(self):
        pass


@pytest.mark.skipif(os.uname()[0] != "Linux" or os.uname()[4] != "x86_64", reason="URLs are for Linux-x86_64")
def test_miniforge_latest_installs_the_versioned_asset_with_its_sidecar(run, tmp_path, monkeypatch):
    base = "https://github.com/conda-forge/miniforge/releases"
    versioned = base + "/download/26.7.1-0/Miniforge3-26.7.1-0-Linux-x86_64.sh"
    served = {
        base + "/latest/download/Miniforge3-Linux-x86_64.sh": (versioned, INSTALLER),  # GitHub redirects
        versioned + ".sha256": (versioned + ".sha256", ("%s  Miniforge3-26.7.1-0-Linux-x86_64.sh\n" % DIGEST).encode()),
        versioned: (versioned, INSTALLER),
    }
    asked = []

    def fake_fetch(_module, url, headers=None, timeout=None, **_kw):
        asked.append((url, dict(headers or {})))
        final, body = served[url]
        return FakeResponse(final, body), {"status": 200, "url": url}

    monkeypatch.setattr(urls, "fetch_url", fake_fetch)  # _install_run imports it when it downloads
    res = run(dict(prefix=str(tmp_path / "conda"), distribution="miniforge", state="latest", headers={"X-Token": "t0k"}))
    assert res["action"] == "install" and res["version"] == "26.7.1", res
    assert [u for u, _h in asked] == [base + "/latest/download/Miniforge3-Linux-x86_64.sh", versioned + ".sha256", versioned]
    assert all(h == {"X-Token": "t0k"} for _u, h in asked)
    assert res["installer_url"] == versioned and res["installer_sha256"] == DIGEST
    assert "t0k" not in json.dumps({k: v for k, v in res.items() if k != "invocation"})
    # Installed at that version: state=latest reads the redirect again (a few bytes), and changes nothing.
    asked[:] = []
    again = run(dict(prefix=str(tmp_path / "conda"), distribution="miniforge", state="latest"))
    assert again["changed"] is False and [u for u, _h in asked] == [base + "/latest/download/Miniforge3-Linux-x86_64.sh"]


def test_installer_with_a_wrong_label_fails_instead_of_upgrading_at_every_run(run, tmp_path, installer_file):
    """The file says 26.7.1-0 and so does version, but what it installs is conda 25.3.1."""
    prefix = tmp_path / "conda"
    for _attempt in range(2):
        res = run(src_args(prefix, installer_file), installer=Installer(version="25.3.1"))
        assert res["failed"] is True and res["changed"] is True, res
        assert "claims conda 26.7.1 but installed conda 25.3.1" in res["msg"] and installer_file in res["msg"]
        assert res["version"] == "25.3.1" and len(res["_calls"]) == 1
        assert not (prefix / ".condafleet-install").exists()  # a complete installation, not a half-made one
    assert not os.path.exists(lock_path(str(prefix)))


def test_a_run_waiting_for_the_lock_finds_the_installation_and_changes_nothing(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    held = PrefixLock(str(prefix), 10)
    held.__enter__()

    def other_run():  # another run holds the lock, installs, lets go
        time.sleep(1)
        make_install(str(prefix), "26.7.1")
        held.__exit__(None, None, None)

    thread = threading.Thread(target=other_run)
    thread.start()
    started = time.monotonic()
    res = run(src_args(prefix, installer_file))
    thread.join()
    assert time.monotonic() - started >= 0.9  # it waited
    assert res["changed"] is False and res["action"] == "none" and res["_calls"] == [], res
    assert not os.path.exists(lock_path(str(prefix)))


def test_a_lock_held_too_long_fails_before_anything_changes(run, tmp_path, installer_file):
    prefix = tmp_path / "conda"
    with PrefixLock(str(prefix), 10):
        res = run(src_args(prefix, installer_file, lock_timeout=1))
        assert res["failed"] is True and res["_calls"] == [] and not prefix.exists()
        assert "another conda_install run has held %s for more than 1s" % lock_path(str(prefix)) in res["msg"]
        assert "nothing was changed" in res["msg"]
        # check mode takes no lock: it predicts at once
        predicted = run(src_args(prefix, installer_file, lock_timeout=1), check=True)
        assert predicted["changed"] is True and predicted["action"] == "install" and "failed" not in predicted
        # nor does a run with nothing to do
        make_install(str(prefix), "26.7.1")
        assert run(src_args(prefix, installer_file, lock_timeout=1))["changed"] is False


@pytest.mark.skipif(os.uname()[0] != "Linux" or os.uname()[4] != "x86_64", reason="URLs are for Linux-x86_64")
def test_with_the_controller_cache_the_module_asks_the_plugin_for_the_step_it_cannot_do(run, tmp_path):
    prefix = tmp_path / "conda"
    mirror = "https://fleet:pw@127.0.0.1:9/mf"  # unreachable: the module itself fetches nothing
    args = dict(prefix=str(prefix), distribution="miniforge", version="26.7.1-0", mirror_url=mirror, installer_cache="controller")
    res = run(args)
    assert res["acquire"] == {"step": "fetch", "version": "26.7.1-0", "system": "Linux", "machine": "x86_64"}, res
    assert res["action"] == "install" and res["changed"] is False and res["_calls"] == [] and not prefix.exists()
    assert res["installer_url"] == "https://fleet:********@127.0.0.1:9/mf/Miniforge3-26.7.1-0-Linux-x86_64.sh"
    predicted = run(args, check=True)  # check mode predicts instead
    assert "acquire" not in predicted and predicted["changed"] is True and predicted["action"] == "install"
    make_install(str(prefix), "25.3.1")
    latest = run(dict(args, version="latest", state="latest"), check=True)  # the release latest stands for
    assert latest["acquire"] == {"step": "discover", "version": "latest", "system": "Linux", "machine": "x86_64"}
    assert latest["changed"] is False and latest["_calls"] == []
    pinned_latest = run(dict(args, version="latest", mirror_url=None, state="present"))
    assert pinned_latest["action"] == "none" and "acquire" not in pinned_latest
    prefix_gone = tmp_path / "fresh"
    fresh = run(dict(args, prefix=str(prefix_gone), version="latest", mirror_url=None))  # Miniforge latest: pinned first
    assert fresh["acquire"]["step"] == "discover" and not prefix_gone.exists()
