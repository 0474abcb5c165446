# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest plugin of the scenarios' testinfra verifiers: commands through ``podman exec``.

testinfra runs a test's command natively for the connections it knows (ssh, docker, lxc, local) and,
for any other, as an ``ansible -m shell`` run of its own: 4 to 7 seconds a command for the
containers.podman.podman connection of the fleet, most of a scenario's verify time. This maps that
connection to testinfra's podman backend, as the inventory's ``ansible_user`` when it sets one; the
host stays the ansible backend's otherwise (``host.ansible``, its variables, its name). A host whose
connection would need Ansible to become a user or to template a value keeps the ansible run.
Loaded with ``-p testinfra_podman`` (.config/molecule/config.yml).
"""
from __future__ import annotations

import testinfra
from testinfra.utils import ansible_runner

PODMAN_CONNECTIONS = ("containers.podman.podman", "podman")
_ansible_host = ansible_runner.get_ansible_host


def podman_spec(host, hostvars):
    """``podman://[user@]container`` for a host of the podman connection, else None."""
    if hostvars.get("ansible_connection") not in PODMAN_CONNECTIONS or hostvars.get("ansible_become"):
        return None
    container = str(hostvars.get("ansible_host", host))
    user = hostvars.get("ansible_user")
    if "{{" in container or (user and "{{" in str(user)):
        return None
    return "podman://%s%s" % ("%s@" % user if user else "", container)


def get_ansible_host(config, inventory, host, *args, **kwargs):
    spec = podman_spec(host, inventory.get("_meta", {}).get("hostvars", {}).get(host, {}))
    if spec:
        return testinfra.get_host(spec)
    return _ansible_host(config, inventory, host, *args, **kwargs)


ansible_runner.get_ansible_host = get_ansible_host
