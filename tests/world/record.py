# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Re-record the reference transcripts from the REAL conda: TEST INFRASTRUCTURE ONLY.

    .venv/bin/python tests/world/record.py [--out tests/world/reference]
        [--unit-data [tests/unit/data/conda]] [--version 26.7.1 ...] [--keep]

For every conda version the world builds (``installer.VERSIONS``: 25.3.1 and
26.7.1, Miniconda3 py311 installers) this builds or reuses the world
(``build.build()``), starts one loopback ``Server`` on a free port, installs a
fresh base into a temporary directory with its own ``HOME``, points the base's
``.condarc`` at the server (``fixtures.point_condarc``) and runs the fixed list
of commands in ``CASES`` in order (each sees what the earlier ones left). Every
run is written to ``OUT/conda-<version>/NN-name.json`` as

    {"argv": ["conda", ...], "env": {extra environment}, "rc": exit code,
     "stdout": raw stdout (null when it was JSON), "stderr": raw stderr,
     "stdout_json": parsed stdout when it was one JSON document (else null)}

(the shape of ``reference/conda-26.7``); ``files-*`` are files the runs left
behind and ``input-*`` files the runs read. Both versions run at the same time
(one thread each); a whole recording takes 30 s to 2 minutes.

Outputs are made stable and free of machine-specific paths, and nothing else
is changed: the temporary base prefix becomes ``/opt/miniconda3``, the
temporary ``HOME`` ``/home/user``, ``127.0.0.1:<port>`` ``127.0.0.1:8731``;
the values of ``created``/``last_modified`` (``env list --json``) become
``2000-01-01T00:00:00...`` and the history's ``==> date <==`` lines
``==> 2000-01-01 00:00:00 <==`` (keys and line shapes are kept). Commands run
with a scrubbed environment (no ``CONDA_*``/``PYTHON*`` from the caller,
``PATH=/usr/local/bin:/usr/bin:/bin``, ``LC_ALL=C.UTF-8``) and
``PYTHONHASHSEED=0`` so that conda's set-valued messages print in one order.
Run by root, they also run in a private mount namespace that hides other users'
``~/.conda``, ``~/.condarc`` and ``/etc/conda`` (root's conda lists every
user's ``environments.txt``), see ``isolation()``.

``--unit-data [DIR]`` also copies each ``conda-<version>`` directory to
``DIR/<version>/`` (default ``tests/unit/data/conda``), the copies the parser
unit tests read, so that re-recording refreshes both. ``--keep`` keeps the
temporary directory (its path is printed).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import build  # noqa: E402
import installer  # noqa: E402
from fixtures import install_base  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "reference")
DEFAULT_UNIT_DATA = os.path.join(REPO, "tests", "unit", "data", "conda")
DISTRIBUTION = "Miniconda3"

#: what the machine-specific parts of the outputs become
STABLE_PREFIX = "/opt/miniconda3"
STABLE_HOME = "/home/user"
STABLE_HOSTPORT = "127.0.0.1:%d" % installer.DEFAULT_PORT
STABLE_DATE = "2000-01-01"
STABLE_TIME = "00:00:00"
#: runs of a failing command killed by a signal at exit are retried this often (see record_version)
MAX_ATTEMPTS = 5

# Placeholders in CASES' argv and input files, expanded before the run:
#   {home}: the run's HOME (recorded as /home/user); {url}: the server's URL.
LOCK = "{home}/project/vision.lock"
ENV_FILE = "{home}/project/environment.yml"
CONDARC_FILE = "{home}/transcript.condarc"

ENV_CREATE = "name: fromfile\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12\n  - numpy\n  - fastapi\n"
ENV_PRUNE = "name: fromfile\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12\n  - fastapi\n"
ENV_NODEFAULTS = ("name: fromfile\nchannels:\n  - conda-forge\n  - nodefaults\ndependencies:\n"
                  "  - python=3.12\n  - fastapi\n")


def run(name, *args, env=None, note=""):
    return {"kind": "run", "name": name, "args": list(args), "env": dict(env or {}), "note": note}


def write_input(name, path, text=None, from_case=None, note=""):
    """Write an input file at ``path`` (text, or the stdout of an earlier case) and save a copy."""
    return {"kind": "input", "name": name, "path": path, "text": text, "from_case": from_case, "note": note}


