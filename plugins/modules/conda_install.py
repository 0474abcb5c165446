#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: conda_install
short_description: Install, upgrade, repair and remove Miniforge or Miniconda, verified
version_added: 0.1.0
description:
  - Installs a base conda distribution (Miniconda or Miniforge) into O(prefix) with the upstream installer, run in
    batch mode, after checking its SHA-256.
  - Whether something is installed is read from disk alone (C(conda-meta/history), C(bin/conda) and the C(conda)
    record in C(conda-meta)); conda is never run for it, and a host already at the requested version downloads
    nothing.
  - A prefix left half-written by an interrupted install is detected and installed again. A non-empty directory
    that is not a conda installation is refused, never overwritten or removed.
  - With O(installer_cache=controller), or an O(installer_src) on the controller, the action plugin downloads the
    installer once on the controller, keeps it in a cache, verifies it and copies it to the hosts that need it.
  - For organisations bound by Anaconda's terms of service, prefer O(distribution=miniforge), which installs from
    conda-forge only and is free of those terms.
author:
  - condafleet.conda contributors (@condafleet)
attributes:
  check_mode:
    details:
      - Predicts the action from disk without downloading the installer. With O(state=latest) and O(version=latest)
        it reads the first kilobytes of the installer (or the URL it redirects to) to learn its version.
  diff_mode:
    details:
      - Shows the prefix, its state and the conda version before and after.
  action:
    description: Has an action plugin, so some of the work can run on the controller.
    support: full
    details:
      - The action plugin runs on the controller for O(installer_cache=controller) and for an O(installer_src) on
        the controller; otherwise it only runs the module.
extends_documentation_fragment:
  - condafleet.conda.attributes
  - condafleet.conda.installation
