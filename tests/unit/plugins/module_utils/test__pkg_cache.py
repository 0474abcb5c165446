# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_pkg_cache: a lock's packages fetched once into a verified cache, packed, and unpacked into conda's cache."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _pkg_cache as pc

BODIES = {"numpy-2.1.0-py311_0.conda": b"numpy bytes", "python-3.11.9-h0_0.conda": b"python bytes"}


def entry(name, body=None, algorithm="md5"):
    body = BODIES[name] if body is None else body
    out = {"url": "https://conda.example.org/conda-forge/linux-64/" + name, "subdir": "linux-64"}
    out[algorithm] = hashlib.new(algorithm, body).hexdigest()
    return out


class Opener:
    def __init__(self, bodies=None):
        self.bodies = dict(BODIES, **(bodies or {}))
        self.calls = []

    def __call__(self, url):
        self.calls.append(url)
        name = url.rsplit("/", 1)[1]
        if name not in self.bodies:
            raise IOError("HTTP Error 404: Not Found")
        return io.BytesIO(self.bodies[name])


def test_each_package_is_fetched_once_and_kept_only_when_it_matches(tmp_path):
    entries = [entry(name) for name in BODIES]
    opener = Opener()
    assert sorted(pc.fill(str(tmp_path), entries, opener)[0]) == sorted(BODIES)
    assert len(opener.calls) == 2
    assert pc.fill(str(tmp_path), entries, opener) == ([], []) and len(opener.calls) == 2  # the cache has them
    assert (tmp_path / "linux-64" / "numpy-2.1.0-py311_0.conda").read_bytes() == b"numpy bytes"


def test_a_package_that_does_not_match_the_lock_is_not_kept(tmp_path):
    bad = entry("numpy-2.1.0-py311_0.conda", body=b"what the lock says")
    with pytest.raises(pc.CacheError, match="does not match the lock: expected md5:"):
        pc.fill(str(tmp_path), [bad], Opener())
    assert os.listdir(tmp_path / "linux-64") == []


def test_sha256_is_checked_when_the_lock_gives_it(tmp_path):
    good = entry("numpy-2.1.0-py311_0.conda", algorithm="sha256")
    assert pc.fill(str(tmp_path), [good], Opener()) == (["numpy-2.1.0-py311_0.conda"], [])


def test_a_download_error_names_the_url_without_its_credentials(tmp_path):
    missing = {"url": "https://bob:s3cret@conda.example.org/cf/linux-64/gone-1-0.conda", "subdir": "linux-64",
               "md5": "0" * 32}
    with pytest.raises(pc.CacheError) as info:
        pc.fill(str(tmp_path), [missing], Opener())
    assert "s3cret" not in str(info.value) and "404" in str(info.value)


def test_check_mode_names_what_would_be_fetched_and_fetches_nothing(tmp_path):
    opener = Opener()
    assert pc.fill(str(tmp_path), [entry("numpy-2.1.0-py311_0.conda")], opener, check_mode=True) == \
        (["numpy-2.1.0-py311_0.conda"], [])
    assert opener.calls == []


def test_pack_then_unpack_puts_the_packages_in_conda_cache_with_their_urls(tmp_path):
    entries = [entry(name) for name in BODIES]
    pc.fill(str(tmp_path / "cache"), entries, Opener())
    archive = pc.pack(str(tmp_path / "cache"), entries)
    assert pc.pack(str(tmp_path / "cache"), entries) == archive  # made once
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    (pkgs / "urls.txt").write_text("https://other/x-1-0.conda\n")
    assert sorted(pc.unpack(archive, str(pkgs), entries)) == sorted(BODIES)
    assert (pkgs / "python-3.11.9-h0_0.conda").read_bytes() == b"python bytes"
    urls = (pkgs / "urls.txt").read_text().splitlines()
    assert urls[0] == "https://other/x-1-0.conda" and sorted(urls[1:]) == sorted(e["url"] for e in entries)
    assert pc.unpack(archive, str(pkgs), entries) == []  # already there
    assert len((pkgs / "urls.txt").read_text().splitlines()) == 3


def test_unpack_removes_what_a_killed_unpack_left_and_nothing_else(tmp_path):
    entries = [entry(name) for name in BODIES]
    pc.fill(str(tmp_path / "cache"), entries, Opener())
    archive = pc.pack(str(tmp_path / "cache"), entries)
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    (pkgs / (pc.UNPACK_PART + "k1ll3d")).write_bytes(b"half a package")
    (pkgs / ".part.other").write_bytes(b"not unpack's")
    (pkgs / (pc.UNPACK_PART + "dir")).mkdir()
    os.symlink("/etc/passwd", str(pkgs / (pc.UNPACK_PART + "link")))
    assert sorted(pc.unpack(archive, str(pkgs), entries)) == sorted(BODIES)
    assert sorted(os.listdir(pkgs)) == sorted(list(BODIES) + [
        ".part.other", pc.UNPACK_PART + "dir", pc.UNPACK_PART + "link", "urls.txt"])


def test_unpack_takes_only_the_lock_files_never_a_path(tmp_path):
    archive = tmp_path / "hostile.tar"
    with tarfile.open(archive, "w") as tar:
        for name, body in (("../escape.conda", b"x"), ("sub/numpy-2.1.0-py311_0.conda", b"y"),
                           ("unlisted-1-0.conda", b"z")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        link = tarfile.TarInfo("numpy-2.1.0-py311_0.conda")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    assert pc.unpack(str(archive), str(pkgs), [entry("numpy-2.1.0-py311_0.conda")]) == []
    assert sorted(os.listdir(pkgs)) == ["urls.txt"] and not (tmp_path / "escape.conda").exists()
    assert (pkgs / "urls.txt").read_text() == ""


def test_a_lock_entry_without_checksum_is_refused(tmp_path):
    with pytest.raises(pc.CacheError, match="no checksum"):
        pc.fill(str(tmp_path), [{"url": "https://h/cf/linux-64/a-1-0.conda", "subdir": "linux-64"}], Opener())


def test_packages_are_taken_from_sources_before_the_network_and_only_when_they_match(tmp_path):
    entries = [entry(name) for name in BODIES]
    conda_pkgs = tmp_path / "pkgs"  # a host's conda package cache: one right file, one wrong
    conda_pkgs.mkdir()
    (conda_pkgs / "numpy-2.1.0-py311_0.conda").write_bytes(b"numpy bytes")
    (conda_pkgs / "python-3.11.9-h0_0.conda").write_bytes(b"tampered")
    opener = Opener()
    staged = tmp_path / "staged"
    assert pc.fill(str(staged), entries, opener, sources=[str(conda_pkgs)]) == \
        (["python-3.11.9-h0_0.conda"], ["numpy-2.1.0-py311_0.conda"])
    archive = pc.pack(str(staged), entries)
    controller = tmp_path / "controller"
    opener = Opener()
    assert pc.fill(str(controller), entries, opener, sources=[archive]) == ([], sorted(BODIES))
    assert opener.calls == []
    assert (controller / "linux-64" / "python-3.11.9-h0_0.conda").read_bytes() == b"python bytes"
