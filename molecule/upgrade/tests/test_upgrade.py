# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: 25.3.1 upgraded to 26.7.1, the environment kept."""

PREFIX = "/opt/conda"


def test_upgraded(host):
    assert host.check_output("%s/bin/conda --version" % PREFIX) == "conda 26.7.1"


def test_environment_kept(host):
    assert host.file("%s/envs/webdev/kept-by-upgrade" % PREFIX).exists
    out = host.run("%s/envs/webdev/bin/python --version" % PREFIX)
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).strip().startswith("Python 3.12.")
    assert "fastapi" in host.check_output("%s/bin/conda list -n webdev fastapi" % PREFIX)
