# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""What an environment should hold, and what it takes to get there (pure functions).

* ``load_spec_text()`` reads an ``environment.yml`` (the subset conda writes
  and people write: ``name``, ``channels``, ``dependencies`` with a ``pip:``
  list, ``prefix``, ``variables``) with the collection's standard-library YAML
  reader, or an ``@EXPLICIT`` lock file (``conda list --explicit``).
* ``desired_state()`` merges module options and a spec file into one
  request; ``validate()`` parses every spec first and names the bad one.
* ``plan()`` compares the request with the environment's ``conda-meta``
  records (and pip's ``dist-info``) and returns what to install, update and
  remove. It never runs anything: a converged environment costs file reads.
* ``predict()`` / ``package_lines()`` / ``delta()`` turn a decision or a
  conda answer into the module's diff and return values.
"""

from __future__ import annotations

import re

from ansible_collections.condafleet.conda.plugins.module_utils import _condarc
from ansible_collections.condafleet.conda.plugins.module_utils._conda import normalize_dist_name
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


def parse_environment_yml(text):
    """Read an environment.yml: ``{"name", "prefix", "channels", "dependencies", "pip", "variables"}``."""
    doc = _condarc.parse(text or "")
    if doc.problem:
        raise SpecError("cannot read the environment file: %s" % doc.problem)
    data = doc.data()
    opaque = doc.opaque(["name", "prefix", "channels", "dependencies", "variables"])
    if opaque:
        key = sorted(opaque)[0]
        raise SpecError("cannot read %r in the environment file (%s); use plain YAML lists and strings"
                        % (key, opaque[key]))
    unknown = sorted(set(data) - set(["name", "prefix", "channels", "dependencies", "variables", "category"]))
    if unknown:
        raise SpecError("unknown key(s) in the environment file: %s" % ", ".join(unknown))
    out = {"name": data.get("name"), "prefix": data.get("prefix"), "channels": [], "dependencies": [],
           "pip": [], "variables": data.get("variables") or {}}
    for channel in _list_field(data.get("channels"), "channels"):
        if not isinstance(channel, str):
            raise SpecError("channels in the environment file must be strings, got %r" % (channel,))
        out["channels"].append(channel)
    for dep in _list_field(data.get("dependencies"), "dependencies"):
        if isinstance(dep, dict) and list(dep) == ["pip"]:
            for item in _list_field(dep["pip"], "pip"):
                if not isinstance(item, str):
                    raise SpecError("pip entries must be strings, got %r" % (item,))
                out["pip"].append(item)
        elif isinstance(dep, (str, int, float)) and not isinstance(dep, bool):
            out["dependencies"].append(str(dep))
        else:
            raise SpecError("unsupported entry in dependencies: %r" % (dep,))
    if not isinstance(out["variables"], dict):
        raise SpecError("variables in the environment file must be a mapping")
    return out


def _list_field(value, key):
    """A list field of an environment file; a string there is an error, never a list of its characters."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError("%s in the environment file must be a list (one '- item' per line), got %r" % (key, value))
    return value


def python_spec(python):
    """``3.11`` -> ``python=3.11``; ``>=3.10`` -> ``python>=3.10``; a full spec is kept."""
    python = str(python).strip()
    if python.startswith("python"):
        return python
    if python[:1] in "<>=!~":
        return "python" + python
    return "python=" + python


def desired_state(params, file_text=None):
    """One request from the module's options and an optional spec file's text.

    Returns ``{"specs", "pip", "pip_options", "channels", "override_channels", "explicit", "variables"}``;
    ``explicit`` is the list of lock entries (or ``None``).
    """
    desired = {"specs": [], "pip": [], "pip_options": [], "channels": list(params.get("channels") or []),
               "override_channels": bool(params.get("override_channels")), "explicit": None, "variables": {}}
    file_specs, file_pip, file_channels = [], [], []
    if file_text is not None:
        if is_explicit(file_text):
            desired["explicit"] = parse_explicit(file_text)
        else:
            env = parse_environment_yml(file_text)
            file_specs, file_pip, file_channels = env["dependencies"], env["pip"], env["channels"]
            desired["variables"] = env["variables"]
    if params.get("python"):
        desired["specs"].append(python_spec(params["python"]))
    desired["specs"] += file_specs + [str(s) for s in params.get("packages") or []]
    for channel in file_channels:
        if channel == "nodefaults":  # environment-file only: means --override-channels
            desired["override_channels"] = True
        elif channel not in desired["channels"]:
            desired["channels"].append(channel)
    for item in file_pip + [str(s) for s in params.get("pip") or []]:
        item = item.strip()
        if item.startswith("-"):
            desired["pip_options"] += item.split(None, 1)  # "--index-url URL", "-r file" -> two arguments
        elif item:
            desired["pip"].append(item)
    if desired["override_channels"] and not desired["channels"]:
        raise SpecError("override_channels (or 'nodefaults') needs at least one channel")
    if desired["explicit"] is not None and (desired["specs"] or desired["pip"]):
        raise SpecError("a lock file (@EXPLICIT) cannot be combined with python, packages or pip")
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


_OPERATORS = frozenset(["==", "!=", "<=", ">=", "<", ">", "=", "~="])


def validate(desired):
    """Parse every conda and pip spec; raise SpecError naming the first bad one. Returns parsed MatchSpecs."""
    parsed = []
    for spec in desired["specs"]:
        if not isinstance(spec, str) or not spec.strip():
            raise SpecError("invalid package spec %r: empty" % (spec,))
        if spec.strip().startswith("-"):
            raise SpecError("invalid package spec %r: starts with '-'" % spec)
        for run in re.findall(r"[<>=!~]+", spec):
            if run not in _OPERATORS:
                raise SpecError("invalid package spec %r: %r is not an operator" % (spec, run))
        try:
            parsed.append(MatchSpec.parse(spec.strip()))
        except MatchSpecError as exc:
            raise SpecError("invalid package spec %r: %s" % (spec, exc.reason))
    for req in desired["pip"]:
        info = parse_pip(req)
        if info["spec"]:
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
    """pip requirements that the installed distributions (``{normalized name: version}``) do not satisfy."""
    missing = []
    for req in requirements:
        info = parse_pip(req)
        version = dists.get(info["name"])
        if version is None:
            missing.append(req)
        elif info["spec"] and not VersionSpec(_pip_to_conda(info["spec"])).match(version):
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
        decision["unsatisfied"] = list(desired["specs"]) if explicit is None else [
            "%s-%s-%s" % (e["name"], e["version"], e["build"]) for e in explicit]
        decision["pip"] = list(desired["pip"])
        return decision
    if explicit is not None:
        decision["unsatisfied"] = ["%s-%s-%s" % (e["name"], e["version"], e["build"])
                                   for e in explicit_unsatisfied(explicit, records)]
        roots = [e["name"] for e in explicit]
    else:
        decision["unsatisfied"] = unsatisfied(desired["specs"], records)
        roots = spec_names(desired["specs"])
    if decision["unsatisfied"]:
        decision["action"] = "install"
    if state == "latest" and explicit is None and desired["specs"]:
        decision["action"] = "update"
    decision["pip"] = pip_unsatisfied(desired["pip"], pip_installed)
    if prune:
        if explicit is not None:  # a lock file is the whole environment
            keep = set(e["name"] for e in explicit) | dependency_closure(records, list(protect))
        else:
            keep = dependency_closure(records, list(roots) + list(protect) + (["python", "pip"] if desired["pip"] else []))
        decision["remove"] = sorted(r["name"] for r in records if r["name"] not in keep)
    return decision


def needs_change(decision):
    return bool(decision["action"] or decision["remove"] or decision["pip"])


# ---------------------------------------------------------------- describing

def package_line(pkg):
    return "%s %s %s" % (pkg["name"], pkg["version"], pkg.get("build", pkg.get("build_string", "")))


def package_lines(records):
    """``name version build`` lines, sorted: the diff's text."""
    return sorted(package_line(r) for r in records)


def as_package(record):
    from ansible_collections.condafleet.conda.plugins.module_utils._conda import package_of
    return package_of(record)


def predict(before, link=(), unlink=()):
    """Packages after a transaction: ``before`` minus ``unlink`` plus ``link`` (``{"name", "version", "build"}``)."""
    gone = set((p["name"], str(p["version"]), p["build"]) for p in unlink)
    after = [as_package(r) for r in before]
    after = [p for p in after if (p["name"], p["version"], p["build"]) not in gone]
    names = set(p["name"] for p in link)
    after = [p for p in after if p["name"] not in names] + [dict(p) for p in link]
    return sorted(after, key=lambda p: p["name"])


def delta(before, after):
    """``(added, removed, changed)`` between two package lists (records or packages), by name."""
    old = dict((p["name"], as_package(p)) for p in before)
    new = dict((p["name"], as_package(p)) for p in after)
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
    old = dict((p["name"], as_package(p)) for p in before)
    new = dict((p["name"], as_package(p)) for p in after)

    def same(name):
        return name in old and name in new and \
            (old[name]["version"], old[name]["build"]) == (new[name]["version"], new[name]["build"])

    link = [new[n] for n in sorted(new) if not same(n)]
    unlink = [old[n] for n in sorted(old) if not same(n)]
    return {"link": link, "unlink": unlink}


def compare(records, desired, pip_installed=None, requested=None):
    """What ``conda_env_info`` reports for one environment against a spec.

    ``missing``: specs whose package is not installed; ``unsatisfied``: specs whose
    package is installed in a version/build that does not match; ``extra``:
    installed packages neither requested nor needed by what is requested.
    """
    pip_installed = pip_installed or {}
    by_name = dict((r["name"], r) for r in records)
    missing, wrong = [], []
    if desired.get("explicit") is not None:
        for entry in desired["explicit"]:
            rec = by_name.get(entry["name"])
            if rec is None:
                missing.append(package_line(entry))
            elif (str(rec["version"]), rec.get("build")) != (entry["version"], entry["build"]):
                wrong.append({"spec": package_line(entry), "installed": package_line(as_package(rec))})
        roots = [e["name"] for e in desired["explicit"]]
    else:
        for spec in unsatisfied(desired["specs"], records):
            name = MatchSpec.parse(spec).name
            if name in by_name:
                wrong.append({"spec": spec, "installed": package_line(as_package(by_name[name]))})
            else:
                missing.append(spec)
        roots = spec_names(desired["specs"])
    keep = dependency_closure(records, list(roots) + (["python", "pip"] if desired.get("pip") else []))
    extra = sorted(n for n in by_name if n not in keep)
    pip_missing = pip_unsatisfied(desired.get("pip") or [], pip_installed)
    return {"missing": missing, "unsatisfied": wrong, "extra": extra, "pip_unsatisfied": pip_missing,
            "satisfied": not (missing or wrong or pip_missing)}
