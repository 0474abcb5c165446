# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Reading a conda installation from disk, without running conda.

Everything here is a pure read of files conda itself maintains: the
``conda-meta`` records of a prefix and its ``history``. Converged checks use
these so that a host already in the desired state never starts a conda
process.
"""

from __future__ import annotations

import json
import os
import re

CONDA_META = "conda-meta"
HISTORY = os.path.join(CONDA_META, "history")

_RECORD_NAME_RE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<build>[^-]+)\.json$")


def read_json_file(path):
    """Return the parsed JSON at ``path``, or ``None`` when it is missing or unreadable."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def conda_meta_records(prefix):
    """Return the package records of ``prefix`` (the ``conda-meta/*.json`` files), sorted by name.

    Files that are not valid records are skipped: conda itself ignores them.
    """
    meta = os.path.join(prefix, CONDA_META)
    try:
        names = sorted(os.listdir(meta))
    except OSError:
        return []
    records = []
    for filename in names:
        if not filename.endswith(".json"):
            continue
        record = read_json_file(os.path.join(meta, filename))
        if isinstance(record, dict) and record.get("name") and record.get("version") is not None:
            records.append(record)
    records.sort(key=lambda rec: rec["name"])
    return records


def find_record(prefix, name):
    """Return the record of package ``name`` installed in ``prefix``, or ``None``.

    Looks at file names first (``NAME-VERSION-BUILD.json``) so that only the
    matching record is parsed.
    """
    meta = os.path.join(prefix, CONDA_META)
    try:
        names = os.listdir(meta)
    except OSError:
        return None
    for filename in sorted(names):
        match = _RECORD_NAME_RE.match(filename)
        if not match or match.group("name") != name:
            continue
        record = read_json_file(os.path.join(meta, filename))
        if isinstance(record, dict) and record.get("name") == name:
            return record
    return None


def is_conda_prefix(path):
    """True when ``path`` is a conda environment (it has ``conda-meta/history``)."""
    return os.path.isfile(os.path.join(path, HISTORY))


#: Written by ``conda_env`` into ``<env>/conda-meta/`` before ``conda create`` runs and removed
#: once conda has created the environment: the positive evidence that a half-made
#: environment is one this collection started creating. It holds the base prefix whose
#: conda ran (JSON ``{"base": ...}``).
#: at the top of the target, not in ``conda-meta/``: conda 25.x refuses to create into a directory that holds a
#: ``conda-meta`` ("prefix already exists"), and accepts one that holds other files
CREATE_MARKER = ".condafleet-create"


def is_package_record(meta, filename):
    """Whether ``meta/filename`` is a package record conda wrote (``NAME-VERSION-BUILD.json`` whose content says so)."""
    match = _RECORD_NAME_RE.match(filename)
    if not match:
        return False
    record = read_json_file(os.path.join(meta, filename))
    return isinstance(record, dict) and \
        (record.get("name"), str(record.get("version")), record.get("build")) == match.group("name", "version", "build")


