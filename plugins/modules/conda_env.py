#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_env
short_description: Converge one conda environment to a declared spec
version_added: 0.1.0
description:
  - Creates, updates or removes one environment (by O(name) or at O(path)) of the conda installation at O(prefix).
  - The spec is given inline (O(python), O(packages), O(pip), O(channels)), or as an C(environment.yml), an
    C(@EXPLICIT) lock file (the output of C(conda list --explicit)) or a conda-lock C(conda-lock.yml), on the host (O(spec_file)) or as text
    (O(spec_content), for example from C(lookup('ansible.builtin.file', 'environment.yml')) on the controller).
  - The converged check reads the environment's C(conda-meta/*.json) records and pip's C(*.dist-info) directories and
    matches every requested spec with conda's match-spec rules. When everything is satisfied no conda or pip process
    is started. Otherwise one conda transaction installs all specs at once (C(create) for a new environment,
    C(install) for an existing one; never C(create) over an existing environment, which conda would silently
    replace), then pip installs the O(pip) requirements.
  - Specs are validated before anything runs; the error names the bad spec. When conda fails, the error carries its
    C(exception_name) and message; if the failed run left the environment changed, the module rolls it back to the
    revision it had (C(conda install --revision)), and a half-created environment is removed.
  - Runs on one host are serialized by a lock on the installation (C(<prefix>/conda-meta/.condafleet.lock)).
  - Before C(conda create) runs, the module writes a marker (C(<env>/.condafleet-create)) and removes it
    once conda has created the environment. A directory holding that marker, or package records conda wrote in
    C(conda-meta/) without the C(conda-meta/history) conda writes last (a create that was killed half-way), is a
    half-made environment - V(present) removes it and creates it again, V(absent) removes it. Anything else that is
    not a conda environment (a file, user files, an empty C(conda-meta/) beside them) is refused, never changed.
author:
  - condafleet.conda contributors (@condafleet)
extends_documentation_fragment:
  - condafleet.conda.attributes
  - condafleet.conda.installation
  - condafleet.conda.env_spec
attributes:
  check_mode:
    details:
      - When something is not satisfied, the prediction comes from conda's own C(--dry-run --json) (create or
        install); nothing is changed and no lock is taken. Lock files, removals and pruning are predicted from disk.
        pip requirements are reported, not dry-run; a pip line without a package name (C(-e), C(-r), a URL or a
        path) is always reported as to be installed.
  diff_mode:
    details:
      - The package list (C(name version build)) before and after; predicted in check mode.
