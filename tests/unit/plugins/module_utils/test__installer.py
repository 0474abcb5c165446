# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure functions of conda_install: names, URLs, checksums, validation, decisions, rc blocks."""
from __future__ import annotations

import re

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _installer as inst

HEX = "7358a5961dc6a4941d087281cd70313728fcc68695735e18a337321bc31c7f51"


def params(**kw):
    base = dict(prefix="/opt/conda", state="present", distribution="miniconda", version="latest", python=None,
                installer_url=None, mirror_url=None, installer_src=None, remote_src=False, checksum=None,
                checksum_url=None, allow_unverified=False, umask="0022", mode=None, init_shells=[])
    base.update(kw)
    return base


# -- platforms and URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize("dist,system,machine,expected", [
    ("miniforge", "Linux", "x86_64", ("Linux", "x86_64")),
    ("miniforge", "Linux", "aarch64", ("Linux", "aarch64")),
    ("miniforge", "Linux", "arm64", ("Linux", "aarch64")),
    ("miniforge", "Linux", "ppc64le", ("Linux", "ppc64le")),
    ("miniforge", "Darwin", "arm64", ("MacOSX", "arm64")),
    ("miniforge", "Darwin", "x86_64", ("MacOSX", "x86_64")),
    ("miniconda", "Linux", "x86_64", ("Linux", "x86_64")),
    ("miniconda", "Linux", "amd64", ("Linux", "x86_64")),
    ("miniconda", "Darwin", "arm64", ("MacOSX", "arm64")),
])
def test_platform_of(dist, system, machine, expected):
    assert inst.platform_of(dist, system, machine) == expected


@pytest.mark.parametrize("dist,system,machine,words", [
    ("miniforge", "Linux", "s390x", "Linux-s390x"),
    ("miniforge", "Linux", "i686", "Linux-i686"),
    ("miniconda", "Linux", "riscv64", "Linux-riscv64"),
    ("miniforge", "Windows", "x86_64", "'Windows'"),
    ("miniforge", "FreeBSD", "amd64", "'FreeBSD'"),
])
def test_platform_of_unpublished(dist, system, machine, words):
    with pytest.raises(inst.InstallerError, match=words):
        inst.platform_of(dist, system, machine)


@pytest.mark.parametrize("release,os_name,arch,ok", [
    ("23.10.0-1", "Linux", "ppc64le", True),
    ("23.11.0-1", "Linux", "ppc64le", False),
    ("latest", "Linux", "ppc64le", False),
    ("25.1.1-2", "Linux", "s390x", True),
    ("25.3.1-1", "Linux", "s390x", False),
    ("25.7.0-2", "MacOSX", "x86_64", True),
    ("25.9.1-1", "MacOSX", "x86_64", False),
    ("latest", "MacOSX", "x86_64", False),
    ("latest", "MacOSX", "arm64", True),
    ("26.5.3-1", "Linux", "aarch64", True),
])
def test_miniconda_availability(release, os_name, arch, ok):
    if ok:
        inst.check_available("miniconda", release, os_name, arch)
    else:
        with pytest.raises(inst.InstallerError, match="not published for %s-%s" % (os_name, arch)):
            inst.check_available("miniconda", release, os_name, arch)


def test_miniforge_has_no_dropped_platforms():
    inst.check_available("miniforge", "latest", "MacOSX", "x86_64")
    inst.check_available("miniforge", "26.3.2-3", "Linux", "ppc64le")


