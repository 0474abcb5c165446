# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_history: the requested specs and the revision of an environment, from the histories the real
conda 26.7.1 and 25.3.1 wrote (tests/world/record.py)."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _history

from recordings import NEW, OLD, both, make_env, recorded_file


@both
def test_read_history_specs_follows_update_and_remove(version, tmp_path):
    env = make_env(tmp_path / "vision", history=recorded_file(version, "files-vision-history.txt"))
    assert _history.read_history_specs(str(env)) == {"python": "python=3.11", "numpy": "numpy", "opencv": "opencv"}
    assert _history.read_history_specs(str(env), ["numpy", "python"]) == {"python": "python=3.11", "numpy": "numpy"}
    assert _history.history_revision(str(env)) == 2
    assert _history.read_history_specs(str(tmp_path / "nothing")) == {}


@pytest.mark.parametrize("version, python", [
    # conda's History.get_requested_specs_map(): neutered specs override the update specs of
    # the same request; conda-rattler-solver (26.7.1) also neuters the requested python.
    (NEW, "python==3.12.4"),
    (OLD, "python=3.12"),
])
def test_read_history_specs_neutered(version, python, tmp_path):
    history = recorded_file(version, "files-neuter-history.txt")
    assert "# neutered specs: " in history
    env = make_env(tmp_path / "neuter", history=history)
    assert _history.read_history_specs(str(env)) == {"python": python, "pandas": "pandas==2.2.2"}
    assert _history.history_revision(str(env)) == 1


@both
def test_read_history_specs_of_lock_file_env(version, tmp_path):
    env = make_env(tmp_path / "locked", history=recorded_file(version, "files-locked-history.txt"))
    specs = _history.read_history_specs(str(env))
    assert sorted(specs) == ["numpy", "opencv", "pandas", "pip", "python"]
    assert all(spec.startswith("defaults/linux-64::%s==" % name) for name, spec in specs.items())
    assert _history.history_revision(str(env)) == 1  # the install --file of 37 adds a revision without specs


@both
def test_read_history_specs_of_empty_env(version, tmp_path):
    env = make_env(tmp_path / "empty", history=recorded_file(version, "files-empty-history.txt"))
    assert _history.read_history_specs(str(env)) == {}
    assert _history.history_revision(str(env)) == 0


def test_read_history_specs_old_formats(tmp_path):
    env = make_env(tmp_path / "old", history=(
        "==> 2017-01-01 00:00:00 <==\n# install specs: numpy 1.11*, scipy\n"
        "==> 2017-01-02 00:00:00 <==\n# update specs: [\"conda-forge::numpy >=1.12\"]\n# neutered specs: ['scipy']\n"))
    assert _history.read_history_specs(str(env)) == {"numpy": "conda-forge::numpy >=1.12", "scipy": "scipy"}
