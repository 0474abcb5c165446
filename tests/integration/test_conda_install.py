# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""condafleet.conda.conda_install on real prefixes, with the offline world's installers and loopback server.

The world's installers live under ``<world root>/installers/`` with upstream
names and ``.sha256`` sidecars; the server serves the world root over plain
http, so the module is given the digest literally (a plain-http sidecar is
refused by design, see test_plain_http_sidecar_is_refused).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _installer as inst

pytestmark = [pytest.mark.world, pytest.mark.slow]

MODULE = "condafleet.conda.conda_install"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
MANAGED_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


# -- the world's installers ----------------------------------------------------------------------------


def _world_root(world):
    for getter in (lambda w: w["root"], lambda w: w.root, lambda w: w):
        try:
            root = getter(world)
        except (KeyError, TypeError, AttributeError):
            continue
        if isinstance(root, (str, os.PathLike)) and os.path.isdir(os.path.join(str(root), "installers")):
            return str(root)
    pytest.skip("the offline world has no installers/ directory yet")
    return None


#: the world's installers put conda over the host's Python: Miniconda's name says which one
HOST_PYTHON_TAG = subprocess.run(
    [MANAGED_PYTHON, "-c", "import sys; print('py%d%d' % sys.version_info[:2])"],
    capture_output=True, text=True, check=True).stdout.strip()


class Installers:
    """The old and the new installer of this host's platform, with their digests, URLs and module arguments."""

    def __init__(self, world, server, distribution="miniforge"):
        self.root = _world_root(world)
        self.dir = os.path.join(self.root, "installers")
        self.server = server
        self.distribution = distribution
        platform = inst.platform_of(distribution, os.uname()[0], os.uname()[4])
        stem = {"miniforge": "Miniforge3-", "miniconda": "Miniconda3-"}[distribution]
        found = []
        for name in sorted(os.listdir(self.dir)):
            release, python = inst.release_from_filename(name)
            if python and python != HOST_PYTHON_TAG:  # a Miniconda for another Python cannot run here
                continue
            if release and name.startswith(stem) and name.endswith("-%s-%s.sh" % platform):
                found.append((inst.version_tuple(release), name, release, python))
        if len(found) < 2:
            pytest.skip("the world has fewer than two %s installers for this platform: %s" % (distribution, os.listdir(self.dir)))
        found.sort()
        self.old, self.new = found[0][1:], found[-1][1:]
        self.since = len(server.requests())

    @property
    def mirror(self):
        return self.server.url + "/installers"

    def digest(self, which):
        with open(os.path.join(self.dir, which[0] + ".sha256"), encoding="utf-8") as handle:
            return inst.parse_sidecar(handle.read(), which[0])

    def conda(self, which):
        return inst.conda_version_of(which[1])

    def args(self, prefix, which, **kw):
        args = dict(prefix=str(prefix), distribution=self.distribution, version=which[1], mirror_url=self.mirror,
                    checksum="sha256:" + self.digest(which))
        if which[2]:
            args["python"] = which[2]
        args.update(kw)
        return args

    def requests(self):
        """The server's requests since this test started (the server lives for the whole session)."""
        return self.server.requests()[self.since:]

    def count(self, substr):
        return sum(1 for e in self.requests() if substr in e.get("path", "") and e.get("method") == "GET")

    def downloads(self, which):
        """GET requests for the installer itself (not its sidecar)."""
        return self.count(which[0]) - self.count(which[0] + ".sha256")


@pytest.fixture
def installers(world, world_server):
    return Installers(world, world_server)


@pytest.fixture
def miniconda(world, world_server):
    return Installers(world, world_server, "miniconda")


def assert_installed(prefix, conda):
    assert os.path.isfile(os.path.join(str(prefix), "conda-meta", "history"))
    assert os.path.isfile(os.path.join(str(prefix), "bin", "conda"))
    records = [n for n in os.listdir(os.path.join(str(prefix), "conda-meta")) if n.startswith("conda-%s-" % conda)]
    assert records, os.listdir(os.path.join(str(prefix), "conda-meta"))