@pytest.mark.parametrize("dist,release,os_name,arch,python,mirror,url", [
    ("miniforge", "26.3.2-3", "Linux", "x86_64", None, None,
     "https://github.com/conda-forge/miniforge/releases/download/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh"),
    ("miniforge", "latest", "Linux", "aarch64", None, None,
     "https://github.com/conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-aarch64.sh"),
    ("miniforge", "25.3.1-0", "MacOSX", "arm64", None, None,
     "https://github.com/conda-forge/miniforge/releases/download/25.3.1-0/Miniforge3-25.3.1-0-MacOSX-arm64.sh"),
    ("miniconda", "26.5.3-1", "Linux", "x86_64", "py313", None,
     "https://repo.anaconda.com/miniconda/Miniconda3-py313_26.5.3-1-Linux-x86_64.sh"),
    ("miniconda", "25.3.1-1", "MacOSX", "arm64", "py311", None,
     "https://repo.anaconda.com/miniconda/Miniconda3-py311_25.3.1-1-MacOSX-arm64.sh"),
    ("miniconda", "latest", "Linux", "aarch64", None, None,
     "https://repo.anaconda.com/miniconda/Miniconda3-latest-Linux-aarch64.sh"),
    ("miniconda", "26.5.3-1", "Linux", "x86_64", "py313", "https://mirror.example.org/conda/",
     "https://mirror.example.org/conda/Miniconda3-py313_26.5.3-1-Linux-x86_64.sh"),
    ("miniforge", "26.3.2-3", "Linux", "ppc64le", None, "http://10.0.0.1/mf",
     "http://10.0.0.1/mf/Miniforge3-26.3.2-3-Linux-ppc64le.sh"),
])
def test_installer_url(dist, release, os_name, arch, python, mirror, url):
    assert inst.installer_url(dist, release, os_name, arch, python, mirror) == url


def test_sidecars():
    forge = inst.installer_url("miniforge", "26.3.2-3", "Linux", "x86_64")
    assert inst.sidecar_url("miniforge", "26.3.2-3", forge) == forge + ".sha256"
    # Miniforge's "latest" copies have no sidecar, Miniconda publishes none, a mirror carries them.
    assert inst.sidecar_url("miniforge", "latest", inst.installer_url("miniforge", "latest", "Linux", "x86_64")) is None
    conda = inst.installer_url("miniconda", "26.5.3-1", "Linux", "x86_64", "py313")
    assert inst.sidecar_url("miniconda", "26.5.3-1", conda) is None
    assert inst.sidecar_url("miniconda", "26.5.3-1", "https://m/x.sh", "https://m") == "https://m/x.sh.sha256"


@pytest.mark.parametrize("name,release,python", [
    ("Miniforge3-26.3.2-3-Linux-x86_64.sh", "26.3.2-3", None),
    ("Miniforge3-25.3.1-0-MacOSX-arm64.sh", "25.3.1-0", None),
    ("Miniconda3-py313_26.5.3-1-Linux-x86_64.sh", "26.5.3-1", "py313"),
    ("Miniconda3-latest-Linux-x86_64.sh", None, None),
    ("Miniforge3-Linux-x86_64.sh", None, None),
    ("installer.sh", None, None),
])
def test_release_from_filename(name, release, python):
    assert inst.release_from_filename(name) == (release, python)


@pytest.mark.parametrize("header,release", [
    ("#!/bin/sh\n#\n# NAME:  Miniforge3\n# VER:   26.3.2-3\n# PLAT:  linux-64\n", "26.3.2-3"),
    ("#!/bin/sh\n# NAME:  Miniconda3\n# VER:   py313_26.5.3-1\n", "26.5.3-1"),
    ("#!/bin/sh\n# VER: 25.3.1\n", "25.3.1"),
    ('#!/bin/sh\nINSTALLER_NAME="Miniconda3"\nINSTALLER_VER="26.7.1-0"\n', "26.7.1-0"),
    ("#!/bin/sh\nexport INSTALLER_VER='py311_25.3.1-2'\n", "25.3.1-2"),
    ("#!/bin/sh\necho hello\n", None),
    ("# VER:   nightly\n", None),
])
def test_release_from_header(header, release):
    assert inst.release_from_header(header) == release


def test_url_basename():
    assert inst.url_basename("https://h/a/b/X.sh?token=1#f") == "X.sh"


# -- checksums ---------------------------------------------------------------------------------------


def test_parse_checksum():
    assert inst.parse_checksum("sha256:" + HEX.upper()) == HEX


