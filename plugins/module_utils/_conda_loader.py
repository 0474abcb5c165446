# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Scripts that ask a conda installation's own loader to read a file, for what ``_yaml_subset`` does not read.

Each is run as ``PYTHON -c SCRIPT PATH`` by the installation's own Python, so
that the file reads exactly as that conda reads it, and prints one JSON
object: ``{"reader", "data", ...}``. The modules read the answer
(``conda_config``: a ``.condarc``; ``conda_env``: an ``environment.yml``, see
``_envspec.external_answer()``).
"""

from __future__ import annotations

#: for a ``.condarc``: ruamel.yaml (which conda uses; else PyYAML) reads the data, then conda's own
#: configuration loader, which may refuse what ruamel reads (500 nested lists: RecursionError), is given
#: the file: "conda_error" says why conda cannot use it.
CONDARC_READER = r"""
import json, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
try:
    from ruamel.yaml import YAML
    data = YAML(typ="rt").load(text)
    used = "ruamel.yaml"
except ImportError:
    import yaml
    data = yaml.safe_load(text)
    used = "PyYAML"
problem = None
try:
    from conda.common.configuration import YamlRawParameter
except Exception:
    YamlRawParameter = None
if YamlRawParameter is not None:
    try:
        YamlRawParameter.make_raw_parameters_from_file(path)
    except Exception as exc:
        words = str(exc).strip().splitlines()
        problem = type(exc).__name__ + (": " + words[0][:300] if words else "")
print(json.dumps({"reader": used, "data": data, "conda_error": problem}, default=str))
"""

#: for an ``environment.yml``: conda's own loader (ruamel.yaml), so the file reads exactly as
#: ``conda env create`` reads it. Errors are reported by type, problem and line, never with the
#: offending text (it may hold a token).
ENVIRONMENT_FILE_READER = r"""
import json, sys
with open(sys.argv[1], "rb") as handle:
    text = handle.read().decode("utf-8")
try:
    try:
        from conda.common.serialize import yaml
        data, reader = yaml.loads(text), "conda"
    except ImportError:
        from ruamel.yaml import YAML
        data, reader = YAML(typ="rt").load(text), "ruamel.yaml"
except Exception as exc:
    mark = getattr(exc, "problem_mark", None)
    where = " (line %d)" % (mark.line + 1) if mark is not None else ""
    problem = getattr(exc, "problem", None) or type(exc).__name__
    print(json.dumps({"error": "%s: %s%s" % (type(exc).__name__, problem, where)}))
    sys.exit(0)
print(json.dumps({"reader": reader, "data": data}, default=str))
"""