# -- tests -------------------------------------------------------------------------------------------------------


def test_fresh_install_check_mode_then_idempotent_without_http(run_module, installers, tmp_path):
    prefix = tmp_path / "conda"
    old = installers.old
    predicted = run_module(MODULE, installers.args(prefix, old), check=True, diff=True)
    assert predicted.changed and predicted["action"] == "install", predicted.result
    assert predicted["diff"]["before"]["state"] == "absent"
    assert predicted["diff"]["after"] == {"prefix": str(prefix), "state": "installed", "version": installers.conda(old)}
    assert not prefix.exists() and installers.downloads(old) == 0  # check mode downloads nothing

    first = run_module(MODULE, installers.args(prefix, old), diff=True)
    assert first.changed and not first.failed, first.result
    assert first["action"] == "install" and first["version"] == installers.conda(old)
    assert first["conda_exe"] == str(prefix / "bin" / "conda")
    assert first["installer_url"] == "%s/%s" % (installers.mirror, old[0])
    assert first["distribution"] == installers.distribution and first["prefix"] == str(prefix)
    assert_installed(prefix, installers.conda(old))
    assert installers.downloads(old) == 1

    before = len(installers.requests())
    second = run_module(MODULE, installers.args(prefix, old))
    assert not second.changed and second["action"] == "none", second.result
    assert len(installers.requests()) == before  # zero HTTP requests at the requested version
    again = run_module(MODULE, installers.args(prefix, old), check=True)
    assert not again.changed
    assert len(installers.requests()) == before


def test_upgrade_from_old_to_new(run_module, installers, tmp_path):
    prefix = tmp_path / "conda"
    _first = run_module(MODULE, installers.args(prefix, installers.old))
    assert _first.changed, _first.result
    present = run_module(MODULE, installers.args(prefix, installers.old, version="latest", python=None, state="present"))
    assert not present.changed  # state=present keeps what is there
    predicted = run_module(MODULE, installers.args(prefix, installers.new), check=True)
    assert predicted.changed and predicted["action"] == "upgrade"
    assert_installed(prefix, installers.conda(installers.old))
    up = run_module(MODULE, installers.args(prefix, installers.new), diff=True)
    assert up.changed and up["action"] == "upgrade", up.result
    assert up["previous_version"] == installers.conda(installers.old)
    assert up["version"] == installers.conda(installers.new)
    assert up["diff"]["before"]["version"] == installers.conda(installers.old)
    assert up["diff"]["after"]["version"] == installers.conda(installers.new)
    assert_installed(prefix, installers.conda(installers.new))
    # Asking for the older one again never downgrades.
    down = run_module(MODULE, installers.args(prefix, installers.old))
    assert not down.changed and "not downgrading" in down["reason"]


def test_state_latest_learns_the_version_from_the_installer(run_module, installers, tmp_path):
    prefix = tmp_path / "conda"
    _first = run_module(MODULE, installers.args(prefix, installers.old))
    assert _first.changed, _first.result
    new = installers.new
    url = "%s/%s" % (installers.mirror, new[0])
    args = dict(prefix=str(prefix), distribution=installers.distribution, state="latest", installer_url=url,
                checksum="sha256:" + installers.digest(new))
    predicted = run_module(MODULE, args, check=True)
    assert predicted.changed and predicted["action"] == "upgrade", predicted.result
    assert predicted["version"] == installers.conda(new)
    up = run_module(MODULE, args)
    assert up.changed and up["version"] == installers.conda(new), up.result
    assert not run_module(MODULE, args).changed