def environment_state(path):
    """Describe the environment at ``path`` from disk alone (for conda_env and conda_env_info).

    Returns a dict with ``state``:

    - ``absent``: nothing there, or an empty directory;
    - ``environment``: a complete environment (``conda-meta/history``, no create marker);
    - ``incomplete``: a half-made environment, on positive evidence only: this collection's
      create marker (:data:`CREATE_MARKER`), or package records conda wrote in
      ``conda-meta/`` (conda writes ``history`` last, so a create killed half-way leaves
      records without it);
    - ``foreign``: anything else (a file, a directory of other things, an empty
      ``conda-meta/`` beside user files): never an environment, never removed.

    and ``marker`` (the base prefix the marker names, or ``None``), ``records`` (how many
    package records), ``found`` (what is there, in words, for messages).
    """
    info = {"state": "absent", "marker": None, "records": 0, "found": "nothing"}
    if not os.path.lexists(path):
        return info
    if not os.path.isdir(path):
        info.update(state="foreign", found="a symlink to %s" % os.path.realpath(path) if os.path.islink(path) else "a file")
        return info
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        info.update(state="foreign", found="a directory that cannot be read (%s)" % exc.strerror)
        return info
    if not entries:
        info["found"] = "an empty directory"
        return info
    meta = os.path.join(path, CONDA_META)
    try:
        meta_entries = sorted(os.listdir(meta)) if os.path.isdir(meta) else []
    except OSError:
        meta_entries = []
    info["records"] = sum(1 for name in meta_entries if is_package_record(meta, name))
    if os.path.isfile(os.path.join(path, CREATE_MARKER)):
        marker = read_json_file(os.path.join(path, CREATE_MARKER))
        info["marker"] = str(marker.get("base") or "") if isinstance(marker, dict) else ""
    history = os.path.isfile(os.path.join(path, HISTORY))
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    if info["marker"] is not None or (info["records"] and not history):
        info["state"] = "incomplete"
        info["found"] = "a half-made environment (%s, %d package record%s, %s)" % (
            "a create this collection started" if info["marker"] is not None else "conda package records",
            info["records"], "" if info["records"] == 1 else "s",
            "conda-meta/history" if history else "no conda-meta/history")
    elif history:
        info["state"] = "environment"
        info["found"] = "a conda environment"
    else:
        info["state"] = "foreign"
        info["found"] = "%s, holding %d entr%s: %s" % (
            "a conda-meta directory without package records or history" if os.path.isdir(meta)
            else "a directory that conda did not write", len(entries), "y" if len(entries) == 1 else "ies", shown)
    return info


def write_create_marker(path, base_prefix):
    """Mark ``path`` as an environment this collection is creating (see :data:`CREATE_MARKER`)."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, CREATE_MARKER), "w", encoding="utf-8") as handle:
        json.dump({"base": os.path.normpath(base_prefix)}, handle)


def remove_create_marker(path):
    try:
        os.unlink(os.path.join(path, CREATE_MARKER))
    except FileNotFoundError:
        pass


def incomplete_environments(base_prefix):
    """The half-made environments in ``<base_prefix>/envs`` (see :func:`environment_state`), by prefix."""
    envs_dir = os.path.join(os.path.normpath(base_prefix), "envs")
    try:
        names = sorted(os.listdir(envs_dir))
    except OSError:
        return []
    return [os.path.join(envs_dir, name) for name in names
            if environment_state(os.path.join(envs_dir, name))["state"] == "incomplete"]


def parse_umask(value, option="umask"):
    """An octal umask string (``'0022'``, ``'027'``) as an int; ValueError naming the option and the value."""
    text = str(value if value is not None else "")
    if not re.match(r"^0?[0-7]{3}$", text):
        raise ValueError("%s must be an octal string such as '0022', got %r" % (option, value))
    return int(text, 8)


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_text(data):
    """The text of a spec file's bytes: UTF-8, else UTF-16 when the file starts with its byte-order mark.

    conda's ``load_file()`` falls back to UTF-16 for any bytes that are not UTF-8;
    without a byte-order mark that turns a Latin-1 file into unrelated characters,
    so here such a file is an error (UnicodeDecodeError at the first byte that is not UTF-8).
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if data[:2] in _UTF16_BOMS:
            return data.decode("utf-16")
        raise


