# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role's environment transactions as async jobs (conda_env_async_timeout) and their wait (conda_job).

On this machine: the wait names the host, the environment and the time it has run; check and diff mode
still show the change; the job files are removed; a rerun changes nothing.

On a podman host (localhost/condafleet-test:bookworm): the controller's ansible-playbook and its podman exec
are killed while the real conda runs the transaction, and the connection's processes on the host with them
(what sshd does to a session when the connection drops: every process of each exec session). A synchronous
call dies with them; the async job finishes on the host, and a rerun started while it still runs waits for
it (the installation lock) and finds the environment converged: changed=0, no second create.
The transaction is made long by a slow HTTP proxy in front of the world's server (each package takes
``DELAY`` seconds), through the entry's ``environment`` (no conda imitation: the real conda fetches through it).
"""
from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

pytestmark = [pytest.mark.world, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
RECAP = r"^%s\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)\b"
IMAGE = "localhost/condafleet-test:bookworm"
DELAY = 12
PROGRESS = r"%s on %s: running for \d+s"


def recap(host, out):
    match = re.search(RECAP % re.escape(host), out, re.M)
    assert match, out
    return int(match.group(1)), int(match.group(2))


def write_play(path, hosts, role_vars):
    path.write_text(json.dumps([{"hosts": hosts, "gather_facts": False,
                                 "roles": [{"role": "condafleet.conda.conda", "vars": role_vars}]}]))


def history_creates(text):
    return [line for line in text.splitlines() if line.startswith("# cmd:") and " create " in line]


def test_the_wait_names_host_environment_and_time_and_keeps_check_diff_and_idempotence(
        conda_base, conda_home, tmp_path, ansible_playbook):
    env = {"name": "quick", "python": "3.11", "packages": ["numpy"]}
    base_vars = {"conda_prefix": conda_base, "conda_environments": [env], "conda_env_async_poll": 1,
                 "conda_env_async_timeout": 600}
    play = tmp_path / "play.yml"
    write_play(play, "localhost", base_vars)
    args = ["-i", "localhost,", "-c", "local", str(play), "--tags", "conda_environments", "--diff"]
    target = os.path.join(conda_base, "envs", "quick")
    # the job files' directory: the job's $HOME (conda_home), which is not the passwd entry's home that the
    # controller finds for "~" (the wait follows the job's results_file)
    jobs = os.path.join(conda_home, ".ansible_async")
    extra = {}

    check = ansible_playbook(args + ["--check"], tmp_path, extra)
    assert check.returncode == 0 and recap("localhost", check.stdout) == (1, 0), check.stdout + check.stderr
    assert "+python 3.11" in check.stdout and not os.path.exists(target), check.stdout  # the predicted diff

    made = ansible_playbook(args, tmp_path, extra)
    out = made.stdout + made.stderr
    assert made.returncode == 0 and recap("localhost", made.stdout) == (1, 0), out
    assert "TASK [condafleet.conda.conda : environment | Wait for the transaction of quick]" in out, out
    assert re.search(PROGRESS % ("quick", "localhost"), made.stdout), out
    assert "+python 3.11" in made.stdout and "+numpy " in made.stdout, out  # the job's diff
    assert os.path.isfile(os.path.join(target, "conda-meta", "history"))
    assert not os.listdir(jobs), os.listdir(jobs)  # every job file cleaned up

    again = ansible_playbook(args, tmp_path, extra)
    assert again.returncode == 0 and recap("localhost", again.stdout) == (0, 0), again.stdout + again.stderr
    write_play(play, "localhost", dict(base_vars, conda_env_async_timeout=0))  # synchronous, as before
    sync = ansible_playbook(args, tmp_path, extra)
    assert sync.returncode == 0 and recap("localhost", sync.stdout) == (0, 0), sync.stdout + sync.stderr
    assert not re.search(PROGRESS % ("quick", "localhost"), sync.stdout), sync.stdout
    assert not os.listdir(jobs), os.listdir(jobs)
    with open(os.path.join(target, "conda-meta", "history"), encoding="utf-8") as handle:
        assert len(history_creates(handle.read())) == 1


# -- a dropped connection on a podman host ---------------------------------------------------------------


class SlowProxy:
    """An HTTP forward proxy that holds each package download for ``delay`` seconds; counts what it held."""

    def __init__(self, delay):
        self.held = 0
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                if self.path.endswith((".conda", ".tar.bz2")):
                    proxy.held += 1
                    time.sleep(delay)
                headers = {key: value for key, value in self.headers.items()
                           if key.lower() not in ("host", "proxy-connection", "connection")}
                try:
                    answer = opener.open(urllib.request.Request(self.path, headers=headers), timeout=60)
                    code, body, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
                except urllib.error.HTTPError as exc:
                    code, body, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                if kind:
                    self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def podman(*args, check=True, timeout=300):
    proc = subprocess.run(["podman"] + list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("podman %s: %s%s" % (" ".join(args), proc.stdout, proc.stderr))
    return proc


# In the container: the processes (pid, command line) of each podman exec session, that is of each session
# whose leader's parent is outside the container (ppid 0), except this one; KILL kills them, as sshd ends a
# session when its connection drops. A daemon that left its session (setsid) is not among them.
SESSIONS = r"""
import os, signal, sys
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        cmd = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue
    procs[int(pid)] = (int(stat[1]), int(stat[3]), cmd)
