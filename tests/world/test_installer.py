# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Tests of the world's installers and of the real conda they lay down (TEST INFRASTRUCTURE).

The installers: constructor's flags, exit codes and messages, names, layout and
``.sha256`` sidecars, ``# NAME:``/``# VER:`` header lines, the payload table and
manifests in the header, the state an installer killed midway leaves, ``-u``
upgrades (25.3.1 -> 26.7.1 keeps envs and the user's ``.condarc``, removes the old
conda's files), a host without any of the installer's Pythons. The conda they
install is the real one (upstream wheels): its version, ``info --json``,
channels over the loopback server (token and basic auth), ``CONDA_OVERRIDE_CUDA``,
create/install/remove, the solver each version runs, what 25.3.1 does not know
(``auto_activate``). The upstream option (``build.py --upstream``) is tested
against a loopback stand-in for github.com and repo.anaconda.com.

Every test has its own ``HOME``; all share one package cache (``CONDA_PKGS_DIRS``).
Tests that only read or add uniquely named environments share one base per
version (module scope); tests of the installers themselves install their own.
"""
from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

import conda_dist
import installer
from fixtures import install_base, run_conda

pytestmark = [pytest.mark.world]

NEW, OLD = installer.NEW_VERSION, installer.OLD_VERSION
HOST_PY = "%d.%d" % tuple(int(x) for x in subprocess.run(
    ["/usr/bin/python3", "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
    stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.split())
SOLVER = {v: conda_dist.BUILDS[v]["solver"] for v in installer.VERSIONS}
UNSATISFIABLE = {"rattler": "RattlerUnsatisfiableError", "classic": "UnsatisfiableError"}


@pytest.fixture(autouse=True)
def _isolated(conda_home, shared_pkgs_dir, monkeypatch):
    """A fresh HOME (conda_home) and the session's one package cache."""
    monkeypatch.setenv("CONDA_PKGS_DIRS", shared_pkgs_dir)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDA_", "CONDARC", "PYTHON"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def sh(path, *args, env=None, input=None):
    return subprocess.run(["sh", path] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, input=input, check=False, timeout=300)


#: the PATH the installers run with where a test controls which Pythons they can find
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def has_python(version, path=SYSTEM_PATH):
    return any(os.access(os.path.join(d, "python" + version), os.X_OK) for d in path.split(":"))


def python_elsewhere(version):
    """A pythonX.Y outside the system directories (PATH, pyenv) that really is X.Y, or None."""
    if has_python(version):
        return None
    import pwd
    pyenv = os.environ.get("PYENV_ROOT") or os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".pyenv")
    for found in [shutil.which("python" + version)] + sorted(
            glob.glob(os.path.join(pyenv, "versions", version + "*", "bin", "python" + version))):
        if not found:
            continue
        out = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                             check=False).stdout.strip()
        if out == version:
            return found
    return None


def header_of(path, size=16384):
    with open(path, "rb") as fh:
        return fh.read(size).split(b"@@END_HEADER@@", 1)[0].decode()


def site_packages(prefix):
    return os.path.join(str(prefix), "lib", "python%s" % HOST_PY, "site-packages")


def assert_conda_error(res, exception):
    """A JSON error from conda. conda 26.7.1 over py-rattler 0.26 sometimes (about one run in
    ten) dies at interpreter exit *after* printing an unsatisfiable error: SIGABRT with
    'Fatal Python error: PyGILState_Release', or SIGSEGV with nothing on stderr
    (see reference/conda-26.7.1/README.md)."""
    assert res.json and res.json.get("exception_name") == exception, (res.returncode, res.stdout, res.stderr)
    if res.returncode == -signal.SIGABRT:
        assert "PyGILState_Release" in res.stderr
    elif res.returncode != -signal.SIGSEGV:
        assert res.returncode == 1, (res.returncode, res.stderr)


def linked(res):
    return {r["name"]: r for r in res.json["actions"]["LINK"]}


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    return tmp_path_factory.mktemp("bases-home")


def _module_base(world, world_server, tmp_path_factory, module_home, pkgs, dist, version):
    prefix = tmp_path_factory.mktemp("base") / ("%s-%s" % (dist.lower(), version))
    install_base(world.installer(dist, version), prefix, world_server.url,
                 env=clean_env(HOME=module_home, CONDA_PKGS_DIRS=pkgs))
    return str(prefix)


@pytest.fixture(scope="module")
def base_new(world, world_server, tmp_path_factory, module_home, shared_pkgs_dir):
    """Miniconda3 26.7.1, shared by the tests of this module (they use their own env names)."""
    return _module_base(world, world_server, tmp_path_factory, module_home, shared_pkgs_dir, "Miniconda3", NEW)


@pytest.fixture(scope="module")
def base_old(world, world_server, tmp_path_factory, module_home, shared_pkgs_dir):
    """Miniconda3 25.3.1, shared likewise."""
    return _module_base(world, world_server, tmp_path_factory, module_home, shared_pkgs_dir, "Miniconda3", OLD)


@pytest.fixture(params=[NEW, OLD])
def base(request):
    return request.getfixturevalue("base_new" if request.param == NEW else "base_old"), request.param