def read_text_file(path, what):
    """The text of ``path`` (see ``decode_text``); ValueError naming ``what`` and the path when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ValueError("cannot read %s %s: %s" % (what, path, exc.strerror or exc))
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        if data[:2] in _UTF16_BOMS:
            raise ValueError("cannot read %s %s: it starts as UTF-16 text but is not (%s)" % (what, path, exc.reason))
        raise ValueError("cannot read %s %s: it is not UTF-8 text (byte 0x%02x at offset %d)"
                         % (what, path, data[exc.start], exc.start))


def conda_version(prefix):
    """Return the version of the ``conda`` package installed in ``prefix``, or ``None``."""
    record = find_record(prefix, "conda")
    return record.get("version") if record else None


def version_tuple(version):
    """Return the leading numeric components of ``version`` as a tuple of ints (``'25.5.1'`` -> ``(25, 5, 1)``)."""
    parts = []
    for piece in re.split(r"[.\-_+]", str(version or "")):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


#: Written by ``conda_install`` into a prefix before its installer runs and removed once
#: the installation is complete: the positive evidence that a half-made prefix is an
#: install (or upgrade) this collection started, and so may be repaired or removed.
INSTALL_MARKER = ".condafleet-install"


def installation_state(prefix):
    """Describe the base installation at ``prefix`` from disk alone.

    Returns a dict with:

    - ``exists``: the path exists (a symlink to a directory is followed);
    - ``empty``: it is a directory with nothing in it (or does not exist);
    - ``conda_meta``, ``history``, ``conda_exe``: ``conda-meta/``, ``conda-meta/history``
      and ``bin/conda`` exist;
    - ``version``: the conda version from ``conda-meta/conda-*.json``, or ``None``;
    - ``marker``: this collection's install marker (:data:`INSTALL_MARKER`) is there;
    - ``complete``: what conda and its installer write is all there (history,
      ``bin/conda`` and a conda record);
    - ``found``: for a prefix that is neither, a short description of what is there;
    - ``state``: ``absent`` (nothing there, or an empty directory), ``incomplete``
      (an install this collection started and did not finish: its marker),
      ``installed`` (complete, no marker), or ``foreign`` (anything else: a file, a
      plain environment, a directory with content). Only positive evidence makes a
      prefix an installation; the absence of other files never does.
    """
    info = {
        "exists": os.path.lexists(prefix),
        "empty": True,
        "conda_meta": False,
        "history": False,
        "conda_exe": False,
        "version": None,
        "marker": False,
        "complete": False,
        "found": None,
        "state": "absent",
    }
    if not info["exists"]:
        return info
    if not os.path.isdir(prefix):  # a file, or a symlink to something that is not a directory
        info.update(empty=False, state="foreign",
                    found="a symlink to %s" % os.path.realpath(prefix) if os.path.islink(prefix) else "a file")
        return info
    try:
        entries = sorted(os.listdir(prefix))
    except OSError as exc:
        info.update(empty=False, state="foreign", found="a directory that cannot be read (%s)" % exc.strerror)
        return info
    info["empty"] = not entries
    info["conda_meta"] = os.path.isdir(os.path.join(prefix, CONDA_META))
    info["history"] = os.path.isfile(os.path.join(prefix, HISTORY))
    info["conda_exe"] = os.path.isfile(os.path.join(prefix, "bin", "conda"))
    info["version"] = conda_version(prefix) if info["conda_meta"] else None
    info["marker"] = os.path.isfile(os.path.join(prefix, INSTALL_MARKER))
    info["complete"] = bool(info["history"] and info["conda_exe"] and info["version"])
    if info["empty"]:
        info["state"] = "absent"
    elif info["marker"]:
        info["state"] = "incomplete"
    elif info["complete"]:
        info["state"] = "installed"
    else:
        info["state"] = "foreign"
        info["found"] = describe_foreign(prefix, entries, info)
    return info


def describe_foreign(prefix, entries, info):
    """What a prefix that is not a conda installation holds, in a few words, for messages."""
    if info["history"]:
        what = "a conda environment (conda-meta/history) without %s" % (
            "bin/conda" if not info["conda_exe"] else "a conda package record")
    elif info["conda_meta"]:
        what = "a conda-meta directory without conda-meta/history"
    else:
        what = "a directory that no conda installer or conda wrote"
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    return "%s, holding %d entr%s: %s" % (what, len(entries), "y" if len(entries) == 1 else "ies", shown)


# ---------------------------------------------------------------- running conda

# Settings that keep conda non-interactive, machine-readable and away from the base
# installation's own conda, whatever the host's .condarc says. The module's
# ``environment`` option is applied on top of these (CONDA_OVERRIDE_CUDA...).
CONDA_ENVIRON = {
    "LC_ALL": "C",
    "LANG": "C",
    "CONDA_ALWAYS_YES": "true",
    "CONDA_AUTO_UPDATE_CONDA": "false",
    "CONDA_NOTIFY_OUTDATED_CONDA": "false",
    "CONDA_REPORT_ERRORS": "false",
}

# Subcommands that take --yes (``conda env update`` does not: it never prompts).
_TAKES_YES = frozenset(["create", "install", "update", "remove", "uninstall"])


class CondaError(Exception):
    """A conda command failed. ``info`` holds the parsed error (``exception_name``, ``message``...)."""

    def __init__(self, msg, cmd=None, rc=None, stdout="", stderr="", info=None):
        super(CondaError, self).__init__(msg)
        self.msg = msg
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.info = info or {}

    def result(self):
        """Keyword arguments for ``fail_json``."""
        out = {"msg": self.msg, "cmd": self.cmd, "rc": self.rc, "stdout": self.stdout, "stderr": self.stderr}
        if self.info.get("exception_name"):
            out["exception_name"] = self.info["exception_name"]
        if self.info.get("message"):
            out["conda_message"] = self.info["message"]
        return out


def parse_json_output(stdout):
    """Return the JSON document conda printed on ``stdout``, or ``None``.

    conda may print NUL-terminated progress objects before the final document
    (only on a TTY without --quiet, but be defensive): split on ``\\0`` and take
    the last chunk that parses.
    """
    if not stdout:
        return None
    for chunk in reversed([part for part in stdout.split("\0") if part.strip()]):
        try:
            return json.loads(chunk)
        except ValueError:
            continue
    return None


def parse_error(rc, stdout, stderr):
    """Describe a failed conda run: a dict with ``exception_name`` and ``message`` (plain words) at least.

    conda prints one JSON object on stdout for its own errors; argparse errors
    (rc 2) and crashes are plain text on stderr.
    """
    payload = parse_json_output(stdout)
    if isinstance(payload, dict) and (payload.get("exception_name") or payload.get("error")):
        info = dict(payload)
        name = payload.get("exception_name") or "CondaError"
        message = payload.get("message") or payload.get("error") or ""
        if name == "CondaMultiError" and isinstance(payload.get("errors"), list):
            message = "; ".join(str(err.get("message") or err.get("error") or err) if isinstance(err, dict) else str(err)
                                for err in payload["errors"])
        info["exception_name"] = name
        info["message"] = str(message).strip()
        return info
    text = (stderr or "").strip() or (stdout or "").strip()
    name = "CondaError"
    # A crash prints a chained traceback: conda's own error (``conda.exceptions.X: ...``, the
    # last one raised) says what went wrong; what failed while reporting it comes after.
    own = re.findall(r"^conda\.exceptions\.(\w+):\s*(.*)$", text, re.M)
    match = re.search(r"^(\w+(?:Error|Exception|NotFound\w*)):\s*(.*)$", text, re.M)
    if own:
        return {"exception_name": own[-1][0], "message": own[-1][1].strip()}
    if match:
        name = match.group(1)
    if rc == 2 and not match:
        name = "ArgumentError"
    return {"exception_name": name, "message": text or "conda exited with rc %s and printed nothing" % rc}


def package_of(entry):
    """``{"name", "version", "build", "channel"}`` of a LINK/UNLINK entry or a conda-meta record."""
    return {
        "name": entry.get("name"),
        "version": str(entry.get("version")),
        "build": entry.get("build_string", entry.get("build", "")),
        "channel": channel_name(entry.get("channel") or entry.get("base_url") or ""),
    }


def parse_actions(payload):
    """The LINK and UNLINK lists of a create/install/update/remove JSON answer (empty when nothing to do)."""
    actions = (payload or {}).get("actions") or {}
    if isinstance(actions, list):  # very old conda: a list of per-prefix dicts
        actions = actions[0] if actions else {}
    return {
        "link": [package_of(entry) for entry in actions.get("LINK") or [] if isinstance(entry, dict)],
        "unlink": [package_of(entry) for entry in actions.get("UNLINK") or [] if isinstance(entry, dict)],
        "pip": list(actions.get("PIP") or []),
    }


def channel_name(channel):
    """A record's channel as conda list shows it: ``file:///srv/chan/linux-64`` -> ``chan``,
    ``https://conda.anaconda.org/conda-forge/noarch`` -> ``conda-forge``, ``pkgs/main`` stays."""
    channel = str(channel or "").rstrip("/")
    if "://" not in channel:
        return channel.split("::", maxsplit=1)[0]
    scheme, rest = channel.split("://", 1)
    parts = rest.split("/")
    host, path = parts[0], [p for p in parts[1:] if p]
    if path and re.match(r"^(noarch|(linux|osx|win|emscripten|wasi|zos|freebsd)-\w+)$", path[-1]):
        path = path[:-1]
    if path and path[0] == "t" and len(path) > 2:  # /t/TOKEN/name
        path = path[2:]
    if host in ("conda.anaconda.org", "repo.anaconda.com") or host.endswith(".anaconda.org"):
        return "/".join(path) or host
    if scheme == "file":
        return path[-1] if path else channel
    return path[-1] if path else host


