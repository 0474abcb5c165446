# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a converged host costs: the role's converged re-run against a play of a single ping, side by side.

    CONDAFLEET_DEMO_KEEP=1 ./scripts/demo          # the demo fleet, left running
    .venv/bin/python bench/bench_converged_host.py [--runs 5] [--port 8733]

On the demo fleet (three podman hosts, inventories/demo), with four environments per host (the demo's
three and one more), the script converges once, then times, alternating so that both see the same
machine: ``playbooks/site.yml`` on the converged fleet, and a play of one ``ansible.builtin.ping`` task.
It prints one JSON object: the medians, their ratio, and how many module calls reached each host in a
converged run (conda_probe only, when the role is converged). It never fails on the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
INVENTORY = os.path.join(ROOT, "inventories", "demo", "hosts.yml")
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=0\b", re.M)
ENVIRONMENTS = [
    {"name": "finance", "python": "3.9", "packages": ["pandas", "scikit-learn"]},
    {"name": "vision", "python": "3.11", "packages": ["pytorch", "opencv"], "cuda": "auto"},
    {"name": "webdev", "python": "3.12", "packages": ["fastapi"]},
    {"name": "analytics", "python": "3.12", "packages": ["numpy"]},
]
PING = """- name: One ping
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def playbook(args, env=None):
    full = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                CONTAINERS_CONF=os.path.join(ROOT, "tests", "podman", "containers.conf"),
                PATH=VENV_BIN + os.pathsep + os.environ["PATH"])
    full.update(env or {})
    start = time.monotonic()
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", INVENTORY] + args, cwd=ROOT, env=full,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("ansible-playbook %s failed:\n%s%s" % (" ".join(args), proc.stdout[-4000:], proc.stderr[-2000:]))
    return elapsed, {m.group(1): int(m.group(3)) for m in RECAP.finditer(proc.stdout)}, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=8733, help="the world server's port for this run")
    opts = parser.parse_args()
    work = tempfile.mkdtemp(prefix="condafleet-bench-")
    pidfile = os.path.join(work, "server.pid")
    server = [os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "tests", "world", "server.py")]
    subprocess.run(server + ["--root", os.path.join(ROOT, ".cache", "world"), "--port", str(opts.port),
                             "--log", os.path.join(work, "server.log"), "--pidfile", pidfile, "--daemon"], check=True)
    try:
        extra = os.path.join(work, "vars.json")
        with open(extra, "w", encoding="utf-8") as handle:
            json.dump({"conda_world_url": "http://127.0.0.1:%d" % opts.port, "conda_environments": ENVIRONMENTS}, handle)
        ping = os.path.join(work, "ping.yml")
        with open(ping, "w", encoding="utf-8") as handle:
            handle.write(PING)
        site = [os.path.join(ROOT, "playbooks", "site.yml"), "-e", "@" + extra]
        first, changed, dummy = playbook(site)
        second, changed_again, dummy = playbook(site)
        hosts = sorted(changed_again)
        role, single_ping = [], []
        for dummy in range(opts.runs):
            role.append(playbook(site)[0])
            single_ping.append(playbook([ping])[0])
        # which modules reach a host in a converged run: the AnsiballZ files a kept remote tmp holds
        keep = {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": "/tmp/condafleet-bench-tmp"}
        playbook(site + ["--limit", hosts[0]], keep)
        listing = subprocess.run(["podman", "exec", hosts[0], "sh", "-c",
                                  "ls /tmp/condafleet-bench-tmp/*/ 2>/dev/null; rm -rf /tmp/condafleet-bench-tmp"],
                                 capture_output=True, text=True, check=False,
                                 env=dict(os.environ, CONTAINERS_CONF=os.path.join(ROOT, "tests", "podman", "containers.conf")))
        modules = sorted(name[len("AnsiballZ_"):-3] for name in listing.stdout.split() if name.startswith("AnsiballZ_"))
        print(json.dumps({
            "hosts": len(hosts),
            "environments_per_host": len(ENVIRONMENTS),
            "first_run_s": round(first, 1),
            "first_run_changed": changed,
            "converged_changed": changed_again,
            "second_run_s": round(second, 1),
            "runs": opts.runs,
            "site_converged_median_s": round(statistics.median(role), 2),
            "single_ping_play_median_s": round(statistics.median(single_ping), 2),
            "ratio_site_over_ping": round(statistics.median(role) / statistics.median(single_ping), 2),
            "modules_per_converged_host": modules,
        }, indent=2))
    finally:
        subprocess.run(server + ["--stop", "--pidfile", pidfile], check=False, capture_output=True)


if __name__ == "__main__":
    main()
