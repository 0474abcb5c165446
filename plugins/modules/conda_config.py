#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_config
short_description: Manage conda's C(.condarc) without clobbering it
version_added: 0.1.0
description:
  - Converges conda configuration keys in one C(.condarc) file, at the scope of an installation
    (C($PREFIX/.condarc)), of the host (C(/etc/conda/.condarc)), of a user (C(~/.condarc)) or at an explicit path.
  - Only the top-level blocks of the keys it changes are rewritten. Comments, blank lines, unmanaged keys and their
    layout are kept verbatim; the file is written atomically (temporary file, fsync, rename) and only when a value
    changes, keeping its owner and mode.
  - A symlinked file is updated through the link, as M(ansible.builtin.copy) with C(follow=true) does. The file it
    points to is replaced in its own directory, with its owner and mode, and the link stays. A dangling link, or
    (when running as root) a link that a non-root user made to another user's file, is refused.
  - A file this module cannot write as the user it runs as (O(scope=global) without root, another user's file) fails
    the task with the reason before anything is changed, in check mode too.
  - Values are checked against the types conda gives its settings (booleans, integers, numbers, strings, lists and
    mappings of strings); a value conda could not load, null, a control character or line break in any string, and
    a channel name that is empty or holds spaces fail the task, naming the key, and nothing is written.
  - A file that is not a mapping of settings (a list or a scalar at its top level, control characters, bytes that
    are not UTF-8), or that is not a regular file, fails the task and is left as it is.
  - A converged run reads the file and the installation's C(conda-meta) only; it starts no conda process.
  - The module reads and writes the YAML subset that C(.condarc) files hold in practice with the standard library
    (block mappings and sequences, one-line flow collections, quoted and plain scalars, comments; YAML 1.2 core
    scalars, as conda reads them). A block it cannot read with certainty (anchors, aliases, tags, block or
    multi-line scalars) is kept verbatim when unmanaged; when it is managed, or the file cannot be cut into
    top-level blocks, its value is read by the Python of O(prefix) (C(ruamel.yaml), the library conda uses, else
    PyYAML). A file that cannot be cut into top-level blocks is never rewritten; the module fails instead.
author:
  - condafleet.conda contributors (@condafleet)
extends_documentation_fragment:
  - condafleet.conda.attributes
  - condafleet.conda.installation
attributes:
  check_mode:
    details:
      - Reports the change and the diff without writing the file or recording ToS acceptance.
  diff_mode:
    details:
      - The diff is the file before and after, with passwords and tokens masked.
  platform:
    details:
      - Linux and macOS hosts (the Windows search path is not handled).
options:
  scope:
    description:
      - Which file to manage. V(system) is C(<prefix>/.condarc) (what C(conda config --system) writes; O(prefix)
        must be a conda installation, with C(conda-meta/history), C(bin/conda) and a conda package record),
        V(global) is C(/etc/conda/.condarc) (read by every installation on the host), V(user) is C(~/.condarc) of
        O(user) (or of the user the module runs as), V(path) is O(path).
    type: str
    choices: [system, global, user, path]
    default: system
  prefix:
    description:
      - The conda installation (its base prefix), an absolute path. For O(scope=system) its C(.condarc) is the file
        managed. At every scope its C(conda-meta) gives the conda version (for O(auto_activate)) and tells whether
        the ToS plugin is installed, and its Python reads YAML this module does not read by itself.
      - The default is the collection's; the installers' own defaults differ (C(~/miniforge3), C(~/miniconda3), and
        C(/opt/miniforge3) or C(/opt/miniconda3) for a system-wide install), so set it to where the installation is.
  path:
    description: The file for O(scope=path). conda only reads files named C(.condarc), C(condarc), C(*.yml), C(*.yaml).
    type: path
  user:
    description: For O(scope=user), the user whose C(~/.condarc) is managed. Default is the user the module runs as.
    type: str
  settings:
    description:
      - Keys and values, with conda's names and types (for example C(channel_priority), C(pkgs_dirs), C(envs_dirs),
        C(ssl_verify) as a boolean or a CA bundle path, C(proxy_servers), C(solver), C(show_channel_urls),
        C(notify_outdated_conda), C(always_yes), C(override_channels_enabled), C(custom_channels)).
      - Each value replaces the key's whole value (lists and mappings included). Setting a key removes its aliases
        from the file (conda refuses two names of one setting in a file).
      - A key conda does not know fails the task (naming the closest known keys) and nothing is written, unless
        O(validate_keys=false) or the key is in O(extra_keys). A name that is not letters, digits, C(_) and C(-) always
        fails.
      - C(auto_activate) and C(auto_activate_base) here mean O(auto_activate).
    type: dict
    default: {}
  channels:
    description: Channels, applied according to O(channels_mode).
    type: list
    elements: str
  channels_mode:
    description:
      - V(exact) makes C(channels) exactly O(channels), in order. V(present) appends the missing ones and leaves the
        others where they are. V(absent) removes them. V(prepend) and V(append) put them, in order, at the top or the
        bottom, moving them if they are already listed elsewhere.
    type: str
    choices: [exact, present, absent, prepend, append]
    default: exact
  no_defaults:
    description:
      - Remove C(defaults) from C(channels) and set C(default_channels) to an empty list, for sites bound by Anaconda's
        terms or that use conda-forge only. It wins over the C(default_channels) that O(mirror) would set.
    type: bool
    default: false
  auto_activate:
    description:
      - Whether shells activate the base environment. conda 25.5 renamed C(auto_activate_base) to C(auto_activate);
        the module writes the name the conda in O(prefix) understands (required) and removes the other one.
    type: bool
  mirror:
    description:
      - Point every channel at an internal mirror. This sets C(channel_alias), C(default_channels) and C(custom_channels).
      - Credentials go into the URLs (C(https://user:password@host/...) or C(.../t/<token>)); the file is then written
        with mode C(0600), and they are masked in the diff and in the returned values.
    type: dict
    suboptions:
      url:
        description: Base URL of the mirror, for example C(https://mirror.example.com/conda).
        type: str
        required: true
      username:
        description: User name for the mirror (with O(mirror.password)).
        type: str
      password:
        description: Password for the mirror.
        type: str
      token:
        description: Token, written as C(/t/<token>) after O(mirror.url), as conda expects.
        type: str
      default_channels:
        description: Channel names under the mirror that C(defaults) expands to. An empty list leaves C(default_channels) alone.
        type: list
        elements: str
        default: [pkgs/main, pkgs/r]
      custom_channels:
        description: Channel names (for example C(conda-forge)) to serve from the mirror through C(custom_channels).
        type: list
        elements: str
        default: []
  accept_anaconda_tos:
    description:
      - When the channels in the file include Anaconda's (C(defaults) expanding to C(repo.anaconda.com), C(pkgs/main),
        ...) and O(prefix) has the C(conda-anaconda-tos) plugin, their Terms of Service must have been accepted.
      - V(true) records the acceptance with C(conda tos accept) (only for channels with no acceptance record on disk;
        at the system, site or user level matching O(scope)). Otherwise the module fails with a message saying what
        to do. It never accepts on its own.
    type: bool
  remove_keys:
    description: Keys to remove from the file (with their aliases).
    type: list
    elements: str
    default: []
  validate_keys:
    description: Fail on keys conda does not know. Set V(false) for plugin keys, or list them in O(extra_keys).
    type: bool
    default: true
  extra_keys:
    description: Keys to accept in addition to the ones conda 26.7 knows.
    type: list
    elements: str
    default: []
notes:
  - Only the managed file is considered; values that other files or C(CONDA_*) variables set still merge in
    (see C(conda config --show-sources)).
  - Comments inside a block that the module rewrites are lost; a comment on the key's own line (such as C(#!final)) is kept.
  - For O(scope=user) on behalf of another user, run the task as that user (C(become_user)) so that files and ToS
    records belong to them.
  - Credentials in URLs anywhere in the options (O(settings), for example C(proxy_servers), O(channels), O(mirror)) are
    masked (C(********)) in the results, the diff, messages, the invocation and what the module logs on the host; a
    file that holds one is written with mode C(0600). The value of O(mirror.password) and O(mirror.token) is never
    shown.
requirements:
  - A conda installation for O(scope=system), O(auto_activate) and O(accept_anaconda_tos).
"""

EXAMPLES = r"""
- name: Use conda-forge only, strict priority, no base auto-activation
  condafleet.conda.conda_config:
    prefix: /opt/conda
    channels: [conda-forge]
    no_defaults: true
    auto_activate: false
    settings:
      channel_priority: strict

- name: Make sure an internal channel is listed first, host-wide
  condafleet.conda.conda_config:
    scope: global
    channels: [https://conda.example.com/internal]
    channels_mode: prepend

- name: Point every channel at a mirror with credentials
  condafleet.conda.conda_config:
    prefix: /opt/conda
    mirror:
      url: https://mirror.example.com/conda
      username: deploy
      password: "{{ vault_mirror_password }}"
      custom_channels: [conda-forge, bioconda]

- name: Keep Anaconda's channels and accept their Terms of Service
  condafleet.conda.conda_config:
    prefix: /opt/miniconda3
    channels: [defaults]
    accept_anaconda_tos: true

- name: Proxy and CA bundle for one user
  condafleet.conda.conda_config:
    scope: user
    settings:
      proxy_servers:
        http: http://proxy.example.com:3128
        https: http://proxy.example.com:3128
      ssl_verify: /etc/ssl/certs/ca-certificates.crt
  become: true
  become_user: alice

- name: Remove keys
  condafleet.conda.conda_config:
    prefix: /opt/conda
    remove_keys: [show_channel_urls, always_yes]
"""

RETURN = r"""
path:
  description: The file managed.
  returned: always
  type: str
  sample: /opt/conda/.condarc
changed_keys:
  description: Keys written or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [channels, auto_activate]
settings:
  description: The values of the keys this task manages, as the file holds them after the run (passwords and tokens masked; removed keys are absent).
  returned: always
  type: dict
  sample: {channels: [conda-forge], auto_activate: false}
  version_added: 0.2.0
values:
  description:
    - Deprecated, use RV(settings) (the same dict). In Jinja C(result.values) is the dict method C(values), not this
      key, so it can only be read as C(result['values']). It will be removed in version 0.3.0.
  returned: always
  type: dict
  sample: {channels: [conda-forge], auto_activate: false}
auto_activate_key:
  description: The name used for base auto-activation, chosen from the conda version of O(prefix).
  returned: when O(auto_activate) is given
  type: str
  sample: auto_activate
conda_version:
  description: The conda version found in O(prefix), or null.
  returned: always
  type: str
  sample: 26.7.1
reader:
  description: What read the file; V(builtin), or the library of the installation's Python (V(ruamel.yaml) or V(PyYAML)).
  returned: always
  type: str
  sample: builtin
tos_channels:
  description: Anaconda channels whose Terms of Service were accepted by this run (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [https://repo.anaconda.com/pkgs/main]
mode:
  description: The file's mode after the run, in octal.
  returned: when the file exists or is created
  type: str
  sample: "0644"
state:
  description:
    - What is at RV(path) after the run, as Ansible describes a path a module returns (V(file), V(link) for a
      symlink, V(hard) for a file with several hard links, V(absent) when there is no file, in check mode for
      instance). The file attributes below are returned when it exists.
  returned: always
  type: str
  sample: file
uid:
  description: The numeric id of the file's owner.
  returned: when the file exists
  type: int
  sample: 0
gid:
  description: The numeric id of the file's group.
  returned: when the file exists
  type: int
  sample: 0
owner:
  description: The name of the file's owner.
  returned: when the file exists
  type: str
  sample: root
group:
  description: The name of the file's group.
  returned: when the file exists
  type: str
  sample: root
size:
  description: The file's size in bytes.
  returned: when the file exists
  type: int
  sample: 112
"""

import glob
import json
import os
import pwd

from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule
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


def main():
    module = MaskedModule(
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


if __name__ == "__main__":
    main()
