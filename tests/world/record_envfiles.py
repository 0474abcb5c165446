# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Record how the REAL conda reads the environment.yml corpus: TEST INFRASTRUCTURE ONLY.

    .venv/bin/python tests/world/record_envfiles.py [--base PREFIX] [--out FILE]

Every ``*.yml`` in ``tests/unit/data/envfiles/`` (and ``*.yml.bin``, a member whose
exact bytes matter, read under its ``.yml`` name) is read by conda's own
``conda.env.env.from_file()`` (what ``conda env create -f`` uses) with the
Python of a real conda installation: ``--base PREFIX`` or, by default, a fresh
Miniconda3 26.7.1 from the world's installer in a temporary directory (no
server is needed: reading a file does not touch a channel). The readings go to
``tests/unit/data/envfiles/conda-<version>.json``::

    {"conda_version": "26.7.1", "environ": {...}, "files": {"NAME.yml": {
        "raw": the YAML document as conda's loader reads it (JSON; null on a YAML error),
        "error": null or {"type": exception class, "message": text},
        "name", "channels" (after ${VAR} expansion), "variables",
        "conda": conda's dependency strings (str(MatchSpec)), "conda_names": their names,
        "pip": the pip list (null when there is none),
        "warnings": [{"kind": "ignored_sections"|"pip_added"|"schema", "items": [...], "text": ...}]}}}

``READER`` is the script itself; the integration test
``tests/integration/test_envfile_corpus.py`` runs it live with a fresh base's
Python, so that the comparison cannot go stale. ``ENVIRON`` is the environment
the files are read in (``${VAR}`` in ``channels``).
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(REPO, "tests", "unit", "data", "envfiles")
if HERE not in sys.path:
    sys.path.insert(0, HERE)

#: the variables set while the corpus is read; CONDAFLEET_TEST_UNSET_VARIABLE stays unset
ENVIRON = {"CONDAFLEET_TEST_MIRROR": "https://mirror.example.com/conda"}

READER = r'''
import contextlib, io, json, os, re, sys, warnings
import conda
from conda.common.serialize import yaml
from conda.env.env import from_file
from conda.models.match_spec import MatchSpec


def plain(value):
    return json.loads(json.dumps(value, default=str))


def classify(out, caught):
    found = []
    if "EnvironmentSectionNotValid" in out:
        keys = re.findall(r"^ - (.*)$", out.split("EnvironmentSectionNotValid", 1)[1], re.M)
        found.append({"kind": "ignored_sections", "items": keys, "text": out.strip()})
    if "do not list pip itself" in out:
        found.append({"kind": "pip_added", "items": [], "text": out.strip()})
    for warning in caught:
        text = str(warning.message)
        if "CEP 24" in text:
            items = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
            found.append({"kind": "schema", "items": items, "text": text})
    return found


def read(path):
    entry = {"raw": None, "error": None, "warnings": []}
    with open(path, "rb") as handle:
        text = handle.read().decode("utf-8")
    try:
        entry["raw"] = plain(yaml.loads(text))
    except Exception as exc:
        entry["error"] = {"type": type(exc).__name__, "message": str(exc).splitlines()[0]}
        return entry
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            env = from_file(path)
        except Exception as exc:
            env = None
            message = str(exc).strip().splitlines()[0].replace(os.path.dirname(path) + os.sep, "")
            entry["error"] = {"type": type(exc).__name__, "message": message}
    # the texts name the file: as the file's own name, so a recording does not depend on the checkout's place
    entry["warnings"] = classify(out.getvalue().replace(os.path.dirname(path) + os.sep, ""), caught)
    if env is not None:
        conda_specs = list(env.dependencies.get("conda", []))
        entry.update({"name": plain(env.name), "channels": plain(env.channels), "variables": plain(env.variables),
                      "conda": conda_specs, "conda_names": [MatchSpec(s).name for s in conda_specs],
                      "pip": plain(env.dependencies.get("pip"))})
    return entry


files = {}
for path in sys.argv[1:]:
    files[os.path.basename(path)] = read(path)
print(json.dumps({"conda_version": conda.__version__, "files": files}, indent=1, sort_keys=True))
'''


#: files conda reads as something other than what is written: the collection refuses them with these words
REFUSED = {
    "channels-string.yml": "one character at a time",  # conda: channels c, o, n, d, a, ...
    "pip-bare-colon-option.yml": "quote the line",  # conda: a mapping in the pip list, which pip cannot take
}
#: what conda drops or keeps unexpanded without a word, and the collection says
EXTRA_WARNINGS = {"two-pip-sections.yml": ["pip_replaced"], "channel-env-vars.yml": ["unset_variable"]}
#: files the collection's own reader leaves to the installation's Python (conda's loader)
FALLBACK = frozenset(("anchors-fallback.yml", "block-scalar-fallback.yml", "two-documents.yml"))


