# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra: the mirror in .condarc and an environment solved from it."""

import json

PREFIX = "/opt/conda"


def test_condarc_points_at_the_mirror(host):
    shown = json.loads(host.check_output("%s/bin/conda config --show --json" % PREFIX))
    assert "127.0.0.1:8731" in json.dumps(shown.get("custom_channels", {}))
    assert "defaults" not in shown["channels"]


def test_webdev_from_the_mirror(host):
    listing = json.loads(host.check_output("%s/bin/conda list -n webdev --json" % PREFIX))
    assert "fastapi" in {r["name"] for r in listing}
    out = host.run("%s/envs/webdev/bin/python --version" % PREFIX)
    assert out.rc == 0, out.stderr