options:
  state:
    description:
      - V(present) installs when nothing is there and keeps any existing installation, upgrading it only when
        O(version) names a newer release than the installed one.
      - V(latest) also upgrades in place (installer C(-u)) when the installer that O(version) designates is newer
        than the installed conda. With O(version=latest) the installer's version is learned before anything is
        downloaded, from the file name the URL redirects to (Miniforge's C(latest) URLs) or from the version line
        (C(# VER:) or C(INSTALLER_VER=)) in the first kilobytes of the installer.
      - Miniforge's upstream C(latest) copies have no C(.sha256) sidecar; without O(checksum) the module installs the
        versioned asset that C(latest) redirects to, verified against its sidecar.
      - V(absent) removes the prefix, only when it is a conda installation (complete or interrupted), and removes
        the C(conda init) block that points at it from the shell rc files of O(init_users).
      - A prefix counts as a conda installation only on positive evidence. Complete means C(conda-meta/history),
        C(bin/conda) and a conda package record. Interrupted means the marker C(.condafleet-install) that this module
        writes before its installer runs and removes once the installation is complete. Any other non-empty
        directory (a plain environment, a folder with files) is refused for every O(state), with what was found
        there.
    type: str
    choices: [present, latest, absent]
    default: present
  distribution:
    description:
      - V(miniconda) is Anaconda's installer; its C(defaults) channels are subject to Anaconda's terms of service.
      - V(miniforge) is conda-forge's installer, with conda-forge as its only channel.
      - The default was V(miniconda) in version 0.1.0. Miniconda's C(latest) installer has no checksum to verify
        it against, so the old default failed without O(checksum).
    type: str
    choices: [miniconda, miniforge]
    default: miniforge
  version:
    description:
      - The installer release, conda version and build number as in its file name (V(26.3.2-3), V(25.3.1-1)), or
        V(latest).
      - Compared with the installed conda version (build number ignored); an installed conda newer than the
        requested one is never downgraded.
    type: str
    default: latest
  python:
    description:
      - The Python version of a Miniconda installer with a pinned O(version) (Miniconda only), as O(condafleet.conda.conda_env#module:python)
        takes it, for example V("3.12"); the tag of the installer's file name (V(py312)) is accepted too.
      - Defaults to V("3.13") when the name of a Miniconda installer is derived.
    type: str
  installer_url:
    description:
      - The installer's URL, instead of deriving it from O(distribution), O(version) and the host's platform.
      - Set O(version) to the release it contains so that upgrades can be decided without downloading it.
    type: str
  mirror_url:
    description:
      - Base URL of a mirror holding the installers under their upstream file names, each with a C(.sha256) sidecar.
    type: str
  installer_src:
    description:
      - An installer file already on the controller (default), or on the host with O(remote_src=true).
      - A C(.sha256) sidecar next to it is used when no O(checksum) is given.
    type: path
  remote_src:
    description:
      - O(installer_src) is a path on the host.
    type: bool
    default: false
  checksum:
    description:
      - The installer's digest, V(sha256:HEX).
    type: str
  checksum_url:
    description:
      - URL of a C(.sha256) file (C(sha256sum) output or a bare digest) for the installer.
    type: str
  allow_unverified:
    description:
      - Install an installer whose checksum nobody published (Miniconda from upstream with neither O(checksum) nor
        O(checksum_url)). Without it the module fails. Never allowed for a plain http URL.
    type: bool
    default: false
  installer_cache:
    description:
      - V(host) downloads the installer on each host that needs it, into O(tmp_dir), and deletes it afterwards.
      - V(controller) downloads it once into O(cache_dir) on the controller (for the whole play), verifies it, and
        copies it to the hosts that need it; hosts need no network access.
    type: str
    choices: [host, controller]
    default: host
  cache_dir:
    description:
      - Controller directory for O(installer_cache=controller). Defaults to C(~/.cache/condafleet/installers).
    type: path
  tmp_dir:
    description:
      - Host directory for the downloaded installer. It may be mounted noexec (the installer runs through C(bash)).
      - Defaults to Ansible's remote temporary directory.
    type: path
  headers:
    description:
      - HTTP headers for the downloads (for example an authenticated mirror's token). Kept out of logs.
    type: dict
  url_username:
    description:
      - User name for HTTP basic authentication to the mirror.
    type: str
  url_password:
    description:
      - Password for HTTP basic authentication to the mirror. Kept out of logs and results.
    type: str
  force_basic_auth:
    description:
      - Send the basic authentication header with the first request.
    type: bool
    default: false
  validate_certs:
    description:
      - Verify TLS certificates of the download URLs.
    type: bool
    default: true
  timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: int
    default: 60
  lock_timeout:
    description:
      - Seconds to wait for another run of this module on the same prefix of the same host (another play, a
        second task) to finish before failing.
      - A run that has something to install, upgrade, repair or remove takes a lock first, the file
        C(.NAME.condafleet-install.lock) next to the prefix (in its parent directory, created if need be), and
        decides again once it holds it, so that a second run finds the first one's installation and changes
        nothing. The file is removed when the run is over (one left by a killed run goes with the next run that
        takes the lock). A run that cannot write the parent directory locks the existing prefix directory instead.
      - A run with nothing to do, and check mode, take no lock.
    type: int
    default: 1800
  umask:
    description:
      - The umask the installer runs with, as an octal string.
      - V(0002) is used when O(group_writable=true).
    type: str
    default: "0022"
  owner:
    description:
      - Owner of the installation. Applied to the whole tree after an install or upgrade, and checked on the prefix
        directory otherwise.
    type: str
  group:
    description:
      - Group of the installation, applied like O(owner).
    type: str
  mode:
    description:
      - Mode of the prefix directory itself, as an octal string (for example V('2775') for a shared installation).
    type: str
  group_writable:
    description:
      - Make the whole installation group-writable (and directories setgid) after an install or upgrade, for a shared
        multi-user installation managed by O(group).
    type: bool
    default: false
  init_shells:
    description:
      - Shells whose rc file gets the C(conda init) block for this prefix (C(~/.bashrc), C(~/.zshrc)) for each of
        O(init_users). Written by the module itself, the same block C(conda init) writes; conda is not run.
        A symlinked rc file is updated through the link (its target keeps its owner and mode); a dangling link is refused.
      - Off by default.
    type: list
    elements: str
    default: []
  init_users:
    description:
      - Users for O(init_shells), and whose rc files O(state=absent) cleans. Defaults to the user the module runs as.
    type: list
    elements: str
notes:
  - The installer runs as C(bash INSTALLER -b -p PREFIX), plus C(-u) to upgrade or repair in place, and C(-f) when
    the prefix is an existing empty directory.
  - Miniconda 25.x and later configure Anaconda's channels, which need their terms of service accepted before the
    first package operation (see the collection's README); Miniforge does not.
  - Credentials in URLs (O(installer_url), O(mirror_url), O(checksum_url); C(user:password@), C(/t/<token>/),
    C(?token=)) are masked (C(********)) in the results, messages, the invocation, the host's log and the controller
    cache's C(source.json).
seealso:
  - name: Miniforge
    description: conda-forge's installer and its releases.
    link: https://github.com/conda-forge/miniforge
"""

EXAMPLES = r"""
- name: Install Miniforge, verified against its published sidecar
  condafleet.conda.conda_install:
    prefix: /opt/conda
    distribution: miniforge
    version: 26.3.2-3

- name: Keep Miniforge at the latest release
  condafleet.conda.conda_install:
    prefix: /opt/conda
    distribution: miniforge
    state: latest

- name: Miniconda, pinned, with its checksum from Anaconda's index
  condafleet.conda.conda_install:
    prefix: /opt/miniconda3
    version: 26.5.3-1
    python: py313
    checksum: sha256:7358a5961dc6a4941d087281cd70313728fcc68695735e18a337321bc31c7f51

- name: Air-gapped fleet, one download on the controller from an authenticated mirror
  condafleet.conda.conda_install:
    prefix: /opt/conda
    distribution: miniforge
    version: 26.3.2-3
    mirror_url: https://mirror.example.org/miniforge
    url_username: fleet
    url_password: "{{ mirror_password }}"
    installer_cache: controller

- name: Shared installation for the group "science", with bash initialised for two users
  condafleet.conda.conda_install:
    prefix: /srv/conda
    distribution: miniforge
    version: 26.3.2-3
    group: science
    mode: "2775"
    group_writable: true
    init_shells: [bash]
    init_users: [alice, bob]

- name: Remove it, and the conda init blocks of those users
  condafleet.conda.conda_install:
    prefix: /srv/conda
    state: absent
    init_users: [alice, bob]
"""

RETURN = r"""
prefix:
  description: The installation prefix.
  returned: always
  type: str
  sample: /opt/conda
conda_exe:
  description: Path of the conda executable, or V(null) when nothing is installed.
  returned: always
  type: str
  sample: /opt/conda/bin/conda
version:
  description: The conda version installed after the task (predicted in check mode), or V(null).
  returned: always
  type: str
  sample: 26.3.2
previous_version:
  description: The conda version installed before the task, or V(null).
  returned: always
  type: str
  sample: 25.3.1
distribution:
  description: The requested distribution.
  returned: always
  type: str
  sample: miniforge
installer_url:
  description: Where the installer came (or would come) from, credentials masked (C(********)); V(null) when none was needed.
  returned: always
  type: str
  sample: https://github.com/conda-forge/miniforge/releases/download/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh
action:
  description: What the task did (or would do).
  returned: always
  type: str
  choices: [none, install, reinstall, upgrade, remove]
  sample: install
reason:
  description: Why.
  returned: always
  type: str
  sample: nothing is installed there
rc_files:
  description: Shell rc files whose C(conda init) block was written or removed.
  returned: always
  type: list
  elements: str
  sample: [/home/alice/.bashrc]
msg:
  description: For O(state=absent) with nothing at O(prefix), that nothing was there (and where installations usually are).
  returned: when O(state=absent) found nothing to remove
  type: str
  sample: "no conda installation at /opt/conda (nothing is there); set prefix (Miniforge installs into ~/miniforge3 or
    /opt/miniforge3, Miniconda into ~/miniconda3); nothing to remove"
installer_sha256:
  description: The verified digest of the installer that ran.
  returned: when an installer ran
  type: str
stdout:
  description: What a failed installer printed on its standard output (its last line is in C(msg)).
  returned: when the installer failed, at verbosity 3 (C(-vvv)) or more
  type: str
stderr:
  description: What a failed installer printed on its standard error.
  returned: when the installer failed, at verbosity 3 (C(-vvv)) or more
  type: str
"""

from ansible_collections.condafleet.conda.plugins.module_utils._install_run import SPEC, run
from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule


def main():
    run(MaskedModule(**SPEC))


if __name__ == "__main__":
    main()