@pytest.mark.parametrize("bad", [HEX, "md5:" + HEX[:32], "sha256:" + HEX[:-1], "sha256:" + HEX + "0", "sha256:xyz", ""])
def test_parse_checksum_rejects(bad):
    with pytest.raises(inst.InstallerError, match="checksum must be 'sha256:'"):
        inst.parse_checksum(bad)


def test_parse_sidecar_forms():
    assert inst.parse_sidecar(HEX + "  Miniforge3-26.3.2-3-Linux-x86_64.sh\n", "Miniforge3-26.3.2-3-Linux-x86_64.sh") == HEX
    assert inst.parse_sidecar(HEX + "\n") == HEX
    assert inst.parse_sidecar(HEX + " *dir/X.sh\n", "X.sh") == HEX
    other = "0" * 64
    text = "%s  A.sh\n%s  B.sh\n" % (other, HEX)
    assert inst.parse_sidecar(text, "B.sh") == HEX


@pytest.mark.parametrize("text", ["", "not a digest\n", "%s  A.sh\n%s  B.sh\n" % ("0" * 64, "1" * 64)])
def test_parse_sidecar_rejects(text):
    with pytest.raises(inst.InstallerError, match="no sha256 digest"):
        inst.parse_sidecar(text, "C.sh")


# -- validation: every input error names the bad value --------------------------------------------------


@pytest.mark.parametrize("kw,words", [
    (dict(prefix="opt/conda"), "prefix must be an absolute path, got 'opt/conda'"),
    (dict(prefix=""), "prefix must be an absolute path"),
    (dict(prefix="/"), "system directory"),
    (dict(prefix="/usr/"), "system directory"),
    (dict(distribution="anaconda"), "distribution must be one of miniconda, miniforge, got 'anaconda'"),
    (dict(state="installed"), "state must be one of present, latest, absent, got 'installed'"),
    (dict(version="26.3.2"), "version must be 'latest' or an installer release .* got '26.3.2'"),
    (dict(version="v26"), "got 'v26'"),
    (dict(distribution="miniforge", python="py313"), r"python \('py313'\) only applies to distribution=miniconda"),
    (dict(version="26.5.3-1", python="3.1x"), r"python must be a Python version such as '3.13' \(or the installer's tag, 'py313'\), got '3.1x'"),
    (dict(version="26.5.3-1", python="py3.13"), r"python must be a Python version such as '3.13'"),
    (dict(python="py312"), "cannot be chosen with version=latest"),
    (dict(installer_url="https://a/x.sh", mirror_url="https://m"), "at most one of .*installer_url, mirror_url"),
    (dict(installer_url="https://a/x.sh", installer_src="/x.sh"), "at most one of"),
    (dict(installer_url="ftp://a/x.sh"), "installer_url must be an https://, http:// or file:// URL, got 'ftp://a/x.sh'"),
    (dict(mirror_url="mirror.example.org"), "mirror_url must be .* got 'mirror.example.org'"),
    (dict(checksum_url="/tmp/x.sha256"), "checksum_url must be"),
    (dict(installer_src="rel/x.sh", remote_src=True), "installer_src must be an absolute path on the host, got 'rel/x.sh'"),
    (dict(checksum="sha256:" + HEX, checksum_url="https://a/x.sha256"), "checksum or checksum_url, not both"),
    (dict(checksum="sha1:abc"), "got 'sha1:abc'"),
    (dict(umask="22x"), "umask must be an octal string .* got '22x'"),
    (dict(mode="rwx"), "mode must be an octal string .* got 'rwx'"),
    (dict(init_shells=["bash", "fish"]), "init_shells entries must be among bash, zsh, got 'fish'"),
])
def test_validate_errors(kw, words):
    with pytest.raises(inst.InstallerError, match=words):
        inst.validate(params(**kw))


