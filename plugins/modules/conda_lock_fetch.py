#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_lock_fetch
short_description: Fetch the packages of an @EXPLICIT lock once into a verified cache, packed for the hosts
version_added: 0.3.0
description:
  - Downloads each package an C(@EXPLICIT) lock lists into O(cache_dir), unless the cache has it already, and keeps it
    only when it matches the lock's checksum (C(#<md5>) or C(#sha256:<digest>)). Then packs the lock's packages into
    one uncompressed tar (RV(archive)), made once per set of packages.
  - Run it where the cache is, usually the controller (C(delegate_to=localhost)), before
    M(condafleet.conda.conda_env) installs the lock on the hosts with its
    O(condafleet.conda.conda_env#module:package_archive), so that each package crosses the link to the channel once
    for the whole fleet. The C(condafleet.conda.conda) role does
    this with C(conda_env_package_cache=controller).
  - Runs for many hosts at once take turns on a lock file in O(cache_dir); the first downloads, the others find the
    packages in the cache.
author:
  - condafleet.conda contributors (@condafleet)
extends_documentation_fragment:
  - condafleet.conda.attributes
options:
  lock:
    description:
      - The text of the C(@EXPLICIT) lock (C(conda list --explicit --md5)). Every package line must carry its checksum.
    type: str
    required: true
  cache_dir:
    description: The package cache, C(<cache_dir>/<subdir>/<file>) and C(<cache_dir>/archives/); created when missing.
    type: path
    required: true
  sources:
    description:
      - Directories (such as a host's conda package cache) and tar archives (as this module packs them) to take the
        packages from before downloading them. A file is taken only when it matches the lock's checksum.
      - The C(condafleet.conda.conda) role packs the packages the solving host has just downloaded on that host, and
        gives their archive to the controller's cache, so that no package crosses the link to the channel twice.
    type: list
    elements: path
    default: []
  url_username:
    description: User name for HTTP basic authentication to the channel or mirror.
    type: str
  url_password:
    description: Password for HTTP basic authentication.
    type: str
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the server on each request.
    type: int
    default: 60
notes:
  - The lock's URLs are used as written; URLs with credentials in them are refused (a lock the
    C(condafleet.conda.conda) role writes has none). Give credentials with O(url_username) and O(url_password).
seealso:
  - module: condafleet.conda.conda_env
  - module: condafleet.conda.conda_env_info
"""

EXAMPLES = r"""
- name: Fetch the packages of the vision lock once, on the controller
  condafleet.conda.conda_lock_fetch:
    lock: "{{ lookup('ansible.builtin.file', 'conda-locks/vision.linux-64.5f0c2a9d41b7e3c8.lock') }}"
    cache_dir: "{{ lookup('ansible.builtin.env', 'HOME') }}/.cache/condafleet/packages"
  delegate_to: localhost
  run_once: true
  register: vision_packages

- name: Copy them to each host
  ansible.builtin.copy:
    src: "{{ vision_packages.archive }}"
    dest: /var/tmp/vision-packages.tar
    mode: "0600"

- name: Install the lock from them, without downloading
  condafleet.conda.conda_env:
    name: vision
    spec_content: "{{ lookup('ansible.builtin.file', 'conda-locks/vision.linux-64.5f0c2a9d41b7e3c8.lock') }}"
    package_archive: /var/tmp/vision-packages.tar
"""

RETURN = r"""
archive:
  description: The tar of the lock's packages (C(<cache_dir>/archives/packages-<digest>.tar)); not made in check mode.
  returned: success
  type: str
  sample: /home/ops/.cache/condafleet/packages/archives/packages-0c1d2e3f4a5b6c7d.tar
packages:
  description: How many packages the lock lists.
  returned: success
  type: int
  sample: 42
fetched:
  description: The packages downloaded by this run (to be fetched, in check mode).
  returned: success
  type: list
  elements: str
  sample: [numpy-2.1.0-py311_0.conda]
taken:
  description: The packages taken from O(sources).
  returned: success
  type: list
  elements: str
  sample: [python-3.11.9-h0_0_cpython.conda]
"""

import functools
import os

from ansible.module_utils.urls import open_url

from ansible_collections.condafleet.conda.plugins.module_utils._envspec import SpecError, parse_explicit
from ansible_collections.condafleet.conda.plugins.module_utils._masked_module import MaskedModule
from ansible_collections.condafleet.conda.plugins.module_utils._pkg_cache import CacheError, fill, pack
from ansible_collections.condafleet.conda.plugins.module_utils._secrets import has_secrets


def main():
    module = MaskedModule(
        argument_spec=dict(
            lock=dict(type="str", required=True),
            cache_dir=dict(type="path", required=True),
            sources=dict(type="list", elements="path", default=[]),
            url_username=dict(type="str"),
            url_password=dict(type="str", no_log=True),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        entries = parse_explicit(p["lock"])
    except SpecError as exc:
        module.fail_json(msg="lock: %s" % exc)
    for entry in entries:
        if has_secrets(entry["url"]):
            module.fail_json(msg="lock: %s carries credentials in its URL; give them as url_username and url_password"
                             % entry["url"])
        if not entry.get("md5") and not entry.get("sha256"):
            module.fail_json(msg="lock: %s has no checksum (#<md5> or #sha256:<digest>): it cannot be verified"
                             % entry["url"])
    opener = functools.partial(open_url, url_username=p["url_username"], url_password=p["url_password"],
                               force_basic_auth=bool(p["url_username"]), validate_certs=p["validate_certs"],
                               timeout=p["timeout"])
    cache_dir = os.path.abspath(p["cache_dir"])
    try:
        fetched, taken = fill(cache_dir, entries, opener, check_mode=module.check_mode, sources=p["sources"])
        archive = None if module.check_mode else pack(cache_dir, entries)
    except CacheError as exc:
        module.fail_json(msg=str(exc))
    names = [entry["url"].rsplit("/", 1)[1] for entry in entries]
    new = set(fetched) | set(taken)
    module.exit_json(changed=bool(new), archive=archive, packages=len(entries), fetched=fetched, taken=taken,
                     diff={"before": "".join("%s\n" % n for n in names if n not in new),
                           "after": "".join("%s\n" % n for n in names)})


if __name__ == "__main__":
    main()