def test_state_latest_through_a_mirror_of_miniconda(run_module, miniconda, tmp_path):
    """version=latest + state=latest: the version comes from the first KiB of Miniconda3-latest (its '# VER:' line)."""
    latest = os.path.join(miniconda.dir, "miniconda", "Miniconda3-latest-%s-%s.sh" % inst.platform_of("miniconda", *_uname()))
    if not os.path.isfile(latest):
        pytest.skip("the world has no Miniconda3-latest installer")
    prefix = tmp_path / "miniconda3"
    _first = run_module(MODULE, miniconda.args(prefix, miniconda.old))
    assert _first.changed, _first.result
    args = dict(prefix=str(prefix), distribution="miniconda", state="latest", mirror_url=miniconda.mirror + "/miniconda",
                checksum="sha256:" + miniconda.digest(miniconda.new))
    predicted = run_module(MODULE, args, check=True)
    assert predicted.changed and predicted["action"] == "upgrade", predicted.result
    assert predicted["version"] == miniconda.conda(miniconda.new)
    assert miniconda.count("Miniconda3-latest") == 1  # a partial read, not the download
    up = run_module(MODULE, args)
    assert up.changed and up["version"] == miniconda.conda(miniconda.new), up.result
    assert_installed(prefix, miniconda.conda(miniconda.new))
    same = run_module(MODULE, args)
    assert not same.changed and same["action"] == "none"
    # state=present with version=latest needs no network at all.
    before = len(miniconda.requests())
    assert not run_module(MODULE, dict(args, state="present")).changed
    assert len(miniconda.requests()) == before


def _uname():
    return os.uname()[0], os.uname()[4]


def test_checksum_mismatch_fails_with_nothing_installed(run_module, installers, tmp_path):
    prefix = tmp_path / "conda"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    res = run_module(MODULE, installers.args(prefix, installers.old, checksum="sha256:" + "0" * 64, tmp_dir=str(downloads)))
    assert res.failed and "checksum mismatch" in res["msg"], res.result
    assert not prefix.exists()
    assert os.listdir(str(downloads)) == []  # the bad download is gone too


def test_checksum_url_and_missing_checksum(run_module, installers, tmp_path):
    prefix = tmp_path / "conda"
    sidecar = "file://%s/%s.sha256" % (installers.dir, installers.old[0])
    args = installers.args(prefix, installers.old, checksum=None, checksum_url=sidecar)
    del args["checksum"]
    _first = run_module(MODULE, args)
    assert _first.changed, _first.result
    assert_installed(prefix, installers.conda(installers.old))
    other = tmp_path / "other"
    args = installers.args(other, installers.old, installer_url="%s/%s" % (installers.mirror, installers.old[0]), mirror_url=None)
    del args["checksum"], args["mirror_url"]
    res = run_module(MODULE, args)
    assert res.failed and "no checksum" in res["msg"] and "allow_unverified" in res["msg"]
    assert not other.exists()


def test_plain_http_sidecar_is_refused(run_module, installers, tmp_path):
    prefix = tmp_path / "conda"
    args = installers.args(prefix, installers.old)
    del args["checksum"]  # the mirror's sidecar would come over plain http too
    res = run_module(MODULE, args)
    assert res.failed and "plain http" in res["msg"], res.result
    assert not prefix.exists() and installers.downloads(installers.old) == 0


