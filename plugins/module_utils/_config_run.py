# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""conda_config's run: read the .condarc, decide (``_condarc``), write or predict, describe.

The module ``conda_config`` is this with its documentation; ``conda_probe`` runs it in check mode on a
stand-in module (``_step``) to learn, from disk alone, whether the file is converged.
"""

from __future__ import annotations

import glob
import json
import os
import pwd

from ansible_collections.condafleet.conda.plugins.module_utils import _condarc as rc
from ansible_collections.condafleet.conda.plugins.module_utils import _files as files
from ansible_collections.condafleet.conda.plugins.module_utils import _yaml_subset as yaml_subset
from ansible_collections.condafleet.conda.plugins.module_utils._conda_loader import CONDARC_READER
from ansible_collections.condafleet.conda.plugins.module_utils._prefix import (
    conda_version, find_record, installation_error, read_json_file)
from ansible_collections.condafleet.conda.plugins.module_utils._tos import tos_accepted

TOS_PLUGIN = "conda-anaconda-tos"
GLOBAL_CONDARC = "/etc/conda/.condarc"


def target_path(module):
    """The file for the scope, and the home directory that counts for user-level ToS records."""
    p = module.params
    if p["user"] and p["scope"] != "user":
        module.fail_json(msg="user is only used with scope=user")
    if p["path"] and p["scope"] != "path":
        module.fail_json(msg="path is only used with scope=path")
    if not os.path.isabs(p["prefix"]):
        module.fail_json(msg="prefix must be an absolute path, got %r. Nothing was written." % p["prefix"])
    # "~" of the invoking user: $HOME, else the passwd entry (ansible-test's sanity test
    # use-argspec-type-path refuses os.path's "~" helper outside type=path options)
    home = os.environ.get("HOME")
    if not home and not p["user"]:
        try:
            home = pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            if p["scope"] == "user":
                module.fail_json(msg="scope=user: uid %d has no passwd entry and HOME is not set; give user" % os.getuid())
    if p["user"]:
        try:
            home = pwd.getpwnam(p["user"]).pw_dir
        except KeyError:
            module.fail_json(msg="no such user: %s" % p["user"])
    if p["scope"] == "system":
        # <prefix>/.condarc is only written into what conda and its installer made (positive evidence)
        problem = installation_error(p["prefix"])
        if problem:
            module.fail_json(msg="scope=system: %s. Nothing was written." % problem)
        return os.path.join(p["prefix"], ".condarc"), home
    if p["scope"] == "global":
        return GLOBAL_CONDARC, home
    if p["scope"] == "user":
        return os.path.join(home, ".condarc"), home
    if not os.path.isabs(p["path"]):  # relative to whatever directory the module happens to run in
        module.fail_json(msg="path must be absolute, got %r. Nothing was written." % p["path"])
    return p["path"], home


def installation_python(module):
    """The installation's Pythons that can read YAML as conda does (``[]`` without a prefix)."""
    prefix = module.params["prefix"]
    python = [os.path.join(prefix, "bin", name) for name in ("python3", "python")] if prefix else []
    return [exe for exe in python if os.access(exe, os.X_OK)]


def external_read(module, path, why):
    """Ask the installation's own Python (ruamel.yaml, as conda) for the data of ``path``."""
    python = installation_python(module)
    if not python:
        module.fail_json(msg="%s uses YAML this module does not read by itself (%s); give the prefix of a conda "
                             "installation whose Python can read it, or simplify the file" % (path, why))
    cmd = [python[0], "-c", CONDARC_READER, path]
    code, out, err = module.run_command(cmd, expand_user_and_vars=False, environ_update={"PYTHONNOUSERSITE": "1"})
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if code == 0 and isinstance(answer, dict) and not isinstance(answer.get("data") or {}, dict):
        module.fail_json(msg="%s is not a mapping of settings: %s reads %s at its top level. Nothing was written."
                             % (path, answer.get("reader"), "a list" if isinstance(answer["data"], list) else "a scalar"))
    if code == 0 and isinstance(answer, dict) and answer.get("conda_error"):
        module.fail_json(msg="%s cannot be read by conda's own configuration loader (%s); fix or remove it first. "
                             "Nothing was written." % (path, answer["conda_error"]))
    if code != 0 or not isinstance(answer, dict) or not isinstance(answer.get("data") or {}, dict):
        module.fail_json(msg="%s could not be read as a YAML mapping (%s)" % (path, why), rc=code,
                         stderr=err, cmd=[python[0], "-c", "<reader>", path])
    return answer["data"] or {}, answer["reader"]


