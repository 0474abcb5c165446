# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Pure functions behind ``condafleet.conda.conda_install``.

Nothing here touches the disk or the network: installer file names and URLs
per distribution/version/platform, checksum and sidecar parsing, the version
carried by an installer's name or header, where the installer and its digest
come from (``acquisition``, the plan ``_acquire`` carries out), the install
decision, and the ``conda init`` block of shell rc files. The module (on the host) and the
action plugin (on the controller) both import it, so they agree on names,
URLs and decisions.
"""

from __future__ import annotations

import re

from ansible_collections.condafleet.conda.plugins.module_utils._envspec import yaml_number_python_error
from ansible_collections.condafleet.conda.plugins.module_utils._files import parse_umask
from ansible_collections.condafleet.conda.plugins.module_utils._prefix import INSTALL_MARKER, version_tuple
from ansible_collections.condafleet.conda.plugins.module_utils._secrets import mask

DISTRIBUTIONS = ("miniconda", "miniforge")
STATES = ("present", "latest", "absent")
SHELLS = ("bash", "zsh")

UPSTREAM = {
    "miniconda": "https://repo.anaconda.com/miniconda",
    "miniforge": "https://github.com/conda-forge/miniforge/releases",
}

# A release is the installer's version: conda's version and the installer build number.
RELEASE_RE = re.compile(r"^(?P<conda>\d+(?:\.\d+){1,3})-(?P<build>\d+)$")
PYTHON_RE = re.compile(r"^py(?P<major>[23])(?P<minor>\d{1,2})$")
#: the defaults of the options the module and its action plugin both read (the module's argument spec uses them)
DEFAULTS = {"prefix": "/opt/conda", "state": "present", "distribution": "miniforge", "version": "latest"}
CHECKSUM_RE = re.compile(r"^sha256:(?P<hex>[0-9a-fA-F]{64})$")
_HEX_RE = re.compile(r"^[0-9a-fA-F]{64}$")

# Installer file names, as published upstream.
_FILENAME_RES = (
    re.compile(r"^(?P<dist>Miniforge3)-(?P<release>\d+(?:\.\d+)+-\d+)-(?P<os>Linux|MacOSX|Darwin)-(?P<arch>[A-Za-z0-9_]+)\.sh$"),
    re.compile(r"^(?P<dist>Miniconda3)-(?P<python>py\d+)_(?P<release>\d+(?:\.\d+)+-\d+)-(?P<os>Linux|MacOSX)-(?P<arch>[A-Za-z0-9_]+)\.sh$"),
)
_HEADER_VER_RE = re.compile(r"^(?:#\s*VER:\s*|(?:export\s+)?INSTALLER_VER=[\"']?)(?P<ver>[^\s\"']+)[\"']?\s*$", re.MULTILINE)
_VER_IN_HEADER_RE = re.compile(r"^(?:py\d+_)?(?P<conda>\d+(?:\.\d+)+)(?:-(?P<build>\d+))?$")

BLOCK_START = "# >>> conda initialize >>>"
BLOCK_END = "# <<< conda initialize <<<"
_BLOCK_RE = re.compile(r"^# >>> conda initialize >>>\n.*?^# <<< conda initialize <<<\n?", re.MULTILINE | re.DOTALL)
_COMMENTED_RE = re.compile(r"^# (?P<line>.*?)  # commented out by conda initialize$", re.MULTILINE)


class InstallerError(ValueError):
    """An input that cannot work; the message names the bad value."""


# ---------------------------------------------------------------------------
# Platforms


def platform_of(distribution, system, machine):
    """Return the ``(OS, arch)`` pair of installer names for ``uname -s``/``uname -m`` values.

    Raises ``InstallerError`` for a platform the distribution never publishes.
    """
    system = (system or "").strip()
    machine = (machine or "").strip()
    if system == "Linux":
        os_name = "Linux"
        arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
        known = ("x86_64", "aarch64", "ppc64le", "s390x") if distribution == "miniconda" else ("x86_64", "aarch64", "ppc64le")
    elif system == "Darwin":
        os_name = "MacOSX"
        arch = {"aarch64": "arm64", "amd64": "x86_64"}.get(machine, machine)
        known = ("x86_64", "arm64")
    else:
        raise InstallerError("%s publishes no installer for the operating system %r (Linux and macOS only)" % (distribution, system))
    if arch not in known:
        raise InstallerError("%s publishes no installer for %s-%s" % (distribution, os_name, arch))
    return os_name, arch


def check_available(distribution, release, os_name, arch):
    """Fail for the platforms a distribution dropped (CONDA-FACTS 4.1): Miniconda only.

    ``release`` may be ``latest``. Raises ``InstallerError``.
    """
    if distribution != "miniconda":
        return
    last = {("Linux", "ppc64le"): (23, 10, 0), ("Linux", "s390x"): (25, 1, 1), ("MacOSX", "x86_64"): (25, 7, 0)}.get((os_name, arch))
    if last is None:
        return
    conda = RELEASE_RE.match(release) if release != "latest" else None
    if conda is None or version_tuple(conda.group("conda")) > last:
        raise InstallerError(
            "Miniconda %s is not published for %s-%s (the last one is %s); use distribution=miniforge or an older version"
            % (release, os_name, arch, ".".join(str(part) for part in last))
        )


# ---------------------------------------------------------------------------
# Names and URLs


_PYTHON_VERSION_RE = re.compile(r"^(?P<major>3)\.(?P<minor>\d{1,2})$")


def installer_python_tag(python):
    """The installer file name's tag (``py313``) of a Python version (``3.13``, as ``conda_env`` takes it); the tag
    itself is accepted as written. InstallerError naming the value otherwise."""
    problem = yaml_number_python_error(python)
    if problem:
        raise InstallerError(problem)
    version = _PYTHON_VERSION_RE.match(python)
    if version:
        return "py%s%s" % (version.group("major"), version.group("minor"))
    if PYTHON_RE.match(python):
        return python
    raise InstallerError("python must be a Python version such as '3.13' (or the installer's tag, 'py313'), got %r"
                         % (python,))


def installer_filename(distribution, release, os_name, arch, python=None):
    """Return the upstream file name of an installer (``release`` may be ``latest``)."""
    if distribution == "miniforge":
        if release == "latest":
            return "Miniforge3-%s-%s.sh" % (os_name, arch)
        return "Miniforge3-%s-%s-%s.sh" % (release, os_name, arch)
    if release == "latest":
        return "Miniconda3-latest-%s-%s.sh" % (os_name, arch)
    return "Miniconda3-%s_%s-%s-%s.sh" % (python, release, os_name, arch)


def installer_url(distribution, release, os_name, arch, python=None, mirror_url=None):
    """Return the URL of an installer, upstream or on a mirror (a flat directory of upstream file names)."""
    name = installer_filename(distribution, release, os_name, arch, python)
    if mirror_url:
        return "%s/%s" % (mirror_url.rstrip("/"), name)
    if distribution == "miniforge":
        if release == "latest":
            return "%s/latest/download/%s" % (UPSTREAM["miniforge"], name)
        return "%s/download/%s/%s" % (UPSTREAM["miniforge"], release, name)
    return "%s/%s" % (UPSTREAM["miniconda"], name)


def sidecar_url(distribution, release, url, mirror_url=None):
    """Return the ``.sha256`` sidecar published next to a derived installer URL, or ``None``.

    Miniforge publishes one per versioned asset (not for the ``latest`` copies);
    Miniconda publishes none. A mirror is expected to carry sidecars for every
    installer it serves.
    """
    if mirror_url:
        return url + ".sha256"
    if distribution == "miniforge" and release != "latest":
        return url + ".sha256"
    return None


def url_basename(url):
    """The file name at the end of a URL, without query or fragment."""
    path = re.split(r"[?#]", url, maxsplit=1)[0]
    return path.rstrip("/").rsplit("/", 1)[-1]


def release_from_filename(name):
    """Return ``(release, python)`` carried by an upstream installer file name, or ``(None, None)``."""
    for regex in _FILENAME_RES:
        match = regex.match(name or "")
        if match:
            return match.group("release"), match.groupdict().get("python")
    return None, None


def release_from_header(text):
    """Return the release (``26.3.2-3``, or ``26.3.2`` without build) in a constructor installer header, or ``None``.

    Constructor writes ``# VER:   <version>`` near the top of the script, and
    sets ``INSTALLER_VER="<version>"``; Miniconda's carries the Python tag
    (``py313_26.5.3-1``).
    """
    match = _HEADER_VER_RE.search(text or "")
    if not match:
        return None
    ver = _VER_IN_HEADER_RE.match(match.group("ver"))
    if not ver:
        return None
    return ver.group("conda") + ("-" + ver.group("build") if ver.group("build") else "")


def conda_version_of(release):
    """The conda version of a release (``26.3.2-3`` -> ``26.3.2``)."""
    return str(release).split("-", 1)[0]


# ---------------------------------------------------------------------------
# Checksums


def parse_checksum(value):
    """Return the lower-case hex digest of ``sha256:HEX``; raise ``InstallerError`` otherwise."""
    match = CHECKSUM_RE.match((value or "").strip())
    if not match:
        raise InstallerError("checksum must be 'sha256:' followed by 64 hexadecimal digits, got %r" % (value,))
    return match.group("hex").lower()


def parse_sidecar(text, filename=None):
    """Return the digest in a ``.sha256`` sidecar (``sha256sum`` output or a bare digest).

    With several lines, the one naming ``filename`` wins. Raises ``InstallerError``.
    """
    candidates = []
    for line in (text or "").splitlines():
        fields = line.strip().split()
        if not fields or not _HEX_RE.match(fields[0]):
            continue
        name = fields[1].lstrip("*") if len(fields) > 1 else None
        candidates.append((fields[0].lower(), name))
    if filename:
        named = [digest for digest, name in candidates if name and url_basename(name) == filename]
        if named:
            return named[0]
        candidates = [(digest, name) for digest, name in candidates if name is None]
    if len(candidates) == 1 or (candidates and len(set(c[0] for c in candidates)) == 1):
        return candidates[0][0]
    raise InstallerError("the checksum file has no sha256 digest%s" % (" for %s" % filename if filename else ""))


# ---------------------------------------------------------------------------
# Validation


def _scheme(url):
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url or "")
    return match.group(1).lower() if match else None


def validate(params):
    """Check every input before anything touches the disk; return the normalised request.

    ``params`` is the module's parameter dict. Raises ``InstallerError`` naming
    the bad value. The returned dict has ``source`` (``derived``, ``url``,
    ``src``), ``release`` (``latest`` or ``X.Y.Z-B``), ``python`` and
    ``digest`` (the literal checksum, or ``None``).
    """
    prefix = params.get("prefix") or ""
    if not prefix.startswith("/"):
        raise InstallerError("prefix must be an absolute path, got %r" % (prefix,))
    if prefix.rstrip("/") in ("", "/usr", "/etc", "/bin", "/home", "/opt", "/var", "/root", "/tmp"):
        raise InstallerError("prefix %r is a system directory; give a directory of its own such as /opt/conda" % (prefix,))
    if any(c.isspace() or ord(c) < 32 for c in prefix):
        raise InstallerError("prefix %r holds a space or a control character: conda's installers refuse such a "
                             "path, give one without" % (prefix,))
    distribution = params.get("distribution") or DEFAULTS["distribution"]
    if distribution not in DISTRIBUTIONS:
        raise InstallerError("distribution must be one of %s, got %r" % (", ".join(DISTRIBUTIONS), distribution))
    state = params.get("state") or "present"
    if state not in STATES:
        raise InstallerError("state must be one of %s, got %r" % (", ".join(STATES), state))
    release = str(params.get("version") or "latest").strip()
    if release != "latest" and not RELEASE_RE.match(release):
        raise InstallerError(
            "version must be 'latest' or an installer release such as '26.3.2-3' (conda version and build number), got %r" % (release,)
        )
    python = params.get("python")
    if python is not None:
        if distribution != "miniconda":
            raise InstallerError("python (%r) only applies to distribution=miniconda" % (python,))
        python = installer_python_tag(python)
    sources = [name for name in ("installer_url", "installer_src", "mirror_url") if params.get(name)]
    if len(sources) > 1:
        raise InstallerError("give at most one of installer_url, installer_src and mirror_url, got %s" % ", ".join(sources))
    source = {"installer_url": "url", "installer_src": "src", "mirror_url": "derived"}.get(sources[0] if sources else None, "derived")
    for name in ("installer_url", "mirror_url", "checksum_url"):
        value = params.get(name)
        if value and _scheme(value) not in ("https", "http", "file"):
            raise InstallerError("%s must be an https://, http:// or file:// URL, got %r" % (name, value))
    if params.get("installer_src") and params.get("remote_src") and not params["installer_src"].startswith("/"):
        raise InstallerError("installer_src must be an absolute path on the host, got %r" % (params["installer_src"],))
    if params.get("checksum") and params.get("checksum_url"):
        raise InstallerError("give checksum or checksum_url, not both")
    digest = parse_checksum(params["checksum"]) if params.get("checksum") else None
    if source == "derived" and distribution == "miniconda" and release != "latest" and python is None:
        python = "py313"
    if release == "latest" and distribution == "miniconda" and python is not None and source == "derived":
        raise InstallerError("python (%r) cannot be chosen with version=latest: Miniconda's latest installer has a fixed Python" % (python,))
    try:
        umask = parse_umask(params.get("umask") or "0022")
    except ValueError as exc:
        raise InstallerError(str(exc))
    mode = params.get("mode")
    if mode is not None and not re.match(r"^0?[0-7]{3,4}$", str(mode)):
        raise InstallerError("mode must be an octal string such as '2775', got %r" % (mode,))
    lock_timeout = params.get("lock_timeout")
    if lock_timeout is not None and lock_timeout < 0:
        raise InstallerError("lock_timeout must be a number of seconds, 0 or more, got %r" % (lock_timeout,))
    for shell in params.get("init_shells") or []:
        if shell not in SHELLS:
            raise InstallerError("init_shells entries must be among %s, got %r" % (", ".join(SHELLS), shell))
    return {
        "prefix": prefix.rstrip("/") or "/",
        "distribution": distribution,
        "state": state,
        "release": release,
        "python": python,
        "source": source,
        "digest": digest,
        "umask": umask,
    }


def checksum_source(request, params, url, sidecar):
    """Decide where the digest comes from: ``('literal', hex)``, ``('url', URL)`` or ``('none', None)``.

    Raises ``InstallerError`` when none is available and ``allow_unverified``
    is not set, or when a plain-http installer would be trusted on the word of
    plain http alone.
    """
    if request["digest"]:
        return "literal", request["digest"]
    origin = None
    if params.get("checksum_url"):
        origin = params["checksum_url"]
    elif sidecar:
        origin = sidecar
    if origin:
        if _scheme(url) == "http" and _scheme(origin) == "http":
            raise InstallerError(
                "the installer %s comes over plain http, and so would its checksum (%s): give checksum: sha256:... "
                "or an https checksum_url" % (url, origin)
            )
        return "url", origin
    if params.get("allow_unverified"):
        if _scheme(url) == "http":
            raise InstallerError("the installer %s comes over plain http: it needs a checksum; allow_unverified is not enough" % url)
        return "none", None
    raise InstallerError(
        "no checksum for %s: %s publishes no .sha256 for it. Give checksum: sha256:..., or checksum_url, "
        "or set allow_unverified: true to install it unverified" % (url, _who(request))
    )


def _who(request):
    if request["source"] != "derived":
        return "the given installer"
    if request["distribution"] == "miniconda":
        return "Miniconda"
    return "Miniforge (its 'latest' copies have no sidecar; pin a version)"


def acquisition(request, params, system=None, machine=None):
    """Where the installer and its digest come from, and who fetches them: the acquisition step, as data.

    ``request`` is ``validate()``'s result (with ``release`` pinned once it is known), ``params`` the module's
    parameters, ``system``/``machine`` the host's ``uname -s``/``uname -m`` (read for a derived URL only).
    ``_acquire`` carries the plan out, in the module on the host or in the action plugin on the controller.
    Returns a dict:

    * ``kind``: ``file`` (``installer_src``, its ``path``) or ``url`` (its ``url``; ``sidecar``: the ``.sha256``
      published next to a derived URL, or ``None``);
    * ``name``: the installer's file name (the line of a checksum file to pick, the downloaded file's name);
    * ``display``: the path, or the URL with its credentials masked, for results and messages;
    * ``where``: ``host``, or ``controller`` (``installer_cache=controller``, an ``installer_src`` on the
      controller): the machine that reads the installer, and so the only one that may discover or fetch it;
    * ``checksum``: ``{"kind", "value", "missing"}``: ``literal`` (the hex digest), ``url`` (a sidecar or
      ``checksum_url``), ``file`` (the ``.sha256`` next to ``installer_src``; ``missing``: why its absence
      fails, or ``None`` under ``allow_unverified``), ``none`` (``allow_unverified``), or ``error`` (``value``:
      why no digest can be had; raised only when an installer is needed);
    * ``discover``: ``state=latest`` with ``version=latest``: the release the installer brings must be learned
      before an upgrade can be decided;
    * ``pin``: upstream Miniforge ``latest`` with no checksum given: that copy has no sidecar, so the versioned
      asset it stands for is installed instead (learn its release, plan again with it).

    Raises ``InstallerError`` for a platform the distribution publishes no installer for.
    """
    source = request["source"]
    release = request["release"]
    derived_latest = source == "derived" and release == "latest"
    out = {
        "kind": "file" if source == "src" else "url",
        "path": None,
        "url": None,
        "sidecar": None,
        "where": params.get("installer_cache") or "host",
        "discover": request["state"] == "latest" and release == "latest",
        "pin": (derived_latest and request["distribution"] == "miniforge" and not params.get("mirror_url")
                and not request["digest"] and not params.get("checksum_url")),
    }
    if source == "src":
        path = params["installer_src"]
        out.update(path=path, name=path.rstrip("/").rsplit("/", 1)[-1], display=path,
                   where="host" if params.get("remote_src") else "controller")
        if request["digest"]:
            out["checksum"] = {"kind": "literal", "value": request["digest"], "missing": None}
        elif params.get("checksum_url"):
            out["checksum"] = {"kind": "url", "value": params["checksum_url"], "missing": None}
        else:
            side = path + ".sha256"
            missing = None if params.get("allow_unverified") else (
                "no checksum for installer_src %s: give checksum: sha256:..., checksum_url, a %s file next to it, "
                "or allow_unverified: true" % (path, side))
            out["checksum"] = {"kind": "file", "value": side, "missing": missing}
        return out
    if source == "url":
        url = params["installer_url"]
    else:
        os_name, arch = platform_of(request["distribution"], system, machine)
        check_available(request["distribution"], release, os_name, arch)
        url = installer_url(request["distribution"], release, os_name, arch, request["python"], params.get("mirror_url"))
        out["sidecar"] = sidecar_url(request["distribution"], release, url, params.get("mirror_url"))
    out.update(url=url, name=url_basename(url), display=mask(url))
    try:
        kind, value = checksum_source(request, params, url, out["sidecar"])
    except InstallerError as exc:
        kind, value = "error", str(exc)
    out["checksum"] = {"kind": kind, "value": value, "missing": None}
    return out


# ---------------------------------------------------------------------------
# Decision


def plan(current, state, release, target_release=None):
    """Decide what to do with the prefix.

    ``current`` is ``_prefix.installation_state()``; ``release`` is the requested
    ``version`` (``latest`` or ``X.Y.Z-B``); ``target_release`` is the release the
    installer would bring, when known (discovered for ``state=latest``).

    Returns a dict: ``action`` in ``none``, ``install``, ``reinstall``,
    ``upgrade``, ``remove``, ``refuse``; ``reason``; ``before`` and ``after``
    (``{"state", "version"}``, the diff).
    """
    kind = current["state"]
    installed = current.get("version") if kind == "installed" else None
    before = {"state": kind, "version": installed}
    wanted = target_release if target_release else (release if release != "latest" else None)
    wanted_conda = conda_version_of(wanted) if wanted else None

    def result(action, reason, after_state=None, after_version=None):
        after = dict(before) if action in ("none", "refuse") else {"state": after_state, "version": after_version}
        return {"action": action, "reason": reason, "before": before, "after": after}

    if kind == "foreign":
        verb = "remove" if state == "absent" else "install into"
        found = current.get("found")
        return result("refuse", "not a conda installation, nor an install this module started (%s): refusing to %s it"
                      % (found or "it is not empty", verb))
    if state == "absent":
        if kind == "absent":
            return result("none", "nothing is installed there")
        return result("remove", "a conda installation (%s) is there" % kind, "absent", None)
    if kind == "absent":
        return result("install", "nothing is installed there", "installed", wanted_conda)
    if kind == "incomplete":
        return result("reinstall", "an install this module started did not finish (its marker %s is there)"
                      % INSTALL_MARKER, "installed", wanted_conda)
    if wanted_conda is None:
        return result("none", "conda %s is installed and any version will do" % installed)
    if version_tuple(installed) < version_tuple(wanted_conda):
        return result("upgrade", "conda %s is installed, %s is wanted" % (installed, wanted_conda), "installed", wanted_conda)
    if version_tuple(installed) > version_tuple(wanted_conda):
        return result("none", "conda %s is installed, newer than %s: not downgrading" % (installed, wanted_conda))
    return result("none", "conda %s is installed" % installed)


def label_mismatch(wanted_conda, installed):
    """What is wrong when an installer labelled ``wanted_conda`` installed conda ``installed``, or ``None``.

    The label is the release the module was told (``version``) or read from the
    installer (its name, its ``# VER:`` line). A wrong one would make every later
    run decide to upgrade again, so an install that does not bring what it was
    labelled fails instead of reporting success.
    """
    def significant(version):  # 26.7 and 26.7.0 are one version
        parts = list(version_tuple(version))
        while parts and parts[-1] == 0:
            parts.pop()
        return parts

    if not wanted_conda or not installed or significant(installed) == significant(wanted_conda):
        return None
    return "claims conda %s but installed conda %s" % (wanted_conda, installed)


def needs_installer(action):
    return action in ("install", "reinstall", "upgrade")


def installer_argv(installer, prefix, action):
    """The installer command line: run through bash so that a noexec temp dir works."""
    argv = ["bash", installer, "-b", "-p", prefix]
    if action in ("upgrade", "reinstall"):
        argv.append("-u")
    return argv


# ---------------------------------------------------------------------------
# Shell rc files (``conda init``'s block, written and reversed without running conda)


def rc_path(shell, home, system="Linux"):
    if shell == "bash":
        return home.rstrip("/") + ("/.bash_profile" if system == "Darwin" else "/.bashrc")
    if shell == "zsh":
        return home.rstrip("/") + "/.zshrc"
    raise InstallerError("unknown shell %r" % shell)


def init_block(prefix, shell):
    """The block ``conda init <shell>`` writes for ``prefix`` (bash and zsh share it, with their hook name)."""
    return (
        "%s\n"
        "# !! Contents within this block are managed by 'conda init' !!\n"
        "__conda_setup=\"$('%s/bin/conda' 'shell.%s' 'hook' 2> /dev/null)\"\n"
        "if [ $? -eq 0 ]; then\n"
        "    eval \"$__conda_setup\"\n"
        "else\n"
        "    if [ -f \"%s/etc/profile.d/conda.sh\" ]; then\n"
        "        . \"%s/etc/profile.d/conda.sh\"\n"
        "    else\n"
        "        export PATH=\"%s/bin:$PATH\"\n"
        "    fi\n"
        "fi\n"
        "unset __conda_setup\n"
        "%s\n"
    ) % (BLOCK_START, prefix, shell, prefix, prefix, prefix, BLOCK_END)


def with_init(text, prefix, shell):
    """Return ``text`` with the conda block for ``prefix`` in it (replacing any other conda block)."""
    block = init_block(prefix, shell)
    text = text or ""
    if _BLOCK_RE.search(text):
        return _BLOCK_RE.sub(lambda _m: block, text, count=1)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + ("\n" if text else "") + block


def _points_at(block, prefix):
    return ("'%s/bin/conda'" % prefix) in block or ('"%s/' % prefix) in block


def has_init(text, prefix):
    """True when ``text`` holds a conda block for ``prefix``."""
    return any(_points_at(m.group(0), prefix) for m in _BLOCK_RE.finditer(text or ""))


def without_init(text, prefix):
    """Return ``text`` without the conda blocks that point at ``prefix``, and with lines conda commented out restored.

    Blocks for other prefixes are left alone (they belong to another installation).
    """
    text = text or ""
    removed = [False]

    def drop(match):
        if _points_at(match.group(0), prefix):
            removed[0] = True
            return ""
        return match.group(0)

    new = _BLOCK_RE.sub(drop, text)
    if removed[0]:
        new = _COMMENTED_RE.sub(lambda m: m.group("line"), new)
        new = re.sub(r"\n{3,}", "\n\n", new)
        new = new.rstrip("\n") + "\n" if new.strip() else ""
    return new


def last_words(*outputs):
    """``": <the last line the installer printed>"`` (stderr first), or ``""``: why it failed, in the message."""
    for text in outputs:
        lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if lines:
            return ": %s" % lines[-1][-300:]
    return ""