def test_validate_normalises():
    req = inst.validate(params(prefix="/opt/conda/", version="26.5.3-1", checksum="sha256:" + HEX))
    assert req["prefix"] == "/opt/conda"
    assert req["python"] == "py313"  # the default Python of a derived Miniconda name
    assert req["digest"] == HEX
    assert req["source"] == "derived"
    assert req["umask"] == 0o022
    assert inst.validate(params(installer_src="/srv/x.sh"))["source"] == "src"
    assert inst.validate(params(installer_url="https://a/x.sh"))["source"] == "url"
    assert inst.validate(params(mirror_url="https://m"))["source"] == "derived"


def test_miniforge_is_the_default_distribution():
    # Miniconda's latest installer has no checksum to verify it against: the default must work without one
    assert inst.DEFAULTS["distribution"] == "miniforge"
    without = dict((key, value) for key, value in params().items() if key != "distribution")
    assert inst.validate(without)["distribution"] == "miniforge"


# -- where the checksum comes from ---------------------------------------------------------------------------


def _source(url, sidecar=None, **kw):
    p = params(**kw)
    return inst.checksum_source(inst.validate(p), p, url, sidecar)


def test_checksum_source_order():
    assert _source("https://a/x.sh", checksum="sha256:" + HEX) == ("literal", HEX)
    assert _source("https://a/x.sh", checksum_url="https://a/x.sha256") == ("url", "https://a/x.sha256")
    assert _source("https://a/x.sh", sidecar="https://a/x.sh.sha256") == ("url", "https://a/x.sh.sha256")
    assert _source("https://a/x.sh", allow_unverified=True) == ("none", None)


def test_checksum_required_without_opt_out():
    with pytest.raises(inst.InstallerError, match="no checksum for .*Miniconda publishes no .sha256.*allow_unverified"):
        _source("https://repo.anaconda.com/miniconda/Miniconda3-latest-Linux-x86_64.sh")
    with pytest.raises(inst.InstallerError, match="latest' copies have no sidecar"):
        _source("https://x/Miniforge3-Linux-x86_64.sh", distribution="miniforge")


def test_plain_http_needs_a_trustworthy_checksum():
    assert _source("http://m/x.sh", checksum="sha256:" + HEX) == ("literal", HEX)
    assert _source("http://m/x.sh", checksum_url="https://m/x.sha256") == ("url", "https://m/x.sha256")
    assert _source("http://m/x.sh", checksum_url="file:///srv/x.sha256") == ("url", "file:///srv/x.sha256")
    with pytest.raises(inst.InstallerError, match="plain http, and so would its checksum"):
        _source("http://m/x.sh", sidecar="http://m/x.sh.sha256")
    with pytest.raises(inst.InstallerError, match="allow_unverified is not enough"):
        _source("http://m/x.sh", allow_unverified=True)


# -- decisions ------------------------------------------------------------------------------------------------


def st(state, version=None):
    return {"state": state, "version": version}


@pytest.mark.parametrize("current,state,release,target,action", [
    (st("absent"), "present", "latest", None, "install"),
    (st("absent"), "present", "26.7.1-0", None, "install"),
    (st("absent"), "latest", "latest", None, "install"),
    (st("incomplete"), "present", "latest", None, "reinstall"),
    (st("incomplete"), "latest", "26.7.1-0", None, "reinstall"),
    (st("foreign"), "present", "latest", None, "refuse"),
    (st("foreign"), "absent", "latest", None, "refuse"),
    (st("installed", "25.3.1"), "present", "latest", None, "none"),
    (st("installed", "25.3.1"), "present", "25.3.1-0", None, "none"),
    (st("installed", "25.3.1"), "present", "26.7.1-0", None, "upgrade"),
    (st("installed", "26.7.1"), "present", "25.3.1-0", None, "none"),
    (st("installed", "25.3.1"), "latest", "latest", "26.7.1-0", "upgrade"),
    (st("installed", "26.7.1"), "latest", "latest", "26.7.1-0", "none"),
    (st("installed", "25.10.0"), "latest", "latest", "25.9.1-1", "none"),
    (st("installed", "25.3.1"), "absent", "latest", None, "remove"),
    (st("incomplete"), "absent", "latest", None, "remove"),
    (st("absent"), "absent", "latest", None, "none"),
])
def test_plan(current, state, release, target, action):
    decision = inst.plan(current, state, release, target)
    assert decision["action"] == action
    assert decision["before"]["state"] == current["state"]
    if action == "none":
        assert decision["after"] == decision["before"]