def differences(name, text, recorded, reader, environ):
    """How the collection's reading of ``text`` differs from conda's ``recorded`` one ([] when it does not).

    ``reader(text, why)`` stands for the installation's Python; the answer also
    says whether the collection asked it (``FALLBACK``).
    """
    from ansible_collections.condafleet.conda.plugins.module_utils import _envspec

    asked = []

    def ask(source, why):
        asked.append(why)
        return reader(source, why)

    problems = []
    error = None
    try:
        env = _envspec.parse_environment_yml(text, ask, environ)
        _envspec.validate(_envspec.desired_state({}, text, ask, environ))
    except _envspec.SpecError as exc:
        env, error = None, str(exc)
    if bool(asked) != (name in FALLBACK):
        problems.append("the installation's Python was %sasked (%s)" % ("" if asked else "not ", asked))
    if recorded["error"] or name in REFUSED:
        if env is not None:
            problems.append("read, where conda %s" % (recorded["error"] or "reads something else"))
        elif name in REFUSED and REFUSED[name] not in error:
            problems.append("refused without %r: %s" % (REFUSED[name], error))
        return problems
    if env is None:
        return problems + ["refused, where conda reads it: %s" % error]
    written = [dep for dep in recorded["raw"].get("dependencies") or [] if isinstance(dep, str)]
    kinds = [warning["kind"] for warning in recorded["warnings"]]
    expected = {
        "name": recorded["name"], "channels": recorded["channels"], "pip": recorded["pip"] or [],
        "variables": recorded["variables"] or {},
        "dependencies": (["pip"] if "pip_added" in kinds else []) + written,
        "names": recorded["conda_names"],
        "warnings": sorted(kinds + EXTRA_WARNINGS.get(name, [])),
        "items": dict((w["kind"], w["items"]) for w in recorded["warnings"] if w["kind"] != "pip_added"),
    }
    ours = {
        "name": env["name"], "channels": env["channels"], "pip": env["pip"], "variables": env["variables"],
        "dependencies": env["dependencies"],
        "names": [_envspec.MatchSpec.parse(spec).name for spec in env["dependencies"]],
        "warnings": sorted(warning["kind"] for warning in env["warnings"]),
        "items": dict((w["kind"], w["items"]) for w in env["warnings"] if w["kind"] in expected["items"]),
    }
    for key in sorted(expected):
        if ours[key] != expected[key]:
            problems.append("%s: ours %r, conda %r" % (key, ours[key], expected[key]))
    return problems


#: members stored as ``NAME.yml.bin``: their bytes (a byte-order mark and CRLF, two YAML documents)
#: are the point of the test, and ansible-test's line-ending and yamllint checks leave ``.bin`` alone
STORED_AS_BINARY = ".yml.bin"
_MATERIALIZED = []


def _materialized_dir():
    """A private temporary directory, removed at exit, for the ``.yml.bin`` members under their ``.yml`` names."""
    if not _MATERIALIZED:
        path = tempfile.mkdtemp(prefix="condafleet-envfiles-")
        atexit.register(shutil.rmtree, path, True)
        _MATERIALIZED.append(path)
    return _MATERIALIZED[0]


def corpus_path(name, directory=CORPUS):
    """The file to read for the corpus member ``name`` (``NAME.yml``), whichever way it is stored."""
    plain_path = os.path.join(directory, name)
    stored = plain_path[:-len(".yml")] + STORED_AS_BINARY
    if os.path.exists(plain_path) or not os.path.exists(stored):
        return plain_path
    target = os.path.join(_materialized_dir(), name)
    if not os.path.exists(target):
        shutil.copyfile(stored, target)
    return target


def corpus_names(directory=CORPUS):
    """The members' names (``NAME.yml``), as the recording keys them."""
    names = set()
    for entry in os.listdir(directory):
        if entry.endswith(STORED_AS_BINARY):
            names.add(entry[:-len(STORED_AS_BINARY)] + ".yml")
        elif entry.endswith(".yml"):
            names.add(entry)
    return sorted(names)


def corpus_files(directory=CORPUS):
    """A readable path for every member, each under its ``NAME.yml`` name."""
    return [corpus_path(name, directory) for name in corpus_names(directory)]


def read_with(python, files, environ=None):
    """Run ``READER`` with ``python`` (a conda installation's) over ``files``; the parsed recording."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("CONDA", "PYTHON")))
    env.update({"PYTHONNOUSERSITE": "1", "PYTHONHASHSEED": "0"})
    env.update(ENVIRON if environ is None else environ)
    env.pop("CONDAFLEET_TEST_UNSET_VARIABLE", None)
    proc = subprocess.run([python, "-c", READER] + list(files), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError("the reader failed (%d): %s" % (proc.returncode, proc.stderr[-3000:]))
    recording = json.loads(proc.stdout)
    recording["environ"] = dict(ENVIRON if environ is None else environ)
    return recording


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="an installed conda (default: a fresh Miniconda3 26.7.1 from the world)")
    parser.add_argument("--out", help="output file (default: %s/conda-<version>.json)" % CORPUS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="condafleet-envfiles-") as tmp:
        base = args.base
        if not base:
            import installer
            from fixtures import build_world, install_base
            base = os.path.join(tmp, "miniconda3")
            install_base(build_world().installer("Miniconda3", installer.NEW_VERSION), base)
        recording = read_with(os.path.join(base, "bin", "python"), corpus_files())
    out = args.out or os.path.join(CORPUS, "conda-%s.json" % recording["conda_version"])
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(recording, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print("%d files -> %s" % (len(recording["files"]), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
