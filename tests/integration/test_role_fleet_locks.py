# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet locks (conda_env_solve=fleet): an environment solved once per class of host, the others install its lock.

Three hosts of one class (local connections, each with its own installation of the world's Miniforge, as three
machines would have) converge one environment. The real conda solves once, on the first host; the lock lands on
the controller; the two others install it with ``--file`` (no solver) and get the same builds, to the byte of
each package's record. A second run changes nothing and writes nothing; a changed spec makes a new lock, solved
once again; check mode predicts without writing a lock.
"""
from __future__ import annotations

import glob
import json
import os
import re
import signal
import time

import pytest

from fixtures import install_base, run_conda  # pylint: disable=import-error

pytestmark = [pytest.mark.world, pytest.mark.slow]

HOSTS = ("h1", "h2", "h3")
REPORT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "playbooks", "report.yml")
RECAP = r"^%s\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)\b"


def recap(host, out):
    match = re.search(RECAP % re.escape(host), out, re.M)
    assert match, out
    return int(match.group(1)), int(match.group(2))


def creates(prefix, name):
    """The ``conda create`` command lines of the environment's history."""
    with open(os.path.join(prefix, "envs", name, "conda-meta", "history"), encoding="utf-8") as handle:
        return [line for line in handle.read().splitlines() if line.startswith("# cmd:") and " create " in line]


def builds(prefix, name):
    """Each package of the environment as name-version-build, with the URL and MD5 its record holds."""
    meta = os.path.join(prefix, "envs", name, "conda-meta")
    out = {}
    for path in glob.glob(os.path.join(meta, "*.json")):
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        out[os.path.basename(path)] = (record["url"], record["md5"])
    return out


def lock_row(out, name):
    """The hosts report.yml lists for the lock ``name`` (its debug output), by column."""
    start = out.index('"lock": "%s"' % name)
    block = out[out.rindex("{", 0, start):out.index("}", start)]
    return dict((column, re.findall(r'"(h\d)"', re.search(r'"%s": \[(.*?)\]' % column, block, re.S).group(1)))
                for column in ("identical", "differ", "missing"))


@pytest.fixture
def fleet(world, world_server, tmp_path, conda_home):
    """Three installations, an inventory of three local hosts (one per installation) and a lock directory."""
    prefixes = {}
    for host in HOSTS:
        prefixes[host] = str(tmp_path / host / "conda")
        install_base(world.installer("Miniforge3"), prefixes[host], world_server.url)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {
        host: {"ansible_connection": "local", "conda_prefix": prefixes[host]} for host in HOSTS}}}))
    return prefixes, inventory, tmp_path / "locks"


def write_play(path, lock_dir, environments):
    path.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "roles": [{
        "role": "condafleet.conda.conda",
        "vars": {"conda_environments": environments, "conda_env_solve": "fleet",
                 "conda_env_lock_dir": str(lock_dir), "conda_env_async_timeout": 0}}]}]))


