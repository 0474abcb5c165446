# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Tests of the world's installers and of the conda double they lay down
(TEST INFRASTRUCTURE): constructor flags and exit codes, files, killed-midway
state, ``-u`` upgrades, ``.sha256`` sidecars, version-dependent behaviour,
channels over the loopback server (token and basic auth), GPU overrides,
pip sections, and the finance/vision/webdev environments."""
from __future__ import annotations

import glob
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import installer
from fixtures import install_base, run_conda

pytestmark = [pytest.mark.world]

NEW, OLD = installer.NEW_VERSION, installer.OLD_VERSION


def sh(path, *args, env=None):
    return subprocess.run(["sh", path] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, check=False)


# --------------------------------------------------------------------------- artefacts
def test_names_layout_and_sidecars(world):
    inst = os.path.join(world.root, "installers")
    expected = [
        "Miniconda3-py311_%s-0-Linux-x86_64.sh" % NEW, "Miniconda3-py311_%s-0-Linux-x86_64.sh" % OLD,
        "Miniforge3-%s-0-Linux-x86_64.sh" % NEW, "Miniforge3-%s-0-Linux-x86_64.sh" % OLD,
        "Miniconda3-latest-Linux-x86_64.sh", "Miniforge3-Linux-x86_64.sh",
        "miniconda/Miniconda3-py311_%s-0-Linux-x86_64.sh" % NEW,
        "miniconda/Miniconda3-latest-Linux-x86_64.sh",
        "conda-forge/miniforge/releases/download/%s-0/Miniforge3-%s-0-Linux-x86_64.sh" % (NEW, NEW),
        "conda-forge/miniforge/releases/download/%s-0/Miniforge3-%s-0-Linux-x86_64.sh" % (OLD, OLD),
        "conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-x86_64.sh",
    ]
    for rel in expected:
        path = os.path.join(inst, rel)
        assert os.path.isfile(path), rel
        side = path + ".sha256"
        if "latest/download" in rel:
            assert not os.path.exists(side)  # as upstream: no sidecar for "latest"
            continue
        with open(side) as fh:
            hexd, name = fh.read().rstrip("\n").split("  ")
        assert name == os.path.basename(path)
        with open(path, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == hexd


def test_help_exits_2(world):
    res = sh(world.installer(), "-h")
    assert res.returncode == 2
    assert "-b" in res.stdout and "-u" in res.stdout and "-p PREFIX" in res.stdout


def test_unknown_option_exits_1(world, tmp_path):
    res = sh(world.installer(), "-b", "-z", "-p", str(tmp_path / "x"))
    assert res.returncode == 1
    assert not (tmp_path / "x").exists()


def test_license_refused_exits_2(world, tmp_path, conda_home):
    res = subprocess.run(["sh", world.installer(), "-p", str(tmp_path / "x")], input="no\n",
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert res.returncode == 2
    assert not (tmp_path / "x").exists()


def test_existing_prefix_needs_u_or_f(world, tmp_path, conda_home):
    prefix = tmp_path / "existing"
    prefix.mkdir()
    res = sh(world.installer(), "-b", "-p", str(prefix))
    assert res.returncode == 1
    assert "ERROR: File or directory already exists: '%s'" % prefix in res.stderr
    assert "If you want to update an existing installation, use the -u option." in res.stderr
    assert sh(world.installer(), "-b", "-f", "-p", str(prefix)).returncode == 0
    assert (prefix / "conda-meta" / "history").is_file()


# --------------------------------------------------------------------------- what is laid down
@pytest.mark.parametrize("dist", ["Miniconda3", "Miniforge3"])
@pytest.mark.parametrize("version", [NEW, OLD])
def test_files_laid_down(world, world_server, tmp_path, conda_home, dist, version):
    prefix = tmp_path / "base"
    t0 = time.monotonic()
    res = install_base(world.installer(dist, version), prefix)
    assert time.monotonic() - t0 < 30
    assert "installation finished." in res.stdout
    for rel in ("bin/conda", "bin/python", "condabin/conda", "conda-meta/history",
                "etc/profile.d/conda.sh", ".condarc", ".installer.info",
                "conda-meta/initial-state.explicit.txt"):
        assert (prefix / rel).exists(), rel
    assert (prefix / "pkgs").is_dir() and (prefix / "envs").is_dir()
    recs = glob.glob(str(prefix / "conda-meta" / ("conda-%s-*.json" % version)))
    assert len(recs) == 1
    assert json.load(open(recs[0]))["version"] == version
    assert glob.glob(str(prefix / "conda-meta" / "python-3.*.json"))
    with open(prefix / "conda-meta" / "history") as fh:
        hist = fh.read()
    assert hist.startswith("==> ") and "# conda version: %s" % version in hist
    info = json.load(open(prefix / ".installer.info"))
    assert info == {"name": dist, "version": "%s-0" % version, "platform": "linux-64", "type": "sh"}
    condarc = (prefix / ".condarc").read_text()
    assert "channel_alias: http://127.0.0.1:" in condarc
    if dist == "Miniforge3":
        assert "channels:\n  - conda-forge\n" in condarc
    else:
        assert "channels:\n  - defaults\n" in condarc and "default_channels:" in condarc
    res = run_conda(prefix, "--version")
    assert res.returncode == 0 and res.stdout == "conda %s\n" % version
    out = subprocess.run([str(prefix / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
                         stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout.strip()
    assert out == str(prefix)
    with open(os.path.join(conda_home, ".conda", "environments.txt")) as fh:
        assert str(prefix) in fh.read().split()
    info = run_conda(prefix, "info", "--json").json
    assert info["conda_version"] == version and info["root_prefix"] == str(prefix)
    assert run_conda(prefix, "info", "--base", "--json").json == {"root_prefix": str(prefix)}


def test_profile_script_runs_conda(conda_base):
    out = subprocess.run(["bash", "-c", ". %s/etc/profile.d/conda.sh && conda --version" % conda_base],
                         stdout=subprocess.PIPE, universal_newlines=True, check=False)
    assert out.stdout.strip() == "conda %s" % NEW


def test_killed_midway_leaves_no_history_nor_conda(world, tmp_path, conda_home):
    prefix = tmp_path / "killed"
    env = dict(os.environ, CONDAFLEET_INSTALLER_SLEEP="60")
    proc = subprocess.Popen(["sh", world.installer(), "-b", "-p", str(prefix)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, start_new_session=True)
    try:
        for line in proc.stdout:
            if "(test hook) sleeping" in line:
                break
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert prefix.is_dir()
    assert not (prefix / "conda-meta" / "history").exists()
    assert not (prefix / "bin" / "conda").exists()
    # a repair: -u completes the installation
    assert sh(world.installer(), "-b", "-u", "-p", str(prefix)).returncode == 0
    assert run_conda(prefix, "--version").stdout == "conda %s\n" % NEW


def test_update_in_place_keeps_envs(world, world_server, tmp_path, conda_home):
    prefix = tmp_path / "base"
    install_base(world.installer("Miniconda3", OLD), prefix, world_server.url)
    res = run_conda(prefix, "create", "-y", "--json", "-n", "keep", "python=3.11")
    assert res.returncode == 0, res.stdout + res.stderr
    (prefix / ".condarc").write_text((prefix / ".condarc").read_text() + "always_yes: true\n")
    res = sh(world.installer("Miniconda3", NEW), "-b", "-u", "-p", str(prefix))
    assert res.returncode == 0, res.stderr
    assert run_conda(prefix, "--version").stdout == "conda %s\n" % NEW
    assert (prefix / "envs" / "keep" / "conda-meta" / "history").is_file()
    assert "always_yes: true" in (prefix / ".condarc").read_text()  # kept on -u
    assert not glob.glob(str(prefix / "conda-meta" / ("conda-%s-*.json" % OLD)))
    assert glob.glob(str(prefix / "conda-meta" / ("conda-%s-*.json" % NEW)))
    with open(prefix / "conda-meta" / "history") as fh:
        assert fh.read().count("==> ") == 2
    envs = run_conda(prefix, "env", "list", "--json").json["envs"]
    assert str(prefix / "envs" / "keep") in envs


# --------------------------------------------------------------------------- version-dependent
def test_old_conda_knows_only_auto_activate_base(conda_base_old, tmp_path):
    rc = tmp_path / "old.condarc"
    res = run_conda(conda_base_old, "config", "--file", rc, "--set", "auto_activate", "false")
    assert res.returncode == 1
    assert "CondaKeyError: 'auto_activate': unknown parameter" in res.stderr
    res = run_conda(conda_base_old, "config", "--file", rc, "--set", "auto_activate_base", "false")
    assert res.returncode == 0 and res.stderr == ""
    assert "auto_activate_base: false" in rc.read_text()
    listing = run_conda(conda_base_old, "env", "list", "--json").json
    assert list(listing) == ["envs"]  # envs_details came with 25.11


def test_new_conda_writes_new_name(conda_base, tmp_path):
    rc = tmp_path / "new.condarc"
    res = run_conda(conda_base, "config", "--file", rc, "--set", "auto_activate_base", "false")
    assert res.returncode == 0 and "alias of auto_activate" in res.stderr
    assert rc.read_text().endswith("auto_activate: false\n")  # seeded from $ROOT/.condarc


def test_config_operations(conda_base, tmp_path):
    rc = tmp_path / "c.yml"
    rc.write_text("")
    assert run_conda(conda_base, "config", "--file", rc, "--add", "channels", "a").returncode == 0
    assert run_conda(conda_base, "config", "--file", rc, "--add", "channels", "b").returncode == 0
    assert run_conda(conda_base, "config", "--file", rc, "--append", "channels", "c").returncode == 0
    got = run_conda(conda_base, "config", "--file", rc, "--get", "channels", "--json").json
    assert got["get"] == {"channels": ["b", "a", "c"]} and got["success"] is True
    res = run_conda(conda_base, "config", "--file", rc, "--remove", "channels", "zzz", "--json")
    assert res.returncode == 1 and res.json["exception_name"] == "CondaKeyError"
    res = run_conda(conda_base, "config", "--file", rc, "--remove-key", "nokey")
    assert res.returncode == 1
    res = run_conda(conda_base, "config", "--file", rc, "--set", "channel_priority", "bogus", "--json")
    assert res.returncode == 1 and res.json["exception_name"] == "CustomValidationError"
    assert run_conda(conda_base, "config", "--file", rc, "--set", "proxy_servers.https",
                     "http://proxy:3128").returncode == 0
    assert "proxy_servers:\n  https: http://proxy:3128\n" in rc.read_text()
    assert run_conda(conda_base, "config", "--file", rc, "--remove-key", "proxy_servers").returncode == 0
    show = run_conda(conda_base, "config", "--show", "channels", "channel_alias", "--json").json
    assert show["channels"] == ["defaults"] and show["channel_alias"]["scheme"] == "http"
    # a new file is seeded from $ROOT/.condarc, as conda does
    seeded = tmp_path / "seeded.yml"
    assert run_conda(conda_base, "config", "--file", seeded, "--set", "always_yes", "true").returncode == 0
    assert "channel_alias:" in seeded.read_text() and "always_yes: true" in seeded.read_text()


# --------------------------------------------------------------------------- channels
def test_miniforge_installs_from_world_server(miniforge_base, world_server):
    before = world_server.count("conda-forge/noarch/repodata.json")
    res = run_conda(miniforge_base, "create", "-y", "--json", "-n", "web", "python=3.12", "fastapi")
    assert res.returncode == 0, res.stdout + res.stderr
    assert world_server.count("conda-forge/noarch/repodata.json") > before
    link = {r["name"]: r for r in res.json["actions"]["LINK"]}
    assert link["fastapi"]["channel"] == "conda-forge"
    assert link["fastapi"]["base_url"] == world_server.url.rstrip("/") + "/conda-forge"


def test_condarc_precedence_user_over_root(conda_base, conda_home):
    with open(os.path.join(conda_home, ".condarc"), "w") as fh:
        fh.write("channels:\n  - pytorch\nchannel_priority: strict\n")
    show = run_conda(conda_base, "config", "--show", "channels", "channel_priority", "--json").json
    assert show["channels"] == ["pytorch", "defaults"] and show["channel_priority"] == "strict"
    env = {"CONDA_CHANNEL_PRIORITY": "disabled"}
    assert run_conda(conda_base, "config", "--show", "channel_priority", "--json",
                     env=env).json["channel_priority"] == "disabled"


@pytest.mark.parametrize("auth", ["token", "basic"])
def test_authenticated_channels(world, conda_base, tmp_path, auth):
    from server import Server
    kwargs = {"token": "s3cr3t"} if auth == "token" else {"basic": "alice:pw"}
    with Server(world.root, **kwargs) as srv:
        host = srv.url.split("://", 1)[1].rstrip("/")
        good = ("http://%s/t/s3cr3t/conda-forge" % host if auth == "token"
                else "http://alice:pw@%s/conda-forge" % host)
        bad = "http://%s/conda-forge" % host
        res = run_conda(conda_base, "create", "--dry-run", "--json", "-n", "x", "python=3.11",
                        "--override-channels", "-c", bad)
        assert res.returncode == 1 and res.json["exception_name"] == "CondaHTTPError"
        res = run_conda(conda_base, "create", "-y", "--json", "-n", "x", "python=3.11",
                        "--override-channels", "-c", good)
        assert res.returncode == 0, res.stdout + res.stderr
        assert os.path.isfile(os.path.join(conda_base, "envs", "x", "bin", "python"))
        assert srv.count("python-3.11") >= 1


# --------------------------------------------------------------------------- behaviour
def test_dry_run_and_failed_solve_change_nothing(conda_base):
    res = run_conda(conda_base, "create", "-y", "--json", "-n", "e", "python=3.11")
    assert res.returncode == 0
    hist = os.path.join(conda_base, "envs", "e", "conda-meta", "history")
    before = open(hist).read()
    listing = sorted(os.listdir(os.path.join(conda_base, "envs", "e", "conda-meta")))
    res = run_conda(conda_base, "install", "--dry-run", "--json", "-n", "e", "numpy")
    assert res.returncode == 0 and res.json["dry_run"] is True
    res = run_conda(conda_base, "install", "-y", "--json", "-n", "e", "numpy=2.1", "python=3.9")
    assert res.returncode == 1 and res.json["exception_name"] == "RattlerUnsatisfiableError"
    res = run_conda(conda_base, "install", "-y", "--json", "-n", "e", "no-such-thing")
    assert res.returncode == 1 and res.json["exception_name"] == "PackagesNotFoundInChannelsError"
    assert open(hist).read() == before
    assert sorted(os.listdir(os.path.join(conda_base, "envs", "e", "conda-meta"))) == listing
    res = run_conda(conda_base, "create", "--dry-run", "--json", "-n", "e", "python")
    assert res.returncode == 1 and res.json["exception_name"] == "CondaValueError"


def test_gpu_override(conda_base):
    vp = run_conda(conda_base, "info", "--json", env={"CONDA_OVERRIDE_CUDA": "12.4"}).json["virtual_pkgs"]
    assert ["__cuda", "12.4", "0"] in vp
    vp = run_conda(conda_base, "info", "--json", env={"CONDA_OVERRIDE_CUDA": ""}).json["virtual_pkgs"]
    assert not [v for v in vp if v[0] == "__cuda"]
    res = run_conda(conda_base, "create", "--dry-run", "--json", "-n", "gpu", "python=3.11",
                    "pytorch=2.1", "pytorch-cuda=12.1", env={"CONDA_OVERRIDE_CUDA": "12.2"})
    assert res.returncode == 0, res.stdout
    names = {r["name"]: r for r in res.json["actions"]["LINK"]}
    assert "cuda" in names["pytorch"]["build_string"]


def test_update_remove_all_and_export(conda_base, tmp_path):
    assert run_conda(conda_base, "create", "-y", "--json", "-n", "u", "python=3.11",
                     "numpy=1.24").returncode == 0
    res = run_conda(conda_base, "update", "-y", "--json", "-n", "u", "numpy")
    assert res.returncode == 0, res.stdout
    assert [r["version"] for r in res.json["actions"]["LINK"] if r["name"] == "numpy"] == ["2.1.0"]
    res = run_conda(conda_base, "update", "-y", "--json", "-n", "u", "pandas")
    assert res.returncode == 1 and res.json["exception_name"] == "PackageNotInstalledError"
    text = run_conda(conda_base, "env", "export", "-n", "u").stdout
    assert "  - numpy=2.1.0=py311_0\n" in text and text.startswith("name: u\n")
    exported = tmp_path / "u.yml"
    exported.write_text(text.replace("name: u", "name: u2"))
    res = run_conda(conda_base, "env", "create", "--json", "-f", exported)
    assert res.returncode == 0, res.stdout + res.stderr
    res = run_conda(conda_base, "remove", "--all", "-y", "--json", "-n", "u")
    assert res.returncode == 0 and not os.path.exists(os.path.join(conda_base, "envs", "u"))
    res = run_conda(conda_base, "remove", "--all", "-y", "--json", "-n", "u")
    assert res.returncode == 1 and res.json["exception_name"] == "EnvironmentLocationNotFound"


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3.11") and sys.version_info[:2] != (3, 11),
                    reason="needs a host python3.11 for a real interpreter in the env")
def test_env_file_with_pip_section(world, conda_base, world_server, tmp_path):
    envfile = tmp_path / "environment.yml"
    envfile.write_text("name: withpip\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
                       "      - tinyjson\n")
    env = {"PIP_INDEX_URL": world_server.url.rstrip("/") + "/pypi/simple", "PIP_NO_CACHE_DIR": "1"}
    res = run_conda(conda_base, "env", "create", "--json", "-f", envfile, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.json["actions"]["PIP"] == ["tinyjson"]
    py = os.path.join(conda_base, "envs", "withpip", "bin", "python")
    out = subprocess.run([py, "-c", "import tinyjson, sys; print(sys.prefix)"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         check=False)
    assert out.returncode == 0, out.stdout
    listed = {r["name"]: r for r in run_conda(conda_base, "list", "--json", "-n", "withpip").json}
    assert listed["tinyjson"]["channel"] == "pypi" and listed["tinyjson"]["build_string"] == "pypi_0"
    assert listed["pip"]["channel"] == "conda-forge"
    text = run_conda(conda_base, "env", "export", "-n", "withpip").stdout
    assert "  - pip:\n      - tinyjson==0.1\n" in text


@pytest.mark.slow
@pytest.mark.parametrize("env,specs,version", [
    ("finance", ["python=3.9", "pandas", "scikit-learn"], "3.9.18"),
    ("vision", ["python=3.11", "pytorch", "opencv"], "3.11.9"),
    ("webdev", ["python=3.12", "fastapi"], "3.12.4"),
])
def test_three_environments(conda_base, env, specs, version):
    res = run_conda(conda_base, "create", "-y", "--json", "-n", env, *specs)
    assert res.returncode == 0, res.stdout + res.stderr
    names = {r["name"] for r in res.json["actions"]["LINK"]}
    assert {core.split("=")[0] for core in specs} <= names
    py = os.path.join(conda_base, "envs", env, "bin", "python")
    out = subprocess.run([py, "--version"], stdout=subprocess.PIPE, universal_newlines=True, check=False)
    assert out.stdout.strip() == "Python %s" % version
    listed = [r["name"] for r in run_conda(conda_base, "list", "--json", "-n", env).json]
    assert "python" in listed


def test_no_tty_prompts_default_like_conda(conda_base):
    """Without -y/--json: create over an env answers "no"; remove --all removes the
    packages but keeps the prefix (CONDA-FACTS 0.4); both rc 0."""
    assert run_conda(conda_base, "create", "-y", "--json", "-n", "q", "python=3.12").returncode == 0
    res = run_conda(conda_base, "create", "-n", "q", "python=3.11")
    assert res.returncode == 0 and "CondaSystemExit: Exiting." in res.stderr
    assert [r["version"] for r in run_conda(conda_base, "list", "--json", "-n", "q").json
            if r["name"] == "python"] == ["3.12.4"]
    res = run_conda(conda_base, "remove", "--all", "-n", "q")
    assert res.returncode == 0 and "CondaSystemExit: Exiting." in res.stderr
    prefix = os.path.join(conda_base, "envs", "q")
    assert os.path.isfile(os.path.join(prefix, "conda-meta", "history"))
    assert run_conda(conda_base, "list", "--json", "-n", "q").json == []


def test_nodefaults_create_fails_update_strips(conda_base, world_server, tmp_path):
    envfile = tmp_path / "environment.yml"
    envfile.write_text("name: nd\nchannels:\n  - conda-forge\n  - nodefaults\n"
                       "dependencies:\n  - python=3.12\n")
    res = run_conda(conda_base, "env", "create", "--json", "-f", envfile)
    assert res.returncode == 1  # 26.7: nodefaults is a channel
    assert not os.path.exists(os.path.join(conda_base, "envs", "nd"))
    res = run_conda(conda_base, "env", "update", "--json", "-f", envfile)
    assert res.returncode == 0, res.stdout  # env update strips it (and creates the env)
    assert os.path.isfile(os.path.join(conda_base, "envs", "nd", "bin", "python"))
    res = run_conda(conda_base, "env", "update", "--json", "-f", envfile)
    assert res.json == {"success": True, "message": "All requested packages already installed."}


def test_old_env_create_strips_nodefaults(conda_base_old, tmp_path):
    envfile = tmp_path / "environment.yml"
    envfile.write_text("name: nd\nchannels:\n  - conda-forge\n  - nodefaults\n"
                       "dependencies:\n  - python=3.12\n")
    res = run_conda(conda_base_old, "env", "create", "--json", "-f", envfile)
    assert res.returncode == 0, res.stdout


def test_install_into_base_keeps_installer_records(conda_base):
    res = run_conda(conda_base, "install", "-y", "--json", "-n", "base", "numpy")
    assert res.returncode == 0, res.stdout + res.stderr
    names = {r["name"]: r for r in run_conda(conda_base, "list", "--json", "-n", "base").json}
    assert {"conda", "python", "numpy", "pip"} <= set(names)
    assert names["python"]["build_string"] == "h0_host"
    assert run_conda(conda_base, "--version").returncode == 0


def test_explicit_lockfile_roundtrip(conda_base, tmp_path):
    assert run_conda(conda_base, "create", "-y", "--json", "-n", "src", "python=3.11",
                     "pandas").returncode == 0
    lock = tmp_path / "lock.txt"
    res = run_conda(conda_base, "list", "--explicit", "--md5", "-n", "src")
    assert res.returncode == 0 and "@EXPLICIT\n" in res.stdout
    lock.write_text(res.stdout)
    res = run_conda(conda_base, "create", "-y", "--json", "-n", "dst", "--file", lock)
    assert res.returncode == 0, res.stdout
    src = run_conda(conda_base, "list", "--json", "-n", "src").json
    dst = run_conda(conda_base, "list", "--json", "-n", "dst").json
    assert src == dst


def test_search(conda_base):
    res = run_conda(conda_base, "search", "--json", "numpy>=2")
    assert res.returncode == 0 and set(res.json) == {"numpy"}
    assert {r["version"] for r in res.json["numpy"]} == {"2.1.0"}
    res = run_conda(conda_base, "search", "--json", "no-such-package")
    assert res.returncode == 1 and res.json["exception_name"] == "PackagesNotFoundError"


def test_legacy_pytorch_channels(miniforge_base):
    res = run_conda(miniforge_base, "create", "--dry-run", "--json", "-n", "gpu", "python=3.11",
                    "pytorch=2.4", "torchvision", "pytorch-cuda=12.4", "-c", "pytorch", "-c", "nvidia",
                    env={"CONDA_OVERRIDE_CUDA": "12.4"})
    assert res.returncode == 0, res.stdout + res.stderr
    link = {r["name"]: r for r in res.json["actions"]["LINK"]}
    assert link["pytorch"]["channel"] == "pytorch" and "cuda12.4" in link["pytorch"]["build_string"]
    assert link["pytorch-cuda"]["channel"] == "pytorch"


def test_install_update_specs(conda_base):
    assert run_conda(conda_base, "create", "-y", "--json", "-n", "old", "python=3.11",
                     "numpy=1.24").returncode == 0
    res = run_conda(conda_base, "install", "-y", "--json", "-n", "old", "numpy")
    assert res.json == {"success": True, "message": "All requested packages already installed."}
    res = run_conda(conda_base, "install", "-y", "--json", "--update-specs", "-n", "old", "numpy")
    assert [r["version"] for r in res.json["actions"]["LINK"] if r["name"] == "numpy"] == ["2.1.0"]
    assert [r["version"] for r in res.json["actions"]["UNLINK"] if r["name"] == "numpy"] == ["1.24.3"]


def test_channel_qualified_specs(miniforge_base):
    res = run_conda(miniforge_base, "create", "-y", "--json", "-n", "cq", "python=3.11",
                    "pytorch::pytorch=2.1", "-c", "pytorch", env={"CONDA_OVERRIDE_CUDA": ""})
    assert res.returncode == 0, res.stdout + res.stderr
    link = {r["name"]: r for r in res.json["actions"]["LINK"]}
    assert link["pytorch"]["channel"] == "pytorch" and "cpu" in link["pytorch"]["build_string"]
    res = run_conda(miniforge_base, "install", "-y", "--json", "-n", "cq", "pytorch::pytorch=2.1",
                    "-c", "pytorch", env={"CONDA_OVERRIDE_CUDA": ""})
    assert res.json == {"success": True, "message": "All requested packages already installed."}
