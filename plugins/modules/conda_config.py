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

from ansible_collections.condafleet.conda.plugins.module_utils._config_run import SPEC, run
from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule


def main():
    run(MaskedModule(**SPEC))


if __name__ == "__main__":
    main()