# --------------------------------------------------------------------------- artefacts
def test_names_layout_sidecars_and_header_lines(world):
    inst = os.path.join(world.root, "installers")
    expected = ["Miniforge3-%s-0-Linux-x86_64.sh" % v for v in installer.VERSIONS]
    expected += ["Miniconda3-%s_%s-0-Linux-x86_64.sh" % (t, v) for v in installer.VERSIONS
                 for t in installer.python_tags(v)]
    expected += ["miniconda/" + n for n in expected if n.startswith("Miniconda3")]
    expected += ["conda-forge/miniforge/releases/download/%s-0/Miniforge3-%s-0-Linux-x86_64.sh" % (v, v)
                 for v in installer.VERSIONS]
    latest = ["Miniconda3-latest-Linux-x86_64.sh", "Miniforge3-Linux-x86_64.sh",
              "miniconda/Miniconda3-latest-Linux-x86_64.sh",
              "conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-x86_64.sh"]
    for rel in expected + latest:
        path = os.path.join(inst, rel)
        assert os.path.isfile(path), rel
        side = path + ".sha256"
        if "latest/download" in rel:
            assert not os.path.exists(side)  # as upstream: no sidecar for "latest"
        else:
            with open(side) as fh:
                hexd, name = fh.read().rstrip("\n").split("  ")
            assert name == os.path.basename(path)
            with open(path, "rb") as fh:
                assert hashlib.sha256(fh.read()).hexdigest() == hexd, rel
        with open(path, "rb") as fh:
            first_kib = fh.read(1024).decode("latin-1")
        dist = "Miniconda3" if "Miniconda3" in rel else "Miniforge3"
        m = re.search(r"^# VER:\s+(\S+)$", first_kib, re.M)
        assert re.search(r"^# NAME:\s+%s$" % dist, first_kib, re.M), rel
        assert m, rel
        if "latest" in rel or rel.endswith("Miniforge3-Linux-x86_64.sh"):
            want = installer.installer_ver(dist, NEW, 0, installer.MINICONDA_TAG)
        else:
            d, ver, build, tag = conda_dist.parse_installer_name(os.path.basename(rel))
            want = installer.installer_ver(d, ver, build, tag)
        assert m.group(1) == want, rel
    # Miniconda's version carries its Python, as upstream's
    assert installer.installer_ver("Miniconda3", NEW, 0, "py313") == "py313_%s-0" % NEW
    assert os.path.samefile(os.path.join(inst, "Miniforge3-Linux-x86_64.sh"), world.installer("Miniforge3", NEW))


def test_payload_table_and_manifests_match_the_payload(world):
    """The header says where each Python's tree is and what it holds: an install reads
    only its own segment and never lists the payload."""
    path = world.installer("Miniforge3", OLD)  # the smallest with two Pythons
    head = header_of(path)
    offset = int(re.search(r"^PAYLOAD_OFFSET=(\d+)$", head, re.M).group(1))
    table = re.search(r'^PAYLOADS="([^"]*)"$', head, re.M).group(1).split()
    assert [t.split(":")[0] for t in table] == list(conda_dist.BUILDS[OLD]["pythons"])
    with open(path, "rb") as fh:
        data = fh.read()
    assert data[offset - len("@@END_HEADER@@\n"):offset] == b"@@END_HEADER@@\n"
    pos = 0
    for entry in table:
        python, start, size = entry.split(":")
        assert int(start) == pos
        seg = data[offset + int(start): offset + int(start) + int(size)]
        with tarfile.open(fileobj=io.BytesIO(seg), mode="r:gz") as tar:
            names = tar.getnames()
        top = sorted({n.split("/", 1)[0] for n in names})
        manifest = re.search(r'^MANIFEST_%s="([^"]*)"$' % python.replace(".", "_"), head, re.M).group(1).split()
        assert manifest == top
        assert "conda" in top and "conda-%s.dist-info" % OLD in top
        assert "pycosat.cpython-%s-x86_64-linux-gnu.so" % python.replace(".", "") in top
        assert any(n.endswith(".cpython-%s.pyc" % python.replace(".", "")) for n in names) == \
            (conda_dist.bytecode_compiler(python)[0] is not None)
        pos += int(size)
    assert offset + pos == len(data)


def test_help_exits_2(world):
    res = sh(world.installer(), "-h")
    assert res.returncode == 2
    for flag in ("-b", "-f", "-h", "-p PREFIX", "-u"):
        assert "\n%s " % flag in res.stdout, flag
    assert res.stdout.startswith("usage: ") and "Installs Miniconda3 py311_%s-0" % NEW in res.stdout


def test_unknown_option_exits_1(world, tmp_path):
    res = sh(world.installer(), "-b", "-z", "-p", tmp_path / "x")
    assert res.returncode == 1 and "did not recognize option" in res.stderr
    assert not (tmp_path / "x").exists()


def test_license_refused_exits_2(world, tmp_path):
    res = sh(world.installer(), "-p", tmp_path / "x", input="no\n")
    assert res.returncode == 2 and "The license agreement wasn't approved, aborting installation." in res.stdout
    assert not (tmp_path / "x").exists()


def test_prefix_with_spaces_exits_1(world, tmp_path):
    res = sh(world.installer(), "-b", "-p", tmp_path / "with space")
    assert res.returncode == 1 and "ERROR: Cannot install into directories with spaces" in res.stderr
    assert not (tmp_path / "with space").exists()


def test_existing_prefix_needs_u_or_f(world, tmp_path):
    prefix = tmp_path / "existing"
    prefix.mkdir()
    res = sh(world.installer(), "-b", "-p", prefix)
    assert res.returncode == 1
    assert "ERROR: File or directory already exists: '%s'" % prefix in res.stderr
    assert "If you want to update an existing installation, use the -u option." in res.stderr
    assert os.listdir(str(prefix)) == []
    res = sh(world.installer(), "-b", "-f", "-p", prefix)
    assert res.returncode == 0, res.stderr
    assert (prefix / "conda-meta" / "history").is_file()
    assert run_conda(prefix, "--version").stdout == "conda %s\n" % NEW


