# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_conda_loader: the scripts that have an installation's own Python read a file, run by this Python."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _conda_loader, _yaml_subset

yaml = pytest.importorskip("yaml")  # the scripts' fallback reader, when ruamel.yaml is missing


def test_external_reader_script_reads_what_the_builtin_reader_does_not(tmp_path):
    """The script the module runs with the installation's Python (here: this Python, PyYAML)."""
    import json
    import subprocess
    import sys
    path = tmp_path / ".condarc"
    path.write_text("base: &b\n  - conda-forge\nchannels: *b\nnote: |\n  two\n  lines\n")
    out = subprocess.run([sys.executable, "-c", _conda_loader.CONDARC_READER, str(path)], capture_output=True, text=True,
                         check=True).stdout
    answer = json.loads(out)
    assert answer["reader"] in ("ruamel.yaml", "PyYAML")
    assert answer["data"] == {"base": ["conda-forge"], "channels": ["conda-forge"], "note": "two\nlines\n"}
    assert list(_yaml_subset.parse(path.read_text()).opaque()) == ["base", "channels", "note"]
