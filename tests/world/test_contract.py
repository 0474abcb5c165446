# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Contract tests of the conda double (TEST INFRASTRUCTURE): every transcript of a
real conda 26.7 in ``reference/conda-26.7`` is replayed, in order, against a base
installed by the world's Miniconda installer. ``/opt/miniconda3``, the channel
``file:///srv/conda-channel`` and the scratch files are translated to the
test's. Compared: exit code, top-level JSON keys, ``exception_name``, the
package names of LINK/UNLINK, and the effect on disk.
"""
from __future__ import annotations

import glob
import json
import os

import pytest

from fixtures import install_base, run_conda

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "reference", "conda-26.7")
TRANSCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REF, "[0-9][0-9]-*.json")))

pytestmark = [pytest.mark.world]

ENV_FILES = {  # what /srv/project/environment.yml held at each step
    "23": ["python=3.12", "fastapi", "numpy"],
    "24": ["python=3.12", "fastapi"],
    "25": ["python=3.12", "fastapi"],
}


def load(name):
    with open(os.path.join(REF, name)) as fh:
        return json.load(fh)


class Replay:
    def __init__(self, prefix, tmp, channel_url):
        self.prefix = prefix
        self.tmp = tmp
        self.channel = channel_url
        self.condarc = os.path.join(tmp, "transcript.condarc")
        self.envfile = os.path.join(tmp, "project", "environment.yml")
        self.results = {}

    def tr(self, text):
        return (text.replace("/opt/miniconda3", self.prefix)
                .replace("file:///srv/conda-channel", self.channel)
                .replace("/srv/project/environment.yml", self.envfile)
                .replace("/tmp/transcript.condarc", self.condarc))

    def write_envfile(self, step):
        os.makedirs(os.path.dirname(self.envfile), exist_ok=True)
        chans = [self.channel] + (["nodefaults"] if step == "25" else [])
        with open(self.envfile, "w") as fh:
            fh.write("name: fromfile\nchannels:\n%s\ndependencies:\n%s\n" % (
                "\n".join("  - " + c for c in chans),
                "\n".join("  - " + d for d in ENV_FILES[step])))

    def run(self, name):
        t = load(name)
        step = name[:2]
        if step in ENV_FILES:
            self.write_envfile(step)
        argv = [self.tr(a) for a in t["argv"][1:]]
        res = run_conda(self.prefix, *argv, env=t["env"])
        self.results[step] = res
        return t, res


@pytest.fixture(scope="module")
def replay(world, world_server, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("contract"))
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", home)
    for var in ("CONDARC", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_SHLVL", "CONDA_OVERRIDE_CUDA",
                "CONDA_ENVS_PATH", "CONDA_CHANNELS"):
        mp.delenv(var, raising=False)
    prefix = os.path.join(tmp, "miniconda3")
    install_base(world.installer("Miniconda3", "26.7.1"), prefix, world_server.url)
    # the recorded base had no $ROOT/.condarc, only condarc.d/solver.yml
    os.remove(os.path.join(prefix, ".condarc"))
    os.makedirs(os.path.join(prefix, "condarc.d"))
    with open(os.path.join(prefix, "condarc.d", "solver.yml"), "w") as fh:
        fh.write("solver: rattler\n")
    yield Replay(prefix, tmp, world_server.url.rstrip("/") + "/conda-forge")
    mp.undo()


def _names(actions, key):
    return sorted(r["name"] for r in actions.get(key, []))


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_transcript(replay, name):
    t, res = replay.run(name)
    step = name[:2]
    assert res.returncode == t["rc"], (res.stdout, res.stderr)
    want = t["stdout_json"]
    if want is not None:
        got = res.json
        assert got is not None, res.stdout
        assert type(got) is type(want)
        if isinstance(want, dict):
            assert sorted(got) == sorted(replay.tr(k) for k in want), (sorted(got), sorted(want))
            if "exception_name" in want:
                assert got["exception_name"] == want["exception_name"]
            if "actions" in want:
                assert sorted(got["actions"]) == sorted(want["actions"])
                for key in ("LINK", "UNLINK"):
                    assert _names(got["actions"], key) == _names(want["actions"], key), key
                for rec in got["actions"].get("LINK", []) + got["actions"].get("UNLINK", []):
                    assert sorted(rec) == sorted(want["actions"].get("LINK", want["actions"].get("UNLINK"))[0])
                for rec in got["actions"].get("FETCH", []):
                    assert {"name", "version", "build", "channel", "subdir", "fn", "md5", "url",
                            "sha256", "depends"} <= set(rec)
                assert got["prefix"] == replay.tr(want["prefix"])
            if "envs" in want:
                assert got["envs"] == [replay.tr(e) for e in want["envs"]]
                assert sorted(got["envs_details"]) == sorted(got["envs"])
                for e, d in got["envs_details"].items():
                    assert sorted(d) == sorted(want["envs_details"][replay.prefix.replace(replay.prefix, "/opt/miniconda3")])
                    assert d["name"] == want["envs_details"][e.replace(replay.prefix, "/opt/miniconda3")]["name"]
            if step == "16":
                assert got["dependencies"] == want["dependencies"]
                assert got["name"] == "vision"
            if step == "17":
                assert got["dependencies"] == want["dependencies"]
            if step == "34":
                assert sorted(got) == sorted(replay.tr(k) for k in want)
        else:
            assert [sorted(r) for r in got] == [sorted(r) for r in want]
            assert [r["dist_name"] for r in got] == [r["dist_name"] for r in want]
    else:
        if step == "01":
            assert res.stdout.startswith("conda 26.7.")
        elif step == "15":
            lines = res.stdout.splitlines()
            want_lines = t["stdout"].splitlines()
            assert lines[:3] == want_lines[:3] and lines[4] == "@EXPLICIT"
            assert sorted(l.rsplit("/", 1)[1].split("#")[0] for l in lines[5:]) == \
                sorted(l.rsplit("/", 1)[1].split("#")[0] for l in want_lines[5:])
            assert all("#" in l for l in lines[5:])
        else:
            assert res.stdout == t["stdout"]
    if step in ("32", "35"):
        assert res.stderr == t["stderr"]
    _effects(replay, step)


def _env(replay, name):
    return os.path.join(replay.prefix, "envs", name)


def _installed(replay, env):
    d = os.path.join(_env(replay, env), "conda-meta")
    return sorted(json.load(open(p))["name"] for p in glob.glob(os.path.join(d, "*.json")))


def _effects(replay, step):
    if step == "04":
        assert _installed(replay, "vision") == ["numpy", "opencv", "pip", "python"]
        rec = json.load(open(glob.glob(os.path.join(_env(replay, "vision"), "conda-meta", "numpy-*.json"))[0]))
        want = json.load(open(os.path.join(REF, "files-vision-conda-meta-numpy.json")))
        assert set(want) <= set(rec), set(want) - set(rec)
        assert rec["requested_spec"] == "numpy" and rec["requested_specs"] == ["numpy"]
    if step in ("05", "06"):
        assert not os.path.exists(_env(replay, "finance"))
    if step == "07":
        assert _installed(replay, "finance") == ["pip", "python"]
    if step in ("08", "09"):
        assert "pandas" not in _installed(replay, "vision")
    if step == "10":
        assert "pandas" in _installed(replay, "vision")
    if step == "11":
        assert not os.path.exists(_env(replay, "nosuchenv"))
    if step == "12":
        assert "fastapi" in _installed(replay, "webdev")
    if step == "13":
        assert _installed(replay, "webdev") == ["pip", "python"]
    if step == "18":
        assert "pandas" not in _installed(replay, "vision")
        with open(os.path.join(_env(replay, "vision"), "conda-meta", "history")) as fh:
            got = fh.read()
        with open(os.path.join(REF, "files-vision-history.txt")) as fh:
            want = fh.read()

        def strip(text):
            return [line.split(" ")[0] if line.startswith("==>") else
                    line.split("::")[-1] if line[:1] in "+-" else
                    line.split(":")[0] for line in text.splitlines()]
        assert strip(got) == strip(want)
        assert "# update specs: ['python=3.11', 'numpy', 'opencv']" in got
        assert "# remove specs: ['pandas']" in got
    if step in ("20", "21", "22"):
        assert not os.path.exists(_env(replay, "gpu"))
    if step == "23":
        assert _installed(replay, "fromfile") == ["fastapi", "numpy", "pip", "python"]
    if step == "24":
        assert _installed(replay, "fromfile") == ["fastapi", "pip", "python"]
    if step == "27":
        assert not os.path.exists(_env(replay, "fromfile"))
        with open(os.path.join(os.environ["HOME"], ".conda", "environments.txt")) as fh:
            assert _env(replay, "fromfile") not in fh.read().split()
    if step in ("31", "32", "35"):
        with open(replay.condarc) as fh:
            got = fh.read()
        with open(os.path.join(REF, "files-condarc-after-config.yml")) as fh:
            want = fh.read()
        assert got == replay.tr(want)
