# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Tests of the offline conda world's channels (TEST INFRASTRUCTURE).

Real things only: repodata written by rattler's indexer, solves and installs
with py-rattler over file:// and over the loopback HTTP server, the python
stand-in run for real, pip installing from the loopback PyPI index.
"""
from __future__ import annotations

import asyncio
import glob
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import channel  # noqa: E402
from server import Server  # noqa: E402

rattler = pytest.importorskip("rattler")
zstandard = pytest.importorskip("zstandard")

pytestmark = pytest.mark.world

REFERENCE = os.path.join(HERE, "reference", "conda-26.7")  # the project's copy of the transcripts
HOST_PY311 = os.path.exists("/usr/bin/python3.11") or os.path.exists("/usr/local/bin/python3.11")


def _pyxy_host(xy):
    return any(os.access(os.path.join(d, "python" + xy), os.X_OK)
               for d in ("/usr/bin", "/usr/local/bin", "/bin"))


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def world():
    return channel.build_channel(channel.DEFAULT_OUT, quiet=True)


@pytest.fixture(scope="session")
def server(world):
    with Server(world["root"]) as srv:
        yield srv


@pytest.fixture(scope="session")
def gateway(tmp_path_factory):
    return rattler.Gateway(cache_dir=str(tmp_path_factory.mktemp("rattler-cache")))


def _repodata(path, subdir):
    with open(os.path.join(path, subdir, "repodata.json")) as fh:
        return json.load(fh)


def _records(path):
    """{filename: record} of both subdirs of a channel."""
    out = {}
    for subdir in ("noarch", "linux-64"):
        data = _repodata(path, subdir)
        for key in ("packages", "packages.conda"):
            out.update(data.get(key, {}))
    return out


def _by(records, name):
    return {(r["version"], r["build"]): r for r in records.values() if r["name"] == name}


def _vp(name, version):
    return rattler.GenericVirtualPackage(rattler.PackageName(name), rattler.Version(version),
                                         rattler.BuildString("0"))


def _solve(channels, specs, cuda=None, gateway=None):
    virtual = [_vp("__glibc", "2.36"), _vp("__linux", "6.1"), _vp("__unix", "0")]
    if cuda:
        virtual.append(_vp("__cuda", cuda))
    kwargs = {"gateway": gateway} if gateway is not None else {}
    records = asyncio.run(rattler.solve(channels, specs, platforms=["linux-64", "noarch"],
                                        virtual_packages=virtual, **kwargs))
    return {r.name.normalized: r for r in records}


def _file_url(path):
    return "file://" + path


# --------------------------------------------------------------------------- repodata
def test_layout_and_result(world):
    root = world["root"]
    assert world["channels"] == {c: os.path.join(root, c) for c in ("conda-forge", "pytorch", "nvidia")}
    assert world["pypi"] == os.path.join(root, "pypi")
    for path in world["channels"].values():
        for subdir in ("noarch", "linux-64"):
            data = _repodata(path, subdir)
            assert data["info"]["subdir"] == subdir
    with open(os.path.join(root, "stamp.json")) as fh:
        stamp = json.load(fh)
    assert stamp["source_hash"] == channel.source_hash()
    assert stamp["result"] == world


def test_reference_table(world):
    recs = _records(world["channels"]["conda-forge"])
    pythons = _by(recs, "python")
    assert sorted(v for v, _b in pythons) == sorted(["3.9.18", "3.10.14", "3.11.9", "3.12.4", "3.13.1"])
    for r in pythons.values():
        assert r["build"] == "h0_0_cpython" and r["depends"] == ["__glibc >=2.17"]
        assert r["subdir"] == "linux-64" and r["timestamp"] == 1700000000000

    pips = _by(recs, "pip")
    assert set(pips) == {("24.0", "py%s_0" % b) for b in ("39", "310", "311", "312", "313")}
    assert pips[("24.0", "py311_0")]["depends"] == ["python >=3.11,<3.12.0a0"]

    numpy = _by(recs, "numpy")
    expect = {("1.24.3", b) for b in ("py39_0", "py310_0", "py311_0")}
    expect |= {("1.26.4", b) for b in ("py39_0", "py310_0", "py311_0", "py312_0")}
    expect |= {("2.1.0", b) for b in ("py310_0", "py311_0", "py312_0", "py313_0")}
    assert set(numpy) == expect
    assert numpy[("2.1.0", "py312_0")]["depends"] == ["python >=3.12,<3.13.0a0"]

    pandas = _by(recs, "pandas")
    assert {v for v, _b in pandas} == {"2.0.3", "2.2.2"} and len(pandas) == 8
    assert pandas[("2.2.2", "py39_0")]["depends"] == ["python >=3.9,<3.10.0a0", "numpy >=1.22"]
    sk = _by(recs, "scikit-learn")
    assert len(sk) == 4 and sk[("1.3.2", "py310_0")]["depends"][1] == "numpy >=1.17"
    fastapi = _by(recs, "fastapi")[("0.110.0", "pyhd8ed1ab_0")]
    assert fastapi["noarch"] == "python" and fastapi["subdir"] == "noarch"
    assert fastapi["depends"] == ["python >=3.8"]
    assert _by(recs, "opencv")[("4.9.0", "h0_0")]["depends"] == ["numpy >=1.21"]

    assert set(_by(recs, "cuda-version")) == {(v, "h0_0") for v in ("11.8", "12.1", "12.4")}
    pc = _by(recs, "pytorch-cuda")
    assert pc[("11.8", "h0_0")]["depends"] == ["__cuda >=11", "cuda-version 11.8.*"]
    assert pc[("12.4", "h0_0")]["depends"] == ["__cuda >=12", "cuda-version 12.4.*"]
    mutex = _by(recs, "pytorch-mutex")
    assert mutex[("1.0", "cpu")]["track_features"] == "pytorch-mutex"
    assert "track_features" not in mutex[("1.0", "cuda")]
    assert mutex[("1.0", "cuda")]["noarch"] == "generic"

    torch = _by(recs, "pytorch")
    for version, cudas in (("2.0.1", ["11.8"]), ("2.1.0", ["11.8", "12.1"]),
                           ("2.4.0", ["11.8", "12.1", "12.4"])):
        for xy in ("3.9", "3.10", "3.11", "3.12"):
            cpu = torch[(version, "py%s_cpu_0" % xy)]
            assert "pytorch-mutex ==1.0 cpu" in cpu["depends"]
            for c in cudas:
                r = torch[(version, "py%s_cuda%s_cudnn8_0" % (xy, c))]
                assert "pytorch-cuda >=%s,<%s.1" % (c, c) in r["depends"]
                assert "pytorch-mutex ==1.0 cuda" in r["depends"]
    for name, versions in (("torchvision", {"0.15.2", "0.16.0", "0.19.0", "0.20.1"}),
                           ("torchaudio", {"2.0.2", "2.1.0", "2.4.0", "2.5.1"})):
        got = _by(recs, name)
        assert {v for v, _b in got} == versions and len(got) == 16
    assert _by(recs, "torchvision")[("0.16.0", "py311_0")]["depends"] == [
        "python >=3.11,<3.12.0a0", "pytorch ==2.1.0"]


def test_conda_forge_style_pytorch(world):
    torch = _by(_records(world["channels"]["conda-forge"]), "pytorch")
    cf = {b: r for (v, b), r in torch.items() if v == "2.5.1"}
    assert len(cf) == 12
    for xy in ("39", "310", "311", "312"):
        cuda = [b for b in cf if re.match(r"^cuda124_mkl_py%s_h[0-9a-f]{7}_300$" % xy, b)]
        cuda118 = [b for b in cf if re.match(r"^cuda118_mkl_py%s_h[0-9a-f]{7}_300$" % xy, b)]
        cpu = [b for b in cf if re.match(r"^cpu_mkl_py%s_h[0-9a-f]{7}_100$" % xy, b)]
        assert len(cuda) == len(cuda118) == len(cpu) == 1
        assert "__cuda >=12" in cf[cuda[0]]["depends"]
        assert "cuda-version >=12.4,<13" in cf[cuda[0]]["depends"]
        assert "cuda-version >=11.8,<12" in cf[cuda118[0]]["depends"]
        assert cf[cuda[0]]["build_number"] == 300 and cf[cpu[0]]["build_number"] == 100
        assert not any(d.startswith("__cuda") for d in cf[cpu[0]]["depends"])


def test_transcript_records(world):
    """FETCH records real conda printed against the reference channel match ours."""
    files = sorted(glob.glob(os.path.join(REFERENCE, "*.json")))
    assert len(files) >= 30, REFERENCE
    recs = _records(world["channels"]["conda-forge"])
    seen = 0
    for path in files:
        with open(path) as fh:
            data = json.load(fh)
        out = data.get("stdout_json") or {}
        actions = out.get("actions", {}) if isinstance(out, dict) else {}
        for fetch in actions.get("FETCH", []):
            ours = recs[fetch["fn"]]
            for key in ("name", "version", "build", "build_number", "depends", "subdir",
                        "license", "timestamp"):
                assert ours[key] == fetch[key], (fetch["fn"], key)
            assert ours.get("constrains", []) == fetch["constrains"]
            assert ours.get("noarch") == fetch.get("noarch")
            seen += 1
        for link in actions.get("LINK", []):
            dist = link["dist_name"]
            assert any(fn in recs for fn in (dist + ".tar.bz2", dist + ".conda")), dist
    assert seen >= 5


def test_legacy_channels(world):
    pt = {r["name"] for r in _records(world["channels"]["pytorch"]).values()}
    assert pt == {"pytorch", "pytorch-cuda", "pytorch-mutex", "torchvision", "torchaudio"}
    legacy_torch = {r["version"] for r in _records(world["channels"]["pytorch"]).values()
                    if r["name"] == "pytorch"}
    assert legacy_torch == {"2.0.1", "2.1.0", "2.4.0"}
    nv = {r["name"] for r in _records(world["channels"]["nvidia"]).values()}
    assert nv == {"cuda-version"}


def test_formats_half_and_half(world):
    cf = world["channels"]["conda-forge"]
    files = [f for s in ("noarch", "linux-64") for f in os.listdir(os.path.join(cf, s))
             if f.endswith((".conda", ".tar.bz2"))]
    n_conda = sum(f.endswith(".conda") for f in files)
    assert 0.3 < n_conda / len(files) < 0.7
    # .tar.bz2: info/ + payload
    with tarfile.open(os.path.join(cf, "linux-64", "python-3.11.9-h0_0_cpython.tar.bz2")) as tf:
        names = tf.getnames()
        paths = json.load(tf.extractfile("info/paths.json"))
        index = json.load(tf.extractfile("info/index.json"))
        script = tf.extractfile("bin/python").read().decode()
        assert tf.getmember("bin/python").mode & 0o111
    assert {"info/index.json", "info/paths.json", "info/files", "bin/python"} <= set(names)
    assert index["name"] == "python" and index["build"] == "h0_0_cpython"
    entry = [p for p in paths["paths"] if p["_path"] == "bin/python"][0]
    assert entry["prefix_placeholder"] == channel.PLACEHOLDER and entry["file_mode"] == "text"
    assert channel.PLACEHOLDER in script
    # .conda: zip of metadata.json, info-*.tar.zst, pkg-*.tar.zst
    fn = os.path.join(cf, "linux-64", "scikit-learn-1.3.2-py311_0.conda")
    with zipfile.ZipFile(fn) as zf:
        names = set(zf.namelist())
        assert names == {"metadata.json", "info-scikit-learn-1.3.2-py311_0.tar.zst",
                         "pkg-scikit-learn-1.3.2-py311_0.tar.zst"}
        info = zstandard.ZstdDecompressor().decompress(
            zf.read("info-scikit-learn-1.3.2-py311_0.tar.zst"), max_output_size=1 << 24)
    with tarfile.open(fileobj=io.BytesIO(info)) as tf:
        assert json.load(tf.extractfile("info/index.json"))["name"] == "scikit-learn"
        files_list = tf.extractfile("info/files").read().decode().split()
    assert "lib/python3.11/site-packages/sklearn/__init__.py" in files_list


def test_pypi_index(world):
    simple = os.path.join(world["pypi"], "simple")
    with open(os.path.join(simple, "index.html")) as fh:
        top = fh.read()
    assert 'href="condafleet-hello/"' in top and 'href="tinyjson/"' in top
    with open(os.path.join(simple, "condafleet-hello", "index.html")) as fh:
        page = fh.read()
    links = re.findall(r'href="\.\./\.\./packages/([^"#]+)#sha256=([0-9a-f]{64})"', page)
    assert sorted(link[0] for link in links) == ["condafleet_hello-1.0-py3-none-any.whl",
                                                 "condafleet_hello-1.1-py3-none-any.whl"]
    for fn, digest in links:
        with open(os.path.join(world["pypi"], "packages", fn), "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == digest


def test_cache_is_reused(world):
    start = time.monotonic()
    again = channel.build_channel(world["root"], quiet=True)
    assert again == world
    assert time.monotonic() - start < 2


@pytest.mark.slow
def test_build_is_deterministic(world, tmp_path):
    start = time.monotonic()
    res = channel.build_channel(str(tmp_path / "w"), quiet=True)
    assert time.monotonic() - start < 60
    for name in ("conda-forge", "pytorch", "nvidia"):
        for subdir in ("noarch", "linux-64"):
            a = os.path.join(world["channels"][name], subdir)
            b = os.path.join(res["channels"][name], subdir)
            assert sorted(os.listdir(a)) == sorted(os.listdir(b))
            for fn in os.listdir(a):
                with open(os.path.join(a, fn), "rb") as fa, open(os.path.join(b, fn), "rb") as fb:
                    assert fa.read() == fb.read(), fn
    # other content of the world root is left alone by a rebuild
    keep = tmp_path / "w" / "installers" / "keep.txt"
    keep.parent.mkdir()
    keep.write_text("x")
    channel.build_channel(str(tmp_path / "w"), force=True, quiet=True)
    assert keep.read_text() == "x"


# --------------------------------------------------------------------------- solves
SCENARIOS = [
    ("finance", ["python=3.9", "pandas", "scikit-learn"], None,
     {"python": ("3.9.18", "h0_0_cpython"), "pandas": ("2.2.2", "py39_0"),
      "scikit-learn": ("1.3.2", "py39_0"), "numpy": ("1.26.4", "py39_0")}),
    ("vision-cuda", ["python=3.11", "pytorch", "opencv"], "12.4",
     {"python": ("3.11.9", "h0_0_cpython"), "opencv": ("4.9.0", "h0_0"),
      "cuda-version": ("12.4", "h0_0"), "pytorch": ("2.5.1", "cuda124_mkl_py311_*_300")}),
    ("vision-cuda-old-driver", ["python=3.11", "pytorch", "opencv"], "11.4",
     {"cuda-version": ("11.8", "h0_0"), "pytorch": ("2.5.1", "cuda118_mkl_py311_*_300")}),
    ("vision-cpu", ["python=3.11", "pytorch", "opencv"], None,
     {"pytorch": ("2.5.1", "cpu_mkl_py311_*_100"), "cuda-version": None}),
    ("webdev", ["python=3.12", "fastapi"], None,
     {"python": ("3.12.4", "h0_0_cpython"), "fastapi": ("0.110.0", "pyhd8ed1ab_0")}),
    # transcript 21: legacy builds on the reference channel
    ("gpu-legacy-12.2", ["python=3.11", "pytorch=2.1", "pytorch-cuda=12.1"], "12.2",
     {"pytorch": ("2.1.0", "py3.11_cuda12.1_cudnn8_0"), "pytorch-mutex": ("1.0", "cuda"),
      "pytorch-cuda": ("12.1", "h0_0"), "cuda-version": ("12.1", "h0_0"),
      "numpy": ("2.1.0", "py311_0")}),
    # transcript 04
    ("vision-04", ["python=3.11", "numpy", "opencv"], None,
     {"python": ("3.11.9", "h0_0_cpython"), "numpy": ("2.1.0", "py311_0"),
      "opencv": ("4.9.0", "h0_0")}),
]


def _check(solution, expect):
    for name, want in expect.items():
        if want is None:
            assert name not in solution, name
            continue
        rec = solution[name]
        assert str(rec.version) == want[0], name
        assert re.fullmatch(want[1].replace("*", "[0-9a-zh]+"), str(rec.build)), (name, rec.build)


@pytest.mark.parametrize("case", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_solve_file(world, case):
    _name, specs, cuda, expect = case
    sol = _solve([_file_url(world["channels"]["conda-forge"])], specs, cuda)
    _check(sol, expect)
    assert all(str(r.channel).rstrip("/").endswith("conda-forge") for r in sol.values())


@pytest.mark.parametrize("case", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_solve_http(server, gateway, case):
    _name, specs, cuda, expect = case
    before = server.count("/conda-forge/linux-64/repodata.json")
    sol = _solve([server.url + "/conda-forge"], specs, cuda, gateway)
    _check(sol, expect)
    assert server.count("/conda-forge/") >= 1
    assert server.count("/conda-forge/linux-64/repodata.json") >= before


@pytest.mark.parametrize("cuda", [None, "11.4"])
def test_solve_no_driver_unsatisfiable(world, cuda):
    """Transcripts 20/22: pytorch-cuda=12.1 needs __cuda >=12."""
    specs = ["python=3.11", "pytorch=2.1", "pytorch-cuda=12.1"]
    with pytest.raises(Exception, match=r"__cuda >=12"):
        _solve([_file_url(world["channels"]["conda-forge"])], specs, cuda)


def test_solve_legacy_channels(world):
    chans = [_file_url(world["channels"][c]) for c in ("pytorch", "nvidia", "conda-forge")]
    sol = _solve(chans, ["python=3.11", "pytorch", "torchvision", "pytorch-cuda=12.4"], "12.4")
    assert str(sol["pytorch"].build) == "py3.11_cuda12.4_cudnn8_0"
    assert str(sol["torchvision"].version) == "0.19.0"
    assert str(sol["pytorch"].channel).rstrip("/").endswith("/pytorch")
    assert str(sol["cuda-version"].channel).rstrip("/").endswith("/nvidia")
    assert str(sol["python"].channel).rstrip("/").endswith("/conda-forge")
    sol = _solve(chans, ["python=3.11", "pytorch"], None)
    assert str(sol["pytorch"].build) == "py3.11_cpu_0"
    assert str(sol["pytorch-mutex"].build) == "cpu"


def test_solve_with_token(world):
    with Server(world["root"], token="s3cr3t-tok") as srv:
        sol = _solve([srv.channel_url("conda-forge")], ["python=3.12", "fastapi"])
        assert str(sol["fastapi"].version) == "0.110.0"
        assert srv.count("/t/***/conda-forge/noarch/repodata.json", status=200) >= 1
        with open(srv.log_path) as fh:
            assert "s3cr3t-tok" not in fh.read()


# --------------------------------------------------------------------------- installs
def _install(channels, specs, prefix, cache, gateway=None):
    sol = _solve(channels, specs, None, gateway)
    asyncio.run(rattler.install(list(sol.values()), prefix, cache_dir=cache, show_progress=False))
    return sol


def _run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, **kw)


@pytest.mark.slow
def test_install_python311_real(server, gateway, tmp_path):
    prefix = str(tmp_path / "env")
    _install([server.url + "/conda-forge"],
             ["python=3.11", "pandas", "scikit-learn", "fastapi", "pip"], prefix,
             str(tmp_path / "pkgs"), gateway)
    meta = os.listdir(os.path.join(prefix, "conda-meta"))
    assert "scikit-learn-1.3.2-py311_0.json" in meta and "pip-24.0-py311_0.json" in meta
    with open(os.path.join(prefix, "bin", "python")) as fh:
        assert 'prefix="%s"' % prefix in fh.read()
    for flag in ("--version", "-V"):
        out = _run([os.path.join(prefix, "bin", "python"), flag])
        assert out.returncode == 0 and out.stdout.strip() == "Python 3.11.9"
    # noarch python went to site-packages
    assert os.path.exists(os.path.join(prefix, "lib/python3.11/site-packages/fastapi/__init__.py"))
    if not _pyxy_host("3.11"):
        pytest.skip("host has no python3.11")
    code = ("import sys, numpy, pandas, sklearn, fastapi; "
            "print(sys.prefix); print(numpy.__version__, pandas.__version__, sklearn.__version__)")
    out = _run([os.path.join(prefix, "bin", "python"), "-c", code])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == prefix
    assert lines[1] == "2.1.0 2.2.2 1.3.2"
    # pip from the loopback PyPI index
    out = _run([os.path.join(prefix, "bin", "python"), "-m", "pip", "install",
                "--disable-pip-version-check", "--no-cache-dir",
                "--index-url", server.url + "/pypi/simple/", "condafleet-hello==1.0", "tinyjson"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert os.path.exists(os.path.join(prefix, "lib/python3.11/site-packages/condafleet_hello/__init__.py"))
    out = _run([os.path.join(prefix, "bin", "condafleet-hello")])
    assert out.stdout.strip() == "condafleet-hello 1.0"
    out = _run([os.path.join(prefix, "bin", "pip"), "--version"])
    assert out.returncode == 0 and out.stdout.startswith("pip 24.0 from " + prefix), out.stdout
    assert server.count("/pypi/packages/condafleet_hello-1.0-py3-none-any.whl", status=200) >= 1


@pytest.mark.slow
def test_install_python_without_host(world, tmp_path):
    prefix = str(tmp_path / "env")
    _install([_file_url(world["channels"]["conda-forge"])], ["python=3.10", "numpy"], prefix,
             str(tmp_path / "pkgs"))
    py = os.path.join(prefix, "bin", "python")
    out = _run([py, "--version"])
    assert out.returncode == 0 and out.stdout.strip() == "Python 3.10.14"
    env = dict(os.environ, CONDAFLEET_WORLD_NO_HOST_PYTHON="1")
    out = _run([py, "-c", "print(1)"], env=env)
    assert out.returncode == 1 and "stand-in" in out.stderr
    out = _run([py, "-V"], env=env)
    assert out.stdout.strip() == "Python 3.10.14"
    assert os.path.exists(os.path.join(prefix, "share/numpy/2.1.0.txt"))


def test_repodata_agrees_with_packages(world):
    """The indexer's records carry exactly the metadata each package declares."""
    for name, path in world["channels"].items():
        recs = _records(path)
        expected = [p for p in channel.packages() if name in p.channels]
        assert sorted(recs) == sorted(p.filename for p in expected)
        for pkg in expected:
            rec = recs[pkg.filename]
            idx = pkg.index_json()
            for key in ("name", "version", "build", "build_number", "depends", "subdir",
                        "timestamp", "license"):
                assert rec[key] == idx[key], (pkg.filename, key)
            assert rec.get("constrains", []) == idx.get("constrains", [])
            assert rec.get("track_features", "") == idx.get("track_features", "")
            assert rec.get("noarch") == idx.get("noarch")