def _missing_python_installer(world):
    for key, path in sorted(world.installers.items()):
        if key[0] == "Miniconda3" and len(key) == 3 and not has_python(installer._python_of(key[2])):
            return key, path
    pytest.skip("this host has every Python the world's Miniconda installers are built for in %s" % SYSTEM_PATH)


def test_host_without_the_installers_python(world, tmp_path):
    """A Miniconda installer for a Python the host lacks (bookworm: py39, py313) stops before
    touching the prefix, even when a 'pythonX.Y' on PATH is some other Python."""
    (dummy, version, tag), path = _missing_python_installer(world)
    want = installer._python_of(tag)
    message = ("ERROR: Miniconda3 %s_%s-0 (condafleet test world) installs conda %s over the host's Python, "
               "one of %s: none found" % (tag, version, version, want))
    res = sh(path, "-b", "-p", tmp_path / "base", env=dict(os.environ, PATH=SYSTEM_PATH))
    assert res.returncode == 1 and message in res.stderr, res.stderr
    assert not (tmp_path / "base").exists()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / ("python" + want)).write_text("#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n")
    os.chmod(str(fake / ("python" + want)), 0o755)
    res = sh(path, "-b", "-p", tmp_path / "base", env=dict(os.environ, PATH="%s:%s" % (fake, SYSTEM_PATH)))
    assert res.returncode == 1 and message in res.stderr, res.stderr
    assert not (tmp_path / "base").exists()


@pytest.mark.slow
def test_miniconda_py313_over_a_python_on_path(world, world_server, tmp_path):
    """Without /usr/bin/python3.13 the py313 installer takes a python3.13 from PATH (here
    pyenv's, where there is one): conda 26.7.1's 3.13 tree, rattler only (no pycosat)."""
    found = python_elsewhere("3.13")
    if not found:
        pytest.skip("no python3.13 outside the system directories")
    (tmp_path / "bin").mkdir()
    os.symlink(found, str(tmp_path / "bin" / "python3.13"))
    prefix = tmp_path / "base"
    res = install_base(world.installers[("Miniconda3", NEW, "py313")], prefix, world_server.url,
                       env=dict(os.environ, PATH="%s:%s" % (tmp_path / "bin", SYSTEM_PATH)))
    assert "installation finished." in res.stdout
    assert os.listdir(str(prefix / "lib")) == ["python3.13"]
    assert run_conda(prefix, "--version").stdout == "conda %s\n" % NEW
    info = run_conda(prefix, "info", "--json").json
    assert info["python_version"].startswith("3.13.") and info["solver"]["name"] == "rattler"
    res = run_conda(prefix, "create", "--dry-run", "--json", "-n", "x", "python=3.13", "numpy")
    assert res.returncode == 0, res.stdout + res.stderr
    assert linked(res)["numpy"]["version"] == "2.1.0"
    res = run_conda(prefix, "create", "--dry-run", "--json", "-n", "x", "python=3.13", env={"CONDA_SOLVER": "classic"})
    assert_conda_error(res, "CondaDependencyError")
    assert "No functioning SAT implementations available" in res.json["message"]