options:
  name:
    description:
      - Name of the environment (V(base) is the installation itself). Resolved among the installation's environments,
        else C(<prefix>/envs/<name>). Mutually exclusive with O(path).
      - As conda, refuses names with C(/), a space, C(#), C(:) or a control character, before anything runs.
    type: str
  path:
    description:
      - Absolute path of the environment (C(conda -p)). Mutually exclusive with O(name).
      - A relative path is refused before anything runs (it would land relative to wherever the module runs).
    type: path
  executable:
    description: The conda executable. Default is C(<prefix>/bin/conda).
    type: path
  state:
    description:
      - V(present) creates the environment if missing and installs what does not satisfy the spec.
      - V(latest) also asks conda to update the requested packages to the newest versions the specs allow
        (this runs conda on every run; it reports a change only when conda changed something).
      - V(absent) removes the environment. Only an environment of this installation is removed, never base (one
        under C(<prefix>/envs), listed in C(~/.conda/environments.txt) by this installation's conda, or a half-made
        one whose create marker names this installation).
    type: str
    choices: [present, latest, absent]
    default: present
  channels:
    description: Channels for this transaction (C(-c)), before the ones of the spec file and of C(.condarc).
    type: list
    elements: str
    default: []
  override_channels:
    description: Use only O(channels) (and the spec file's), not the channels of C(.condarc). A C(nodefaults) entry in
      an environment.yml means the same.
    type: bool
    default: false
  prune:
    description:
      - Remove packages that are neither requested nor needed, through their C(depends), by what is requested.
        In the base environment, conda and what it needs are always kept.
      - With O(pip) requirements, C(python), C(pip) and the conda packages that meet a pip requirement (by name) are
        kept, with what they need.
      - Refused when the spec names no package (no O(python), O(packages), spec file dependencies or lock entries), as
        it would remove every package.
    type: bool
    default: false
  environment:
    description:
      - Environment variables for the conda and pip processes, for example C(CONDA_OVERRIDE_CUDA) to solve CUDA builds
        on a host without a GPU driver, or proxy settings.
    type: dict
    default: {}
  lock_timeout:
    description: Seconds to wait for another run on this installation to finish.
    type: int
    default: 600
  package_archive:
    description:
      - With a lock file (O(spec_file) or O(spec_content) holding an C(@EXPLICIT) lock), a tar on the host of the lock's
        package files, as M(condafleet.conda.conda_lock_fetch) packs them. Before the transaction, the packages the lock
        lists are put into conda's package cache (the first writable of its C(pkgs_dirs)) and their URLs into its
        C(urls.txt), so that conda installs them without downloading; a package the cache has already is left as it is.
      - Only files named like a lock entry are taken (never a path). conda checks each against the lock's checksum as
        it installs it. Not used when nothing is to be installed, or without a lock.
    type: path
    version_added: 0.3.0
  umask:
    description:
      - The umask the conda and pip processes run with, as an octal string (as in M(condafleet.conda.conda_install)).
      - The default V(0022) makes environments readable by every user of a shared installation whatever the umask
        of the account Ansible runs as (with V(0027) they would be C(750)/C(640)); V(0002) also makes them group-writable;
        V(0077) keeps them private.
    type: str
    default: "0022"
notes:
  - O(pip) requirements are installed with the environment's pip after the conda transaction. They reach pip in a
    requirements file (as conda hands them to pip), never on its command line; relative paths start at the directory
    of O(spec_file) (with O(spec_content), at the working directory of the module). pip runs only when a named
    requirement is not met, or for a line without a package name, which pip is given on every run (it reports a change
    only when the installed distributions changed). pip packages are never removed.
  - An environment.yml's warnings (as conda gives them) become module warnings, and its C(variables) are ignored with
    a warning. C($VAR) and C(${VAR}) in its C(channels) are expanded from the managed node's environment and
    O(environment).
  - A lock file installs exactly the listed builds (C(conda create/install --file)), without a solver; combine it with
    O(prune) to also remove the packages it does not list.
  - The module never changes the base environment's C(conda) package unless O(packages) names it (it pins
    C(conda) to the installed version through C(CONDA_PINNED_PACKAGES)).
  - O(prune) with packages to install runs two conda processes (install, then remove what is no longer needed).
  - Credentials in channel URLs (C(https://user:password@host/channel), C(https://host/t/TOKEN/channel)) stay off
    conda's command line and out of the files conda writes readable by all (C(conda-meta/history), C(pkgs/urls.txt),
    C(pkgs/cache/)). conda is given the URL without them, and the credentials in a netrc file (E(NETRC)) and an
    anaconda token directory (E(BINSTAR_CONFIG_DIR)) that only the module's user can read, removed when the module
    ends. The user's own C(~/.netrc) and anaconda tokens still apply after them. A password a netrc file cannot carry
    (white space, a backslash, a leading C(")), or two logins for one host, stay in the URL, with a warning.
  - pip index URLs (C(--index-url), C(-i)) reach pip through a requirements file readable only by the module's user.
  - Credentials in channel URLs, pip index URLs and O(environment) values (proxies, C(PIP_INDEX_URL)) are masked
    (C(********)) in C(cmd), C(commands), messages, conda's and pip's output, the invocation and what the module
    logs on the host.
requirements:
  - A conda installation (conda 23.x or later; tested with the behaviour of conda 26.7).
seealso:
  - module: condafleet.conda.conda_env_info
"""

EXAMPLES = r"""
- name: A data-science environment
  condafleet.conda.conda_env:
    name: vision
    python: "3.11"
    packages: [numpy, opencv, "pandas=2.2"]
    channels: [conda-forge]
    override_channels: true

- name: Exactly what environment.yml (on the controller) says, nothing more
  condafleet.conda.conda_env:
    name: webdev
    spec_content: "{{ lookup('ansible.builtin.file', 'files/environment.yml') }}"
    prune: true

- name: Reproduce a locked environment
  condafleet.conda.conda_env:
    path: /srv/envs/train
    spec_file: /srv/project/conda-linux-64.lock

- name: Reproduce a conda-lock.yml on a mixed x86_64 and aarch64 fleet (each host takes its platform's packages)
  condafleet.conda.conda_env:
    name: train
    spec_file: /srv/project/conda-lock.yml

- name: PyTorch with CUDA on a build node without a GPU driver
  condafleet.conda.conda_env:
    name: gpu
    python: "3.11"
    packages: ["pytorch=*=cuda*", "cuda-version=12.4"]
    environment:
      CONDA_OVERRIDE_CUDA: "12.4"

- name: pip packages from an internal index
  condafleet.conda.conda_env:
    name: api
    python: "3.12"
    packages: [fastapi, pip]
    pip: ["--index-url https://pypi.example.com/simple", "tinyjson==0.1"]

- name: Remove an environment
  condafleet.conda.conda_env:
    name: scratch
    state: absent
"""

RETURN = r"""
prefix:
  description: Path of the environment.
  returned: always
  type: str
  sample: /opt/conda/envs/vision
cmd:
  description: The conda command that ran (or would run in check mode, with C(--dry-run)); C(null) when none did.
  returned: always
  type: list
  elements: str
  sample: [/opt/conda/bin/conda, install, -p, /opt/conda/envs/vision, numpy, --yes, --json, --quiet]
commands:
  description: Every command that ran, conda and pip, in order.
  returned: always
  type: list
  elements: list
unsatisfied:
  description: The requested specs (or lock entries) that the environment did not satisfy before the run.
  returned: always
  type: list
  elements: str
actions:
  description: The planned (check mode) or performed package links and unlinks, and the pip requirements installed.
  returned: always
  type: dict
  contains:
    link:
      description: Packages linked (C(name), C(version), C(build), C(channel)).
      type: list
      elements: dict
    unlink:
      description: Packages unlinked.
      type: list
      elements: dict
    pip:
      description: pip requirements installed.
      type: list
      elements: str
packages_added:
  description: Packages that were not installed before (C(name), C(version), C(build), C(channel)).
  returned: always
  type: list
  elements: dict
packages_removed:
  description: Packages that are no longer installed.
  returned: always
  type: list
  elements: dict
packages_changed:
  description: Packages whose version or build changed (C(name), C(before), C(after)).
  returned: always
  type: list
  elements: dict
packages_prefilled:
  description: The package files put into conda's package cache from O(package_archive).
  returned: when O(package_archive) is given
  type: list
  elements: str
  sample: [numpy-2.1.0-py311_0.conda]
  version_added: 0.3.0
exception_name:
  description: conda's exception name when conda failed (for example C(PackagesNotFoundInChannelsError)).
  returned: failure
  type: str
rolled_back:
  description:
    - Whether the changes of a failed run were undone (the environment is as it was before the run).
    - V(false) when they could not be, for instance the distributions a failed pip run installed (pip packages are
      never removed).
  returned: on failure, when the failed run had changed the environment (absent when it changed nothing)
  type: bool
conda_message:
  description: conda's own error message when conda failed.
  returned: failure
  type: str
stdout:
  description: What the failed conda or pip process printed on its standard output (conda's JSON error document).
  returned: on failure, at verbosity 3 (C(-vvv)) or more
  type: str
stderr:
  description: What the failed conda or pip process printed on its standard error.
  returned: on failure, at verbosity 3 (C(-vvv)) or more
  type: str
found:
  description: What was at the environment's path when it was a half-made environment (removed, then created again
    or left removed).
  returned: when a half-made environment was found
  type: str
  sample: a half-made environment (a create this collection started, 1 package record, no conda-meta/history)
"""

from ansible_collections.condafleet.conda.plugins.module_utils._env_run import SPEC, run
from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule


def main():
    run(MaskedModule(**SPEC))


if __name__ == "__main__":
    main()
