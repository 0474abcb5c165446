# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""What an environment should hold, and what it takes to get there (pure functions).

* ``parse_environment_yml()`` reads an ``environment.yml`` (the subset conda
  writes and people write: ``name``, ``channels``, ``dependencies`` with a
  ``pip:`` list, ``prefix``, ``variables``) with the collection's
  standard-library YAML reader; ``parse_explicit()`` an ``@EXPLICIT`` lock file
  (``conda list --explicit``).
* ``desired_state()`` merges module options and a spec file into one
  request; ``validate()`` parses every spec first and names the bad one.
* ``plan()`` compares the request with the environment's ``conda-meta``
  records (and pip's ``dist-info``) and returns what to install, update and
  remove. It never runs anything: a converged environment costs file reads.
* ``predict()`` / ``package_lines()`` / ``delta()`` turn a decision or a
  conda answer into the module's diff and return values.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.condafleet.conda.plugins.module_utils._pip_dists import normalize_dist_name
from ansible_collections.condafleet.conda.plugins.module_utils._runner import package_of
from ansible_collections.condafleet.conda.plugins.module_utils._yaml_subset import Unsupported, parse_document
from ansible_collections.condafleet.conda.plugins.module_utils._matchspec import (
    MatchSpec,
    MatchSpecError,
    VersionSpec,
    unsatisfied,
)


class SpecError(ValueError):
    """The requested spec is invalid; the message names the offending entry."""


# ---------------------------------------------------------------- loading

EXPLICIT_MARK = "@EXPLICIT"
_EXPLICIT_URL = re.compile(r"^(?P<url>\S+/(?P<subdir>[^/]+)/(?P<fn>[^/#\s]+?(?:\.conda|\.tar\.bz2)))(?:#(?P<hash>\S+))?$")


def is_explicit(text):
    return any(line.strip() == EXPLICIT_MARK for line in (text or "").splitlines())


def parse_explicit(text):
    """Entries of an ``@EXPLICIT`` file: ``{"url", "name", "version", "build", "subdir", "md5"|"sha256"}``."""
    entries = []
    seen_mark = False
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == EXPLICIT_MARK:
            seen_mark = True
            continue
        if not seen_mark:
            raise SpecError("lock file line %d comes before @EXPLICIT: %r" % (number, line))
        match = _EXPLICIT_URL.match(line)
        if not match:
            raise SpecError("lock file line %d is not a package URL: %r" % (number, line))
        stem = match.group("fn")
        stem = stem[:-len(".conda")] if stem.endswith(".conda") else stem[:-len(".tar.bz2")]
        parts = stem.rsplit("-", 2)
        if len(parts) != 3 or not all(parts):
            raise SpecError("lock file line %d: cannot read name-version-build from %r" % (number, match.group("fn")))
        entry = {"url": match.group("url"), "name": parts[0], "version": parts[1], "build": parts[2],
                 "subdir": match.group("subdir"), "channel": match.group("url").rsplit("/", 2)[0]}
        digest = match.group("hash")
        if digest:
            if digest.startswith("sha256:"):
                entry["sha256"] = digest[len("sha256:"):]
            elif len(digest) == 64:
                entry["sha256"] = digest
            else:
                entry["md5"] = digest
        entries.append(entry)
    if not seen_mark:
        raise SpecError("not a lock file: no @EXPLICIT line")
    return entries


#: ``uname -m`` -> conda's subdir, for the platforms a conda-lock file names
_MACHINE_SUBDIRS = {"x86_64": "linux-64", "amd64": "linux-64", "aarch64": "linux-aarch64", "arm64": "linux-aarch64",
                    "ppc64le": "linux-ppc64le", "s390x": "linux-s390x", "i686": "linux-32", "i386": "linux-32"}
_LOCK_TOP = re.compile(r"^package:\s*$", re.M)
_LOCK_KEYS = (re.compile(r"^version:", re.M), re.compile(r"^metadata:\s*$", re.M))
#: the categories ``conda-lock install`` installs by default (``main``, and ``dev`` unless ``--no-dev``)
LOCK_CATEGORIES = ("main", "dev")
_LOCK_PIP_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_LOCK_URL = re.compile(r"^(?:https?|file)://\S+$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
_WHEEL = re.compile(r"^(?P<name>[^-/]+)-(?P<version>[^-/]+)(?:-\d[^-/]*)?-[^-/]+-[^-/]+-[^-/]+\.whl$")


def is_conda_lock(text):
    """Whether ``text`` looks like conda-lock's unified lock file (``version``, ``metadata`` and ``package`` keys)."""
    return bool(text) and bool(_LOCK_TOP.search(text)) and all(key.search(text) for key in _LOCK_KEYS)


def host_subdir(machine, environ=None):
    """The conda subdir of this host: ``CONDA_SUBDIR`` when set (as conda), else from ``uname -m``."""
    subdir = (environ or {}).get("CONDA_SUBDIR")
    return subdir or _MACHINE_SUBDIRS.get((machine or "").lower(), "linux-%s" % machine)


def _lock_field(entry, key, number):
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise SpecError("conda-lock file: package %d has no %s" % (number, key))
    return value


def parse_conda_lock(text, subdir, reader=None, categories=LOCK_CATEGORIES):
    """conda and pip entries of a conda-lock unified lock file (``conda-lock.yml``) for platform ``subdir``.

    Returns ``(entries, pip)``: ``entries`` as :func:`parse_explicit` gives them (the
    conda packages of the platform and of ``categories``, virtual packages left out),
    ``pip`` requirement lines that pin each pip package to its locked URL and hash
    (``name @ URL --hash=sha256:X``; pip installs them with ``--no-deps``, as
    ``conda-lock install`` does: the lock is the whole environment). Raises SpecError naming
    what is wrong: another lock version, a platform the lock was not made for,
    a package without URL or checksum.
    """
    data = read_yaml(text, reader)
    if not isinstance(data, dict) or not isinstance(data.get("package"), list):
        raise SpecError("not a conda-lock file: no 'package' list")
    if str(data.get("version")) != "1":
        raise SpecError("conda-lock file version %r is not supported (version 1 is, as conda-lock writes it)"
                        % (data.get("version"),))
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    platforms = metadata.get("platforms") or \
        sorted(set(str(p.get("platform")) for p in data["package"] if isinstance(p, dict)))
    if not isinstance(platforms, list):
        raise SpecError("conda-lock file: metadata.platforms %r is not a list" % (platforms,))
    platforms = [str(p) for p in platforms]
    if subdir not in platforms:
        raise SpecError("the conda-lock file has no packages for this host's platform %s (it was locked for %s); "
                        "lock it with '-p %s' too" % (subdir, ", ".join(platforms) or "no platform", subdir))
    explicit, pip, seen = [], [], set()
    for number, entry in enumerate(data["package"], 1):
        if not isinstance(entry, dict):
            raise SpecError("conda-lock file: package %d is not a mapping" % number)
        listed = entry.get("categories") if isinstance(entry.get("categories"), list) else \
            [entry.get("category", "main")]
        if entry.get("platform") != subdir or not any(c in categories for c in listed):
            continue
        name = _lock_field(entry, "name", number)
        manager = entry.get("manager")
        url = _lock_field(entry, "url", number)
        digest = entry.get("hash") if isinstance(entry.get("hash"), dict) else {}
        md5, sha256 = str(digest.get("md5") or ""), str(digest.get("sha256") or "")
        if (manager, name) in seen or name.startswith("__"):  # one entry per category; virtual packages
            continue
        seen.add((manager, name))
        if manager not in ("conda", "pip"):
            raise SpecError("conda-lock file: package %s has manager %r (conda or pip)" % (name, manager))
        if not _LOCK_URL.match(url):
            raise SpecError("conda-lock file: %s package %s has URL %r (http, https or file, no spaces)"
                            % (manager, name, url))
        if manager == "conda":
            if not (_MD5.match(md5) or _SHA256.match(sha256)):
                raise SpecError("conda-lock file: package %s has no md5 or sha256" % name)
            explicit.append(url + ("#" + md5 if _MD5.match(md5) else "#sha256:" + sha256))
        else:
            if not _LOCK_PIP_NAME.match(name):
                raise SpecError("conda-lock file: %r is not a pip package name" % (name,))
            if not _SHA256.match(sha256):
                raise SpecError("conda-lock file: pip package %s has no sha256" % name)
            pip.append("%s @ %s --hash=sha256:%s" % (name, url, sha256))
    return parse_explicit("\n".join([EXPLICIT_MARK] + explicit) + "\n"), pip


def explicit_text(entries):
    """An ``@EXPLICIT`` file of ``entries`` (for ``conda create/install --file``)."""
    lines = [EXPLICIT_MARK]
    for entry in entries:
        lines.append(entry["url"] + ("#" + entry["md5"] if entry.get("md5") else
                                     "#sha256:" + entry["sha256"] if entry.get("sha256") else ""))
    return "\n".join(lines) + "\n"


def wheel_version(url):
    """The version in a wheel URL's file name (``pkg-1.0-py3-none-any.whl`` -> ``1.0``), else ``None``."""
    match = _WHEEL.match((url or "").split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1])
    return match.group("version") if match else None


#: the top-level keys conda 26.7 reads in an environment.yml (``conda.env.env.VALID_KEYS``); others are ignored
ENV_KEYS = ("name", "prefix", "channels", "dependencies", "variables")
_SCHEMA_TYPES = (("name", str, "str"), ("prefix", str, "str"), ("dependencies", list, "list"),
                 ("channels", list, "list"), ("variables", dict, "dict"))
_ENV_VAR = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)

