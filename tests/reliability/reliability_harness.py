# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault and bad-input suite's bookkeeping: canary secrets, sentinel user files, the figures.

TEST INFRASTRUCTURE ONLY. ``tests/reliability/conftest.py`` hands each test a
``Harness`` (fixture ``rel``) that runs modules through the integration tests'
``run_module`` (ansible-playbook for real, ``-vvv``, with a per-run
``ANSIBLE_LOG_PATH``) and scans everything a run produced for the canaries:
the registered result, ansible-playbook's stdout and stderr, the log file,
the conda command lines seen by a wrapped ``bin/conda``, and every file
written under the test's directories during the run (a world-readable one
holding a canary counts as seen; a file the test planted as input does not).
Sentinels (user files, directories, environments) are recorded before the
faults and compared afterwards. ``FIGURES`` sums it all for the session.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import urllib.parse

#: the session's totals, printed by pytest_terminal_summary and written to tests/output/reliability.json
FIGURES = {"cases": 0, "inputs tried": 0, "faults injected": 0, "user files lost": 0, "environments lost": 0,
           "secrets seen": 0}
#: what was seen or lost, per test, for the report
DETAILS = []

#: the scan reads at most this much of one file
_SCAN_LIMIT = 8 * 1024 * 1024


class Canary:
    """A planted secret. ``core`` is the part no masking may leave: any output holding it leaks the secret."""

    def __init__(self, kind, value, core, user=None):
        self.kind = kind
        self.value = value
        self.core = core
        self.user = user
        assert core in value

    @property
    def quoted(self):
        """The value as it goes into a URL's userinfo."""
        return urllib.parse.quote(self.value, safe="")

    def forms(self):
        out = {self.value, self.quoted, urllib.parse.quote(self.value), self.core}
        if self.user:
            out.add(base64.b64encode(("%s:%s" % (self.user, self.value)).encode()).decode())
        return sorted(out)


#: a conda channel token (conda's token syntax: letters, digits, hyphens)
TOKEN = Canary("channel token", "tk-CNRYtok3n-7Qz9", "CNRYtok3n")
#: a basic-auth password with the characters that break naive masking: quote, at, colon
BASIC = Canary("basic-auth password", "p'w@x:CNRYbasic1", "CNRYbasic1", user="fleet")
#: a proxy password, hostile too
PROXY = Canary("proxy password", "Pr0'@:CNRYproxy2", "CNRYproxy2", user="bob")
#: a pip index password
PIP = Canary("pip index password", "P1p'@:CNRYpip3", "CNRYpip3", user="pipuser")
CANARIES = (TOKEN, BASIC, PROXY, PIP)


def userinfo_url(base_url, canary, path=""):
    """``http://user:<quoted password>@host:port/path`` from ``http://host:port``."""
    scheme, rest = base_url.split("://", 1)
    return "%s://%s:%s@%s/%s" % (scheme, canary.user, canary.quoted, rest.rstrip("/"), path.lstrip("/"))


