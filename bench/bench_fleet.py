# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role at fleet scale: 3, 10 and 30 podman hosts, four environments each, solved once per class.

    .venv/bin/python bench/bench_fleet.py [--sizes 3 10 30] [--runs 5] [--host-solving 3 10] [--port 8733]

For each size, on fresh containers of localhost/condafleet-test:bookworm (``sleep`` plus Python), with the demo's
settings (Miniforge and the channel from the offline world's server; the installer's checksum given literally, as a
fleet's inventory would) and four environments, one CUDA-managed:

* first converge with fleet locks and the controller's package cache (``conda_env_solve: fleet``,
  ``conda_env_package_cache: controller``), then the converged re-run, timed against a play of a single
  ``ansible.builtin.ping``, alternating (medians of ``--runs``), with ``forks`` equal to the size;
* solver runs (the ``conda create`` of an environment that was not made from a lock, read from each host's
  ``conda-meta/history``), distinct builds per environment across the hosts, package and installer downloads
  (the world server's access log);
* for the sizes of ``--host-solving``, the same on fresh containers with each host solving (the default before),
  side by side in the same run;
* the converged re-run again with the default forks (5), with ``strategy: free`` and, given ``--mitogen DIR``
  (``pip install --target DIR mitogen``), with mitogen's ``mitogen_linear`` strategy and its podman transport.

Prints one JSON object per size and a Markdown table. It never fails on the numbers; no test asserts on them.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

# the same four environments and single-ping play as the converged-host benchmark (run as a script: bench/ is on
# the path)
from bench_converged_host import ENVIRONMENTS, PING  # pylint: disable=import-error

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
CONTAINERS_CONF = os.path.join(ROOT, "tests", "podman", "containers.conf")
IMAGE = "localhost/condafleet-test:bookworm"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\b", re.M)
SITE_FREE = """- name: Converge the fleet, each host at its own pace
  hosts: all
  gather_facts: false
  strategy: free
  roles:
    - role: condafleet.conda.conda
"""


def podman(*args, check=True):
    proc = subprocess.run(["podman"] + list(args), capture_output=True, text=True, check=False,
                          env=dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF))
    if check and proc.returncode != 0:
        sys.exit("podman %s failed: %s" % (" ".join(args[:3]), proc.stderr[-2000:]))
    return proc.stdout


def installer_checksum():
    """``sha256:HEX`` of the demo's installer (its conda_distribution and conda_version), from the world's sidecar."""
    with open(os.path.join(ROOT, "inventories", "demo", "group_vars", "all.yml"), encoding="utf-8") as handle:
        demo = yaml.safe_load(handle)
    name = "%s-%s-Linux-x86_64.sh" % ({"miniforge": "Miniforge3"}[demo["conda_distribution"]], demo["conda_version"])
    with open(os.path.join(ROOT, ".cache", "world", "installers", name + ".sha256"), encoding="utf-8") as handle:
        return "sha256:" + handle.read().split()[0]


class RunFailed(Exception):
    """An ansible-playbook run of the benchmark failed (its output is the message; the last line, the first error)."""