WARN_IGNORED = "ignored_sections"
WARN_PIP_ADDED = "pip_added"
WARN_SCHEMA = "schema"
WARN_PIP_REPLACED = "pip_replaced"
WARN_DEP_MAPPING = "dependency_mapping_ignored"
WARN_UNSET_VAR = "unset_variable"


def _warning(kind, items, msg):
    return {"kind": kind, "items": list(items), "msg": msg}


def expand_vars(value, environ):
    """``$NAME`` and ``${NAME}`` replaced from ``environ``; unknown ones kept (``os.path.expandvars``, as conda)."""
    def replace(match):
        name = match.group(1)
        name = name[1:-1] if name.startswith("{") else name
        return environ[name] if name in environ else match.group(0)
    return _ENV_VAR.sub(replace, value) if "$" in value else value


def read_yaml(text, reader=None):
    """The YAML document of an environment file: the collection's reader, else ``reader(text, why)``.

    ``reader`` is asked only when the standard-library reader cannot read the
    text with certainty (anchors, block scalars, tags...); it is the
    installation's own Python with ruamel.yaml, as conda reads the file. Without
    one, the error says why the file cannot be read.
    """
    try:
        return parse_document(text)
    except Unsupported as exc:
        if reader is None:
            raise SpecError("the environment file uses YAML this module does not read by itself (%s); simplify "
                            "the file (conda_env has the installation's Python read it)" % exc)
        return reader(text, str(exc))