class CondaRunner:
    """Runs one conda executable with ``--json`` and parses what it prints.

    ``run()`` returns ``(rc, payload, stdout, stderr)``; ``json()`` raises
    :class:`CondaError` unless conda succeeded. Commands are argv lists, never
    shell strings; ``cmd`` of the last run is kept for the module's result.
    """

    def __init__(self, module, executable, environ=None, umask=None):
        self.module = module
        self.executable = executable
        self.umask = umask  # for every process it starts (None: the module's own)
        self.environ = dict(CONDA_ENVIRON)
        self.environ.update(dict((str(k), str(v)) for k, v in (environ or {}).items()))
        self.conda_environ = {}  # for conda only, never for pip (channel credential files: NETRC...)
        self.commands = []

    def argv(self, args, dry_run=False):
        args = list(args)
        argv = [self.executable] + args
        sub = [a for a in args[:2] if not a.startswith("-")]
        if dry_run:
            argv.append("--dry-run")
        elif sub and sub[0] in _TAKES_YES:
            argv.append("--yes")
        argv += ["--json", "--quiet"]
        return argv

    def run(self, args, dry_run=False, environ=None):
        argv = self.argv(args, dry_run=dry_run)
        env = dict(self.environ)
        env.update(self.conda_environ)
        env.update(environ or {})
        self.commands.append(argv)
        rc, out, err = self.command(argv, env)
        return rc, parse_json_output(out), out, err

    def command(self, argv, environ, cwd=None):
        """Run any argv (conda, or the environment's pip) with this runner's umask."""
        return self.module.run_command(argv, environ_update=environ, umask=self.umask, expand_user_and_vars=False,
                                       cwd=cwd)

    def json(self, args, dry_run=False, environ=None):
        """conda's JSON answer to a successful command; ``{}`` when conda succeeded and printed nothing.

        A real conda 26.7 answers ``create``/``install --file LOCK --json`` for an
        ``@EXPLICIT`` lock file, and ``remove --all --json`` of an empty environment,
        with exit code 0 and no output at all: what it did is then read from disk.
        """
        rc, payload, out, err = self.run(args, dry_run=dry_run, environ=environ)
        if rc == 0 and isinstance(payload, (dict, list)) and not (isinstance(payload, dict) and payload.get("exception_name")):
            return payload
        if rc == 0 and not (out or "").strip():
            return {}
        if killed_by_signal(rc) and isinstance(payload, dict) and payload.get("success") is True:
            # conda finished and printed its whole answer, then crashed while the interpreter shut
            # down (solver extensions do, now and then): the answer stands, the caller reads the
            # result from disk
            self.module.warn("conda exited with %s after it reported success (%s); its answer is used"
                             % ("signal %d" % -rc if rc < 0 else "rc %d" % rc, " ".join(self.commands[-1][1:3])))
            return payload
        info = parse_error(rc, out, err) if rc != 0 or payload is None or isinstance(payload, dict) else {}
        if rc == 0 and payload is None:
            info = {"exception_name": "InvalidOutput", "message": "conda printed no JSON document"}
        raise CondaError(describe_error(info), cmd=self.commands[-1], rc=rc, stdout=out, stderr=err, info=info)