def _start_playbook(tmp_path, task_args, environment):
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "install", MODULE: task_args, "environment": environment},
    ]}]
    path = tmp_path / "killed.yml"
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PYTHON_INTERPRETER=MANAGED_PYTHON,
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ltmp"))
    return subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _processes():
    """``{pid: (sid, argv)}`` of this host's processes."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as handle:
                argv = handle.read().decode("utf-8", "replace").split("\0")
            out[int(name)] = (os.getsid(int(name)), argv)
        except OSError:
            continue
    return out


def _kill_the_run_installing(prefix):
    """SIGKILL the module run whose installer writes ``prefix``: the whole session Ansible's worker made for it.

    Killing ansible-playbook is not enough: its worker process calls setsid, so the module and its installer
    would live on (and finish the install) without it.
    """
    sessions = set(sid for sid, argv in _processes().values() if "-p" in argv and str(prefix) in argv)
    assert sessions, "no installer runs into %s" % prefix
    for pid, (sid, _argv) in _processes().items():
        if sid in sessions and pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    deadline = time.time() + 30
    while time.time() < deadline and any(sid in sessions for sid, _argv in _processes().values()):
        time.sleep(0.1)


def test_interrupted_install_is_repaired(run_module, installers, tmp_path):
    prefix = tmp_path / "conda"
    proc = _start_playbook(tmp_path, installers.args(prefix, installers.old), {"CONDAFLEET_INSTALLER_SLEEP": "60"})
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (prefix.exists() and os.listdir(str(prefix))):
            time.sleep(0.2)
        assert prefix.exists(), "the installer never started writing the prefix"
        time.sleep(0.5)
        _kill_the_run_installing(prefix)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (prefix / "conda-meta" / "history").exists() or not (prefix / "bin" / "conda").exists(), \
        "the installer finished before it was killed"
    predicted = run_module(MODULE, installers.args(prefix, installers.old), check=True)
    assert predicted.changed and predicted["action"] == "reinstall", predicted.result
    repaired = run_module(MODULE, installers.args(prefix, installers.old))
    assert repaired.changed and repaired["action"] == "reinstall", repaired.result
    assert_installed(prefix, installers.conda(installers.old))
    assert not (tmp_path / ".conda.condafleet-install.lock").exists()  # the killed run's lock file, removed by the repair
    assert not run_module(MODULE, installers.args(prefix, installers.old)).changed


def test_user_directory_is_refused_and_left_intact(run_module, installers, tmp_path):
    prefix = tmp_path / "projects"
    prefix.mkdir()
    (prefix / "notes.txt").write_text("do not lose me\n")
    (prefix / "bin").mkdir()
    for state in ("present", "absent"):
        res = run_module(MODULE, installers.args(prefix, installers.old, state=state))
        assert res.failed and "not a conda installation" in res["msg"], res.result
        check = run_module(MODULE, installers.args(prefix, installers.old, state=state), check=True)
        assert check.failed
    assert sorted(os.listdir(str(prefix))) == ["bin", "notes.txt"]
    assert (prefix / "notes.txt").read_text() == "do not lose me\n"
    assert installers.downloads(installers.old) == 0


def test_absent_removes_install_and_conda_init(run_module, installers, tmp_path):
    prefix = tmp_path / "conda"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    env = {"HOME": str(home)}
    res = run_module(MODULE, installers.args(prefix, installers.old, init_shells=["bash"]), environment=env)
    assert res.changed and res["rc_files"] == [str(home / ".bashrc")], res.result
    assert inst.has_init((home / ".bashrc").read_text(), str(prefix))
    # The rc file is still valid shell after the edit.
    assert subprocess.run(["bash", "-n", str(home / ".bashrc")], check=False).returncode == 0
    assert not run_module(MODULE, installers.args(prefix, installers.old, init_shells=["bash"]), environment=env).changed
    predicted = run_module(MODULE, dict(prefix=str(prefix), state="absent"), check=True, diff=True, environment=env)
    assert predicted.changed and predicted["action"] == "remove" and prefix.exists()
    gone = run_module(MODULE, dict(prefix=str(prefix), state="absent"), environment=env)
    assert gone.changed and not prefix.exists(), gone.result
    assert (home / ".bashrc").read_text() == "alias ll='ls -l'\n"
    assert not run_module(MODULE, dict(prefix=str(prefix), state="absent"), environment=env).changed


def test_shared_group_writable_install(run_module, installers, tmp_path):
    prefix = tmp_path / "shared"
    res = run_module(MODULE, installers.args(prefix, installers.old, mode="2775", group_writable=True))
    assert res.changed, res.result
    assert oct(os.stat(str(prefix)).st_mode & 0o7777) == "0o2775"
    assert os.stat(str(prefix / "conda-meta" / "history")).st_mode & 0o020
    assert not run_module(MODULE, installers.args(prefix, installers.old, mode="2775", group_writable=True)).changed


def test_fleet_downloads_once_through_the_controller_cache(installers, tmp_path):
    inventory = tmp_path / "inventory.ini"
    hosts = ["node%d" % i for i in range(1, 4)]
    inventory.write_text(
        "[fleet]\n" + "".join("%s conda_prefix=%s\n" % (h, tmp_path / h / "conda") for h in hosts)
        + "[fleet:vars]\nansible_connection=local\nansible_python_interpreter=%s\n" % MANAGED_PYTHON
    )
    task = installers.args("{{ conda_prefix }}", installers.old, installer_cache="controller",
                           cache_dir=str(tmp_path / "controller-cache"))
    play = [{"hosts": "fleet", "gather_facts": False, "tasks": [
        {"name": "Install conda everywhere", MODULE: task, "register": "__r"},
        {"name": "Keep the results", "ansible.builtin.copy": {"content": "{{ __r | to_json }}",
                                                              "dest": str(tmp_path / "{{ inventory_hostname }}.json"),
                                                              "mode": "0600"}},
    ]}]
    playbook = tmp_path / "fleet.yml"
    playbook.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORKS="3",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ltmp"))

    def play_once():
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(playbook)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return {h: json.loads((tmp_path / ("%s.json" % h)).read_text()) for h in hosts}

    results = play_once()
    for host in hosts:
        assert results[host]["changed"] and results[host]["action"] == "install", results[host]
        assert results[host]["installer_url"] == "%s/%s" % (installers.mirror, installers.old[0])
        assert_installed(tmp_path / host / "conda", installers.conda(installers.old))
    assert installers.downloads(installers.old) == 1  # one download for three hosts
    before = len(installers.requests())
    results = play_once()
    assert not any(r["changed"] for r in results.values())
    assert len(installers.requests()) == before


@pytest.mark.parametrize("cache", ["host", "controller"])
def test_authenticated_mirror_keeps_credentials_out_of_logs(run_module, installers, tmp_path, cache):
    from server import Server  # the world's loopback server, here with basic auth

    secret = "s3cr3t-pw-%s" % cache
    with Server(installers.root, basic="fleet:" + secret, log_path=str(tmp_path / "auth.log")) as srv:
        prefix = tmp_path / "conda"
        args = installers.args(prefix, installers.old, mirror_url=srv.url + "/installers", url_username="fleet",
                               url_password=secret, force_basic_auth=True, installer_cache=cache,
                               cache_dir=str(tmp_path / "cache"))
        denied = run_module(MODULE, dict(args, url_password="wrong-" + secret))
        assert denied.failed and not prefix.exists()
        res = run_module(MODULE, args, diff=True, verbosity=3)
        assert res.changed and not res.failed, res.result
        assert_installed(prefix, installers.conda(installers.old))
        assert srv.count(installers.old[0], status=200) == 1
    for text in (json.dumps(res.result), res.stdout, res.stderr, json.dumps(denied.result), denied.stdout, denied.stderr):
        assert secret not in text


def test_an_installer_killed_outside_the_module_is_not_taken_for_an_install(run_module, installers, tmp_path):
    """Only this module's marker makes a half-made prefix repairable or removable: what an installer run by
    hand left behind (no marker) is refused, whatever it holds."""
    prefix = tmp_path / "conda"
    installer = os.path.join(installers.dir, installers.old[0])
    proc = subprocess.Popen(["sh", installer, "-b", "-p", str(prefix)], env=dict(os.environ, CONDAFLEET_INSTALLER_SLEEP="60"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (prefix / ".installer.info").exists():
            time.sleep(0.2)
        assert (prefix / ".installer.info").exists(), "the installer never got to its payload"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = sorted(str(p) for p in prefix.rglob("*"))
    for state in ("present", "absent"):
        result = run_module(MODULE, dict(installers.args(prefix, installers.old), state=state))
        assert result.failed and "not a conda installation" in result["msg"] and str(prefix) in result["msg"], result.result
    assert sorted(str(p) for p in prefix.rglob("*")) == before


def test_a_plain_environment_is_never_removed_as_an_installation(run_module, installers, tmp_path):
    """A conda environment (conda-meta/history, a python record) is not an installation: absent leaves it."""
    made = run_module(MODULE, installers.args(tmp_path / "conda", installers.new))
    assert made.changed, made.result
    env = tmp_path / "conda" / "envs" / "plain"
    created = run_module("condafleet.conda.conda_env", {
        "prefix": str(tmp_path / "conda"), "name": "plain", "python": "3.11", "override_channels": True,
        "channels": [installers.server.url + "/conda-forge"]})
    assert created.changed and not created.failed, created.result
    (env / "thesis.tex").write_text("precious")
    for state in ("absent", "present"):
        result = run_module(MODULE, dict(installers.args(env, installers.new), state=state))
        assert result.failed and "conda environment" in result["msg"], result.result
    assert (env / "thesis.tex").read_text() == "precious" and (env / "conda-meta" / "history").exists()


# -- concurrency, lying labels, symlinks -----------------------------------------------------------------------


def _start_recorded(tmp_path, name, task_args, environment):
    """ansible-playbook running one conda_install task in the background; its result lands in NAME.json."""
    result = tmp_path / ("%s.json" % name)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "install", MODULE: task_args, "environment": environment, "register": "__r", "ignore_errors": True},
        {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ __r | to_json }}", "dest": str(result),
                                                             "mode": "0600"}},
    ]}]
    path = tmp_path / ("%s.yml" % name)
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PYTHON_INTERPRETER=MANAGED_PYTHON,
               ANSIBLE_LOCAL_TEMP=str(tmp_path / ("ltmp-" + name)))
    proc = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    return proc, result


def test_two_runs_at_once_into_one_prefix_install_it_once(installers, tmp_path):
    """The second run waits for the first one's lock, then finds its installation: one installer run, one change."""
    from fixtures import run_conda

    prefix = tmp_path / "conda"
    slow = {"CONDAFLEET_INSTALLER_SLEEP": "15"}  # the installer of either run outlasts the other's start
    runs = [_start_recorded(tmp_path, name, installers.args(prefix, installers.old), slow) for name in ("a", "b")]
    results = []
    for proc, path in runs:
        out, _err = proc.communicate(timeout=600)
        assert proc.returncode == 0, out
        results.append(json.loads(path.read_text()))
    assert sorted((r.get("changed"), r.get("action")) for r in results) == [(False, "none"), (True, "install")], results
    assert not any(r.get("failed") for r in results), results
    assert installers.downloads(installers.old) == 1  # the installer ran once
    assert_installed(prefix, installers.conda(installers.old))
    assert not (prefix / ".condafleet-install").exists()
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith(".")] == []  # the lock file is gone
    version = run_conda(str(prefix), "--version")
    assert version.returncode == 0 and version.stdout.split() == ["conda", installers.conda(installers.old)], version