exec_sessions = {pid for pid, (ppid, sid, cmd) in procs.items() if ppid == 0 and sid == pid and pid != 1}
exec_sessions.discard(os.getsid(0))
for pid, (ppid, sid, cmd) in sorted(procs.items()):
    if sid in exec_sessions:
        if sys.argv[1:] == ["KILL"]:
            os.kill(pid, signal.SIGKILL)
        print("%d %s" % (pid, cmd))
"""


def conda_transactions(container):
    """Command lines of conda create processes running in the container (any session)."""
    out = podman("exec", container, "sh", "-c",
                 "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done").stdout
    return [line for line in out.splitlines() if "bin/conda" in line and " create " in line]


@pytest.fixture
def container(world, world_server, tmp_path):
    """A bookworm container with Miniforge 26.7.1 in /opt/conda, its .condarc pointing at the world."""
    if not shutil.which("podman") or podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.skip("needs podman and %s (scripts/images)" % IMAGE)
    from fixtures import point_condarc  # pylint: disable=import-outside-toplevel
    name = "condafleet-async-%s" % uuid.uuid4().hex[:8]
    podman("run", "-d", "--rm", "--name", name, "--network", "host", IMAGE, "/bin/sleep", "infinity")
    try:
        podman("cp", world.installer("Miniforge3"), name + ":/tmp/installer.sh")
        podman("exec", name, "sh", "/tmp/installer.sh", "-b", "-p", "/opt/conda")
        local = tmp_path / "condarc-base"
        local.mkdir()
        podman("cp", name + ":/opt/conda/.condarc", str(local / ".condarc"))
        point_condarc(str(local), world_server.url)
        podman("cp", str(local / ".condarc"), name + ":/opt/conda/.condarc")
        yield name
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


def start_and_drop(container, tmp_path, run_name, role_vars, proxy):
    """Start the role, wait until conda fetches through the proxy, then kill the controller and hang up."""
    play = tmp_path / ("%s.yml" % run_name)
    write_play(play, container, role_vars)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    log = open(str(tmp_path / ("%s.log" % run_name)), "w", encoding="utf-8")  # pylint: disable=consider-using-with
    held = proxy.held
    controller = subprocess.Popen(  # pylint: disable=consider-using-with
        [os.path.join(BIN, "ansible-playbook"), "-i", "%s," % container, "-c", "containers.podman.podman",
         "-e", "ansible_python_interpreter=/usr/bin/python3", str(play), "--tags", "conda_environments"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while proxy.held == held or not conda_transactions(container):
            assert controller.poll() is None, open(log.name, encoding="utf-8").read()
            assert time.monotonic() < deadline, open(log.name, encoding="utf-8").read()
            time.sleep(0.3)
    finally:
        os.killpg(controller.pid, signal.SIGKILL)  # ansible-playbook, its workers and their podman exec
        controller.wait()
        log.close()
    hung_up = podman("exec", container, "python3", "-c", SESSIONS, "KILL").stdout
    return hung_up, open(log.name, encoding="utf-8").read()


def test_a_transaction_outlives_a_dropped_connection_and_the_rerun_waits_for_it(container, tmp_path, ansible_playbook):
    proxy = SlowProxy(DELAY)
    try:
        through_proxy = {"HTTP_PROXY": proxy.url, "http_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""}
        entry = {"python": "3.11", "packages": ["numpy"], "environment": through_proxy}
        common = {"conda_prefix": "/opt/conda", "conda_env_async_poll": 2}

        # the control: a synchronous call dies with the connection, half-way through
        hung_up, out = start_and_drop(container, tmp_path, "sync", dict(
            common, conda_env_async_timeout=0, conda_environments=[dict(entry, name="sync")]), proxy)
        assert "bin/conda" in hung_up, (hung_up, out)  # conda ran in the connection's session
        assert not conda_transactions(container), out
        assert podman("exec", container, "test", "-e", "/opt/conda/envs/sync/conda-meta/history",
                      check=False).returncode != 0

        # async: the job goes on on the host
        role_vars = dict(common, conda_env_async_timeout=600, conda_environments=[dict(entry, name="vision")])
        hung_up, out = start_and_drop(container, tmp_path, "async", role_vars, proxy)
        assert "bin/conda" not in hung_up, (hung_up, out)
        assert conda_transactions(container), (hung_up, out)  # still running after the drop
        assert not re.search(r"^%s\s+:" % container, out, re.M), out  # the controller never finished

        # the rerun starts while the job still runs: its conda_env waits for the installation lock
        play = tmp_path / "rerun.yml"
        write_play(play, container, role_vars)
        rerun = ansible_playbook(["-i", "%s," % container, "-c", "containers.podman.podman", "-e",
                                  "ansible_python_interpreter=/usr/bin/python3", str(play), "--tags", "conda_environments"],
                                 tmp_path)
        assert rerun.returncode == 0 and recap(container, rerun.stdout) == (0, 0), rerun.stdout + rerun.stderr
        assert re.search(PROGRESS % ("vision", re.escape(container)), rerun.stdout), rerun.stdout
        assert not conda_transactions(container)

        history = podman("exec", container, "cat", "/opt/conda/envs/vision/conda-meta/history").stdout
        assert len(history_creates(history)) == 1, history  # one transaction: the rerun started no second create
        records = podman("exec", container, "sh", "-c", "ls /opt/conda/envs/vision/conda-meta/").stdout.split()
        assert any(r.startswith("python-3.11") and r.endswith(".json") for r in records), records
        assert any(r.startswith("numpy-") and r.endswith(".json") for r in records), records
    finally:
        proxy.close()
