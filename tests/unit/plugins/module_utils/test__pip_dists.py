# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_pip_dists: the distributions of a site-packages directory, and who installed them."""
from __future__ import annotations

from ansible_collections.condafleet.conda.plugins.module_utils import _pip_dists


def test_pip_dists_counts_only_what_pip_installed_and_site_dists_counts_everything(tmp_path):
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    for dist, installer in (("condafleet_hello-1.0", "pip"), ("pip-24.0", "conda"), ("TinyJSON-0.1", None)):
        info = site / (dist + ".dist-info")
        info.mkdir(parents=True)
        if installer:
            (info / "INSTALLER").write_text(installer + "\n")
    (site / "Old_Thing-2.3-py3.11.egg-info").write_text("Metadata-Version: 1.0\n")
    # a dist-info without INSTALLER is not pip's: conda packages ship them so
    assert _pip_dists.pip_dists(str(tmp_path)) == {"condafleet-hello": "1.0"}
    assert _pip_dists.dist_versions(str(tmp_path)) == {"condafleet-hello": "1.0", "pip": "24.0", "tinyjson": "0.1",
                                                       "old-thing": "2.3"}
    assert _pip_dists.site_dists(str(tmp_path))["pip"] == {"version": "24.0", "installer": "conda"}