def secrets_in(text):
    """The canaries (kinds) any form of which occurs in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return sorted({c.kind for c in CANARIES for form in c.forms() if form in text})


def _digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _owner_mode(path):
    info = os.lstat(path)
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


class Sentinels:
    """User files, directories and environments that no run may lose or change."""

    def __init__(self):
        self.files = {}
        self.dirs = {}
        self.envs = {}

    def file(self, path, content=b"the user's own data\n", mode=0o640):
        path = str(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content if isinstance(content, bytes) else content.encode("utf-8"))
        os.chmod(path, mode)
        self.files[path] = (_digest(path), _owner_mode(path))
        return path

    def directory(self, path, mode=0o750):
        """A directory of the user's (empty or not): its owner, mode and listing must stay."""
        path = str(path)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        self.dirs[path] = (sorted(os.listdir(path)), _owner_mode(path))
        return path

    def environment(self, prefix):
        """A conda environment (PREFIX/conda-meta/history): its package records and history must stay."""
        prefix = str(prefix)
        self.envs[prefix] = self._env_state(prefix)
        assert self.envs[prefix] is not None, "%s is not a conda environment" % prefix
        return prefix

    @staticmethod
    def _env_state(prefix):
        meta = os.path.join(prefix, "conda-meta")
        try:
            records = sorted(n for n in os.listdir(meta) if n.endswith(".json"))
            return records, _digest(os.path.join(meta, "history"))
        except OSError:
            return None

    def lost(self):
        """``(user files lost or changed, environments lost or changed)``, each a list of descriptions."""
        files = []
        for path, (digest, owner_mode) in self.files.items():
            if not os.path.isfile(path):
                files.append("%s: gone" % path)
            elif _digest(path) != digest:
                files.append("%s: content changed" % path)
            elif _owner_mode(path) != owner_mode:
                files.append("%s: owner/mode %r -> %r" % (path, owner_mode, _owner_mode(path)))
        for path, (listing, owner_mode) in self.dirs.items():
            if not os.path.isdir(path):
                files.append("%s/: gone" % path)
            elif _owner_mode(path) != owner_mode:
                files.append("%s/: owner/mode %r -> %r" % (path, owner_mode, _owner_mode(path)))
            elif not set(listing) <= set(os.listdir(path)):
                files.append("%s/: lost %s" % (path, sorted(set(listing) - set(os.listdir(path)))))
        envs = ["%s: %s" % (p, "gone" if self._env_state(p) is None else "changed")
                for p, state in self.envs.items() if self._env_state(p) != state]
        return files, envs


class Harness:
    """One test's runs, canaries, sentinels and faults; ``assert_safe()`` ends a case."""

    def __init__(self, run_module, tmp_path, nodeid):
        self._run_module = run_module
        self.tmp_path = tmp_path
        self.nodeid = nodeid
        self.sentinels = Sentinels()
        self.inputs = 0
        self.faults = 0
        self.seen = []
        self.scan_roots = [str(tmp_path)]
        self.command_logs = []
        self._inputs_files = {}
        self._runs = 0
        self._closed = False

    # -- inputs and faults ---------------------------------------------------------------------
    def input_file(self, path, content, mode=0o600):
        """A file the test gives the module (a spec file, a .condarc): not counted as output while unchanged."""
        path = str(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content if isinstance(content, bytes) else content.encode("utf-8"))
        os.chmod(path, mode)
        self._inputs_files[path] = _digest(path)
        return path

    def fault(self, count=1):
        self.faults += count

    def watch_command_log(self, path):
        """A log of the command lines a wrapped ``bin/conda`` saw: scanned like any output."""
        self.command_logs.append(str(path))

    # -- runs ----------------------------------------------------------------------------------
    def run(self, module, args, check=False, diff=True, environment=None, verbosity=3, extra_env=None, counts=True):
        """Run ``module`` through ansible-playbook (``-vvv``, a log file), count the input, scan what came out."""
        self._runs += 1
        log = os.path.join(str(self.tmp_path), "ansible-%d.log" % self._runs)
        env = {"ANSIBLE_LOG_PATH": log}
        env.update(extra_env or {})
        started = now_ns()
        result = self._run_module(module, args, check=check, diff=diff, environment=environment,
                                  verbosity=verbosity, extra_env=env)
        if counts:
            self.inputs += 1
        texts = {"result": json.dumps(result.result), "stdout": result.stdout, "stderr": result.stderr}
        if os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as handle:
                texts["log"] = handle.read()
        self.scan(texts, started, "%s run %d" % (module, self._runs))
        return result

    def scan(self, texts, since_ns=0, label=""):
        """Count the canaries in ``texts`` (name -> text), the command logs and the files written since ``since_ns``."""
        for name, text in texts.items():
            for kind in secrets_in(text or ""):
                self.seen.append("%s: %s in %s" % (label, kind, name))
        for path in self.command_logs:
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as handle:
                    for kind in secrets_in(handle.read()):
                        self.seen.append("%s: %s on a conda command line (%s)" % (label, kind, path))
        for path in self._written_since(since_ns):
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
                with open(path, "rb") as handle:
                    kinds = secrets_in(handle.read(_SCAN_LIMIT))
            except OSError:
                continue
            if kinds and mode & stat.S_IROTH:
                self.seen.append("%s: %s in world-readable %s (%o)" % (label, ", ".join(kinds), path, mode))
        self.seen = sorted(set(self.seen))

    def _written_since(self, since_ns):
        for root in self.scan_roots:
            for top, dirs, files in os.walk(root):
                dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(top, d))]
                for name in files:
                    path = os.path.join(top, name)
                    if name == "play.yml" and os.path.basename(top).startswith("run-"):
                        continue  # the harness's own playbook carries the task's arguments
                    if path in self.command_logs:
                        continue
                    try:
                        info = os.lstat(path)
                    except OSError:
                        continue
                    if not stat.S_ISREG(info.st_mode) or max(info.st_mtime_ns, info.st_ctime_ns) < since_ns:
                        continue
                    if path in self._inputs_files and _digest(path) == self._inputs_files[path]:
                        continue
                    yield path

    # -- the end of a case -----------------------------------------------------------------------
    def close(self):
        """Add this case to the session's figures (once); return ``(files lost, envs lost, secrets seen)``."""
        files, envs = self.sentinels.lost()
        if not self._closed:
            self._closed = True
            FIGURES["cases"] += 1
            FIGURES["inputs tried"] += self.inputs
            FIGURES["faults injected"] += self.faults
            FIGURES["user files lost"] += len(files)
            FIGURES["environments lost"] += len(envs)
            FIGURES["secrets seen"] += len(self.seen)
            if files or envs or self.seen:
                DETAILS.append({"test": self.nodeid, "files": files, "environments": envs, "secrets": self.seen})
        return files, envs, self.seen

    def assert_safe(self):
        files, envs, seen = self.close()
        assert files == [], "user files lost or changed: %s" % files
        assert envs == [], "environments lost or changed: %s" % envs
        assert seen == [], "secrets seen: %s" % seen