# --------------------------------------------------------------------------- what an install lays down
@pytest.mark.parametrize("dist", ["Miniconda3", "Miniforge3"])
@pytest.mark.parametrize("version", [NEW, OLD])
def test_install_lays_down_the_real_conda(world, world_server, tmp_path, conda_home, dist, version):
    prefix = tmp_path / "base"
    t0 = time.monotonic()
    res = install_base(world.installer(dist, version), prefix, world_server.url)
    assert time.monotonic() - t0 < 60
    assert res.stdout.startswith("PREFIX=%s\n" % prefix) and "installation finished." in res.stdout
    for rel in ("bin/conda", "bin/python", "condabin/conda", "conda-meta/history", "etc/profile.d/conda.sh",
                ".condarc", ".installer.info", "conda-meta/initial-state.explicit.txt", "pyvenv.cfg"):
        assert (prefix / rel).exists(), rel
    assert (prefix / "pkgs").is_dir() and (prefix / "envs").is_dir()
    assert os.listdir(str(prefix / "lib")) == ["python%s" % HOST_PY]  # Miniforge: only the host's tree
    recs = glob.glob(str(prefix / "conda-meta" / ("conda-%s-*.json" % version)))
    assert len(recs) == 1 and json.load(open(recs[0]))["version"] == version
    hist = (prefix / "conda-meta" / "history").read_text()
    assert hist.startswith("==> ") and "# conda version: %s" % version in hist
    info = json.load(open(str(prefix / ".installer.info")))
    assert info == {"name": dist, "version": installer.installer_ver(dist, version), "platform": "linux-64",
                    "type": "sh"}
    condarc = (prefix / ".condarc").read_text()
    assert "channel_alias: %s\n" % world_server.url.rstrip("/") in condarc
    assert condarc.endswith("solver: %s\n" % SOLVER[version])
    if dist == "Miniforge3":
        assert condarc.startswith("channels:\n  - conda-forge\n")
    else:
        assert condarc.startswith("channels:\n  - defaults\n") and "default_channels:" in condarc

    # the real conda, run by the host's Python as a venv of it
    res = run_conda(prefix, "--version")
    assert res.returncode == 0 and res.stdout == "conda %s\n" % version and res.stderr == ""
    probe = subprocess.run([str(prefix / "bin" / "python"), "-c",
                            "import sys, conda, importlib.metadata as m; "
                            "print(sys.prefix, conda.__file__, conda.__version__, m.version('conda'))"],
                           stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.split()
    assert probe == [str(prefix), os.path.join(site_packages(prefix), "conda", "__init__.py"), version, version]
    info = run_conda(prefix, "info", "--json").json
    assert info["conda_version"] == version and info["root_prefix"] == str(prefix)
    assert info["python_version"].startswith(HOST_PY + ".")
    assert info["solver"]["name"] == SOLVER[version]
    assert info["channels"] == [world_server.url.rstrip("/") + "/conda-forge/" + s for s in ("linux-64", "noarch")]
    assert str(prefix) in info["envs"]
    assert run_conda(prefix, "info", "--base", "--json").json == {"root_prefix": str(prefix)}
    with open(os.path.join(conda_home, ".conda", "environments.txt")) as fh:
        assert str(prefix) in fh.read().split()
    # it solves against the world's server with its own solver
    before = world_server.count("/conda-forge/linux-64/repodata.json")
    res = run_conda(prefix, "create", "--dry-run", "--json", "-n", "probe", "python=3.12", "fastapi")
    assert res.returncode == 0, res.stdout + res.stderr
    assert world_server.count("/conda-forge/linux-64/repodata.json") > before
    assert linked(res)["fastapi"]["base_url"] == world_server.url.rstrip("/") + "/conda-forge"
    assert linked(res)["python"]["version"] == "3.12.4"


def test_profile_script_activates(base_new):
    out = subprocess.run(["bash", "-c", ". %s/etc/profile.d/conda.sh && type conda | head -1 && conda activate && "
                          "echo $CONDA_PREFIX $CONDA_DEFAULT_ENV && conda --version" % base_new],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         env=clean_env(), check=False)
    assert out.returncode == 0, out.stdout
    assert out.stdout.splitlines() == ["conda is a function", "%s base" % base_new, "conda %s" % NEW]


def test_killed_midway_leaves_no_history_nor_conda(world, tmp_path):
    prefix = tmp_path / "killed"
    proc = subprocess.Popen(["sh", world.installer(), "-b", "-p", str(prefix)],
                            env=dict(os.environ, CONDAFLEET_INSTALLER_SLEEP="60"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, start_new_session=True)
    try:
        for line in proc.stdout:
            if "(test hook) sleeping" in line:
                break
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert prefix.is_dir() and (prefix / "conda-meta").is_dir()
    assert not (prefix / "conda-meta" / "history").exists()
    assert not (prefix / "bin" / "conda").exists() and not (prefix / "condabin").exists()
    assert os.path.isdir(os.path.join(site_packages(prefix), "conda"))  # the payload was there already
    # conda does not take such a prefix for an installation of its own: not writable, no envs there
    res = subprocess.run([str(prefix / "bin" / "python"), "-m", "conda", "info", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, check=False)
    info = json.loads(res.stdout)
    assert info["root_prefix"] == str(prefix) and info["root_writable"] is False
    assert info["envs_dirs"][0] != str(prefix / "envs")
    # a repair: -u completes the installation
    res = sh(world.installer(), "-b", "-u", "-p", prefix)
    assert res.returncode == 0, res.stderr
    assert run_conda(prefix, "--version").stdout == "conda %s\n" % NEW
    assert (prefix / "conda-meta" / "history").read_text().count("==> ") == 1
    info = run_conda(prefix, "info", "--json").json
    assert info["root_writable"] is True and info["envs_dirs"][0] == str(prefix / "envs")


@pytest.mark.slow
def test_update_in_place_keeps_envs_and_condarc(world, world_server, tmp_path):
    prefix = tmp_path / "base"
    install_base(world.installer("Miniconda3", OLD), prefix, world_server.url)
    res = run_conda(prefix, "create", "-y", "--json", "-n", "keep", "python=3.11", "numpy=1.24")
    assert res.returncode == 0, res.stdout + res.stderr
    sp = site_packages(prefix)
    assert os.path.isdir(os.path.join(sp, "conda-%s.dist-info" % OLD))
    (prefix / ".condarc").write_text((prefix / ".condarc").read_text() + "always_yes: true\n")
    (tmp_path / "mine.txt").write_text("x")
    shutil.copy(str(tmp_path / "mine.txt"), os.path.join(sp, "user-added.txt"))  # not the installer's: kept

    res = sh(world.installer("Miniconda3", NEW), "-b", "-u", "-p", prefix)
    assert res.returncode == 0, res.stderr
    assert run_conda(prefix, "--version").stdout == "conda %s\n" % NEW
    condarc = (prefix / ".condarc").read_text()
    assert "always_yes: true\n" in condarc and "channel_alias: %s" % world_server.url.rstrip("/") in condarc
    assert "solver: %s\n" % SOLVER[NEW] in condarc and "solver: %s\n" % SOLVER[OLD] not in condarc
    # the old conda's files are gone, the user's stay
    assert sorted(e for e in os.listdir(sp) if re.match(r"conda-\d", e)) == ["conda-%s.dist-info" % NEW]
    assert os.path.isfile(os.path.join(sp, "user-added.txt"))
    assert not glob.glob(str(prefix / "conda-meta" / ("conda-%s-*.json" % OLD)))
    assert len(glob.glob(str(prefix / "conda-meta" / ("conda-%s-*.json" % NEW)))) == 1
    assert (prefix / "conda-meta" / "history").read_text().count("==> ") == 2
    # the env the old conda made is the new conda's
    assert str(prefix / "envs" / "keep") in run_conda(prefix, "env", "list", "--json").json["envs"]
    versions = {r["name"]: r["version"] for r in run_conda(prefix, "list", "--json", "-n", "keep").json}
    assert versions["numpy"] == "1.24.3" and versions["python"] == "3.11.9"
    res = run_conda(prefix, "install", "-y", "--json", "-n", "keep", "pandas=2.0")
    assert res.returncode == 0, res.stdout + res.stderr
    assert set(linked(res)) == {"pandas"}


# --------------------------------------------------------------------------- the real conda
def test_info_and_cuda_virtual_package(base):
    prefix, version = base
    vp = run_conda(prefix, "info", "--json", env={"CONDA_OVERRIDE_CUDA": "12.4"}).json["virtual_pkgs"]
    assert ["__cuda", "12.4", "0"] in vp and ["__conda", version, "0"] in vp
    assert {v[0] for v in vp} >= {"__archspec", "__conda", "__cuda", "__glibc", "__linux", "__unix"}
    vp = run_conda(prefix, "info", "--json", env={"CONDA_OVERRIDE_CUDA": ""}).json["virtual_pkgs"]
    assert not [v for v in vp if v[0] == "__cuda"]
    args = ("create", "--dry-run", "--json", "-n", "gpu", "python=3.11", "pytorch=2.1", "pytorch-cuda=12.1")
    res = run_conda(prefix, *args, env={"CONDA_OVERRIDE_CUDA": "12.2"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert linked(res)["pytorch"]["build_string"].startswith("py3.11_cuda12.1_")
    assert_conda_error(run_conda(prefix, *args, env={"CONDA_OVERRIDE_CUDA": ""}), UNSATISFIABLE[SOLVER[version]])
    assert_conda_error(run_conda(prefix, *args, env={"CONDA_OVERRIDE_CUDA": "11.4"}), UNSATISFIABLE[SOLVER[version]])
    assert not os.path.exists(os.path.join(prefix, "envs", "gpu"))


@pytest.mark.slow
def test_create_install_remove(base):
    prefix, version = base
    env = "cir-" + version
    res = run_conda(prefix, "create", "-y", "--json", "-n", env, "python=3.11", "numpy=1.24")
    assert res.returncode == 0, res.stdout + res.stderr
    assert set(linked(res)) == {"python", "pip", "numpy"}  # pip: add_pip_as_python_dependency
    py = os.path.join(prefix, "envs", env, "bin", "python")
    out = subprocess.run([py, "-c", "import sys, numpy; print(sys.prefix, numpy.__version__)"],
                         stdout=subprocess.PIPE, universal_newlines=True, check=False)
    assert out.stdout.split() == [os.path.join(prefix, "envs", env), "1.24.3"]
    res = run_conda(prefix, "install", "-y", "--json", "-n", env, "numpy=1.24")
    assert res.json == {"success": True, "message": "All requested packages already installed."}
    # a bare name asks for the newest (conda's default update_modifier: update_specs)
    res = run_conda(prefix, "install", "--dry-run", "--json", "-n", env, "numpy")
    assert res.returncode == 0 and linked(res)["numpy"]["version"] == "2.1.0"
    res = run_conda(prefix, "install", "-y", "--json", "-n", env, "pandas=2.0")
    assert res.returncode == 0 and set(linked(res)) == {"pandas"}
    listed = {r["name"]: r for r in run_conda(prefix, "list", "--json", "-n", env).json}
    assert {n: r["version"] for n, r in listed.items()} == {
        "numpy": "1.24.3", "pandas": "2.0.3", "pip": "24.0", "python": "3.11.9"}
    assert {r["channel"] for r in listed.values()} == {"conda-forge"}
    res = run_conda(prefix, "remove", "-y", "--json", "-n", env, "pandas")
    assert res.returncode == 0 and [r["name"] for r in res.json["actions"]["UNLINK"]] == ["pandas"]
    assert_conda_error(run_conda(prefix, "remove", "-y", "--json", "-n", env, "scikit-learn"),
                       "PackagesNotFoundInPrefixError" if version == NEW else "PackagesNotFoundError")
    assert_conda_error(run_conda(prefix, "install", "-y", "--json", "-n", env, "no-such-package"),
                       "PackagesNotFoundInChannelsError" if version == NEW else "PackagesNotFoundError")
    hist = os.path.join(prefix, "envs", env, "conda-meta", "history")
    before = open(hist).read()
    assert_conda_error(run_conda(prefix, "install", "-y", "--json", "-n", env, "numpy=2.1", "python=3.9"),
                       UNSATISFIABLE[SOLVER[version]])
    assert open(hist).read() == before  # a failed solve changes nothing
    res = run_conda(prefix, "remove", "-y", "--json", "--all", "-n", env)
    assert res.returncode == 0 and res.json["success"] is True
    assert not os.path.exists(os.path.join(prefix, "envs", env))
    assert_conda_error(run_conda(prefix, "install", "-y", "--json", "-n", env, "numpy"),
                       "EnvironmentLocationNotFound")


def _auth_server(world, auth):
    from server import Server
    kwargs = {"token": "s3cr3t"} if auth == "token" else {"basic": "alice:pw"}
    srv = Server(world.root, **kwargs)
    host = srv.url.split("://", 1)[1].rstrip("/")
    good = ("http://%s/t/s3cr3t/conda-forge" % host if auth == "token" else "http://alice:pw@%s/conda-forge" % host)
    wrong = ("http://%s/t/wrong/conda-forge" % host if auth == "token" else "http://alice:bad@%s/conda-forge" % host)
    return srv, good, wrong, "http://%s/conda-forge" % host


@pytest.mark.slow
@pytest.mark.parametrize("auth", ["token", "basic"])
def test_authenticated_channels(world, base, tmp_path, auth):
    """Without or with wrong credentials conda stops at the repodata; with them it installs
    (classic solver: 25.3.1, and 26.7.1 with --solver classic; rattler, see the next test)."""
    prefix, version = base
    srv, good, wrong, bare = _auth_server(world, auth)
    with srv:
        own_cache = {"CONDA_PKGS_DIRS": str(tmp_path / "pkgs")}  # so the packages come through this server
        args = ("create", "-y", "--json", "--override-channels", "-n", "auth-%s-%s" % (auth, version), "python=3.11")
        res = run_conda(prefix, *args, "-c", bare, env=own_cache)
        assert_conda_error(res, "CondaHTTPError")
        assert res.json["status_code"] == 401
        res = run_conda(prefix, *args, "-c", wrong, env=own_cache)
        if auth == "token":  # 25.3.1 names a 403 differently
            assert_conda_error(res, "CondaHTTPError" if version == NEW else "UnavailableInvalidChannel")
            assert res.json["status_code"] == 403 and "wrong" not in res.stdout
        else:
            assert_conda_error(res, "CondaHTTPError")
            assert res.json["status_code"] == 401 and "alice:bad" not in res.json["message"]
            # but conda's JSON error carries the URL with the password in "caused_by":
            # whoever shows conda's output must mask it
            assert "alice:bad@" in res.json["caused_by"]
        solver = ("--solver", "classic") if version == NEW else ()
        res = run_conda(prefix, *args, *solver, "-c", good, env=own_cache)
        assert res.returncode == 0, res.stdout + res.stderr
        assert os.path.isfile(os.path.join(prefix, "envs", "auth-%s-%s" % (auth, version), "bin", "python"))
        got = [r for r in srv.requests() if "python-3.11.9" in r["path"]]
        assert got and got[-1]["status"] == 200 and got[-1]["auth_ok"] is True
        assert "s3cr3t" not in open(srv.log_path).read()


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="conda-rattler-solver 0.2.0 downloads packages without the channel's "
                   "credentials (its index builds rattler channels from the no-auth URL): HTTP 401")
@pytest.mark.parametrize("auth", ["token", "basic"])
def test_authenticated_channels_rattler(world, base_new, tmp_path, auth):
    srv, good, dummy, dummy = _auth_server(world, auth)
    with srv:
        env = {"CONDA_PKGS_DIRS": str(tmp_path / "pkgs")}
        args = ("create", "--json", "--override-channels", "-n", "rattler-%s" % auth, "python=3.11", "-c", good)
        res = run_conda(base_new, *args, "--dry-run", env=env)
        assert res.returncode == 0 and linked(res)["python"]["version"] == "3.11.9"  # the repodata: fine
        res = run_conda(base_new, *args, "-y", env=env)
        assert res.returncode == 0, res.stdout


def test_solvers(base_new, base_old, conda_home):
    """Each conda runs the solver its .condarc names; a ~/.condarc naming one that is not
    there (Miniforge's default, libmamba) stops every solve, as it would upstream."""
    for prefix in (base_new, base_old):
        res = run_conda(prefix, "config", "--show", "solver", "--json")
        assert res.json == {"solver": SOLVER[NEW if prefix == base_new else OLD]}
    # 26.7.1 on Python 3.11 carries pycosat too: classic works
    res = run_conda(base_new, "create", "--dry-run", "--json", "-n", "s", "python=3.11",
                    env={"CONDA_SOLVER": "classic"})
    assert res.returncode == 0, res.stdout + res.stderr
    with open(os.path.join(conda_home, ".condarc"), "w") as fh:
        fh.write("solver: libmamba\n")
    for prefix, known in ((base_new, "classic, rattler"), (base_old, "classic")):
        res = run_conda(prefix, "create", "--dry-run", "--json", "-n", "s", "python=3.11")
        assert_conda_error(res, "CondaValueError")
        assert res.json["message"] == ("You have chosen a non-default solver backend (libmamba) but it was not "
                                       "recognized. Choose one of: %s" % known)


def test_old_conda_knows_only_auto_activate_base(base_old, base_new, tmp_path):
    rc = tmp_path / "old.condarc"
    res = run_conda(base_old, "config", "--file", rc, "--set", "auto_activate", "false")
    assert res.returncode == 1 and "CondaKeyError: 'auto_activate': unknown parameter" in res.stderr
    assert not rc.exists()
    res = run_conda(base_old, "config", "--file", rc, "--set", "auto_activate_base", "false")
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    assert rc.read_text().endswith("auto_activate_base: false\n")
    assert run_conda(base_old, "config", "--show", "auto_activate_base", "--json").json == {"auto_activate_base": True}
    # 26.7.1: the old name is an alias, the file gets the new one
    rc = tmp_path / "new.condarc"
    res = run_conda(base_new, "config", "--file", rc, "--set", "auto_activate_base", "false")
    assert res.returncode == 0 and "Key auto_activate_base is an alias of auto_activate" in res.stderr
    assert rc.read_text().endswith("auto_activate: false\n")
    assert run_conda(base_new, "config", "--show", "auto_activate", "--json").json == {"auto_activate": True}
    # a file conda config creates starts as a copy of the installation's .condarc (conda's
    # "fall back to the system rc"): the world's solver line goes along
    for prefix, name in ((base_old, "old.condarc"), (base_new, "new.condarc")):
        with open(os.path.join(prefix, ".condarc")) as fh:
            preset = fh.read()
        assert (tmp_path / name).read_text().startswith(preset) and "\nsolver: " in preset


def test_env_list_json_differs_by_version(base_old, base_new):
    old = run_conda(base_old, "env", "list", "--json").json
    new = run_conda(base_new, "env", "list", "--json").json
    assert base_old in old["envs"] and base_new in new["envs"]
    assert "envs_details" not in old and "conda_version" in old  # 25.3.1 prints all of `info --json`
    assert set(new) == {"envs", "envs_details"} and new["envs_details"][base_new]["base"] is True


# --------------------------------------------------------------------------- upstream installers (opt-in)
MF = "Miniforge3-%s-0-Linux-x86_64.sh" % NEW
MC = "Miniconda3-py311_%s-1-Linux-x86_64.sh" % OLD


def test_upstream_names_urls_and_selection(monkeypatch):
    monkeypatch.delenv(conda_dist.MINIFORGE_URL_ENV, raising=False)
    monkeypatch.delenv(conda_dist.MINICONDA_URL_ENV, raising=False)
    assert conda_dist.upstream_urls(MF) == (
        "https://github.com/conda-forge/miniforge/releases/download/%s-0/%s" % (NEW, MF),
        "https://github.com/conda-forge/miniforge/releases/download/%s-0/%s.sha256" % (NEW, MF), "sidecar")
    assert conda_dist.upstream_urls(MC) == ("https://repo.anaconda.com/miniconda/" + MC,
                                            "https://repo.anaconda.com/miniconda/", "index")
    assert conda_dist.parse_installer_name(MC) == ("Miniconda3", OLD, 1, "py311")
    with pytest.raises(ValueError, match="not an upstream Linux x86_64 installer name"):
        conda_dist.parse_installer_name("Miniforge3-Linux-x86_64.sh")
    monkeypatch.delenv(conda_dist.UPSTREAM_ENV, raising=False)
    assert conda_dist.upstream_selection() is None
    for value, want in (("0", None), ("", None), ("1", "all"), ("all", "all"), (MF + ", " + MC, {MF, MC})):
        monkeypatch.setenv(conda_dist.UPSTREAM_ENV, value)
        assert conda_dist.upstream_selection() == want
    assert conda_dist.upstream_selection([MF]) == {MF}


def test_upstream_checksum_parsers():
    digest = "ab" * 32
    assert conda_dist.checksum_from_sidecar("%s  %s\n" % (digest, MF), MF) == digest
    assert conda_dist.checksum_from_sidecar(digest.upper() + "\n", MF) == digest
    assert conda_dist.checksum_from_sidecar("%s  other.sh\n" % digest, MF) is None
    index = ('<tr>\n  <td><a href="%s">%s</a></td>\n  <td class="s">150.1M</td>\n  <td>2025-04-01 10:00:00</td>\n'
             '  <td>%s</td>\n</tr>\n<tr><td><a href="Miniconda3-latest-Linux-x86_64.sh">x</a></td><td>%s</td></tr>'
             % (MC, MC, digest, "cd" * 32))
    assert conda_dist.checksum_from_index(index, MC) == digest
    assert conda_dist.checksum_from_index(index, "Miniconda3-latest-Linux-x86_64.sh") == "cd" * 32
    assert conda_dist.checksum_from_index(index, "Miniconda3-py39_%s-1-Linux-x86_64.sh" % OLD) is None


@pytest.fixture
def upstream_site(tmp_path, monkeypatch):
    """A stand-in for github.com/conda-forge/miniforge/releases/download (over the loopback
    server) and repo.anaconda.com/miniconda (a file:// directory with its index page)."""
    from server import Server
    site = tmp_path / "site"
    files = {MF: b"#!/bin/sh\n# NAME:  Miniforge3\n# VER:   %s-0\necho upstream\n" % NEW.encode(),
             MC: b"#!/bin/sh\n# NAME:  Miniconda3\n# VER:   py311_%s-1\necho upstream\n" % OLD.encode()}
    mf_dir = site / "conda-forge" / "miniforge" / "releases" / "download" / ("%s-0" % NEW)
    mf_dir.mkdir(parents=True)
    (mf_dir / MF).write_bytes(files[MF])
    (mf_dir / (MF + ".sha256")).write_text("%s  %s\n" % (hashlib.sha256(files[MF]).hexdigest(), MF))
    mc_dir = tmp_path / "miniconda"
    mc_dir.mkdir()
    (mc_dir / MC).write_bytes(files[MC])
    (mc_dir / "index.html").write_text(
        "<table>\n<tr>\n<td><a href=\"%s\">%s</a></td>\n<td class=\"s\">1K</td>\n<td>2025-04-01</td>\n"
        "<td>%s</td>\n</tr>\n</table>\n" % (MC, MC, hashlib.sha256(files[MC]).hexdigest()))
    with Server(str(site)) as srv:
        monkeypatch.setenv(conda_dist.MINIFORGE_URL_ENV,
                           srv.url.rstrip("/") + "/conda-forge/miniforge/releases/download")
        monkeypatch.setenv(conda_dist.MINICONDA_URL_ENV, "file://%s" % mc_dir)
        yield {"server": srv, "files": files, "mf_dir": mf_dir, "mc_dir": mc_dir}


def test_upstream_fetch_verify_and_place(upstream_site, tmp_path):
    out, cache = tmp_path / "world", tmp_path / "cache"
    target = installer.place_upstream(str(out), MF, cache_dir=str(cache))
    inst = out / "installers"
    assert target == str(inst / MF)
    for rel in (MF, "conda-forge/miniforge/releases/download/%s-0/%s" % (NEW, MF)):
        assert (inst / rel).read_bytes() == upstream_site["files"][MF], rel
        assert (inst / (rel + ".sha256")).read_text() == "%s  %s\n" % (
            hashlib.sha256(upstream_site["files"][MF]).hexdigest(), MF)
    assert (inst / (MF + ".stamp")).read_text().startswith("upstream:")
    assert os.access(target, os.X_OK)
    srv = upstream_site["server"]
    assert srv.count(MF + ".sha256") == 1 and srv.count("/" + MF) == 2
    # a second time: the checksum is fetched again, the installer is not
    installer.place_upstream(str(out), MF, cache_dir=str(cache))
    assert srv.count(MF + ".sha256") == 2 and srv.count("/" + MF) == 3
    # Miniconda: checksum from the listing, placed as repo.anaconda.com/miniconda/ has it
    target = installer.place_upstream(str(out), MC, cache_dir=str(cache))
    assert (inst / "miniconda" / MC).read_bytes() == upstream_site["files"][MC]
    assert (inst / "miniconda" / (MC + ".sha256")).read_text().split()[0] == \
        hashlib.sha256(upstream_site["files"][MC]).hexdigest()


def test_upstream_build_all_replaces_only_what_is_asked(upstream_site, tmp_path, monkeypatch):
    built = []

    def fake_build(out_dir, distribution, conda_version, build=0, python_tag=installer.MINICONDA_TAG, **kw):
        path = os.path.join(out_dir, "installers", installer.installer_name(distribution, conda_version, build,
                                                                            python_tag))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write("ours\n")
        built.append(os.path.basename(path))
        installer._place(out_dir, distribution, conda_version, build, path)
        return path

    monkeypatch.setattr(installer, "build_installer", fake_build)
    monkeypatch.setattr(conda_dist, "UPSTREAM_DIR", str(tmp_path / "cache"))
    out = tmp_path / "world"
    res = installer.build_all(str(out), upstream="%s,%s" % (MF, MC))
    assert MF not in built and len(built) == sum(len(installer.python_tags(v)) for v in installer.VERSIONS) + 1
    assert res[("Miniforge3", NEW)] == str(out / "installers" / MF)
    assert res[("upstream", MC)] == str(out / "installers" / MC)  # a build the world does not make
    latest = out / "installers" / "conda-forge" / "miniforge" / "releases" / "latest" / "download" / \
        "Miniforge3-Linux-x86_64.sh"
    assert latest.read_bytes() == upstream_site["files"][MF]
    assert (out / "installers" / "Miniconda3-latest-Linux-x86_64.sh").read_text() == "ours\n"


def test_upstream_failures_say_what_happened(upstream_site, tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    # a checksum that does not match: nothing is kept
    side = upstream_site["mf_dir"] / (MF + ".sha256")
    side.write_text("%s  %s\n" % ("0" * 64, MF))
    with pytest.raises(conda_dist.UpstreamError) as err:
        conda_dist.fetch_upstream(MF, cache_dir=cache)
    assert "has sha256 %s but" % hashlib.sha256(upstream_site["files"][MF]).hexdigest() in str(err.value)
    assert "says %s: not used" % ("0" * 64) in str(err.value)
    assert os.listdir(cache) == []
    # no checksum published
    side.write_text("nothing here\n")
    with pytest.raises(conda_dist.UpstreamError, match="gives no SHA256 for %s" % re.escape(MF)):
        conda_dist.fetch_upstream(MF, cache_dir=cache)
    # a release that is not there
    missing = "Miniforge3-%s-7-Linux-x86_64.sh" % NEW
    with pytest.raises(conda_dist.UpstreamError) as err:
        conda_dist.fetch_upstream(missing, cache_dir=cache)
    assert "could not download %s.sha256 (the SHA256 of %s): HTTP 404" % (
        conda_dist.upstream_urls(missing)[0], missing) in str(err.value)
    assert "needs internet access" in str(err.value) and conda_dist.UPSTREAM_ENV in str(err.value)
    # no network at all (a port nothing listens on)
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setenv(conda_dist.MINIFORGE_URL_ENV, "http://127.0.0.1:%d/releases" % port)
    with pytest.raises(conda_dist.UpstreamError) as err:
        conda_dist.fetch_upstream(MF, cache_dir=cache, timeout=5)
    assert "could not download http://127.0.0.1:%d/releases/%s-0/%s.sha256 (" % (port, NEW, MF) in str(err.value)
    assert "Connection refused" in str(err.value)
    # the installer itself missing (its checksum is there)
    (upstream_site["mf_dir"] / (MF + ".sha256")).write_text("%s  %s\n" % ("1" * 64, MF))
    os.unlink(str(upstream_site["mf_dir"] / MF))
    monkeypatch.setenv(conda_dist.MINIFORGE_URL_ENV,
                       upstream_site["server"].url.rstrip("/") + "/conda-forge/miniforge/releases/download")
    with pytest.raises(conda_dist.UpstreamError, match=r"could not download \S+/%s \(%s\): HTTP 404"
                       % (re.escape(MF), re.escape(MF))):
        conda_dist.fetch_upstream(MF, cache_dir=cache)
    assert os.listdir(cache) == []