def test_plan_after_versions():
    up = inst.plan(st("installed", "25.3.1"), "latest", "latest", "26.7.1-0")
    assert up["before"] == {"state": "installed", "version": "25.3.1"}
    assert up["after"] == {"state": "installed", "version": "26.7.1"}
    assert inst.plan(st("absent"), "present", "26.7.1-0")["after"] == {"state": "installed", "version": "26.7.1"}
    assert inst.plan(st("installed", "25.3.1"), "absent", "latest")["after"] == {"state": "absent", "version": None}
    assert "not downgrading" in inst.plan(st("installed", "26.7.1"), "present", "25.3.1-0")["reason"]
    assert "not a conda installation" in inst.plan(st("foreign"), "present", "latest")["reason"]


@pytest.mark.parametrize("action,argv", [
    ("install", ["bash", "/t/i.sh", "-b", "-p", "/opt/conda"]),
    ("upgrade", ["bash", "/t/i.sh", "-b", "-p", "/opt/conda", "-u"]),
    ("reinstall", ["bash", "/t/i.sh", "-b", "-p", "/opt/conda", "-u"]),
])
def test_installer_argv(action, argv):
    assert inst.installer_argv("/t/i.sh", "/opt/conda", action) == argv


def test_needs_installer():
    assert [a for a in ("none", "install", "reinstall", "upgrade", "remove", "refuse") if inst.needs_installer(a)] == [
        "install", "reinstall", "upgrade"]


# -- rc files -------------------------------------------------------------------------------------------------


def test_rc_path():
    assert inst.rc_path("bash", "/home/a") == "/home/a/.bashrc"
    assert inst.rc_path("bash", "/Users/a", "Darwin") == "/Users/a/.bash_profile"
    assert inst.rc_path("zsh", "/home/a/") == "/home/a/.zshrc"


def test_init_block_round_trip():
    original = "export EDITOR=vi\n"
    added = inst.with_init(original, "/opt/conda", "bash")
    assert added.startswith(original)
    assert "'/opt/conda/bin/conda' 'shell.bash' 'hook'" in added
    assert inst.has_init(added, "/opt/conda")
    assert inst.with_init(added, "/opt/conda", "bash") == added  # idempotent
    assert inst.without_init(added, "/opt/conda").strip() == original.strip()
    assert inst.with_init(None, "/opt/conda", "zsh").startswith(inst.BLOCK_START)
    assert "'shell.zsh'" in inst.with_init("", "/opt/conda", "zsh")


def test_init_block_replaces_another_prefix_and_reverse_keeps_foreign_blocks():
    other = inst.with_init("", "/srv/other", "bash")
    moved = inst.with_init(other, "/opt/conda", "bash")
    assert moved.count(inst.BLOCK_START) == 1 and inst.has_init(moved, "/opt/conda")
    assert inst.without_init(other, "/opt/conda") == other


def test_reverse_restores_lines_conda_commented_out():
    text = "# . /opt/conda/etc/profile.d/conda.sh  # commented out by conda initialize\n" + inst.init_block("/opt/conda", "bash")
    assert inst.without_init(text, "/opt/conda") == ". /opt/conda/etc/profile.d/conda.sh\n"
    # conda's own (real) block, written by `conda init bash`, is recognised too
    assert inst.without_init(inst.init_block("/opt/conda", "bash"), "/opt/conda") == ""