def external_answer(rc, out, why):
    """What ``_conda_loader.ENVIRONMENT_FILE_READER`` printed; SpecError with its reason when it could not read."""
    try:
        answer = json.loads(out or "")
    except ValueError:
        answer = None
    if rc != 0 or not isinstance(answer, dict):
        raise SpecError("the environment file uses YAML this module does not read by itself (%s) and the "
                        "installation's Python could not read it either (rc %s)" % (why, rc))
    if "error" in answer:
        raise SpecError("the environment file cannot be read as YAML: %s" % answer["error"])
    return answer.get("data")


def _lists_pip(deps):
    """conda's test (``validate_keys``) for a ``pip`` among the conda dependencies."""
    return any("pip" in re.split(r"[<>~\s=]", dep)[0].split("::") for dep in deps if isinstance(dep, str))


def parse_environment_yml(text, reader=None, environ=None):
    """Read an environment.yml as conda 26.7's ``conda.env.env.from_yaml()`` does.

    Returns ``{"name", "prefix", "channels", "dependencies", "pip", "variables", "warnings"}``:
    ``channels`` with ``$VAR``/``${VAR}`` expanded from ``environ`` (default: this
    process's environment); ``dependencies`` the conda specs as written, plus
    ``pip`` first when a ``pip:`` section needs it and none is listed (conda
    adds it, with a warning); ``pip`` the lines of the ``pip:`` section as
    written (requirements, URLs, options), for a requirements file;
    ``warnings`` what conda warns about (``kind``, ``items``, ``msg``), and
    what conda drops without a word (an earlier ``pip:`` section, mapping
    entries it does not read). What conda would read as something else than
    what is written (a string where a list belongs, which conda reads one
    character at a time; a ``key:`` line in a pip list) is an error.
    """
    data = read_yaml(text or "", reader)
    if data is None:
        raise SpecError("the environment file is empty (conda: EnvironmentFileEmpty)")
    if not isinstance(data, dict):
        raise SpecError("the environment file is not a YAML mapping of name, channels, dependencies... (got a %s)"
                        % type(data).__name__)
    warnings = _schema_warnings(data)
    for key in ("channels", "dependencies"):
        if data.get(key) is not None and not isinstance(data[key], list):
            raise SpecError("%s in the environment file must be a list (one '- item' per line), got a %s; conda "
                            "would read it one character at a time" % (key, type(data[key]).__name__))
    if not isinstance(data.get("variables") or {}, dict):
        raise SpecError("variables in the environment file must be a mapping")
    dependencies, pip = _dependencies(data.get("dependencies") or [], warnings)
    return {"name": data.get("name"), "prefix": data.get("prefix"),
            "channels": _channels(data.get("channels") or [], os.environ if environ is None else environ, warnings),
            "dependencies": dependencies, "pip": pip, "variables": data.get("variables") or {}, "warnings": warnings}


def _schema_warnings(data):
    """conda's warnings about the top level: CEP 24 schema errors, then the sections it ignores."""
    warnings = []
    schema = ["Missing required field 'dependencies'"] if "dependencies" not in data else []
    schema += ["Invalid type for '%s', expected a %s" % (key, label) for key, kind, label in _SCHEMA_TYPES
               if key in data and not isinstance(data[key], kind)]
    if schema:
        warnings.append(_warning(WARN_SCHEMA, schema, "the environment file is not fully CEP 24 compliant "
                                 "(conda will reject it in a future version): %s" % "; ".join(schema)))
    ignored = [str(key) for key in data if key not in ENV_KEYS]
    if ignored:
        warnings.append(_warning(WARN_IGNORED, ignored, "EnvironmentSectionNotValid: the environment file's "
                                 "section(s) %s are invalid and ignored, as conda ignores them" % ", ".join(ignored)))
    return warnings


