# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converged check of an environment: from disk (what conda_env does) vs asking conda (--dry-run).

    .venv/bin/python bench/bench_env_check.py [--runs 20] [--conda-runs 5] [--base PREFIX]

Side by side, on the same machine:

* from disk: read ``conda-meta/*.json`` of a 100-package environment (synthesized
  records with realistic sizes and ``depends``), validate the specs and decide with
  ``_envspec.plan()`` -- exactly the code path of a converged ``conda_env`` run;
  the same check on the real environment made by conda is timed too;
* asking conda: ``PREFIX/bin/conda install -p ENV --dry-run --json SPECS`` on a real
  environment made by that conda (what peers do to decide "changed").

Without ``--base`` it installs the offline world's Miniconda of the real conda
26.7.1 into a temporary prefix (tests/world; builds the world on first use). Prints one JSON object with
medians and the ratio; exits 0 whatever the numbers (no timed assertions).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
# tests/conftest.py makes this checkout importable as ansible_collections.condafleet.conda
import conftest  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position

from ansible_collections.condafleet.conda.plugins.module_utils import _envspec, _prefix, _runner  # noqa: E402

SPECS = ["python=3.11", "numpy", "pandas=2.2", "scikit-learn", "opencv", "fastapi"]


def synthesize(prefix, count=100):
    """A prefix with ``count`` package records shaped like conda's (files, paths_data, depends)."""
    meta = os.path.join(prefix, "conda-meta")
    os.makedirs(meta)
    with open(os.path.join(meta, "history"), "w") as handle:
        handle.write("==> 2026-11-24 18:14:15 <==\n# update specs: %r\n" % (SPECS,))
    names = ["python", "numpy", "pandas", "scikit-learn", "opencv", "fastapi", "pip"]
    names += ["lib%03d" % i for i in range(count - len(names))]
    versions = {"python": "3.11.9", "numpy": "2.1.0", "pandas": "2.2.2", "scikit-learn": "1.3.2",
                "opencv": "4.9.0", "fastapi": "0.110.0", "pip": "24.0"}
    for i, name in enumerate(names):
        version = versions.get(name, "1.%d.0" % i)
        deps = ["python >=3.11,<3.12.0a0"] if name != "python" else ["__glibc >=2.17"]
        deps += ["lib%03d >=1.0" % j for j in range(max(0, i - 9), i - 7) if j >= 0]
        files = ["lib/python3.11/site-packages/%s/mod%d.py" % (name, k) for k in range(40)]
        record = {
            "name": name, "version": version, "build": "py311_0", "build_number": 0,
            "channel": "https://conda.anaconda.org/conda-forge/linux-64", "subdir": "linux-64",
            "fn": "%s-%s-py311_0.conda" % (name, version), "md5": "0" * 32, "sha256": "0" * 64,
            "url": "https://conda.anaconda.org/conda-forge/linux-64/%s-%s-py311_0.conda" % (name, version),
            "depends": deps, "constrains": [], "license": "BSD-3-Clause", "timestamp": 1700000000000,
            "size": 123456, "requested_spec": name if name in versions else None, "files": files,
            "paths_data": {"paths_version": 1, "paths": [
                {"_path": f, "path_type": "hardlink", "sha256": "1" * 64, "size_in_bytes": 1000} for f in files]},
            "link": {"source": "/opt/conda/pkgs/%s-%s-py311_0" % (name, version), "type": 1},
        }
        with open(os.path.join(meta, "%s-%s-py311_0.json" % (name, version)), "w") as handle:
            json.dump(record, handle, indent=1)
    return len(names)


def disk_check(prefix, specs):
    """The converged path of conda_env: read, validate, decide. Returns whether conda would be needed."""
    desired = _envspec.desired_state({"packages": specs})
    _envspec.validate(desired)
    names = _envspec.spec_names(desired["specs"])
    records = _prefix.package_records(prefix, names) if _prefix.is_conda_prefix(prefix) else None
    decision = _envspec.plan(records, desired, "present", False, {})
    return _envspec.needs_change(decision)


def timed(func, runs):
    samples = []
    for dummy in range(runs):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


def with_world_base(tmp):
    sys.path.insert(0, os.path.join(ROOT, "tests", "world"))
    import fixtures  # noqa: E402
    import installer  # noqa: E402
    from server import Server  # noqa: E402
    world = fixtures.build_world()
    server = Server(world.root, port=0)
    server.__enter__()
    os.environ["HOME"] = os.path.join(tmp, "home")
    os.makedirs(os.environ["HOME"])
    prefix = os.path.join(tmp, "miniconda3")
    fixtures.install_base(world.installer("Miniconda3", installer.NEW_VERSION), prefix, server.url)
    return prefix, server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--conda-runs", type=int, default=5)
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--base", help="an existing conda installation (default: install the world's Miniconda 26.7.1)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="condafleet-bench-")
    server = None
    try:
        base = args.base
        if not base:
            base, server = with_world_base(tmp)
        conda = os.path.join(base, "bin", "conda")
        real_env = os.path.join(tmp, "real-env")
        created = subprocess.run([conda, "create", "-p", real_env, "--yes", "--json", "--quiet"] + SPECS,
                                 capture_output=True, text=True, check=False)
        if created.returncode != 0:
            raise SystemExit("conda create failed: %s%s" % (created.stdout[-2000:], created.stderr[-2000:]))
        synthetic = os.path.join(tmp, "synthetic-env")
        count = synthesize(synthetic, args.packages)
        assert disk_check(synthetic, SPECS) is False and disk_check(real_env, SPECS) is False

        disk_big, dummy = timed(lambda: disk_check(synthetic, SPECS), args.runs)
        disk_real, dummy = timed(lambda: disk_check(real_env, SPECS), args.runs)

        def ask_conda():
            proc = subprocess.run([conda, "install", "-p", real_env, "--dry-run", "--json", "--quiet"] + SPECS,
                                  capture_output=True, text=True, check=False)
            answer = _runner.parse_json_output(proc.stdout) or {}
            if _runner.killed_by_signal(proc.returncode) and answer.get("success") is True:
                crashes.append(proc.returncode)  # answered, then crashed at exit: timed all the same
            else:
                assert proc.returncode == 0, proc.stdout[-500:] + proc.stderr[-500:]
            assert not _runner.parse_actions(answer)["link"], proc.stdout[-500:]

        crashes = []

        conda_med, conda_samples = timed(ask_conda, args.conda_runs)
        report = {
            "environment_packages_from_disk": count,
            "environment_packages_real": len(_prefix.conda_meta_records(real_env)),
            "specs": SPECS,
            "from_disk_100_packages_median_s": round(disk_big, 6),
            "from_disk_real_env_median_s": round(disk_real, 6),
            "conda_dry_run_median_s": round(conda_med, 4),
            "conda_dry_run_samples_s": [round(s, 4) for s in conda_samples],
            "conda": conda,
            "conda_version": _prefix.conda_version(base),
            "conda_crashes_at_exit": len(crashes),
            "ratio_conda_over_disk_100": round(conda_med / disk_big, 1),
            "ratio_conda_over_disk_real": round(conda_med / disk_real, 1),
            "goal": ">= 20x",
        }
        print(json.dumps(report, indent=2))
    finally:
        if server is not None:
            server.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