def read_current(module, doc, path, needed):
    """Current data, which reader was used, and why the file may not be rewritten (None if it may)."""
    opaque = doc.opaque(needed)
    if not opaque and doc.opaque() and installation_python(module):
        # a block this module leaves as it is may still be YAML conda cannot read (tabs, deep nesting):
        # conda's reader says so before anything is written, instead of conda ignoring the rewritten file
        opaque = doc.opaque()
    if not doc.problem and not opaque:
        return doc.data(), "builtin", None
    data, reader = external_read(module, path, doc.problem or "; ".join("%s: %s" % kv for kv in opaque.items()))
    if doc.problem:
        return data, reader, doc.problem
    if set(data) != set(block.key for block in doc.blocks):
        return data, reader, "its top-level keys are not what a line-based reading finds"
    anchored = [key for key in opaque if doc.anchored(key)]
    return data, reader, ("%s may define a YAML anchor" % ", ".join(anchored)) if anchored else None


def tos_roots(module, home):
    roots = ["/etc/conda/tos", "/var/lib/conda/tos", os.path.join(module.params["prefix"], "conda-meta", "tos")]
    if module.params["scope"] == "user":
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        roots += [os.path.join(xdg, "conda", "tos"), os.path.join(home, ".config", "conda", "tos"),
                  os.path.join(home, ".conda", "tos")]
    return roots


def tos_records(roots):
    """The ToS acceptance records under ``roots`` (one unreadable is skipped, as conda skips it)."""
    found = (read_json_file(name) for root in roots for name in sorted(glob.glob(os.path.join(root, "*", "*.json"))))
    return [record for record in found if record is not None]


def accept_tos(module, urls, home):
    level = {"system": ["--system"], "path": ["--system"], "global": ["--site"], "user": ["--user"]}
    cmd = [os.path.join(module.params["prefix"], "bin", "conda"), "tos", "accept", "--override-channels"]
    for url in urls:
        cmd += ["--channel", url]
    cmd += level[module.params["scope"]]
    code, out, err = module.run_command(cmd, expand_user_and_vars=False)
    if code != 0:
        module.fail_json(msg="conda tos accept failed", rc=code, stdout=out, stderr=err, cmd=cmd)
    left = [url for url in urls if not tos_accepted(tos_records(tos_roots(module, home)), url)]
    if left:
        module.fail_json(msg="conda tos accept left no acceptance record for %s" % ", ".join(left), cmd=cmd)


def new_owner(module):
    """(uid, gid) a new file gets: the user's for scope=user on their behalf, else the running user's."""
    if module.params["scope"] == "user" and module.params["user"]:
        entry = pwd.getpwnam(module.params["user"])
        return entry.pw_uid, entry.pw_gid
    return None


def check_request(module):
    """Key names before anything is read: identifiers only; unknown ones (typos) named with the closest keys."""
    p = module.params
    keys = list(p["settings"]) + list(p["remove_keys"]) + list(p["extra_keys"])
    bad = rc.bad_key_names(keys)
    if bad:
        module.fail_json(msg="Not a conda setting name: %s (names are letters, digits, '_' and '-'). Nothing was "
                             "written." % ", ".join(json.dumps(str(key)) for key in bad))
    if p["validate_keys"]:
        unknown = rc.unknown_keys(list(p["settings"]) + list(p["remove_keys"]), p["extra_keys"])
        if unknown:
            hints = ["%r: did you mean %s?" % (key, " or ".join(repr(s) for s in rc.suggest(key, p["extra_keys"])))
                     for key in unknown if rc.suggest(key, p["extra_keys"])]
            module.fail_json(msg="Unknown key: %s. CondaKeyError: %s: unknown parameter.%s Nothing was written; list "
                                 "plugin keys in extra_keys or set validate_keys=false." % (
                                     ", ".join(repr(k) for k in unknown), ", ".join(repr(k) for k in unknown),
                                     "".join(" " + hint for hint in hints)))