def now_ns():
    # file times come from the kernel's clock, at its granularity: take a little margin
    import time
    return time.time_ns() - 50_000_000


#: how ansible-core reports an exception a module did not handle (2.19: "Task failed: Module failed: <str(exc)>")
UNHANDLED = ("Traceback (most recent call last)", "MODULE FAILURE", "Module failed: ")


def no_traceback(run):
    """A failure is the module's own message: no Python traceback, no exception the module let escape."""
    # the module's own words; a command's stderr it passes on (conda's, a reader's) may quote a traceback of theirs
    text = json.dumps([run.get("msg"), run.get("exception"), run.get("module_stdout")])
    return not any(sign in text for sign in UNHANDLED) and "module_stderr" not in run.result


def names_value(msg, value):
    """The message names ``value`` (as given, as Python writes it or as JSON writes it)."""
    value = str(value)
    return any(form in msg for form in (value, repr(value), json.dumps(value), value.encode("unicode_escape").decode()))


def mounted(what, where, options, fstype=None):
    """``mount`` as root; ``None`` when it worked, else why not."""
    if os.geteuid() != 0:
        return "not root"
    argv = ["mount"] + (["-t", fstype] if fstype else []) + ["-o", options, what, str(where)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return None if proc.returncode == 0 else (proc.stderr.strip() or "mount failed")


def descendants(pid):
    """The processes below ``pid`` (ansible's workers start sessions of their own: a process group is not enough)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, encoding="utf-8", errors="replace") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal_all(pids, sig):
    for each in pids:
        try:
            os.kill(each, sig)
        except ProcessLookupError:
            pass


def kill_tree(pid):
    """SIGKILL ``pid`` and every process below it, stopped first so that none can start another."""
    import signal
    for _round in range(5):
        _signal_all([pid] + descendants(pid), signal.SIGSTOP)
        _signal_all([pid] + descendants(pid), signal.SIGKILL)
        if not descendants(pid):
            return


def load_module(name, path):
    """Import ``path`` as ``name`` once (a test suite's conftest or module this suite reuses)."""
    import importlib.util
    import sys
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def closed_port():
    """A loopback port nothing listens on."""
    import socket
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def at_once(rel, module, args, runs=2, stagger=0.15):
    """``runs`` runs of ``module`` with ``args``, started together (``stagger`` seconds apart); their results."""
    import threading
    import time
    results = []
    threads = [threading.Thread(target=lambda: results.append(rel.run(module, args))) for _run in range(runs)]
    for thread in threads:
        thread.start()
        time.sleep(stagger)
    for thread in threads:
        thread.join()
    rel.fault()
    return results


def unmount(where):
    subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)