@pytest.mark.parametrize("wanted, installed, expected", [
    ("26.7.1", "26.7.1", None),
    ("26.7", "26.7.0", None),                 # one version, two spellings
    (None, "25.3.1", None),                   # any version was fine (version=latest, state=present)
    ("26.7.1", None, None),                   # nothing to compare (the install is reported incomplete elsewhere)
    ("26.7.1", "25.3.1", "claims conda 26.7.1 but installed conda 25.3.1"),
    ("25.3.1", "26.7.1", "claims conda 25.3.1 but installed conda 26.7.1"),
])
def test_label_mismatch(wanted, installed, expected):
    assert inst.label_mismatch(wanted, installed) == expected


def test_last_words_say_why_an_installer_failed():
    assert inst.last_words("", "ok\ntar: ./lib/x.so: Cannot write: No space left on device\n\n") == \
        ": tar: ./lib/x.so: Cannot write: No space left on device"
    assert inst.last_words("ERROR: bad\n", "noise\n") == ": ERROR: bad"
    assert inst.last_words(None, "") == ""


# -- the acquisition plan (data) ------------------------------------------------------------------------

MF = "https://github.com/conda-forge/miniforge/releases"


def acq(system="Linux", machine="x86_64", **kw):
    p = params(**kw)
    return inst.acquisition(inst.validate(p), p, system, machine)


def test_acquisition_of_a_pinned_miniforge_uses_its_sidecar():
    plan = acq(distribution="miniforge", version="26.3.2-3")
    url = MF + "/download/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh"
    assert plan == {
        "kind": "url", "path": None, "url": url, "sidecar": url + ".sha256", "name": "Miniforge3-26.3.2-3-Linux-x86_64.sh",
        "display": url, "where": "host", "discover": False, "pin": False,
        "checksum": {"kind": "url", "value": url + ".sha256", "missing": None},
    }


def test_acquisition_of_miniforge_latest_pins_the_versioned_asset():
    plan = acq(distribution="miniforge", state="latest", system="Darwin", machine="arm64")
    assert plan["url"] == MF + "/latest/download/Miniforge3-MacOSX-arm64.sh" and plan["sidecar"] is None
    assert (plan["discover"], plan["pin"]) == (True, True)
    assert plan["checksum"]["kind"] == "error" and "pin a version" in plan["checksum"]["value"]
    # planned again with the release it stands for: the versioned asset and its sidecar
    p = params(distribution="miniforge", state="latest")
    pinned = inst.acquisition(dict(inst.validate(p), release="26.7.1-0"), p, "Darwin", "arm64")
    assert pinned["url"] == MF + "/download/26.7.1-0/Miniforge3-26.7.1-0-MacOSX-arm64.sh"
    assert pinned["checksum"] == {"kind": "url", "value": pinned["url"] + ".sha256", "missing": None}
    assert (pinned["discover"], pinned["pin"]) == (False, False)


@pytest.mark.parametrize("kw,pin", [
    (dict(checksum="sha256:" + HEX), False),                                  # a digest given: the latest copy will do
    (dict(checksum_url="https://example.org/x.sha256"), False),
    (dict(mirror_url="https://mirror.example.org/mf"), False),                # a mirror carries sidecars for all
    (dict(), True),
])
def test_acquisition_pins_miniforge_latest_only_without_a_checksum(kw, pin):
    assert acq(distribution="miniforge", **kw)["pin"] is pin


def test_acquisition_through_an_authenticated_mirror_masks_what_it_shows():
    plan = acq(version="26.5.3-1", mirror_url="https://fleet:s3cret@mirror.example.org/mc/", installer_cache="controller")
    url = "https://fleet:s3cret@mirror.example.org/mc/Miniconda3-py313_26.5.3-1-Linux-x86_64.sh"
    assert (plan["url"], plan["sidecar"], plan["where"]) == (url, url + ".sha256", "controller")
    assert plan["display"] == "https://fleet:********@mirror.example.org/mc/Miniconda3-py313_26.5.3-1-Linux-x86_64.sh"
    assert plan["checksum"] == {"kind": "url", "value": url + ".sha256", "missing": None}


