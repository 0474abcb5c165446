# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: after the check run and the real run, the host is converged."""

PREFIX = "/opt/conda"


def test_installed(host):
    assert host.check_output("%s/bin/conda --version" % PREFIX) == "conda 26.7.1"


def test_webdev_python(host):
    out = host.run("%s/envs/webdev/bin/python --version" % PREFIX)
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).strip().startswith("Python 3.12.")


def test_absent_environment_not_created(host):
    assert not host.file("%s/envs/legacy" % PREFIX).exists
