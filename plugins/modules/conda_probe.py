#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_probe
short_description: Tell, in one round trip and from disk alone, which conda steps of a host are not converged
version_added: 0.3.0
description:
  - Takes the whole desired conda state of a host, the installation (O(install)), its C(.condarc) (O(config)), files
    such as the system-wide shell setup (O(files)) and the environments (O(environments)), and returns which of
    them are converged, without changing anything and without starting a solver.
  - Each step is decided by the run of the module that converges it (M(condafleet.conda.conda_install),
    M(condafleet.conda.conda_config), M(condafleet.conda.conda_env)) in check mode, with the same options. A step is
    converged when that module would report C(changed=false). The decision reads C(conda-meta), C(.condarc) and
    the files; a check that would need a program (a solver's dry run, conda's own YAML reader) or a download stops
    there and the step is reported not converged, so that the module itself runs.
  - A step whose module would fail (bad input, a refusal) is reported not converged too; running the module gives
    its message.
  - When an environment is CUDA-managed (C(cuda) not V(none)), it also detects the host's NVIDIA GPUs as
    M(condafleet.conda.nvidia_gpu_info) does and chooses the PyTorch build as the
    P(condafleet.conda.conda_env_args#filter) filter does, from the same facts, which it returns in RV(gpu).
  - The C(condafleet.conda.conda) role runs it first and then only the steps that are not converged, so that a
    converged host costs one module round trip.
author:
  - condafleet.conda contributors (@condafleet)
extends_documentation_fragment:
  - condafleet.conda.attributes.info_module
  - condafleet.conda.installation
options:
  install:
    description:
      - The options of M(condafleet.conda.conda_install) for the installation at O(prefix) (its own O(prefix)
        included); V(null) leaves the installation out.
      - An option whose value is V(null) takes the module's default.
    type: dict
  config:
    description:
      - The options of M(condafleet.conda.conda_config) for the C(.condarc) to check; V(null) leaves it out.
      - An option whose value is V(null) takes the module's default.
    type: dict
  files:
    description:
      - Files and directories that must be as given, for example the role's system-wide shell setup.
      - The answer for all of them together is RV(files).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description:
          - V(file), a file with O(files[].content); V(directory), a directory; V(absent), no file there.
          - With V(absent) and O(files[].marker), only a file whose first line is the marker counts; another file
            there is not the role's and is converged as it is.
        type: str
        choices: [file, directory, absent]
        default: file
      content:
        description: The whole text of the file (V(file)).
        type: str
      marker:
        description: The first line by which a file is recognised as the one to remove (V(absent)).
        type: str
      owner:
        description: Owner's name; not compared when not given.
        type: str
      group:
        description: Group's name; not compared when not given.
        type: str
      mode:
        description: Octal permissions such as V('0644'); not compared when not given.
        type: str
  environments:
    description:
      - The environment entries as the C(condafleet.conda.conda) role's C(conda_environments) holds them. Each is turned
        into M(condafleet.conda.conda_env) options by the P(condafleet.conda.conda_env_args#filter) filter's rules, with
        O(channels), O(mirror_url), O(pytorch_style), O(pytorch_supported_cuda), O(cuda_override) and
        O(proxy_environment) as that filter's options and the GPU facts read here.
    type: list
    elements: dict
    default: []
  spec_files:
    description:
      - The text of each entry's C(lock) or C(file), by the path the entry names (read on the controller), passed to
        M(condafleet.conda.conda_env) as its O(condafleet.conda.conda_env#module:spec_content).
    type: dict
    default: {}
  channels:
    description: The installation's channels (the filter's O(condafleet.conda.conda_env_args#filter:channels)).
    type: list
    elements: str
    default: [conda-forge]
  mirror_url:
    description: The channel mirror (the filter's O(condafleet.conda.conda_env_args#filter:mirror_url)).
    type: str
  pytorch_style:
    description: The PyTorch build style (the filter's O(condafleet.conda.conda_env_args#filter:style)).
    type: str
    choices: [conda-forge, pytorch]
    default: conda-forge
  pytorch_supported_cuda:
    description: The CUDA versions to choose from (the filter's O(condafleet.conda.conda_env_args#filter:supported_cuda)).
    type: list
    elements: str
  cuda_override:
    description: Set C(CONDA_OVERRIDE_CUDA) (the filter's O(condafleet.conda.conda_env_args#filter:override_cuda)).
    type: bool
    default: false
  proxy_environment:
    description: Proxy variables for conda and pip (the filter's O(condafleet.conda.conda_env_args#filter:proxy_environment)).
    type: dict
    default: {}
  umask:
    description: The O(condafleet.conda.conda_env#module:umask) of every environment.
    type: str
    default: "0022"
  locks:
    description:
      - Fleet locks (the role's C(conda_env_solve=fleet)), by file name, as the controller keeps them in
        C(conda_env_lock_dir), each an C(@EXPLICIT) file named C(<name>.<subdir>.<key>.lock).
      - When given, each environment that can be locked (not V(absent), no pip requirements, not already a lock file)
        gets its class key (RV(environments[].lock)), from the platform, the entry as derived here (the PyTorch build
        chosen from this host's GPU included), its spec file and the installation's channels. When a lock of that key
        is given and the entry's state is not V(latest), the environment is checked against the lock (its packages
        must be exactly the lock's builds). Without it (a new class, or V(latest)), the environment is not converged;
        the role solves it on one host of the class and installs the result on the others.
      - Not given (the default), every environment is checked against its spec.
    type: dict
  unlisted:
    description:
      - Also list the named environments under C(<prefix>/envs) that O(environments) does not name (RV(unlisted)),
        as the role removes them with C(conda_remove_unlisted_environments).
    type: bool
    default: false
  leftovers_older_than:
    description:
      - Also list what a fleet rollout cut off half-way left in C(<prefix>/pkgs) (RV(leftovers)) and is older than
        this many seconds (younger ones may belong to a rollout that is still running) - the role's transport copies
        there, by their names - C(.condafleet-<key>.tar) (a lock's packages for this host),
        C(.condafleet-staging-<key>/) (a solver's packed packages) and C(.condafleet-unpack.*) (a package being
        unpacked). Any of them makes the host not converged; the role removes them.
      - Not given (the default), they are not looked for.
    type: int
  compare:
    description:
      - Also compare each environment that is not V(absent) with its spec (RV(environments[].comparison)), as
        M(condafleet.conda.conda_env_info) does for one; C(playbooks/report.yml) measures the drift of every
        environment of a host in this one call.
    type: bool
    default: false
notes:
  - The invocation it returns names only O(prefix), as the other options may hold credentials.
seealso:
  - module: condafleet.conda.conda_install
  - module: condafleet.conda.conda_config
  - module: condafleet.conda.conda_env
  - module: condafleet.conda.nvidia_gpu_info
  - plugin: condafleet.conda.conda_env_args
    plugin_type: filter
"""

EXAMPLES = r"""
- name: What of this host is not converged?
  condafleet.conda.conda_probe:
    prefix: /opt/conda
    install:
      prefix: /opt/conda
      distribution: miniforge
      version: latest
    config:
      prefix: /opt/conda
      channels: [conda-forge]
      auto_activate: false
    environments:
      - name: finance
        python: "3.9"
        packages: [pandas]
      - name: vision
        python: "3.11"
        packages: [pytorch]
        cuda: auto
  register: probe

- name: Converge only the environments that are not
  ansible.builtin.debug:
    msg: "{{ probe.environments | rejectattr('converged') | map(attribute='name') | list }}"
"""

RETURN = r"""
converged:
  description: Whether every step asked about is converged and no environment is listed in RV(unlisted).
  returned: always
  type: bool
  sample: false
installed:
  description: Whether O(prefix) holds a conda installation now (C(bin/conda) is there).
  returned: always
  type: bool
  sample: true
install:
  description: The answer for O(install); V(null) without it.
  returned: always
  type: dict
  contains:
    converged:
      description: Whether M(condafleet.conda.conda_install) would change nothing.
      type: bool
    reason:
      description: Why, in a few words.
      type: str
      sample: would change
config:
  description: The answer for O(config), as RV(install); V(null) without it.
  returned: always
  type: dict
  contains:
    converged:
      description: Whether M(condafleet.conda.conda_config) would change nothing.
      type: bool
    reason:
      description: Why, in a few words.
      type: str
files:
  description: The answer for O(files), all of them together.
  returned: always
  type: dict
  contains:
    converged:
      description: Whether every file is as given.
      type: bool
    reason:
      description: The first path that is not, and how; V(converged) otherwise.
      type: str
      sample: /etc/profile.d/conda.sh differs
environments:
  description: One answer per entry of O(environments), in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The environment's name.
      type: str
      sample: vision
    converged:
      description: Whether M(condafleet.conda.conda_env) would change nothing.
      type: bool
    reason:
      description: Why, in a few words.
      type: str
    lock:
      description:
        - With O(locks), the environment's fleet lock; V(null) when it is solved on each host (absent, pip
          requirements, a lock file of its own) or without O(locks).
      type: dict
      contains:
        file:
          description: The lock's file name, C(<name>.<subdir>.<key>.lock).
          type: str
          sample: vision.linux-64.5f0c2a9d41b7e3c8.lock
        subdir:
          description: The conda platform of this host.
          type: str
          sample: linux-64
        key:
          description: The class key (16 hex digits).
          type: str
        locked:
          description: Whether O(locks) held that lock and the environment was checked against it.
          type: bool
    prefix:
      description: With O(compare), where the environment is, or would be created.
      type: str
      sample: /opt/conda/envs/vision
    exists:
      description: With O(compare), whether the environment is there (complete or half-made).
      type: bool
    comparison:
      description:
        - With O(compare), the environment against its spec, as M(condafleet.conda.conda_env_info) returns it
          (C(satisfied), C(missing), C(unsatisfied), C(extra), C(pip_missing), C(pip_unsatisfied)); V(null) when
          its spec could not be read.
      type: dict
pending:
  description: The positions (from 0) in O(environments) of those that are not converged.
  returned: always
  type: list
  elements: int
  sample: [1]
leftovers:
  description: With O(leftovers_older_than), the paths of the transport copies a cut-off fleet rollout left.
  returned: always
  type: list
  elements: str
  sample: [/opt/conda/pkgs/.condafleet-5f0c2a9d41b7e3c8.tar]
unlisted:
  description: With O(unlisted), the named environments under C(<prefix>/envs) that O(environments) does not name.
  returned: always
  type: list
  elements: str
  sample: [old-project]
gpu:
  description:
    - The facts M(condafleet.conda.nvidia_gpu_info) returns (C(has_nvidia_gpu), C(driver_version), C(cuda_driver_max),
      C(gpus), ...), read when an entry of O(environments) is CUDA-managed; V({}) otherwise.
  returned: always
  type: dict
  sample:
    has_nvidia_gpu: true
    driver_version: "550.54.15"
    cuda_driver_max: "12.4"
"""

import grp
import os
import pwd
import re
import stat
import time

from ansible_collections.condafleet.conda.plugins.module_utils import _step as step
from ansible_collections.condafleet.conda.plugins.module_utils._config_run import SPEC as CONFIG_SPEC
from ansible_collections.condafleet.conda.plugins.module_utils._config_run import run as config_run
from ansible_collections.condafleet.conda.plugins.module_utils._env_args import EnvArgsError, conda_env_args, needs_gpu
from ansible_collections.condafleet.conda.plugins.module_utils._env_run import SPEC as ENV_SPEC
from ansible_collections.condafleet.conda.plugins.module_utils._env_run import run as env_run
from ansible_collections.condafleet.conda.plugins.module_utils._drift import drift
from ansible_collections.condafleet.conda.plugins.module_utils._environments import (
    all_environments, environment_state, resolve_target)
from ansible_collections.condafleet.conda.plugins.module_utils._envspec import SpecError, host_subdir
from ansible_collections.condafleet.conda.plugins.module_utils._fleet_lock import lock_file_name, lock_key, lockable
from ansible_collections.condafleet.conda.plugins.module_utils._gpu import detect
from ansible_collections.condafleet.conda.plugins.module_utils._install_run import SPEC as INSTALL_SPEC
from ansible_collections.condafleet.conda.plugins.module_utils._install_run import run as install_run
from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule
from ansible_collections.condafleet.conda.plugins.module_utils._pkg_cache import UNPACK_PART
from ansible_collections.condafleet.conda.plugins.module_utils._torch import TorchBuildError

CONVERGED = {"converged": True, "reason": "converged"}


class ProbeModule(MaskedModule):
    """The probe's AnsibleModule: its invocation names the prefix only, and nothing of it is logged on the host."""

    def _invocation(self):
        return {"module_args": {"prefix": self.params["prefix"]}}


def given(options):
    """``options`` without the ones set to ``null``, which take the module's default (as an omitted option)."""
    return dict((key, value) for key, value in (options or {}).items() if value is not None)


def first_line(text):
    return text.split("\n", 1)[0].strip()


def file_state(entry):
    """``None`` when the path is as ``entry`` says, else why not (pure but for reading the path)."""
    path = entry["path"]
    try:
        st = os.lstat(path)
    except OSError:
        st = None
    if entry["state"] == "absent":
        if st is None or entry["marker"] is None:
            return None if st is None else "%s exists" % path
        try:
            with open(path, "r", encoding="utf-8", errors="replace") as handle:
                return "%s is to be removed" % path if first_line(handle.read(4096)) == entry["marker"].strip() else None
        except OSError:
            return None  # not readable as the role's file: not the role's to remove
    if st is None:
        return "%s is missing" % path
    if entry["state"] == "directory":
        if not os.path.isdir(path):
            return "%s is not a directory" % path
    else:
        if not os.path.isfile(path) or os.path.islink(path):
            return "%s is not a plain file" % path
        try:
            with open(path, "rb") as handle:
                if handle.read() != (entry["content"] or "").encode("utf-8"):
                    return "%s differs" % path
        except OSError:
            return "%s is not readable" % path
    if entry["owner"] and _name(pwd.getpwuid, st.st_uid) != entry["owner"]:
        return "%s is not owned by %s" % (path, entry["owner"])
    if entry["group"] and _name(grp.getgrgid, st.st_gid) != entry["group"]:
        return "%s is not in group %s" % (path, entry["group"])
    if entry["mode"] and (st.st_mode & 0o7777) != int(entry["mode"], 8):
        return "%s does not have mode %s" % (path, entry["mode"])
    return None


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def files_verdict(entries):
    for entry in entries:
        why = file_state(entry)
        if why:
            return {"converged": False, "reason": why}
    return dict(CONVERGED)


def unlisted_environments(prefix, listed):
    """Named environments under ``<prefix>/envs`` (complete or half-made) that ``listed`` does not name, as
    the role's unlisted.yml selects them from conda_env_info's list."""
    envs_dir = os.path.join(os.path.normpath(prefix), "envs") + os.sep
    return [env["name"] for env in all_environments(prefix)
            if not env["base"] and env["name"] and env["name"] not in listed and env["prefix"].startswith(envs_dir)]


#: The role's transport copies in the installation's package cache (vars/main.yml: __conda_env_archive,
#: __conda_env_staging; _pkg_cache.UNPACK_PART): a plain file, a directory, a plain file.
LEFTOVER = re.compile(r"^\.condafleet-(?:(?P<archive>[0-9a-f]{16}\.tar)|(?P<staging>staging-[0-9a-f]{16})|%s.+)$"
                      % re.escape(UNPACK_PART[len(".condafleet-"):]))


def leftovers(prefix, age, now):
    """What a cut-off fleet rollout left in ``<prefix>/pkgs``: the role's transport copies older than ``age``
    seconds, by their names and kinds (a link or another kind of file of such a name is not one of them)."""
    pkgs = os.path.join(prefix, "pkgs")
    try:
        names = sorted(os.listdir(pkgs))
    except OSError:
        return []
    found = []
    for name in names:
        match = LEFTOVER.match(name)
        if not match:
            continue
        path = os.path.join(pkgs, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue  # gone meanwhile
        kind = stat.S_ISDIR if match.group("staging") else stat.S_ISREG
        if kind(st.st_mode) and now - st.st_mtime >= age:
            found.append(path)
    return found


def check_files(module):
    for entry in module.params["files"]:
        if not os.path.isabs(entry["path"]):
            module.fail_json(msg="files: path must be absolute, got %r" % entry["path"])
        if entry["mode"]:
            try:
                int(entry["mode"], 8)
            except ValueError:
                module.fail_json(msg="files: mode of %s must be octal such as '0644', got %r" % (entry["path"], entry["mode"]))
        if entry["state"] == "file" and entry["content"] is None:
            module.fail_json(msg="files: %s has state=file and no content" % entry["path"])


def fleet_lock(p, params):
    """The environment's fleet lock answer (``None`` without ``locks`` or when it is solved on each host)."""
    if p["locks"] is None or not lockable(params, params.get("spec_content")):
        return None
    subdir = host_subdir(os.uname().machine, dict(os.environ, **params["environment"]))
    key = lock_key(params, params.get("spec_content"), subdir, p["channels"], p["mirror_url"])
    name = lock_file_name(params["name"], subdir, key)
    return {"file": name, "subdir": subdir, "key": key,
            "locked": name in p["locks"] and params["state"] != "latest"}


def locked_params(params, text):
    """conda_env's options that install exactly the lock's builds: the lock is the whole environment."""
    return {"name": params["name"], "prefix": params["prefix"], "state": "present", "spec_content": text,
            "prune": True, "environment": params["environment"], "umask": params["umask"]}


def spec_drift(params):
    """``prefix``, ``exists`` and ``comparison``: the environment of conda_env's ``params`` against their spec."""
    target, dummy = resolve_target(params["prefix"], params["name"], params.get("path"))
    exists = environment_state(target)["state"] in ("environment", "incomplete")
    try:
        comparison = drift(target if exists else None, params, params.get("spec_content"),
                           dict(os.environ, **params["environment"]), os.uname().machine)
    except SpecError:
        comparison = None  # the check's reason says why
    return {"prefix": target, "exists": exists, "comparison": comparison}


def main():
    module = ProbeModule(
        argument_spec=dict(
            prefix=dict(type="path", default="/opt/conda"),
            install=dict(type="dict"),
            config=dict(type="dict"),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                state=dict(type="str", default="file", choices=["file", "directory", "absent"]),
                content=dict(type="str"),
                marker=dict(type="str"),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="str"),
            )),
            environments=dict(type="list", elements="dict", default=[]),
            spec_files=dict(type="dict", default={}),
            channels=dict(type="list", elements="str", default=["conda-forge"]),
            mirror_url=dict(type="str"),
            pytorch_style=dict(type="str", default="conda-forge", choices=["conda-forge", "pytorch"]),
            pytorch_supported_cuda=dict(type="list", elements="str"),
            cuda_override=dict(type="bool", default=False),
            proxy_environment=dict(type="dict", default={}),
            umask=dict(type="str", default="0022"),
            locks=dict(type="dict"),
            unlisted=dict(type="bool", default=False),
            compare=dict(type="bool", default=False),
            leftovers_older_than=dict(type="int"),
        ),
        supports_check_mode=True,
        no_log=True,  # nothing of the options in the host's log: they may hold credentials
    )
    p = module.params
    if not os.path.isabs(p["prefix"]):
        module.fail_json(msg="prefix must be an absolute path, got %r" % p["prefix"])
    prefix = os.path.normpath(p["prefix"])
    if p["leftovers_older_than"] is not None and p["leftovers_older_than"] < 0:
        module.fail_json(msg="leftovers_older_than must be 0 or more seconds, got %d" % p["leftovers_older_than"])
    check_files(module)

    # The environments' specs first: an entry the role cannot use fails here, before any step runs.
    try:
        gpu = detect(module) if needs_gpu(p["environments"]) else {}
        specs = conda_env_args(p["environments"], prefix=prefix, channels=p["channels"], gpu_info=gpu,
                               style=p["pytorch_style"], supported_cuda=p["pytorch_supported_cuda"],
                               override_cuda=p["cuda_override"], proxy_environment=p["proxy_environment"],
                               mirror_url=p["mirror_url"])
    except (EnvArgsError, TorchBuildError) as exc:
        module.fail_json(msg=str(exc))

    result = dict(changed=False, installed=os.access(os.path.join(prefix, "bin", "conda"), os.X_OK), gpu=gpu,
                  install=None, config=None)
    if p["install"] is not None:
        result["install"] = step.check(module, INSTALL_SPEC, install_run, given(p["install"]))
    if p["config"] is not None:
        result["config"] = step.check(module, CONFIG_SPEC, config_run, given(p["config"]))
    result["files"] = files_verdict(p["files"])
    answers = []
    for spec in specs:
        params = dict(spec["args"], umask=p["umask"])
        if spec["spec_path"]:
            if spec["spec_path"] not in p["spec_files"]:
                answers.append({"name": spec["name"], "converged": False, "reason": "its file was not read",
                                "lock": None})
                continue
            params["spec_content"] = p["spec_files"][spec["spec_path"]]
        lock = fleet_lock(p, params)
        checked = locked_params(params, p["locks"][lock["file"]]) if lock and lock["locked"] else params
        answer = dict(step.check(module, ENV_SPEC, env_run, checked), name=spec["name"], lock=lock)
        if p["compare"] and params["state"] != "absent":
            answer.update(spec_drift(params))
        if lock and not lock["locked"] and answer["converged"]:
            # its class has no lock yet: one of its hosts writes it, the others install it
            answer.update(converged=False, reason="no fleet lock of its class yet")
        answers.append(answer)
    result["environments"] = answers
    result["pending"] = [index for index, answer in enumerate(answers) if not answer["converged"]]
    result["unlisted"] = unlisted_environments(prefix, [spec["name"] for spec in specs]) if p["unlisted"] else []
    result["leftovers"] = leftovers(prefix, p["leftovers_older_than"], time.time()) \
        if p["leftovers_older_than"] is not None else []
    steps = [result["install"], result["config"], result["files"]] + answers
    result["converged"] = all(s["converged"] for s in steps if s is not None) and not result["unlisted"] \
        and not result["leftovers"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