@pytest.mark.parametrize("kw,checksum", [
    (dict(checksum="sha256:" + HEX.upper()), {"kind": "literal", "value": HEX, "missing": None}),
    (dict(allow_unverified=True), {"kind": "none", "value": None, "missing": None}),
])
def test_acquisition_of_miniconda_upstream(kw, checksum):
    plan = acq(version="26.5.3-1", **kw)
    assert plan["url"] == "https://repo.anaconda.com/miniconda/Miniconda3-py313_26.5.3-1-Linux-x86_64.sh"
    assert plan["sidecar"] is None and plan["checksum"] == checksum


def test_acquisition_without_a_checksum_is_an_error_as_data():
    plan = acq(version="26.5.3-1")  # nothing raised: it only matters when an installer is needed
    assert plan["checksum"]["kind"] == "error" and "allow_unverified" in plan["checksum"]["value"]
    plan = acq(installer_url="http://mirror.example.org/x.sh", checksum_url="http://mirror.example.org/x.sh.sha256")
    assert plan["checksum"]["kind"] == "error" and "plain http" in plan["checksum"]["value"]
    assert plan["name"] == "x.sh" and plan["sidecar"] is None


def test_acquisition_of_a_given_url_needs_no_platform():
    plan = acq(system="Windows", machine="x86_64", installer_url="https://h/t/tok-1/dl/Miniforge3-26.7.1-0-Linux-x86_64.sh?x=1",
               state="latest", checksum="sha256:" + HEX)
    assert plan["name"] == "Miniforge3-26.7.1-0-Linux-x86_64.sh" and plan["discover"] is True
    assert plan["display"] == "https://h/t/********/dl/Miniforge3-26.7.1-0-Linux-x86_64.sh?x=1"


@pytest.mark.parametrize("kw,where,checksum", [
    (dict(remote_src=True), "host",
     {"kind": "file", "value": "/srv/Miniforge3.sh.sha256",
      "missing": "no checksum for installer_src /srv/Miniforge3.sh: give checksum: sha256:..., checksum_url, "
                 "a /srv/Miniforge3.sh.sha256 file next to it, or allow_unverified: true"}),
    (dict(allow_unverified=True), "controller", {"kind": "file", "value": "/srv/Miniforge3.sh.sha256", "missing": None}),
    (dict(checksum_url="file:///srv/sums"), "controller", {"kind": "url", "value": "file:///srv/sums", "missing": None}),
    (dict(checksum="sha256:" + HEX, installer_cache="controller", remote_src=True), "host",
     {"kind": "literal", "value": HEX, "missing": None}),
])
def test_acquisition_of_an_installer_src(kw, where, checksum):
    plan = acq(system="Plan9", installer_src="/srv/Miniforge3.sh", **kw)
    assert (plan["kind"], plan["path"], plan["url"], plan["name"], plan["display"]) == \
        ("file", "/srv/Miniforge3.sh", None, "Miniforge3.sh", "/srv/Miniforge3.sh")
    assert plan["where"] == where and plan["checksum"] == checksum and plan["pin"] is False


def test_acquisition_refuses_unpublished_platforms():
    with pytest.raises(inst.InstallerError, match="Linux-s390x"):
        acq(distribution="miniforge", machine="s390x")
    with pytest.raises(inst.InstallerError, match="not published for MacOSX-x86_64"):
        acq(system="Darwin", machine="x86_64")


@pytest.mark.parametrize("python, tag", [("3.13", "py313"), ("3.9", "py39"), ("py312", "py312")])
def test_python_is_a_version_as_in_conda_env_or_the_installer_tag(python, tag):
    assert inst.installer_python_tag(python) == tag


@pytest.mark.parametrize("python", ["3.1", "3.2"])
def test_python_3_1_and_3_2_are_refused_as_yaml_numbers(python):
    with pytest.raises(inst.InstallerError, match=r"did you mean '%s0'\? YAML reads an unquoted %s0 as the number "
                                                  % (re.escape(python), re.escape(python))):
        inst.validate(params(version="26.3.2-3", python=python))
