# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: has_secrets
short_description: Whether a value carries credentials, by the collection's masking rule
version_added: 0.1.0
author:
  - condafleet maintainers (@condafleet)
description:
  - Returns V(true) when the collection's modules would mask something in the input (replace it by C(********)) in
    what they return and log. That is the password or token of a URL's userinfo (C(https://user:password@host),
    C(https://TOKEN@host)), C(user:password@host) without a scheme (as proxies are often written), conda tokens
    (C(/t/<token>/)), credentials in URL queries (C(?token=...)), and the string value of a dict key named like a
    secret (C(password), C(token), C(api_key), ...).
  - Strings, and every string of a list or dict (keys too), recursively. Anything else holds no credentials.
  - The C(condafleet.conda.conda) role uses it to decide which tasks run with C(no_log) (proxy credentials).
  - The filter runs on the controller and is a pure function of its input.
positional: _input
options:
  _input:
    description: The value to look at.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Hide the task's output when a proxy carries credentials
  ansible.builtin.get_url:
    url: https://example.org/file
    dest: /tmp/file
    mode: "0644"
  environment:
    https_proxy: "{{ proxy }}"
  no_log: "{{ proxy | condafleet.conda.has_secrets }}"
  # proxy: http://bob:secret@proxy.example.org:3128 -> no_log: true
  # proxy: http://proxy.example.org:3128 -> no_log: false
"""

RETURN = r"""
_value:
  description: Whether the input carries a credential.
  type: bool
"""

from ansible_collections.condafleet.conda.plugins.module_utils._secrets import has_secrets as _has_secrets


def has_secrets(value):
    """The ``condafleet.conda.has_secrets`` filter."""
    return _has_secrets(value)


class FilterModule(object):
    """condafleet.conda filters: has_secrets."""

    def filters(self):
        return {"has_secrets": has_secrets}