def save_file(name, path, note=""):
    """Save a file a run left behind (``path`` may be a glob)."""
    return {"kind": "file", "name": name, "path": path, "note": note}


Y = ("-y", "--json")
CASES = [
    run("01-version", "--version"),
    run("02-info", "info", "--json"),
    run("03-env-list-empty", "env", "list", "--json", note="only the base exists"),
    run("04-create-success", "create", *Y, "-n", "vision", "python=3.11", "numpy", "opencv"),
    run("05-create-packages-not-found", "create", *Y, "-n", "finance", "python=3.9", "no-such-package"),
    run("06-create-unsatisfiable", "create", *Y, "-n", "finance", "python=3.9", "numpy=2.1"),
    run("07-create-bad-spec", "create", *Y, "-n", "finance", "python==>3.9",
        note="`python==>3.9` is accepted"),
    run("08-install-already-satisfied", "install", *Y, "-n", "vision", "numpy"),
    run("09-install-dry-run", "install", "--dry-run", "--json", "-n", "vision", "pandas=2.2"),
    run("10-install-success", "install", *Y, "-n", "vision", "pandas=2.2"),
    run("11-install-missing-env", "install", *Y, "-n", "nosuchenv", "numpy"),
    run("12-create-throwaway", "create", *Y, "-n", "webdev", "python=3.12", "fastapi"),
    run("13-create-over-existing-env-replaces-it", "create", *Y, "-n", "webdev", "python=3.12"),
    run("14-list", "list", "--json", "-n", "vision"),
    run("15-list-explicit", "list", "--explicit", "--sha256", "-n", "vision",
        note="its stdout is the lock file of 36 and 37"),
    run("16-export", "env", "export", "--json", "-n", "vision"),
    run("17-export-from-history", "env", "export", "--from-history", "--json", "-n", "vision"),
    run("18-remove-package", "remove", *Y, "-n", "vision", "pandas"),
    run("19-remove-not-installed", "remove", *Y, "-n", "vision", "scikit-learn"),
    run("20-gpu-no-driver", "create", *Y, "-n", "gpu", "python=3.11", "pytorch=2.1", "pytorch-cuda=12.1",
        env={"CONDA_OVERRIDE_CUDA": ""}),
    run("21-gpu-driver-12.2-dry-run", "create", "--dry-run", "--json", "-n", "gpu", "python=3.11",
        "pytorch=2.1", "pytorch-cuda=12.1", env={"CONDA_OVERRIDE_CUDA": "12.2"}),
    run("22-gpu-driver-11.4-too-old", "create", "--dry-run", "--json", "-n", "gpu", "python=3.11",
        "pytorch=2.1", "pytorch-cuda=12.1", env={"CONDA_OVERRIDE_CUDA": "11.4"}),
    write_input("input-environment-create.yml", ENV_FILE, ENV_CREATE, note="environment.yml of 23"),
    run("23-env-create-file", "env", "create", "--json", "-f", ENV_FILE),
    write_input("input-environment-prune.yml", ENV_FILE, ENV_PRUNE, note="environment.yml of 24 (numpy dropped)"),
    run("24-env-update-prune", "env", "update", "--json", "--prune", "-f", ENV_FILE),
    write_input("input-environment-nodefaults.yml", ENV_FILE, ENV_NODEFAULTS,
                note="environment.yml of 25 (`nodefaults` added)"),
    run("25-env-update-with-nodefaults", "env", "update", "--json", "-f", ENV_FILE),
    run("26-env-list", "env", "list", "--json"),
    run("27-env-remove", "env", "remove", *Y, "-n", "fromfile"),
    run("28-config-set-auto-activate", "config", "--file", CONDARC_FILE, "--set", "auto_activate", "false"),
    run("29-config-add-channel", "config", "--file", CONDARC_FILE, "--add", "channels", "conda-forge"),
    run("30-config-append-channel", "config", "--file", CONDARC_FILE, "--append", "channels", "{url}/pytorch"),
    run("31-config-set-priority", "config", "--file", CONDARC_FILE, "--set", "channel_priority", "strict"),
    run("32-config-set-old-name", "config", "--file", CONDARC_FILE, "--set", "auto_activate_base", "false"),
    save_file("files-condarc-after-config.yml", CONDARC_FILE, note="the --file of 28-32 afterwards"),
    run("33-config-show", "config", "--show", "--json"),
    run("34-config-show-sources", "config", "--show-sources", "--json"),
    run("35-config-bad-key", "config", "--file", CONDARC_FILE, "--set", "no_such_key", "1"),
    write_input("input-vision.lock", LOCK, from_case="15-list-explicit", note="stdout of 15, an @EXPLICIT lock"),
    run("36-create-lock-file", "create", *Y, "-n", "locked", "--file", LOCK),
    run("37-install-lock-file", "install", *Y, "-n", "locked", "--file", LOCK, note="on the env 36 made"),
    run("38-list-locked", "list", "--json", "-n", "locked"),
    save_file("files-locked-history.txt", "{prefix}/envs/locked/conda-meta/history"),
    run("39-create-empty", "create", *Y, "-n", "empty", note="no packages: an empty environment"),
    run("40-list-empty", "list", "--json", "-n", "empty"),
    save_file("files-empty-history.txt", "{prefix}/envs/empty/conda-meta/history"),
    run("41-remove-all-empty", "remove", *Y, "-n", "empty", "--all"),
    run("42-remove-all", "remove", *Y, "-n", "locked", "--all", note="remove --all of a non-empty env"),
    run("43-create-pinned-build", "create", *Y, "-n", "neuter", "python=3.11", "pandas=2.2.2=py311_0"),
    run("44-install-update-specs", "install", *Y, "-n", "neuter", "--update-specs", "python=3.12",
        note="the pinned build of 43 cannot stay: its history spec is neutered"),
    save_file("files-neuter-history.txt", "{prefix}/envs/neuter/conda-meta/history",
              note="history after 43-44 (`# neutered specs:`)"),
    run("45-create-name-with-space", "create", *Y, "-n", "my env", "python=3.11"),
    run("46-create-name-with-hash", "create", *Y, "-n", "a#b", "python=3.11"),
    run("47-create-spec-version-star", "create", "--dry-run", "--json", "-n", "specs", "python=3.11.*"),
    run("48-create-spec-version-or", "create", "--dry-run", "--json", "-n", "specs", "python=3.11",
        "numpy=1.26|1.24"),
    run("49-create-invalid-spec", "create", *Y, "-n", "bad", "numpy>>=1",
        note="an invalid version spec"),
    run("50-env-list", "env", "list", "--json"),
    save_file("files-vision-conda-meta-numpy.json", "{prefix}/envs/vision/conda-meta/numpy-*.json"),
    save_file("files-vision-history.txt", "{prefix}/envs/vision/conda-meta/history"),
]

_ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?")
_HISTORY_DATE = re.compile(r"^==> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d <==$", re.M)
_TIMESTAMP_KEYS = frozenset(["created", "last_modified"])


class Normalizer:
    """Replace the run's temporary paths and port by the stable ones (strings, keys, text)."""

    def __init__(self, prefix, home, port):
        pairs = []
        for real, stable in ((prefix, STABLE_PREFIX), (home, STABLE_HOME)):
            for variant in sorted({real, os.path.realpath(real)}):
                pairs.append((variant, stable))
        pairs.append(("127.0.0.1:%d" % port, STABLE_HOSTPORT))
        self.pairs = sorted(pairs, key=lambda p: -len(p[0]))

    def text(self, value):
        for real, stable in self.pairs:
            value = value.replace(real, stable)
        return value

    def history(self, value):
        return _HISTORY_DATE.sub("==> %s %s <==" % (STABLE_DATE, STABLE_TIME), self.text(value))

    def data(self, value, key=None):
        if isinstance(value, dict):
            return dict((self.text(k), self.data(v, k)) for k, v in value.items())
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            value = self.text(value)
            if key in _TIMESTAMP_KEYS:
                value = _ISO.sub(lambda m: STABLE_DATE + "T" + STABLE_TIME + (".000000" if m.group(1) else ""),
                                 value)
            return value
        return value