def _channels(channels, environ, warnings):
    """The channels with ``$VAR``/``${VAR}`` expanded from ``environ``, as conda's ``_expand_channels()``."""
    out = []
    for channel in channels:
        if not isinstance(channel, str):
            raise SpecError("channels in the environment file must be strings, got %r" % (channel,))
        out.append(expand_vars(channel, environ))
        unset = [name.strip("{}") for name in _ENV_VAR.findall(channel) if name.strip("{}") not in environ]
        if unset:
            warnings.append(_warning(WARN_UNSET_VAR, unset, "a channel of the environment file names %s, not set on "
                                     "the managed node: it stays as written, as conda leaves it"
                                     % ", ".join("$" + name for name in unset)))
    return out


def _dependencies(deps, warnings):
    """``(conda specs, pip lines)`` of ``dependencies``, as conda's ``validate_keys()`` and ``Dependencies``."""
    specs, pip_sections = [], []
    for dep in deps:
        if isinstance(dep, str):
            specs.append(dep)
        elif isinstance(dep, dict):
            if "conda" in dep:
                raise SpecError("a 'conda:' mapping in dependencies replaces conda's own list; write the specs "
                                "as '- spec' lines")
            other = sorted(str(key) for key in dep if key != "pip")
            if other:
                warnings.append(_warning(WARN_DEP_MAPPING, other, "conda ignores the mapping entries %s in "
                                         "dependencies" % ", ".join(other)))
            if "pip" in dep:
                pip_sections.append(dep["pip"])
        else:
            raise SpecError("dependency %r in the environment file is not a string; quote it as written" % (dep,))
    if not pip_sections:
        return specs, []
    if len(pip_sections) > 1:  # conda's dict.update(): the last section wins
        dropped = [str(item) for section in pip_sections[:-1] for item in (section or [])]
        named = [_pip_name(item) for item in dropped]  # names only: an option line may carry an index password
        warnings.append(_warning(WARN_PIP_REPLACED, dropped, "the environment file has %d 'pip:' sections; conda "
                                 "installs only the last one and ignores the %d line(s) of the others (%s)"
                                 % (len(pip_sections), len(dropped), ", ".join(n or "..." for n in named))))
    section = pip_sections[-1]
    if section is not None and not isinstance(section, list):
        raise SpecError("pip in the environment file must be a list (one '- item' per line), got a %s"
                        % type(section).__name__)
    for item in section or []:
        if not isinstance(item, str):
            raise SpecError("pip entry %r in the environment file is not a string (a ': ' or a final ':' makes "
                            "a YAML mapping); quote the line" % (item,))
    if not _lists_pip(specs):
        warnings.append(_warning(WARN_PIP_ADDED, [], "the environment file has pip dependencies but does not "
                                 "list pip among its conda dependencies; pip is added, as conda adds it"))
        specs.insert(0, "pip")
    elif not any(_spec_name(spec) == "pip" for spec in specs):
        specs.append("pip")
    return specs, list(section or [])


def _pip_name(line):
    try:
        kind, info = pip_line(line)
    except SpecError:
        return None
    return info["name"] if kind == PIP_REQUIREMENT else None


def _spec_name(spec):
    try:
        return MatchSpec.parse(spec.strip()).name
    except MatchSpecError:
        return None


_YAML_NUMBER_PYTHON_RE = re.compile(r"^(?:python\s*)?(?:==?\s*)?3\.(?P<minor>[12])(?:\.\*|\*)?$")


def yaml_number_python_error(python):
    """Why a Python version of ``3.1`` or ``3.2`` is refused, or ``None``.

    YAML reads an unquoted ``python: 3.10`` as the number 3.1 (and ``3.20`` as 3.2), and no
    conda channel has a Python 3.1 or 3.2: such a value is the float, never what was meant.
    """
    match = _YAML_NUMBER_PYTHON_RE.match(str(python).strip())
    if not match:
        return None
    meant = "3.%s0" % match.group("minor")
    return ("python %r: did you mean '%s'? YAML reads an unquoted %s as the number %s: quote it (no conda channel "
            "has Python 3.1 or 3.2)" % (str(python).strip(), meant, meant, "3." + match.group("minor")))


def python_spec(python):
    """``3.11`` -> ``python=3.11``; ``>=3.10`` -> ``python>=3.10``; a full spec is kept.

    Raises SpecError for ``3.1`` and ``3.2`` (see :func:`yaml_number_python_error`).
    """
    problem = yaml_number_python_error(python)
    if problem:
        raise SpecError(problem)
    python = str(python).strip()
    if python.startswith("python"):
        return python
    if python[:1] in "<>=!~":
        return "python" + python
    return "python=" + python


