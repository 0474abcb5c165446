# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_tos: Anaconda's channels and the Terms of Service acceptance records."""
from __future__ import annotations

from ansible_collections.condafleet.conda.plugins.module_utils import _tos


def test_anaconda_channels():
    assert _tos.anaconda_channels({"channels": ["defaults", "conda-forge"]}) == list(_tos.DEFAULT_CHANNELS)
    assert _tos.anaconda_channels({"channels": ["conda-forge"]}) == []
    assert _tos.anaconda_channels({"channels": ["defaults"], "default_channels": ["https://m/pkgs/main"]}) == []
    assert _tos.anaconda_channels({"channels": ["defaults"], "default_channels": []}) == list(_tos.DEFAULT_CHANNELS)
    assert _tos.anaconda_channels({"channels": ["pkgs/main", "https://repo.anaconda.com/pkgs/r/"]}) == [
        "https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]


def test_tos_accepted():
    records = [{"base_url": "https://repo.anaconda.com/pkgs/main", "tos_accepted": True},
               {"base_url": "https://repo.anaconda.com/pkgs/r", "tos_accepted": False}]
    assert _tos.tos_accepted(records, "https://repo.anaconda.com/pkgs/main")
    assert not _tos.tos_accepted(records, "https://repo.anaconda.com/pkgs/r")
