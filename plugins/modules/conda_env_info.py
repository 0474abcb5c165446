#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_env_info
short_description: List the environments of a conda installation and compare one with a spec
version_added: 0.1.0
description:
  - Reads every environment of the installation at O(prefix) from disk, without running conda. Base, C(envs/*),
    and the entries of C(~/.conda/environments.txt) that this installation's conda made.
  - For each environment, returns its Python version, its packages (name, version, build, channel), the pip-installed
    distributions and the specs the user asked for (from C(conda-meta/history), as C(conda env export --from-history)
    does).
  - With O(name) or O(path) and a spec (O(python), O(packages), O(pip), O(spec_file) or O(spec_content)), also compares
    that environment with the spec, with the same matcher as M(condafleet.conda.conda_env).
  - A half-made environment (a create that M(condafleet.conda.conda_env) started and did not finish, or package records
    conda wrote without C(conda-meta/history)) is reported with RV(environments[].complete=false); a directory without
    such evidence is not an environment.
author:
  - condafleet.conda contributors (@condafleet)
extends_documentation_fragment:
  - condafleet.conda.attributes.info_module
  - condafleet.conda.installation
  - condafleet.conda.env_spec
options:
  name:
    description: Only this environment (by name; V(base) is the installation). Mutually exclusive with O(path).
    type: str
  path:
    description: Only the environment at this absolute path (a relative path is refused). Mutually exclusive with O(name).
    type: path
  include_packages:
    description: Return the package list of each environment (can be long).
    type: bool
    default: true
  explicit:
    description:
      - Also return each environment as an C(@EXPLICIT) lock file (RV(environments[].explicit)), from its
        C(conda-meta) records, as C(conda list --explicit --md5) writes it but without running conda.
      - The C(condafleet.conda.conda) role keeps it on the controller as the fleet lock of an environment
        (C(conda_env_solve=fleet)).
    type: bool
    default: false
    version_added: 0.3.0
"""

EXAMPLES = r"""
- name: Every environment of /opt/conda
  condafleet.conda.conda_env_info:
    prefix: /opt/conda
  register: conda_envs

- name: Does "vision" match its environment.yml?
  condafleet.conda.conda_env_info:
    name: vision
    spec_content: "{{ lookup('ansible.builtin.file', 'files/vision.yml') }}"
  register: vision

- name: Report drift
  ansible.builtin.debug:
    msg: "missing {{ vision.comparison.missing }}, wrong {{ vision.comparison.unsatisfied }}, extra {{ vision.comparison.extra }}"
  when: not vision.comparison.satisfied
"""

RETURN = r"""
environments:
  description: The environments of the installation (only the selected one with O(name) or O(path)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name (V(base) for the installation, empty for environments outside an C(envs) directory).
      type: str
    prefix:
      description: Path.
      type: str
    base:
      description: Whether it is the base environment.
      type: bool
    complete:
      description: V(false) for a half-made environment (see the description); M(condafleet.conda.conda_env) with
        V(state=present) creates it again, with V(state=absent) removes it.
      type: bool
    python_version:
      description: Version of the C(python) package, or C(null).
      type: str
    packages:
      description: Packages (C(name), C(version), C(build), C(channel)), when O(include_packages).
      type: list
      elements: dict
    pip_packages:
      description: Distributions installed by pip, those whose C(INSTALLER) file says C(pip) (C(name), C(version)).
      type: list
      elements: dict
    requested_specs:
      description: The specs the user asked for, from C(conda-meta/history), by package name.
      type: dict
    explicit:
      description:
        - With O(explicit), the C(@EXPLICIT) lock of the environment, one C(URL#MD5) line per package, each after the
          packages it depends on (the order conda links an explicit file in).
        - The URLs carry no credentials (no user information, no C(/t/<token>) part).
      type: str
      returned: when O(explicit) is true
      version_added: 0.3.0
  sample:
    - name: vision
      prefix: /opt/conda/envs/vision
      base: false
      complete: true
      python_version: 3.11.9
      packages: [{name: numpy, version: 2.1.0, build: py311_0, channel: conda-forge}]
      pip_packages: []
      requested_specs: {python: python=3.11, numpy: numpy}
exists:
  description: With O(name) or O(path), whether that environment exists.
  returned: when O(name) or O(path) is given
  type: bool
comparison:
  description: With O(name) or O(path) and a spec, how the environment compares with it.
  returned: when a spec is given
  type: dict
  contains:
    satisfied:
      description: Every spec is satisfied.
      type: bool
    missing:
      description: Specs whose package is not installed.
      type: list
      elements: str
    unsatisfied:
      description: Specs whose package is installed in a version or build that does not match (C(spec), C(installed)).
      type: list
      elements: dict
    extra:
      description: Installed packages neither requested nor needed by what is requested.
      type: list
      elements: str
    pip_unsatisfied:
      description: pip requirements that no installed distribution satisfies (whatever installed it, conda or pip).
      type: list
      elements: str
"""

import os

from ansible_collections.condafleet.conda.plugins.module_utils._drift import drift
from ansible_collections.condafleet.conda.plugins.module_utils._environments import (
    all_environments, environment_state, resolve_target)
from ansible_collections.condafleet.conda.plugins.module_utils._fleet_lock import LockError, lock_text
from ansible_collections.condafleet.conda.plugins.module_utils._history import read_history_specs
from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule
from ansible_collections.condafleet.conda.plugins.module_utils._pip_dists import pip_dists
from ansible_collections.condafleet.conda.plugins.module_utils._prefix import (
    conda_meta_records, installation_error, python_version)
from ansible_collections.condafleet.conda.plugins.module_utils._runner import package_of
from ansible_collections.condafleet.conda.plugins.module_utils._text import spec_text
from ansible_collections.condafleet.conda.plugins.module_utils._envspec import SpecError


def describe(env, include_packages, explicit=False):
    records = conda_meta_records(env["prefix"])
    out = dict(env)
    if explicit:
        out["explicit"] = lock_text(records)
    out["python_version"] = python_version(records)
    if include_packages:
        out["packages"] = [package_of(r) for r in records]
    out["pip_packages"] = [{"name": n, "version": v} for n, v in sorted(pip_dists(env["prefix"]).items())]
    out["requested_specs"] = read_history_specs(env["prefix"], [r["name"] for r in records])
    return out


def select(envs, params):
    """The environment O(name) or O(path) selects (a list of at most one), found where conda_env would look."""
    target, dummy = resolve_target(params["prefix"], params["name"], params["path"])
    found = [e for e in envs if os.path.realpath(e["prefix"]) == os.path.realpath(target)]
    if not found and params["path"]:
        state = environment_state(target)["state"]
        if state in ("environment", "incomplete"):
            found = [{"name": "", "prefix": target, "base": False, "complete": state == "environment"}]
    return found[:1]


def main():
    module = MaskedModule(
        argument_spec=dict(
            prefix=dict(type="path", default="/opt/conda"),
            name=dict(type="str"),
            path=dict(type="path"),
            include_packages=dict(type="bool", default=True),
            explicit=dict(type="bool", default=False),
            python=dict(type="str"),
            packages=dict(type="list", elements="str", default=[]),
            pip=dict(type="list", elements="str", default=[]),
            spec_file=dict(type="path"),
            spec_content=dict(type="str"),
        ),
        mutually_exclusive=[("name", "path"), ("spec_file", "spec_content")],
        supports_check_mode=True,
    )
    params = module.params
    for option in ("path", "prefix"):
        if params[option] is not None and not os.path.isabs(params[option]):
            module.fail_json(msg="%s must be an absolute path, got %r" % (option, params[option]), changed=False)
    base = os.path.normpath(params["prefix"])
    problem = installation_error(base)
    if problem and not (params["path"] and environment_state(params["path"])["state"] in ("environment", "incomplete")):
        module.fail_json(msg=problem, changed=False)
    envs = all_environments(base) if not problem else []
    result = {"changed": False}
    selected = params["name"] is not None or params["path"] is not None
    if selected:
        envs = select(envs, params)
        result["exists"] = bool(envs)
    try:
        result["environments"] = [describe(env, params["include_packages"], params["explicit"]) for env in envs]
    except LockError as exc:
        module.fail_json(msg=str(exc), **result)

    has_spec = params["python"] or params["packages"] or params["pip"] or params["spec_file"] or \
        params["spec_content"] is not None
    if has_spec:
        if not selected:
            module.fail_json(msg="comparing with a spec needs name or path", **result)
        try:
            text = spec_text(params["spec_file"], params["spec_content"])
        except ValueError as exc:
            module.fail_json(msg=str(exc), **result)
        try:
            result["comparison"] = drift(envs[0]["prefix"] if envs else None, params, text, dict(os.environ),
                                         os.uname().machine)
        except SpecError as exc:
            module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