def killed_by_signal(rc):
    """True for the exit status of a process a signal ended (negative from Python, 128+N through a shell)."""
    return rc is not None and (rc < 0 or 128 < rc < 160)


def describe_error(info):
    """One plain sentence for a parsed conda error."""
    name = info.get("exception_name") or "CondaError"
    message = " ".join(str(info.get("message") or "").split())
    hints = {
        "PackagesNotFoundError": "a requested package does not exist in the configured channels",
        "PackagesNotFoundInChannelsError": "a requested package does not exist in the configured channels",
        "UnsatisfiableError": "the requested specs cannot be installed together",
        "LibMambaUnsatisfiableError": "the requested specs cannot be installed together",
        "RattlerUnsatisfiableError": "the requested specs cannot be installed together",
        "CondaHTTPError": "a channel could not be reached",
        "NoChannelsConfiguredError": "no channels are configured (give channels or configure .condarc)",
        "CondaToSNonInteractiveError": "the Terms of Service of a channel have not been accepted",
        "EnvironmentIsFrozenError": "the environment is frozen",
        "NotWritableError": "a path conda needs is not writable",
    }
    words = hints.get(name)
    if words is None and "Unsatisfiable" in name:
        words = hints["UnsatisfiableError"]
    head = "conda failed (%s%s)" % (name, ": " + words if words else "")
    return "%s: %s" % (head, message) if message else head


