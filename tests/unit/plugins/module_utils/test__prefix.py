# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_prefix: reading a prefix's conda-meta and telling an installation from what is not one."""
from __future__ import annotations

from ansible_collections.condafleet.conda.plugins.module_utils import _prefix

from recordings import make_env


def test_installation_error_names_what_is_there(tmp_path):
    assert "nothing is there" in _prefix.installation_error(str(tmp_path / "nope"))
    env = make_env(tmp_path / "env")  # conda-meta/history, no bin/conda
    msg = _prefix.installation_error(str(env))
    assert str(env) in msg and "conda environment" in msg
    assert msg.endswith("; set prefix (Miniforge installs into ~/miniforge3 or /opt/miniforge3, Miniconda into "
                        "~/miniconda3)")


def test_meta_fingerprint_sees_changes(tmp_path):
    env = make_env(tmp_path / "e", records=[{"name": "a", "version": "1", "build": "0"}])
    before = _prefix.meta_fingerprint(str(env))
    assert _prefix.meta_fingerprint(str(env)) == before
    (env / "conda-meta" / "b-1-0.json").write_text("{}")
    assert _prefix.meta_fingerprint(str(env)) != before


def test_package_records_parses_only_what_is_asked(tmp_path):
    env = make_env(tmp_path / "e", records=[
        {"name": "numpy", "version": "2.1.0", "build": "py311_0", "depends": ["python"]},
        {"name": "scikit-learn", "version": "1.3.2", "build": "py311_0", "depends": ["numpy"]},
    ])
    (env / "conda-meta" / "broken-1-0.json").write_text("{")
    quick = _prefix.package_records(str(env), ["numpy"])
    assert quick == [{"name": "broken", "version": "1", "build": "0"},
                     {"name": "numpy", "version": "2.1.0", "build": "py311_0", "depends": ["python"]},
                     {"name": "scikit-learn", "version": "1.3.2", "build": "py311_0"}]
    assert [r["name"] for r in _prefix.package_records(str(env))] == ["numpy", "scikit-learn"]


def test_torn_records_are_record_names_whose_content_is_not_json(tmp_path):
    from ansible_collections.condafleet.conda.plugins.module_utils._prefix import torn_records
    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "numpy-2.1.0-py311_0.json").write_text('{"name": "numpy", "version": "2.1.0", "bui')
    (meta / "python-3.11.9-h0_0.json").write_text('{"name": "python", "version": "3.11.9", "build": "h0_0"}')
    (meta / "history").write_text("")
    (meta / "notes.txt").write_text("{")
    assert torn_records(str(tmp_path / "env")) == ["numpy-2.1.0-py311_0.json"]
    assert torn_records(str(tmp_path / "missing")) == []