def _mislabelled(installers, which, label, directory):
    """A copy of a world installer whose name and header ('# VER:', INSTALLER_VER) say ``label``, with its sidecar."""
    with open(os.path.join(installers.dir, which[0]), "rb") as handle:
        data = handle.read()
    head = data[:4096]
    assert head.count(which[1].encode()) == 2, head[:600]  # '# VER:' and INSTALLER_VER=; same length, same offsets
    assert len(label) == len(which[1])
    data = head.replace(which[1].encode(), label.encode()) + data[4096:]
    name = which[0].replace(which[1], label)
    path = os.path.join(str(directory), name)
    with open(path, "wb") as handle:
        handle.write(data)
    digest = hashlib.sha256(data).hexdigest()
    with open(path + ".sha256", "w", encoding="utf-8") as handle:
        handle.write("%s  %s\n" % (digest, name))
    assert inst.release_from_filename(name)[0] == label and inst.release_from_header(data[:4096].decode("latin-1")) == label
    return path, digest


def test_an_installer_that_lies_about_its_version_fails_instead_of_upgrading_at_every_run(run_module, installers, tmp_path):
    """state=latest: the header says the new release, the payload is the old conda. Before, every run 'upgraded'."""
    old, new = installers.old, installers.new
    prefix = tmp_path / "conda"
    made = run_module(MODULE, installers.args(prefix, old))
    assert made.changed and not made.failed, made.result
    liar, digest = _mislabelled(installers, old, new[1], tmp_path)
    args = dict(prefix=str(prefix), distribution=installers.distribution, state="latest", installer_url="file://" + liar,
                checksum="sha256:" + digest)
    for _attempt in range(2):
        res = run_module(MODULE, args)
        assert res.failed and res["action"] == "upgrade", res.result
        assert "claims conda %s but installed conda %s" % (installers.conda(new), installers.conda(old)) in res["msg"]
        assert liar in res["msg"] and res["version"] == installers.conda(old)
        assert_installed(prefix, installers.conda(old))  # the installation stands, healthy and complete
        assert not (prefix / ".condafleet-install").exists()
    # A pinned version on a fresh prefix: the same clear failure, not a silent success.
    fresh = tmp_path / "fresh"
    res = run_module(MODULE, dict(args, prefix=str(fresh), state="present", version=new[1]))
    assert res.failed and res["action"] == "install" and "claims conda %s" % installers.conda(new) in res["msg"], res.result
    assert_installed(fresh, installers.conda(old))