def desired_state(params, file_text=None, reader=None, environ=None, machine=None):
    """One request from the module's options and an optional spec file's text.

    Returns ``{"specs", "pip", "pip_args", "channels", "override_channels", "explicit", "lock_format",
    "variables", "warnings"}``; ``explicit`` is the list of lock entries (or ``None``), from an
    ``@EXPLICIT`` file or a conda-lock file (``lock_format`` ``explicit`` or
    ``conda-lock``: its entries for this host's platform, see :func:`host_subdir`
    with ``machine``); ``pip`` the pip lines (requirements and options) as written,
    in order, and ``pip_args`` what pip's command line needs beside them (``--no-deps``
    for a conda-lock file's pip packages); ``warnings`` the spec file's (see ``parse_environment_yml()``, which
    gets ``reader`` and ``environ``).
    """
    desired = {"specs": [], "pip": [], "pip_args": [], "channels": list(params.get("channels") or []),
               "override_channels": bool(params.get("override_channels")), "explicit": None, "lock_format": None,
               "variables": {}, "warnings": []}
    file_specs, file_pip, file_channels = [], [], []
    lock_pip = []
    if file_text is not None:
        if is_explicit(file_text):
            desired["explicit"] = parse_explicit(file_text)
            desired["lock_format"] = "explicit"
        elif is_conda_lock(file_text):
            desired["explicit"], lock_pip = parse_conda_lock(file_text, host_subdir(machine, environ), reader)
            desired["lock_format"] = "conda-lock"
        else:
            env = parse_environment_yml(file_text, reader, environ)
            file_specs, file_pip, file_channels = env["dependencies"], env["pip"], env["channels"]
            desired["variables"] = env["variables"]
            desired["warnings"] = env["warnings"]
    if params.get("python"):
        desired["specs"].append(python_spec(params["python"]))
    desired["specs"] += file_specs + [str(s) for s in params.get("packages") or []]
    for channel in file_channels:
        if channel == "nodefaults":  # environment-file only: means --override-channels
            desired["override_channels"] = True
        elif channel not in desired["channels"]:
            desired["channels"].append(channel)
    desired["pip"] = [item.strip() for item in file_pip + [str(s) for s in params.get("pip") or []] if item.strip()]
    if desired["override_channels"] and not desired["channels"]:
        raise SpecError("override_channels (or 'nodefaults') needs at least one channel")
    if desired["explicit"] is not None and (desired["specs"] or desired["pip"]):
        raise SpecError("a lock file (%s) cannot be combined with python, packages or pip"
                        % ("@EXPLICIT" if desired["lock_format"] == "explicit" else "conda-lock"))
    if lock_pip:
        desired["pip"] += lock_pip
        desired["pip_args"] = ["--no-deps"]
    return desired


# ---------------------------------------------------------------- validation

_PIP_REQ = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[(?P<extras>[^\]]*)\])?\s*"
    r"(?:(?P<url>@\s*\S+)|(?P<spec>(?:(?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*,?\s*)*))?\s*(?:;(?P<marker>.*))?$")


def parse_pip(requirement):
    """``{"name", "spec", "url"}`` of a pip requirement; raises SpecError naming it when unreadable."""
    match = _PIP_REQ.match(requirement.strip())
    if not match:
        raise SpecError("invalid pip requirement %r" % requirement)
    spec = (match.group("spec") or "").strip().rstrip(",").replace(" ", "")
    return {"name": normalize_dist_name(match.group("name")), "spec": spec,
            "url": (match.group("url") or "")[1:].strip() or None, "marker": match.group("marker")}


PIP_OPTION, PIP_REQUIREMENT, PIP_UNNAMED = "option", "requirement", "unnamed"
#: option lines of a requirements file that install something this module cannot name beforehand
_PIP_INSTALLING_OPTIONS = frozenset(("-e", "--editable", "-r", "--requirement"))
_PIP_UNNAMED = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|[./~]|\S+\.(?:whl|zip|tar\.gz|tar\.bz2|tgz)$)")


def pip_line(line):
    """What one line of a ``pip:`` section (a requirements-file line) is: ``(kind, info)``.

    ``option`` (``--index-url URL``, ``--only-binary=:all:``...: no package by
    itself), ``unnamed`` (``-e path``, ``-r file``, a URL, a VCS reference or a
    path: installs something whose name pip learns only by building it) or
    ``requirement`` with ``parse_pip()``'s info (per-requirement options such
    as ``--hash=...`` are pip's, not part of the requirement). Raises SpecError
    for a requirement that cannot be read.
    """
    line = line.strip()
    if line.startswith("-"):
        flag = re.split(r"[\s=]", line, maxsplit=1)[0]
        return (PIP_UNNAMED if flag in _PIP_INSTALLING_OPTIONS else PIP_OPTION), None
    requirement = re.split(r"\s+(?=--?[A-Za-z])", line, maxsplit=1)[0]
    if _PIP_UNNAMED.match(requirement):
        return PIP_UNNAMED, None
    return PIP_REQUIREMENT, parse_pip(requirement)