class Fleet:
    """``size`` fresh containers and an inventory for them, with the demo's settings and the bench's environments."""

    def __init__(self, work, size, label, url, solve):
        self.names = ["condafleet-bench-%s-%02d" % (label, number) for number in range(1, size + 1)]
        self.dir = os.path.join(work, label)
        os.makedirs(os.path.join(self.dir, "group_vars"))
        shutil.copy(os.path.join(ROOT, "inventories", "demo", "group_vars", "all.yml"),
                    os.path.join(self.dir, "group_vars", "all.yml"))
        with open(os.path.join(self.dir, "group_vars", "bench.yml"), "w", encoding="utf-8") as handle:
            json.dump({
                "ansible_connection": "containers.podman.podman",
                "ansible_python_interpreter": "/usr/bin/python3",
                "conda_world_url": url,
                "conda_environments": ENVIRONMENTS,
                # literally, as a fleet's inventory gives it: the demo's url lookup of the sidecar would cost an HTTP
                # request to the world's server per host at every task that templates the installer's options
                "conda_installer_checksum": installer_checksum(),
                "conda_installer_cache_dir": os.path.join(self.dir, "installers"),
                "conda_env_solve": solve,
                "conda_env_lock_dir": os.path.join(self.dir, "locks"),
                "conda_env_package_cache": "controller" if solve == "fleet" else "host",
                "conda_env_package_cache_dir": os.path.join(self.dir, "packages"),
            }, handle)
        self.inventory = os.path.join(self.dir, "hosts.yml")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            json.dump({"all": {"children": {"bench": {"hosts": dict((name, {}) for name in self.names)}}}}, handle)
        for name in self.names:
            podman("rm", "-f", name, check=False)
            podman("run", "-d", "--name", name, "--network", "host", IMAGE, "/bin/sleep", "infinity")

    def playbook(self, args, forks=None, mitogen=None):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   CONTAINERS_CONF=CONTAINERS_CONF, PATH=VENV_BIN + os.pathsep + os.environ["PATH"],
                   ANSIBLE_FORKS=str(forks or len(self.names)))
        if mitogen:
            # mitogen's strategy, with its own podman transport (it takes over "podman", not the collection's plugin)
            env.update(ANSIBLE_STRATEGY_PLUGINS=os.path.join(mitogen, "ansible_mitogen", "plugins", "strategy"),
                       ANSIBLE_STRATEGY="mitogen_linear", PYTHONPATH=mitogen)
            args = list(args) + ["-e", "ansible_connection=podman"]
        start = time.monotonic()
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", self.inventory] + args, cwd=ROOT,
                              env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - start
        recaps = dict((m.group(1), (int(m.group(3)), int(m.group(4)) + int(m.group(5)))) for m in RECAP.finditer(proc.stdout))
        if proc.returncode != 0 or len(recaps) != len(self.names):
            unreachable = [line for line in proc.stdout.splitlines() if "UNREACHABLE" in line or "FAILED!" in line]
            raise RunFailed("ansible-playbook %s failed:\n%s%s\n%s"
                            % (" ".join(args), proc.stdout[-6000:], proc.stderr[-2000:], (unreachable or [""])[0]))
        return elapsed, sum(changed for changed, dummy in recaps.values())

    def histories(self):
        """Per host, per environment: its package records and whether its create solved (not from a lock)."""
        script = ("for e in /opt/conda/envs/*/; do n=$(basename $e); "
                  "echo \"@$n $(grep -h '^# cmd:' $e/conda-meta/history | grep -c ' create .*--file')\"; "
                  "ls $e/conda-meta | grep '\\.json$' | sort | tr '\\n' ' '; echo; done")
        out = {}
        for name in self.names:
            lines = podman("exec", name, "sh", "-c", script).splitlines()
            for head, records in zip(lines[0::2], lines[1::2]):
                env, from_lock = head[1:].split()
                out.setdefault(env, []).append((int(from_lock) > 0, records.strip()))
        return out

    def remove(self):
        for name in self.names:
            podman("rm", "-f", "-t", "0", name, check=False)


def downloads(log, start):
    with open(log, encoding="utf-8") as handle:
        entries = [json.loads(line) for line in handle if line.strip()][start:]
    packages, installers = {}, 0
    for entry in entries:
        path = entry["path"].split("?")[0]
        if "/installers/" in path and path.endswith(".sh"):
            installers += 1
        elif path.endswith((".conda", ".tar.bz2")):
            packages[path] = packages.get(path, 0) + 1
    return packages, installers