def test_a_symlinked_prefix_is_the_installation_it_points_at(run_module, installers, tmp_path):
    real, link = tmp_path / "real-conda", tmp_path / "conda"
    made = run_module(MODULE, installers.args(real, installers.old))
    assert made.changed, made.result
    os.symlink(str(real), str(link))
    before = len(installers.requests())
    for check in (True, False):
        for args in (installers.args(link, installers.old), dict(prefix=str(link), distribution=installers.distribution)):
            res = run_module(MODULE, args, check=check, diff=True)
            assert not res.failed and not res.changed and res["action"] == "none", res.result
            assert res["version"] == installers.conda(installers.old) and res["conda_exe"] == str(link / "bin" / "conda")
    assert len(installers.requests()) == before
    assert os.path.islink(str(link)) and [n for n in os.listdir(str(tmp_path)) if n.startswith(".")] == []


def test_a_prefix_with_a_space_is_refused_before_anything(run_module, installers, tmp_path):
    prefix = tmp_path / "my conda"
    res = run_module(MODULE, installers.args(prefix, installers.old))
    assert res.failed and repr(str(prefix)) in res["msg"] and "space" in res["msg"], res.result
    assert not prefix.exists() and installers.downloads(installers.old) == 0
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith(".")] == []  # no lock taken either