def pip_installs(lines):
    """The lines that install something (every line but the options)."""
    return [line for line in lines if pip_line(line)[0] != PIP_OPTION]


#: options naming a file or directory that pip resolves from the requirements file's own directory
_PIP_PATH_OPTIONS = re.compile(r"^(?P<flag>-r|--requirement|-c|--constraint|-f|--find-links)(?P<sep>[\s=]+)(?P<path>\S+)")


def _anchored(line, workdir):
    """``line`` with a relative ``-r``/``-c``/``-f`` path made absolute from ``workdir``.

    pip resolves those from the directory of the requirements file that holds
    them; the module's requirements file is a temporary one, conda's sits next
    to the environment file: the path names the same file either way.
    """
    match = _PIP_PATH_OPTIONS.match(line.strip())
    if not workdir or not match or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", match.group("path")) \
            or os.path.isabs(os.path.expanduser(match.group("path"))):
        return line
    return "%s%s%s%s" % (match.group("flag"), match.group("sep"), os.path.join(workdir, match.group("path")),
                         line.strip()[match.end():])


def pip_requirements_text(lines, install, workdir=None):
    """A requirements file for pip: every option line and the lines of ``install``, in the order written.

    Relative paths of ``-r``/``-c``/``-f`` start at ``workdir`` (the spec file's directory, as for conda).
    """
    wanted = set(install)
    return "".join(_anchored(line, workdir) + "\n" for line in lines
                   if line in wanted or pip_line(line)[0] == PIP_OPTION)


_OPERATORS = frozenset(["==", "!=", "<=", ">=", "<", ">", "=", "~="])
_EPOCH = re.compile(r"(?<=[<>=~\s,|])[0-9]+!(?=[0-9])")  # "1!" of "pkg>=1!2.0" is an epoch, not an operator


def validate(desired):
    """Parse every conda and pip spec; raise SpecError naming the first bad one. Returns parsed MatchSpecs."""
    parsed = []
    for spec in desired["specs"]:
        if not isinstance(spec, str) or not spec.strip():
            raise SpecError("invalid package spec %r: empty" % (spec,))
        if spec.strip().startswith("-"):
            raise SpecError("invalid package spec %r: starts with '-'" % spec)
        for run in re.findall(r"[<>=!~]+", _EPOCH.sub("", spec)):
            if run not in _OPERATORS:
                raise SpecError("invalid package spec %r: %r is not an operator" % (spec, run))
        try:
            parsed.append(MatchSpec.parse(spec))  # as given: a trailing newline is an error, not stripped
        except MatchSpecError as exc:
            raise SpecError("invalid package spec %r: %s" % (spec, exc.reason))
    for req in desired["pip"]:
        kind, info = pip_line(req)
        if kind == PIP_REQUIREMENT and info["spec"]:
            try:
                VersionSpec(_pip_to_conda(info["spec"]))
            except MatchSpecError as exc:
                raise SpecError("invalid pip requirement %r: %s" % (req, exc.reason))
    return parsed


def _pip_to_conda(spec):
    return spec.replace("===", "==")


# ---------------------------------------------------------------- deciding

def spec_names(specs):
    return [MatchSpec.parse(spec).name for spec in specs]


def dependency_closure(records, roots):
    """Names of ``roots`` and of everything their installed records depend on, transitively.

    ``python`` brings ``pip`` along, as conda's ``add_pip_as_python_dependency`` does.
    """
    by_name = dict((rec["name"], rec) for rec in records)
    needed = set()
    todo = [name for name in roots if name in by_name]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        deps = list(by_name[name].get("depends") or [])
        if name == "python":
            deps.append("pip")
        for dep in deps:
            try:
                dep_name = MatchSpec.parse(dep).name
            except MatchSpecError:
                dep_name = dep.split()[0] if dep.split() else ""
            if dep_name in by_name and dep_name not in needed:
                todo.append(dep_name)
    return needed


def pip_unsatisfied(requirements, dists):
    """pip lines that the installed distributions (``{normalized name: version}``) do not satisfy.

    Options are no requirement; a line without a name (a URL, a path, ``-e``) is never known to be satisfied.
    """
    missing = []
    for req in requirements:
        kind, info = pip_line(req)
        if kind != PIP_REQUIREMENT:
            if kind == PIP_UNNAMED:  # no name to look for: pip decides
                missing.append(req)
            continue
        version = dists.get(info["name"])
        pinned = wheel_version(info["url"]) if info["url"] else None
        if version is None:
            missing.append(req)
        elif info["spec"] and not VersionSpec(_pip_to_conda(info["spec"])).match(version):
            missing.append(req)
        elif pinned is not None and pinned != version:  # a wheel URL names its version
            missing.append(req)
    return missing