def log_length(log):
    if not os.path.exists(log):
        return 0
    with open(log, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def measure(work, size, label, url, log, solve, runs, ping, mitogen=None):
    fleet = Fleet(work, size, label, url, solve)
    try:
        site = [os.path.join(ROOT, "playbooks", "site.yml")]
        start = log_length(log)
        first, changed_first = fleet.playbook(site)
        packages, installers = downloads(log, start)
        envs = fleet.histories()
        second, changed_second = fleet.playbook(site)
        role, single_ping = [], []
        for dummy in range(runs):
            role.append(fleet.playbook(site)[0])
            single_ping.append(fleet.playbook([ping])[0])
        result = {
            "hosts": size, "solve": solve, "environments_per_host": len(ENVIRONMENTS),
            "first_converge_s": round(first, 1), "first_converge_changed": changed_first,
            "per_host_first_s": round(first / size, 2),
            "converged_changed": changed_second,
            "converged_median_s": round(statistics.median(role), 2),
            "single_ping_median_s": round(statistics.median(single_ping), 2),
            "ratio_converged_over_ping": round(statistics.median(role) / statistics.median(single_ping), 2),
            "per_host_converged_s": round(statistics.median(role) / size, 3),
            "solver_runs": sum(1 for hosts in envs.values() for from_lock, dummy in hosts if not from_lock),
            "distinct_builds_per_environment": dict((env, len(set(r for dummy, r in hosts))) for env, hosts in envs.items()),
            "package_files": len(packages),
            "downloads_per_package_max": max(packages.values()) if packages else 0,
            "downloads_per_package_mean": round(sum(packages.values()) / len(packages), 2) if packages else 0,
            "installer_downloads": installers,
        }
        if solve == "fleet":
            free = os.path.join(work, "site-free.yml")
            with open(free, "w", encoding="utf-8") as handle:
                handle.write(SITE_FREE)
            result["converged_forks5_s"] = round(statistics.median(fleet.playbook(site, forks=5)[0] for dummy in range(runs)), 2)
            result["converged_free_s"] = round(statistics.median(fleet.playbook([free])[0] for dummy in range(runs)), 2)
            if mitogen:
                try:
                    role = [fleet.playbook(site, mitogen=mitogen)[0] for dummy in range(runs)]
                    single = [fleet.playbook([ping], mitogen=mitogen)[0] for dummy in range(runs)]
                    result["mitogen_converged_s"] = round(statistics.median(role), 2)
                    result["mitogen_single_ping_s"] = round(statistics.median(single), 2)
                except RunFailed as exc:
                    result["mitogen_failed"] = str(exc).splitlines()[-1][:300] if str(exc) else "failed"
        return result
    finally:
        fleet.remove()


def table(results):
    rows = ["| hosts | solving | first converge | per host | converged re-run | x single ping | solver runs | "
            "downloads per package (max) | installer downloads | distinct builds per env |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        rows.append("| %d | %s | %.0f s | %.1f s | %.1f s | %.2fx | %d | %d | %d | %d |" % (
            r["hosts"], r["solve"], r["first_converge_s"], r["per_host_first_s"], r["converged_median_s"],
            r["ratio_converged_over_ping"], r["solver_runs"], r["downloads_per_package_max"], r["installer_downloads"],
            max(r["distinct_builds_per_environment"].values() or [0])))
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 10, 30])
    parser.add_argument("--host-solving", type=int, nargs="*", default=[3, 10],
                        help="the sizes also measured with each host solving")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=8733, help="the world server's port for this run")
    parser.add_argument("--mitogen", help="a directory with mitogen installed (pip install --target DIR mitogen): "
                                          "also time the converged re-run with its mitogen_linear strategy")
    opts = parser.parse_args()
    work = tempfile.mkdtemp(prefix="condafleet-bench-fleet-")
    log = os.path.join(work, "server.log")
    pidfile = os.path.join(work, "server.pid")
    server = [os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "tests", "world", "server.py")]
    subprocess.run(server + ["--root", os.path.join(ROOT, ".cache", "world"), "--port", str(opts.port),
                             "--log", log, "--pidfile", pidfile, "--daemon"], check=True, capture_output=True)
    url = "http://127.0.0.1:%d" % opts.port
    ping = os.path.join(work, "ping.yml")
    with open(ping, "w", encoding="utf-8") as handle:
        handle.write(PING)
    results = []
    try:
        for size in opts.sizes:
            for solve in ["fleet"] + (["host"] if size in opts.host_solving else []):
                result = measure(work, size, "%s%d" % (solve, size), url, log, solve, opts.runs, ping, opts.mitogen)
                print(json.dumps(result), flush=True)
                results.append(result)
    finally:
        subprocess.run(server + ["--stop", "--pidfile", pidfile], check=False, capture_output=True)
    print(table(results))


if __name__ == "__main__":
    main()