SPEC = dict(
    argument_spec=dict(
        scope=dict(type="str", default="system", choices=["system", "global", "user", "path"]),
        prefix=dict(type="path", default="/opt/conda"),
        path=dict(type="path"),
        user=dict(type="str"),
        settings=dict(type="dict", default={}),
        channels=dict(type="list", elements="str"),
        channels_mode=dict(type="str", default="exact", choices=list(rc.CHANNELS_MODES)),
        no_defaults=dict(type="bool", default=False),
        auto_activate=dict(type="bool"),
        mirror=dict(type="dict", options=dict(
            url=dict(type="str", required=True),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            token=dict(type="str", no_log=True),
            default_channels=dict(type="list", elements="str", default=["pkgs/main", "pkgs/r"]),
            custom_channels=dict(type="list", elements="str", default=[]),
        )),
        accept_anaconda_tos=dict(type="bool"),
        remove_keys=dict(type="list", elements="str", default=[], no_log=False),
        validate_keys=dict(type="bool", default=True),
        extra_keys=dict(type="list", elements="str", default=[], no_log=False),
    ),
    required_if=[("scope", "path", ("path",))],
    supports_check_mode=True,
)


def run(module):
    """The module's whole run on ``module`` (an AnsibleModule made with ``SPEC``, or ``_step``'s stand-in)."""
    p = module.params

    path, home = target_path(module)
    version = conda_version(p["prefix"])
    check_request(module)
    try:
        request = rc.request_of(p, version)
        wanted = rc.desired_values({}, request)
    except rc.CondarcError as exc:
        module.fail_json(msg=str(exc))

    try:
        text, stat = files.read_text(path)
    except files.FileError as exc:
        module.fail_json(msg="%s. Nothing was written." % exc)
    # A byte-order mark is not part of the first key (conda's reader skips it too); it is written back as found.
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom):]
    problem = rc.file_problem(text)
    if problem:
        module.fail_json(msg="%s %s; it is left as it is. Nothing was written." % (path, problem))
    doc = yaml_subset.parse(text)
    tos_enforced = bool(find_record(p["prefix"], TOS_PLUGIN))
    needed = rc.needed_keys(wanted, tos_enforced)
    current, reader, no_rewrite = read_current(module, doc, path, needed)
    old_mode = (stat.st_mode & 0o7777) if stat else None
    try:
        decision = rc.plan(doc, text, current, request, old_mode, no_rewrite, tos_records(tos_roots(module, home)) if tos_enforced else None)
    except rc.CondarcError as exc:
        module.fail_json(msg="%s %s. Nothing was written." % (path, exc))
    if decision["write"] or decision["chmod"]:  # in check mode too: the prediction says the run would fail
        problem = files.write_problem(path, new_owner(module))
        if problem:
            module.fail_json(msg="%s. Nothing was written." % problem)
    if not module.check_mode:
        if decision["tos"]:
            accept_tos(module, decision["tos"], home)
        try:
            if decision["write"]:
                files.write_atomic(path, (bom + decision["text"]).encode("utf-8"), decision["mode"], new_owner(module))
            elif decision["chmod"]:
                files.chmod(path, decision["mode"])
        except files.FileError as exc:
            module.fail_json(msg=str(exc))

    result = dict(
        changed=decision["changed"], path=path, changed_keys=list(decision["updates"]), conda_version=version,
        reader=reader, tos_channels=decision["tos"], settings=rc.managed_values(decision, wanted, needed),
    )
    result["values"] = result["settings"]  # deprecated: Jinja reads r.values as dict.values; removed in 0.3.0
    if stat is not None or decision["write"]:
        result["mode"] = "%04o" % decision["mode"]
    if request["auto_activate_key"]:
        result["auto_activate_key"] = request["auto_activate_key"]
    if module._diff and decision["changed"]:
        result["diff"] = dict(before_header=path, after_header=path, before=text, after=decision["text"])
    module.exit_json(**result)