def explicit_unsatisfied(entries, records):
    """Lock entries whose exact name-version-build is not installed."""
    have = set((r["name"], str(r["version"]), r.get("build", "")) for r in records)
    return [e for e in entries if (e["name"], e["version"], e["build"]) not in have]


def plan(records, desired, state="present", prune=False, pip_installed=None, protect=()):
    """Decide what to do to an environment whose records are ``records`` (``None``: it does not exist).

    Returns a dict:

    - ``exists``: whether the environment exists;
    - ``action``: ``None`` (converged), ``create``, ``install`` (some spec is not
      satisfied) or ``update`` (``state=latest``: ask conda for newer builds);
    - ``unsatisfied``: conda specs (or lock entries as ``name-version-build``) not satisfied;
    - ``remove``: names to remove because ``prune`` is on and nothing requested needs them
      (computed on the current records; recomputed after an install);
    - ``pip``: pip requirements to install;
    - ``specs``: the conda specs to hand to conda.
    """
    pip_installed = pip_installed or {}
    explicit = desired.get("explicit")
    decision = {"exists": records is not None, "action": None, "unsatisfied": [], "remove": [],
                "pip": [], "specs": list(desired["specs"])}
    if records is None:
        decision["action"] = "create"
        decision["unsatisfied"] = list(desired["specs"]) if explicit is None else [package_key(e) for e in explicit]
        decision["pip"] = pip_installs(desired["pip"])
        return decision
    if explicit is not None:
        decision["unsatisfied"] = [package_key(e) for e in explicit_unsatisfied(explicit, records)]
    else:
        decision["unsatisfied"] = unsatisfied(desired["specs"], records)
    if decision["unsatisfied"]:
        decision["action"] = "install"
    if state == "latest" and explicit is None and desired["specs"]:
        decision["action"] = "update"
    decision["pip"] = pip_unsatisfied(desired["pip"], pip_installed)
    if prune:
        decision["remove"] = prune_removals(records, desired, protect)
    return decision


def prune_removals(records, desired, protect=()):
    """The names ``prune`` removes from ``records``: what neither the spec nor ``protect`` needs.

    :func:`plan` decides it on the records before the transaction; a run that installs
    first asks again on the records after it, as the install may have brought new packages.
    """
    explicit = desired.get("explicit")
    if explicit is not None:  # a lock file is the whole environment
        keep = set(e["name"] for e in explicit) | dependency_closure(records, list(protect))
    else:
        keep = dependency_closure(records, spec_names(desired["specs"]) + list(protect) + pip_roots(desired))
    return sorted(r["name"] for r in records if r["name"] not in keep)


def pip_roots(desired):
    """conda packages that pip requirements need kept: python, pip, and the conda packages that provide them.

    A pip requirement met by a conda package (``pip: [numpy]`` beside conda's numpy)
    keeps that package, or prune would remove it and pip would install it again.
    """
    if not desired.get("pip"):
        return []
    return ["python", "pip"] + [name for name in (_pip_name(line) for line in desired["pip"]) if name]


def prune_error(desired, prune):
    """Why ``prune`` cannot run with this request (it names no package: every package would go), or ``None``."""
    if prune and not desired["specs"] and not desired.get("explicit"):
        return ("prune needs a spec that names at least one package (python, packages or a spec file's "
                "dependencies); with none it would remove every package of the environment")
    return None


def needs_change(decision):
    return bool(decision["action"] or decision["remove"] or decision["pip"])


def explicit_actions(entries, before, unsatisfied):
    """What installing a lock file does (no solver involved): the link and unlink lists conda's answer would hold.

    ``unsatisfied`` are the entries' :func:`package_key` strings from :func:`plan`.
    """
    by_name = dict((r["name"], r) for r in before)
    wanted = set(unsatisfied)
    link, unlink = [], []
    for entry in entries:
        if package_key(entry) in wanted:
            link.append({"name": entry["name"], "version": entry["version"], "build": entry["build"],
                         "channel": entry["channel"].rstrip("/").rsplit("/", 1)[-1]})
            if entry["name"] in by_name:
                unlink += unlink_entries([by_name[entry["name"]]])
    return {"link": link, "unlink": unlink}


def unlink_entries(records, names=None):
    """Unlink entries (name, version, build, no channel) of ``records``; of those named in ``names`` when given."""
    return [{"name": r["name"], "version": str(r["version"]), "build": r.get("build", ""), "channel": ""}
            for r in records if names is None or r["name"] in names]


def env_changed(before, after, pip_changed):
    """The one meaning of ``changed``: the environment was created, a package differs, or pip changed something.

    The real run gives the records it finds on disk after the transaction, check mode the
    prediction (:func:`predict`) and whether pip would run.
    """
    return before is None or any(delta(before, after)) or bool(pip_changed)