def test_one_solve_per_class_the_others_install_its_lock(fleet, tmp_path, ansible_playbook, world_server):
    prefixes, inventory, lock_dir = fleet
    play = tmp_path / "play.yml"
    write_play(play, lock_dir, [{"name": "quick", "python": "3.11", "packages": ["numpy"]}])
    args = ["-i", str(inventory), str(play), "--tags", "conda_environments", "--diff"]

    check = ansible_playbook(args + ["--check"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert not lock_dir.exists() and not any(os.path.exists(os.path.join(p, "envs", "quick")) for p in prefixes.values())

    first = ansible_playbook(args, tmp_path)
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    # the solver: its environment, the lock directory and the lock (on the controller); the others their environment
    assert recap("h1", first.stdout) == (3, 0), out
    for host in ("h2", "h3"):
        assert recap(host, first.stdout) == (1, 0), out
    locks = sorted(os.listdir(lock_dir))
    assert len(locks) == 1 and re.match(r"^quick\.linux-[a-z0-9]+\.[0-9a-f]{16}\.lock$", locks[0]), locks
    lock = (lock_dir / locks[0]).read_text()
    assert "solved on h1" in lock and "@EXPLICIT" in lock, lock

    # the solver: the first host of the play, from the specs; the others from the lock, with no solver
    assert len(creates(prefixes["h1"], "quick")) == 1 and "--file" not in creates(prefixes["h1"], "quick")[0]
    for host in ("h2", "h3"):
        history = creates(prefixes[host], "quick")
        assert len(history) == 1 and "--file" in history[0], history
    # the same builds everywhere: the same records, from the same URLs, with the same checksums
    reference = builds(prefixes["h1"], "quick")
    assert reference and any(name.startswith("numpy-") for name in reference)
    for host in ("h2", "h3"):
        assert builds(prefixes[host], "quick") == reference
    # the lock lists exactly what the solver installed
    locked = set(line.split("#")[0].rsplit("/", 1)[1] for line in lock.splitlines() if line.startswith("http"))
    assert locked == set(url.rsplit("/", 1)[1] for url, dummy in reference.values())

    before = lock.encode()
    again = ansible_playbook(args, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    for host in HOSTS:
        assert recap(host, again.stdout) == (0, 0), again.stdout
    assert (lock_dir / locks[0]).read_bytes() == before and sorted(os.listdir(lock_dir)) == locks
    assert "Converge the environment quick" not in again.stdout, again.stdout  # the probe was the only call

    # report.yml lists the lock and the hosts that have its builds; a host whose builds drift is named
    report_vars = tmp_path / "report.json"
    report_vars.write_text(json.dumps({"conda_environments": [{"name": "quick", "python": "3.11",
                                                               "packages": ["numpy"]}],
                                       "conda_env_solve": "fleet", "conda_env_lock_dir": str(lock_dir)}))
    report = ansible_playbook(["-i", str(inventory), REPORT, "-e", "@%s" % report_vars], tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert lock_row(report.stdout, locks[0]) == {"identical": ["h1", "h2", "h3"], "differ": [], "missing": []}
    # and its table: every host's environment in sync with its spec (one probe per host compared them)
    assert len(re.findall(r'"h\d\s+quick\s+3\.11\S*\s+in sync', report.stdout)) == 3, report.stdout
    gone = run_conda(prefixes["h3"], "remove", "-y", "--force", "-p", os.path.join(prefixes["h3"], "envs", "quick"),
                     "numpy")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    report = ansible_playbook(["-i", str(inventory), REPORT, "-e", "@%s" % report_vars], tmp_path)
    assert lock_row(report.stdout, locks[0]) == {"identical": ["h1", "h2"], "differ": ["h3"], "missing": []}
    assert re.search(r'"h3\s+quick\s+3\.11\S*\s+DRIFT: missing numpy; wrong -; pip -"', report.stdout), report.stdout
    # the next run brings h3 back to the lock's builds, without a solver
    back = ansible_playbook(args, tmp_path)
    assert back.returncode == 0 and recap("h3", back.stdout) == (1, 0), back.stdout + back.stderr
    assert builds(prefixes["h3"], "quick") == reference

    # a changed spec is a new class: one new solve, the others follow
    write_play(play, lock_dir, [{"name": "quick", "python": "3.11", "packages": ["numpy", "pandas"]}])
    changed = ansible_playbook(args, tmp_path)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert len(os.listdir(lock_dir)) == 2
    assert len(creates(prefixes["h1"], "quick")) == 1
    reference = builds(prefixes["h1"], "quick")
    assert any(name.startswith("pandas-") for name in reference)
    for host in ("h2", "h3"):
        assert builds(prefixes[host], "quick") == reference


def test_when_the_solver_fails_the_others_stop_at_once_and_name_it(fleet, tmp_path, ansible_playbook):
    prefixes, inventory, lock_dir = fleet
    # h1's installation loses its conda: the role converges no environment there, and it writes no lock
    os.rename(os.path.join(prefixes["h1"], "bin", "conda"), os.path.join(prefixes["h1"], "bin", "conda.moved"))
    play = tmp_path / "play.yml"
    write_play(play, lock_dir, [{"name": "quick", "python": "3.11", "packages": ["numpy"]}])
    run = ansible_playbook(["-i", str(inventory), str(play), "--tags", "conda_environments"], tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert recap("h1", run.stdout)[1] == 0, out  # (its change: the prediction that conda is missing)
    for host in ("h2", "h3"):
        assert recap(host, run.stdout)[1] == 1, out
    for host in ("h2", "h3"):
        assert re.search(r"fatal: \[%s\]: FAILED!.*h1, the host that solves quick for this class of hosts, wrote no "
                         r"lock" % host, out), out
    assert not lock_dir.exists() or not os.listdir(lock_dir)
    for host in ("h2", "h3"):
        assert not os.path.exists(os.path.join(prefixes[host], "envs", "quick"))


def package_downloads(server, since):
    """How many times each package file was fetched from the world's server, after the first ``since`` requests."""
    counts = {}
    for entry in server.requests()[since:]:
        path = entry["path"].split("?")[0]
        if path.endswith((".conda", ".tar.bz2")) and "/installers/" not in path:
            counts[path.rsplit("/", 1)[1]] = counts.get(path.rsplit("/", 1)[1], 0) + 1
    return counts


def test_with_the_controller_cache_each_package_is_downloaded_once_for_the_hosts(fleet, tmp_path, ansible_playbook,
                                                                                 world, world_server):
    prefixes, inventory, lock_dir = fleet
    cache = tmp_path / "controller-cache"
    play = tmp_path / "play.yml"
    env = {"name": "quick", "python": "3.11", "packages": ["numpy"]}
    play.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "roles": [{
        "role": "condafleet.conda.conda",
        "vars": {"conda_environments": [env], "conda_env_solve": "fleet", "conda_env_lock_dir": str(lock_dir),
                 "conda_env_package_cache": "controller", "conda_env_package_cache_dir": str(cache)}}]}]))
    args = ["-i", str(inventory), str(play), "--tags", "conda_environments"]
    start = len(world_server.requests())
    run = ansible_playbook(args, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    downloads = package_downloads(world_server, start)
    reference = builds(prefixes["h1"], "quick")
    files = set(url.rsplit("/", 1)[1] for url, dummy in reference.values())
    # the solver's conda fetched each package as it solved; the controller took them from it for the two others
    assert set(downloads) == files and set(downloads.values()) == {1}, downloads
    for host in ("h2", "h3"):
        assert builds(prefixes[host], "quick") == reference
        assert not [name for name in os.listdir(os.path.join(prefixes[host], "pkgs")) if name.endswith(".tar")
                    and name.startswith(".condafleet-")]  # the archive's copy is gone
    cached = [name for subdir in os.listdir(cache) if subdir != "archives" and (cache / subdir).is_dir()
              for name in os.listdir(cache / subdir) if not name.startswith(".")]
    assert sorted(cached) == sorted(files)

    # a fourth host joins later: nothing crosses the link again
    fourth = str(tmp_path / "h4" / "conda")
    install_base(world.installer("Miniforge3"), fourth, world_server.url)
    data = json.loads(inventory.read_text())
    data["all"]["hosts"]["h4"] = {"ansible_connection": "local", "conda_prefix": fourth}
    inventory.write_text(json.dumps(data))
    start = len(world_server.requests())
    again = ansible_playbook(args, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert package_downloads(world_server, start) == {}
    assert builds(fourth, "quick") == reference
    for host in HOSTS:
        assert recap(host, again.stdout) == (0, 0), again.stdout


def test_a_rollout_killed_half_way_is_finished_by_the_next_run(fleet, tmp_path, ansible_playbook, start_playbook):
    """SIGKILL to the controller (and its local module processes) once a host has the lock's package archive; the
    next run (two hours later, as far as the leftovers' age goes) finishes the rollout and leaves nothing behind."""
    prefixes, inventory, lock_dir = fleet
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "roles": [{
        "role": "condafleet.conda.conda",
        "vars": {"conda_environments": [{"name": "quick", "python": "3.11", "packages": ["numpy"]}],
                 "conda_env_solve": "fleet", "conda_env_lock_dir": str(lock_dir), "conda_env_async_timeout": 0,
                 "conda_env_package_cache": "controller",
                 "conda_env_package_cache_dir": str(tmp_path / "controller-cache")}}]}]))
    args = ["-i", str(inventory), str(play), "--tags", "conda_environments"]

    def transport(host):
        pkgs = os.path.join(prefixes[host], "pkgs")
        return sorted(name for name in os.listdir(pkgs) if name.startswith(".condafleet-")) \
            if os.path.isdir(pkgs) else []

    with open(str(tmp_path / "killed.out"), "w", encoding="utf-8") as out:
        proc = start_playbook(args, tmp_path, out)
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline and not any(
                name.endswith(".tar") for host in ("h2", "h3") for name in transport(host)):
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed = (tmp_path / "killed.out").read_text()
    assert proc.returncode == -signal.SIGKILL, "the run ended before a host had the archive:\n" + killed
    assert len(os.listdir(lock_dir)) == 1, killed  # the solver had written the lock

    # two hours later: what the killed run carried into the package caches is past the longest transaction
    later = time.time() - 2 * 3600
    for host in HOSTS:
        for name in transport(host):
            os.utime(os.path.join(prefixes[host], "pkgs", name), (later, later))
    again = ansible_playbook(args, tmp_path)
    assert again.returncode == 0, killed + again.stdout + again.stderr
    reference = builds(prefixes["h1"], "quick")
    for host in HOSTS:
        assert builds(prefixes[host], "quick") == reference, host
        assert transport(host) == [], (host, transport(host))
    assert len(creates(prefixes["h1"], "quick")) == 1 and len(os.listdir(lock_dir)) == 1
    final = ansible_playbook(args, tmp_path)
    assert final.returncode == 0, final.stdout + final.stderr
    for host in HOSTS:
        assert recap(host, final.stdout) == (0, 0), final.stdout
