# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Running conda: the one runner every module uses, and the parsers of what conda prints.

``CondaRunner`` runs one conda executable with ``--json`` (argv lists, never
shell strings), with the settings that keep conda non-interactive
(``CONDA_ENVIRON``) and the module's umask; ``parse_json_output()``,
``parse_error()`` and ``describe_error()`` read its answers and failures,
``parse_actions()`` the LINK/UNLINK lists of a transaction.
"""

from __future__ import annotations

import json
import re

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

    def result(self, verbose=False):
        """Keyword arguments for ``fail_json``: short, unless ``verbose``.

        conda's raw output (its JSON error document, a traceback) repeats what ``msg``,
        ``exception_name`` and ``conda_message`` say; it is added only when ``verbose`` (the
        module runs at ``-vvv``).
        """
        out = {"msg": self.msg, "cmd": self.cmd, "rc": self.rc}
        if verbose:
            out.update(stdout=self.stdout, stderr=self.stderr)
        if self.info.get("exception_name"):
            out["exception_name"] = self.info["exception_name"]
        if self.info.get("message"):
            out["conda_message"] = self.info["message"]
        return out


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
    missing = [str(spec) for spec in info.get("packages") or []] if "PackagesNotFound" in name else []
    if missing:  # conda's message adds a search tip for anaconda.org: conda_message keeps it
        channels = re.findall(r"^\s*-\s*(\S.*?)\s*$", str(info.get("channels_formatted") or ""), re.M)
        return "%s: %s%s; check the spelling, or add the channel that has %s to channels" % (
            head, ", ".join(missing), " (channels: %s)" % ", ".join(channels) if channels else "",
            "it" if len(missing) == 1 else "them")
    return "%s: %s" % (head, message) if message else head


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


def package_of(entry):
    """``{"name", "version", "build", "channel"}`` of a LINK/UNLINK entry or a conda-meta record."""
    return {
        "name": entry.get("name"),
        "version": str(entry.get("version")),
        "build": entry.get("build_string", entry.get("build", "")),
        "channel": channel_name(entry.get("channel") or entry.get("base_url") or ""),
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