# ---------------------------------------------------------------- describing

def package_key(pkg):
    """``name-version-build``: how a lock entry or a record is named in ``unsatisfied`` (conda-meta file names)."""
    return "%s-%s-%s" % (pkg["name"], pkg["version"], pkg.get("build", ""))


def package_line(pkg):
    return "%s %s %s" % (pkg["name"], pkg["version"], pkg.get("build", pkg.get("build_string", "")))


def package_lines(records):
    """``name version build`` lines, sorted: the diff's text."""
    return sorted(package_line(r) for r in records)


def predict(before, link=(), unlink=()):
    """Packages after a transaction: ``before`` minus ``unlink`` plus ``link`` (``{"name", "version", "build"}``)."""
    gone = set((p["name"], str(p["version"]), p["build"]) for p in unlink)
    after = [package_of(r) for r in before]
    after = [p for p in after if (p["name"], p["version"], p["build"]) not in gone]
    names = set(p["name"] for p in link)
    after = [p for p in after if p["name"] not in names] + [dict(p) for p in link]
    return sorted(after, key=lambda p: p["name"])


def delta(before, after):
    """``(added, removed, changed)`` between two package lists (records or packages), by name."""
    old = dict((p["name"], package_of(p)) for p in before)
    new = dict((p["name"], package_of(p)) for p in after)
    added = [new[n] for n in sorted(set(new) - set(old))]
    removed = [old[n] for n in sorted(set(old) - set(new))]
    changed = []
    for name in sorted(set(old) & set(new)):
        if (old[name]["version"], old[name]["build"]) != (new[name]["version"], new[name]["build"]):
            changed.append({"name": name, "before": old[name], "after": new[name]})
    return added, removed, changed


#: characters conda refuses in an environment name (``CondaValueError``); control characters
#: (a newline) would also break ``~/.conda/environments.txt``, one prefix per line
_NAME_FORBIDDEN = ("/", " ", "#", ":")


def env_name_error(name):
    """Why ``name`` cannot name an environment (conda's own rule), or ``None`` when it can."""
    if not name or name in (".", ".."):
        return "invalid environment name %r" % (name,)
    bad = sorted(set(c for c in name if c in _NAME_FORBIDDEN or ord(c) < 32 or ord(c) == 127))
    if bad:
        return ("invalid environment name %r: conda does not allow %s in a name"
                % (name, ", ".join(repr(c) for c in bad)))
    return None


def transaction_actions(before, after):
    """``{"link", "unlink"}`` of a transaction, read from the records before and after it.

    What conda did when it printed no JSON answer (a ``--file`` lock-file
    transaction, ``remove --all`` of an empty environment): every package that
    is new or in another version/build is linked, every one gone or replaced is
    unlinked.
    """
    old = dict((p["name"], package_of(p)) for p in before)
    new = dict((p["name"], package_of(p)) for p in after)

    def same(name):
        return name in old and name in new and \
            (old[name]["version"], old[name]["build"]) == (new[name]["version"], new[name]["build"])

    link = [new[n] for n in sorted(new) if not same(n)]
    unlink = [old[n] for n in sorted(old) if not same(n)]
    return {"link": link, "unlink": unlink}


def compare(records, desired, pip_installed=None):
    """What ``conda_env_info`` reports for one environment against a spec.

    ``missing``: specs whose package is not installed; ``unsatisfied``: specs whose
    package is installed in a version/build that does not match; ``extra``:
    installed packages neither requested nor needed by what is requested. ``records``
    ``None``: the environment does not exist, and everything is missing.
    """
    pip_installed = pip_installed or {}
    exists, records = records is not None, records or []
    by_name = dict((r["name"], r) for r in records)
    missing, wrong = [], []
    if desired.get("explicit") is not None:
        for entry in desired["explicit"]:
            rec = by_name.get(entry["name"])
            if rec is None:
                missing.append(package_line(entry))
            elif (str(rec["version"]), rec.get("build")) != (entry["version"], entry["build"]):
                wrong.append({"spec": package_line(entry), "installed": package_line(package_of(rec))})
        roots = [e["name"] for e in desired["explicit"]]
    else:
        for spec in unsatisfied(desired["specs"], records):
            name = MatchSpec.parse(spec).name
            if name in by_name:
                wrong.append({"spec": spec, "installed": package_line(package_of(by_name[name]))})
            else:
                missing.append(spec)
        roots = spec_names(desired["specs"])
    keep = dependency_closure(records, list(roots) + pip_roots(desired))
    extra = sorted(n for n in by_name if n not in keep)
    pip_missing = pip_unsatisfied(desired.get("pip") or [], pip_installed)
    return {"missing": missing, "unsatisfied": wrong, "extra": extra, "pip_unsatisfied": pip_missing,
            "satisfied": exists and not (missing or wrong or pip_missing)}
