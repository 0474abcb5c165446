# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: the lab's ownership, converged by a play that connected as an unprivileged user.

testinfra connects as the play did (ansible_user deploy); what conda must do runs as conda
through deploy's sudo. Each command is an ansible run of its own, so each test asks the
host once.
"""

import json

PREFIX = "/opt/conda"
ENV = PREFIX + "/envs/webdev"
SHARED = (PREFIX, PREFIX + "/envs", PREFIX + "/pkgs", ENV, ENV + "/conda-meta")
CONDA_VERSION = {
    "condafleet-bullseye": "25.3.1",
    "condafleet-bookworm": "26.7.1",
    "condafleet-trixie": "26.7.1",
}


def test_play_connected_as_an_unprivileged_user(host):
    name, uid, groups, setfacl = host.check_output("id -un; id -u; id -Gn; command -v setfacl").splitlines()
    assert (name, uid != "0") == ("deploy", True)
    assert "research" not in groups.split()
    # what let deploy's sudo become conda (podman's connection has no pipelining)
    assert setfacl.endswith("/setfacl")


def test_shared_directories_belong_to_conda_and_research(host):
    out = host.check_output("stat -c '%U %G %a %n' " + " ".join(SHARED))
    for line in out.splitlines():
        user, group, mode, path = line.split()
        assert (user, group) == ("conda", "research"), path
        # group-writable and setgid: the research group shares the installation, environments included
        assert int(mode, 8) & 0o2070 == 0o2070, (path, mode)


def test_nothing_in_the_installation_belongs_to_another_user(host):
    with host.sudo():
        out = host.check_output("find %s ! -user conda -printf '%%u %%p\\n'" % PREFIX)
    assert out == ""


def test_conda_runs_as_its_owner(host):
    with host.sudo("conda"):
        out = host.check_output("%s/bin/conda --version && %s/bin/conda list -n webdev --json" % (PREFIX, PREFIX))
    version, listing = out.split("\n", 1)
    assert version == "conda %s" % CONDA_VERSION[host.backend.get_hostname()]
    assert {"python", "fastapi"} <= {record["name"] for record in json.loads(listing)}


def test_environment_python_runs_for_every_user(host):
    out = host.run("%s/bin/python --version" % ENV)
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).strip().startswith("Python 3.12.")