@pytest.mark.parametrize("cache", ["host", "controller"])
def test_a_tokenized_installer_url_is_masked_in_results_logs_and_the_controller_cache(
        run_module, installers, tmp_path, cache, assert_hidden):
    from server import Server  # the world's loopback server, here with conda-style token auth

    token = "tk-Inst4llerT0ken-%s" % cache
    log = tmp_path / "ansible.log"
    with Server(installers.root, token=token, log_path=str(tmp_path / "auth.log")) as srv:
        prefix = tmp_path / "conda"
        url = srv.channel_url("installers/" + installers.old[0])
        args = installers.args(prefix, installers.old, installer_url=url, installer_cache=cache,
                               cache_dir=str(tmp_path / "cache"))
        del args["mirror_url"]
        missing = run_module(MODULE, dict(args, installer_url=url + ".missing"), extra_env={"ANSIBLE_LOG_PATH": str(log)})
        assert missing.failed and "404" in missing["msg"] and "/t/********/" in missing["msg"], missing.result
        res = run_module(MODULE, args, diff=True, verbosity=3, extra_env={"ANSIBLE_LOG_PATH": str(log)})
        assert res.changed and not res.failed, res.result
        assert_installed(prefix, installers.conda(installers.old))
        assert srv.count(installers.old[0], status=200) == 1
    assert res["installer_url"] == url.replace(token, "********")
    cached = sorted(str(p) for p in (tmp_path / "cache").glob("*/source.json"))
    assert len(cached) == (1 if cache == "controller" else 0)
    if cached:
        with open(cached[0], encoding="utf-8") as handle:
            assert json.load(handle)["url"] == res["installer_url"]
    assert_hidden([token], [missing, res], [log] + cached)