# ---------------------------------------------------------------- history and environments

_HISTORY_SPECS_RE = re.compile(r"^#\s*(update|install|create|remove|neutered)\s+specs:\s*(.*)$")
_SPEC_NAME_RE = re.compile(r"^\s*(?:[^\s:]+::)?([A-Za-z0-9_][A-Za-z0-9_.\-]*)")


def _history_list(text):
    import ast
    text = text.strip()
    if text.startswith("["):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return []
        return [str(item) for item in value] if isinstance(value, (list, tuple)) else []
    return [part.strip() for part in text.split(",") if part.strip()]  # conda < 4.5


def history_spec_name(spec):
    match = _SPEC_NAME_RE.match(spec or "")
    return match.group(1).lower() if match else None


def read_history_specs(prefix, installed_names=None):
    """The specs the user asked for in ``prefix``, by package name, from ``conda-meta/history``.

    Follows conda's ``History.get_requested_specs_map()``: later ``update``
    specs overwrite earlier ones, ``remove`` specs drop the name. With
    ``installed_names`` only names still installed are kept.
    """
    specs = {}
    try:
        with open(os.path.join(prefix, HISTORY), "r", encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except OSError:
        return specs
    for line in lines:
        match = _HISTORY_SPECS_RE.match(line.strip())
        if not match:
            continue
        kind, items = match.group(1), _history_list(match.group(2))
        for spec in items:
            name = history_spec_name(spec)
            if not name:
                continue
            if kind == "remove":
                specs.pop(name, None)
            else:
                specs[name] = spec
    if installed_names is not None:
        installed = set(installed_names)
        specs = dict((k, v) for k, v in specs.items() if k in installed)
    return specs


def history_revision(prefix):
    """The number of the last revision of ``prefix`` (0 after create), or ``None`` without history."""
    try:
        with open(os.path.join(prefix, HISTORY), "r", encoding="utf-8", errors="replace") as handle:
            count = sum(1 for line in handle if line.startswith("==>") and line.rstrip().endswith("<=="))
    except OSError:
        return None
    return max(count - 1, 0)


def _belongs_to(prefix, base_prefix):
    """Whether the environment at ``prefix`` was made by the conda of ``base_prefix``."""
    base = os.path.realpath(base_prefix).rstrip("/") + "/"
    if os.path.realpath(prefix).startswith(base):
        return True
    try:
        with open(os.path.join(prefix, HISTORY), "r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("# cmd:"):
                    return base in line or base_prefix.rstrip("/") + "/" in line
    except OSError:
        return False
    return False


def environments(base_prefix, home=None):
    """Every environment of the installation at ``base_prefix``, from disk.

    Base, ``envs/*`` with ``conda-meta/history``, and the entries of
    ``~/.conda/environments.txt`` that this installation's conda made. Each is
    ``{"name", "prefix", "base"}``; ``name`` is ``""`` for environments outside
    an ``envs`` directory (as conda shows them).
    """
    base_prefix = os.path.normpath(base_prefix)
    found = []
    seen = set()

    def add(path, name, is_base=False):
        real = os.path.realpath(path)
        if real in seen or not is_conda_prefix(path):
            return
        seen.add(real)
        found.append({"name": name, "prefix": os.path.normpath(path), "base": is_base})

    add(base_prefix, "base", True)
    envs_dir = os.path.join(base_prefix, "envs")
    try:
        for entry in sorted(os.listdir(envs_dir)):
            add(os.path.join(envs_dir, entry), entry)
    except OSError:
        pass
    home = home or os.path.expanduser("~")
    try:
        with open(os.path.join(home, ".conda", "environments.txt"), "r", encoding="utf-8") as handle:
            listed = [line.strip() for line in handle if line.strip()]
    except OSError:
        listed = []
    for path in listed:
        if os.path.isabs(path) and is_conda_prefix(path) and _belongs_to(path, base_prefix):
            parent = os.path.basename(os.path.dirname(os.path.normpath(path)))
            add(path, os.path.basename(os.path.normpath(path)) if parent == "envs" else "")
    return found


def site_dists(prefix):
    """Every Python distribution installed in ``prefix``: ``{normalized name: {"version", "installer"}}``.

    Read from ``lib/python*/site-packages``: ``*.dist-info`` directories (their
    ``INSTALLER`` file says who installed it: ``pip``, ``conda``, or nothing, as
    many conda packages ship it) and ``*.egg-info`` entries (``installer`` ``""``).
    No pip process. Whatever installed a distribution, it satisfies a pip
    requirement for its name and version.
    """
    dists = {}
    lib = os.path.join(prefix, "lib")
    try:
        pythons = [d for d in os.listdir(lib) if d.startswith("python")]
    except OSError:
        return dists
    for pydir in sorted(pythons):
        site = os.path.join(lib, pydir, "site-packages")
        try:
            entries = sorted(os.listdir(site))
        except OSError:
            continue
        for entry in entries:
            found = _dist_of_entry(site, entry)
            if found:
                dists.setdefault(found[0], {"version": found[1], "installer": found[2]})
    return dists


def _dist_of_entry(site, entry):
    """``(normalized name, version, installer)`` of one site-packages entry, or ``None``."""
    if entry.endswith(".dist-info") and "-" in entry:
        name, version = entry[:-len(".dist-info")].rsplit("-", 1)
        try:
            with open(os.path.join(site, entry, "INSTALLER"), "r", encoding="utf-8", errors="replace") as handle:
                installer = handle.read().strip()
        except OSError:
            installer = ""
        return normalize_dist_name(name), version, installer
    if entry.endswith(".egg-info") and "-" in entry:  # NAME-VERSION[-pyX.Y].egg-info, a file or a directory
        parts = entry[:-len(".egg-info")].split("-")
        return normalize_dist_name(parts[0]), parts[1], ""
    return None


def pip_dists(prefix):
    """Distributions that pip installed in ``prefix`` (``INSTALLER`` says ``pip``): ``{normalized name: version}``."""
    return dict((name, dist["version"]) for name, dist in site_dists(prefix).items() if dist["installer"] == "pip")


def dist_versions(prefix):
    """The version of every distribution in ``prefix``, whatever installed it: ``{normalized name: version}``."""
    return dict((name, dist["version"]) for name, dist in site_dists(prefix).items())


def normalize_dist_name(name):
    """PEP 503 normalization: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def python_version(records):
    for record in records:
        if record.get("name") == "python":
            return str(record.get("version"))
    return None


def meta_fingerprint(prefix):
    """Names, sizes and mtimes of ``conda-meta`` files: cheap evidence that a failed run left it alone."""
    meta = os.path.join(prefix, CONDA_META)
    out = {}
    try:
        names = os.listdir(meta)
    except OSError:
        return None
    for name in names:
        try:
            st = os.stat(os.path.join(meta, name))
        except OSError:
            continue
        out[name] = (st.st_size, st.st_mtime_ns)
    return out


class InstallationLock:
    """An exclusive ``flock`` on the installation's ``conda-meta`` directory, so that two runs on one host serialize.

    The directory is opened read-only, so any user who can use the installation can
    take the lock (a non-root user's environment in their home, over a root-owned
    shared base). Raises :class:`LockTimeout` after ``timeout`` seconds.
    """

    def __init__(self, base_prefix, timeout=600):
        self.path = os.path.join(base_prefix, CONDA_META)
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        import fcntl
        import time
        self.fd = os.open(self.path, os.O_RDONLY)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    raise LockTimeout("another run holds %s for more than %ss" % (self.path, self.timeout))
                time.sleep(0.2)

    def __exit__(self, *exc):
        import fcntl
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
        return False


def installation_error(base_prefix):
    """Why ``base_prefix`` is not a conda installation to run conda from, or ``None`` when it is."""
    state = installation_state(base_prefix)
    if state["state"] == "installed":
        return None
    if state["state"] == "absent":
        found = "nothing is there" if not state["exists"] else "an empty directory"
    elif state["state"] == "incomplete":
        found = "an install that did not finish; run conda_install on it"
    else:
        found = state["found"]
    return ("no conda installation at %s (%s); give the prefix of one, such as /opt/conda, /opt/miniforge3 "
            "or ~/miniforge3" % (base_prefix, found))


class LockTimeout(Exception):
    pass


def package_records(prefix, full_names=None):
    """The packages of ``prefix`` for a converged check, cheaply.

    Name, version and build of every package come from the ``conda-meta`` file
    names (``NAME-VERSION-BUILD.json``); only the records of ``full_names`` (all
    of them when ``None``) are parsed. A record that cannot be read is skipped,
    as in :func:`conda_meta_records`. Sorted by name.
    """
    if full_names is None:
        return conda_meta_records(prefix)
    meta = os.path.join(prefix, CONDA_META)
    try:
        names = os.listdir(meta)
    except OSError:
        return []
    wanted = set(full_names)
    records = []
    for filename in names:
        match = _RECORD_NAME_RE.match(filename)
        if not match:
            continue
        if match.group("name") in wanted:
            record = read_json_file(os.path.join(meta, filename))
            if isinstance(record, dict) and record.get("name") and record.get("version") is not None:
                records.append(record)
        else:
            records.append({"name": match.group("name"), "version": match.group("version"),
                            "build": match.group("build")})
    records.sort(key=lambda rec: rec["name"])
    return records