def child_env(home):
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(("CONDA", "PYTHON", "VIRTUAL_ENV", "PIP_", "MAMBA", "_CE_"))
               and k not in ("PATH", "HOME", "LANG", "LC_ALL", "LANGUAGE", "XDG_CONFIG_HOME",
                             "XDG_CACHE_HOME", "XDG_DATA_HOME", "TMPDIR", "PS1"))
    env.update({"HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8",
                "PYTHONHASHSEED": "0"})
    return env


_HIDE_SCRIPT = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do '
    'if [ -d "$1" ]; then mount --bind "$EMPTY_DIR" "$1"; else mount --bind "$EMPTY_FILE" "$1"; fi || exit 97; '
    'shift; n=$((n-1)); done; exec "$@"')


def isolation(work, home):
    """An argv prefix that hides other conda state of this machine from the recorded runs.

    Run by root, conda lists the environments of every user's
    ``~/.conda/environments.txt`` (``getpwall()``) and reads ``/etc/conda``: on a
    shared machine that puts other people's environments into ``env list``.
    The commands then run in a private mount namespace (``unshare -m``) where
    those paths are empty bind mounts. Returns ``([], None)`` when nothing needs
    hiding, ``([], warning)`` when ``unshare`` is not permitted.
    """
    if os.geteuid() != 0:
        return [], None
    import pwd
    homes = sorted(set(p.pw_dir for p in pwd.getpwall() if p.pw_dir) - {home})
    candidates = ["/etc/conda", "/var/lib/conda", "/etc/.condarc", "/etc/condarc"]
    for h in homes:
        candidates += [os.path.join(h, ".conda"), os.path.join(h, ".condarc"),
                       os.path.join(h, ".config", "conda")]
    hide = [c for c in candidates if os.path.lexists(c)]
    if not hide:
        return [], None
    empty_dir, empty_file = os.path.join(work, "empty-dir"), os.path.join(work, "empty-file")
    os.makedirs(empty_dir, exist_ok=True)
    open(empty_file, "w").close()
    prefix = ["unshare", "-m", "--", "env", "EMPTY_DIR=" + empty_dir, "EMPTY_FILE=" + empty_file,
              "sh", "-c", _HIDE_SCRIPT, "sh", str(len(hide))] + hide
    try:
        probe = subprocess.run(prefix + ["true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, timeout=60, check=False)
    except OSError as exc:
        return [], "cannot hide %s (%s): other environments may show up" % (", ".join(hide), exc)
    if probe.returncode != 0:
        return [], "cannot hide %s (%s): other environments may show up" % (", ".join(hide), probe.stdout.strip())
    return prefix, None


def parse_stdout(stdout):
    if not stdout.strip():
        return None
    try:
        return json.loads(stdout)
    except ValueError:
        return None


def record_version(version, installer_path, url, port, work, out_dir, log=print):
    """Install a fresh base and run CASES; writes ``out_dir``; returns [(name, rc, seconds)]."""
    root = os.path.join(work, version)
    prefix, home = os.path.join(root, "miniconda3"), os.path.join(root, "home")
    os.makedirs(os.path.join(home, "project"))
    env = child_env(home)
    t0 = time.monotonic()
    install_base(installer_path, prefix, url, env=env)
    log("record: %s base installed in %.1f s" % (version, time.monotonic() - t0))
    norm = Normalizer(prefix, home, port)
    os.makedirs(out_dir, exist_ok=True)
    for old in os.listdir(out_dir):
        if old != "README.md":
            os.unlink(os.path.join(out_dir, old))

    def expand(value):
        return value.replace("{home}", home).replace("{url}", url).replace("{prefix}", prefix)

    conda = os.path.join(prefix, "bin", "conda")
    wrap, warning = isolation(work, home)
    if warning:
        log("record: WARNING %s" % warning)
    elif wrap:
        log("record: %s runs in a mount namespace hiding %s" % (version, ", ".join(wrap[11:])))
    stdouts, summary = {}, []
    for case in CASES:
        if case["kind"] == "input":
            text = case["text"] if case["text"] is not None else stdouts[case["from_case"]]
            path = expand(case["path"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            with open(os.path.join(out_dir, case["name"]), "w", encoding="utf-8") as fh:
                fh.write(norm.text(text))
            summary.append((case, None, None))
            continue
        if case["kind"] == "file":
            matches = sorted(glob.glob(expand(case["path"])))
            if len(matches) != 1:
                raise RuntimeError("%s %s: %d files match %s" % (version, case["name"], len(matches), case["path"]))
            with open(matches[0], encoding="utf-8") as fh:
                text = fh.read()
            text = norm.history(text) if case["name"].endswith("history.txt") else norm.text(text)
            with open(os.path.join(out_dir, case["name"]), "w", encoding="utf-8") as fh:
                fh.write(text)
            summary.append((case, None, None))
            continue
        args = [expand(a) for a in case["args"]]
        run_env = dict(env)
        run_env.update(case["env"])
        t1 = time.monotonic()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            proc = subprocess.run(wrap + [conda] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, env=run_env, timeout=600, check=False)
            payload = parse_stdout(proc.stdout)
            # conda 26.7.1 (py-rattler) sometimes aborts at interpreter exit after printing an
            # unsatisfiable error (rc -6, "Fatal Python error: PyGILState_Release"): such a run
            # changed nothing, so it is run again; any other outcome is recorded as it is.
            if not (proc.returncode < 0 and isinstance(payload, dict) and payload.get("exception_name")):
                break
            log("record: %s %s: killed by signal %d after printing %s (attempt %d), running it again"
                % (version, case["name"], -proc.returncode, payload["exception_name"], attempt))
        seconds = time.monotonic() - t1
        stdouts[case["name"]] = proc.stdout
        doc = {
            "argv": ["conda"] + [norm.text(a) for a in args],
            "env": case["env"],
            "rc": proc.returncode,
            "stdout": None if payload is not None else norm.text(proc.stdout),
            "stderr": norm.text(proc.stderr),
            "stdout_json": norm.data(payload) if payload is not None else None,
        }
        with open(os.path.join(out_dir, case["name"] + ".json"), "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, ensure_ascii=True)
            fh.write("\n")
        summary.append((case, doc, seconds))
        log("record: %s %-42s rc %d  %.1f s" % (version, case["name"], proc.returncode, seconds))
    write_readme(version, out_dir, summary)
    return summary


def _describe(doc):
    if doc["stdout_json"] is not None:
        payload = doc["stdout_json"]
        if isinstance(payload, dict) and payload.get("exception_name"):
            return "JSON error `%s`" % payload["exception_name"]
        if isinstance(payload, dict) and "success" in payload:
            acts = payload.get("actions") or {}
            bits = ["%s %d" % (k, len(acts[k])) for k in ("LINK", "UNLINK") if isinstance(acts.get(k), list)]
            return "JSON success" + (" (%s)" % ", ".join(bits) if bits else "") + (
                ": %s" % payload["message"] if payload.get("message") else "")
        return "JSON %s" % type(payload).__name__.replace("dict", "object").replace("list", "array")
    if not doc["stdout"]:
        return "**nothing**"
    return "text"


FLAKE = """Known flake: a run that ends in `RattlerUnsatisfiableError` (06, 20, 22) sometimes
(about one in ten) aborts at interpreter exit *after* printing the whole JSON error:
rc -6 (SIGABRT; 134 through a shell) and `Fatal Python error: PyGILState_Release:
thread state ... must be current when releasing` on stderr. The recorder runs such
a case again (it changed nothing), so these files show the usual rc 1; a caller of
this conda must expect the other outcome too.

"""


def write_readme(version, out_dir, summary):
    rows = []
    for case, doc, _seconds in summary:
        note = case.get("note") or ""
        if doc is None:
            what = "input file the runs read" if case["kind"] == "input" else "file left behind"
            rows.append("| `%s` | %s | | %s |" % (case["name"], what, note))
            continue
        cmd = " ".join(a if a and " " not in a and "#" not in a else repr(a) for a in doc["argv"])
        if doc["env"]:
            cmd = " ".join("%s=%r" % kv for kv in doc["env"].items()) + " " + cmd
        err = " + stderr" if doc["stderr"].strip() else ""
        rows.append("| `%s.json` | `%s` | %d | %s%s%s |" % (
            case["name"], cmd.replace("|", "\\|"), doc["rc"], _describe(doc), err, ("; " + note) if note else ""))
    text = """# What conda %(v)s printed

Recorded by `tests/world/record.py` (generated file: do not edit by hand) from the
**real conda %(v)s** of the world's `Miniconda3-py311_%(v)s-0-Linux-x86_64.sh`
installer (solver: %(solver)s), offline, against the world's channel served by
`tests/world/server.py`. The base's `.condarc` is the installer's, pointed at the
server: `channels: [defaults]`, `channel_alias` and `default_channels` =
`http://127.0.0.1:8731/conda-forge`.

Each `NN-name.json` is one run, in file order (each sees what the earlier ones left):

    {"argv": ["conda", ...], "env": {extra environment}, "rc": exit code,
     "stdout": raw stdout (null when it was JSON), "stderr": raw stderr,
     "stdout_json": parsed stdout when it was one JSON document (else null)}

Stabilised, nothing else changed: the base prefix is shown as `/opt/miniconda3`,
`HOME` as `/home/user`, the server as `http://127.0.0.1:8731`; `created` /
`last_modified` values of `env list --json` and the history's `==> date <==`
lines carry the placeholder date 2000-01-01 00:00:00. Commands ran with a
scrubbed environment and `PYTHONHASHSEED=0` (stable order of set-valued
messages), as root in a mount namespace hiding every other `~/.conda`
(root's conda lists all users' environments). Tracebacks show the host
Python's stdlib paths (`/usr/lib/python3.11`): the world's bases run conda on
the host's Python. `info --json` (and 25.3.1's `env list --json`) shows this
machine's kernel, glibc and archspec.

%(flake)sRe-record (both versions, 30 s to 2 minutes, also refreshes the unit tests' copies):

    .venv/bin/python tests/world/record.py --unit-data

| file | command | rc | stdout |
| --- | --- | --- | --- |
%(rows)s
""" % {"v": version, "rows": "\n".join(rows),
       "solver": installer.conda_dist.BUILDS[version]["solver"],
       "flake": FLAKE if installer.conda_dist.BUILDS[version]["solver"] == "rattler" else ""}
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as fh:
        fh.write(text)


def copy_unit_data(out, unit_dir, versions):
    for version in versions:
        src = os.path.join(out, "conda-" + version)
        dest = os.path.join(unit_dir, version)
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        shutil.copytree(src, dest)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Re-record the reference transcripts from the real conda.")
    ap.add_argument("--out", default=DEFAULT_OUT, help="reference directory (default: %(default)s)")
    ap.add_argument("--unit-data", nargs="?", const=DEFAULT_UNIT_DATA, default=None,
                    help="also copy each conda-<version> to DIR/<version> (default DIR: %s)" % DEFAULT_UNIT_DATA)
    ap.add_argument("--version", action="append", choices=installer.VERSIONS,
                    help="record only this version (repeatable; default: all)")
    ap.add_argument("--world", default=build.DEFAULT_OUT, help="world directory (default: %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args(argv)
    versions = a.version or list(installer.VERSIONS)
    t0 = time.monotonic()
    world = build.build(a.world, quiet=True)
    import server
    # a client that hangs up mid-request is no error of ours: keep tracebacks off stderr
    server._HTTPServer.handle_error = lambda self, request, client_address: None
    work = tempfile.mkdtemp(prefix="condafleet-record-")
    lock = threading.Lock()

    def log(msg):
        with lock:
            print(msg, file=sys.stderr)

    errors = {}
    try:
        with server.Server(world["root"], port=0, log_path=os.path.join(work, "access.log")) as srv:
            def one(version):
                try:
                    record_version(version, world["installers"][(DISTRIBUTION, version)], srv.url, srv.port,
                                   work, os.path.join(a.out, "conda-" + version), log=log)
                except Exception as exc:  # reported below
                    errors[version] = exc
            threads = [threading.Thread(target=one, args=(v,)) for v in versions]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        if a.keep:
            log("record: kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    for version, exc in errors.items():
        log("record: %s FAILED: %r" % (version, exc))
    if errors:
        return 1
    if a.unit_data:
        copy_unit_data(a.out, a.unit_data, versions)
        log("record: copied to %s" % a.unit_data)
    log("record: done in %.1f s" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
