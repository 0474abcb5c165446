# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""pytest fixtures for the offline conda world: TEST INFRASTRUCTURE ONLY.

Use from any test suite::

    sys.path.insert(0, "<repo>/tests/world")
    from fixtures import *   # noqa

Fixtures:

``world`` (session)
    The built world (cached in ``<repo>/.cache/world``; built on first use):
    a ``World`` with ``.root``, ``.channel`` (build_channel's dict),
    ``.installers`` ({(distribution, version): path}), ``.installer(dist, ver)``.
``world_server`` (session)
    A running ``server.Server`` over ``world.root`` (port 8731 when free, else
    any): ``.url``, ``.count(substr)``, ``.channel_url(name)``.
``conda_home`` (function)
    A fresh ``HOME`` (``tmp_path/home``) set in ``os.environ`` for the test, so
    ``~/.condarc`` and ``~/.conda/environments.txt`` are the test's own.
``conda_base`` / ``conda_base_old`` (function)
    A fresh installation of Miniconda3 26.7.1 / 25.3.1 in ``tmp_path``, its
    ``.condarc`` pointing at ``world_server.url`` (channel_alias and
    default_channels); returns the prefix path (str). Uses ``conda_home``.
``miniforge_base`` (function)
    The same with Miniforge3 26.7.1 (``channels: [conda-forge]``).
``shared_pkgs_dir`` (session)
    One package cache for a whole session (a temporary directory). Not used by
    the fixtures above; a test that installs packages sets
    ``CONDA_PKGS_DIRS`` to it (after ``conda_home``, which clears it) so that
    every base links from one cache instead of downloading into its own ``pkgs/``.

Helpers: ``install_base(installer, prefix, url)``, ``point_condarc(prefix, url)``,
``run_conda(prefix, *args, env=None)``
(returns a CompletedProcess with ``.json`` parsed from stdout when possible).
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import installer as _installer  # noqa: E402

WORLD_DIR = os.path.join(REPO, ".cache", "world")

__all__ = ["world", "world_server", "conda_home", "conda_base", "conda_base_old",
           "miniforge_base", "shared_pkgs_dir", "install_base", "run_conda", "point_condarc", "World",
           "WORLD_DIR"]


class World:
    def __init__(self, root, channel, installers):
        self.root = root
        self.channel = channel
        self.installers = installers

    def installer(self, distribution="Miniconda3", version=_installer.NEW_VERSION):
        return self.installers[(distribution, version)]


def build_world(root=WORLD_DIR):
    import build
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, ".world.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        res = build.build(root, quiet=True)
    return World(res["root"], res["channel"], res["installers"])


@pytest.fixture(scope="session")
def world():
    return build_world()


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="session")
def world_server(world, tmp_path_factory):
    from server import Server
    # CONDAFLEET_WORLD_TEST_PORT=0 keeps the tests off 8731 (molecule's and the demo's port)
    wanted = int(os.environ.get("CONDAFLEET_WORLD_TEST_PORT", _installer.DEFAULT_PORT))
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0":
        wanted = 0  # under pytest-xdist only the first worker tries the default port
    port = wanted if wanted and _port_free(wanted) else 0
    log = str(tmp_path_factory.mktemp("world-server") / "access.log")
    with Server(world.root, port=port, log_path=log) as srv:
        yield srv


@pytest.fixture(scope="session")
def shared_pkgs_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("conda-pkgs"))


@pytest.fixture
def conda_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    for var in ("CONDARC", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_SHLVL", "CONDA_EXE",
                "CONDA_ENVS_PATH", "CONDA_PKGS_DIRS", "CONDA_CHANNELS", "CONDA_OVERRIDE_CUDA"):
        monkeypatch.delenv(var, raising=False)
    return str(home)


def point_condarc(prefix, url):
    """Rewrite PREFIX/.condarc so that it points at ``url`` (keeps the channels and other keys).

    Also for upstream's installers (``build.py --upstream``): Miniforge's
    ``.condarc`` has no ``channel_alias`` (one is added), Miniconda has none at all
    (one like the world's Miniconda preset is written)."""
    url = url.rstrip("/")
    path = os.path.join(prefix, ".condarc")
    if not os.path.exists(path):
        text = "channels:\n  - defaults\ndefault_channels:\n  - %s/conda-forge\n" % url
    else:
        with open(path) as fh:
            text = fh.read()
    lines, skip, alias = [], False, False
    for line in text.splitlines():
        if line.startswith("channel_alias:"):
            lines.append("channel_alias: %s" % url)
            alias = True
            continue
        if line.startswith("default_channels:"):
            lines.append("default_channels:")
            lines.append("  - %s/conda-forge" % url)
            skip = True
            continue
        if skip and line.startswith("  "):
            continue
        skip = False
        lines.append(line)
    if not alias:
        lines.append("channel_alias: %s" % url)
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def install_base(installer_path, prefix, url=None, args=("-b",), env=None, check=True):
    """Run an installer into ``prefix``; point its .condarc at ``url``."""
    proc = subprocess.run(["sh", installer_path] + list(args) + ["-p", str(prefix)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("installer failed (%d): %s%s" % (proc.returncode, proc.stdout, proc.stderr))
    if url and proc.returncode == 0:
        point_condarc(str(prefix), url)
    return proc


def run_conda(prefix, *args, env=None, timeout=300):
    """Run PREFIX/bin/conda ARGS; the result carries ``.json`` (or None)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([os.path.join(str(prefix), "bin", "conda")] + [str(a) for a in args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=full_env, timeout=timeout, check=False)
    try:
        proc.json = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        proc.json = None
    return proc


def _base(world, world_server, tmp_path, dist, version, dirname):
    prefix = tmp_path / dirname
    install_base(world.installer(dist, version), prefix, world_server.url)
    return str(prefix)


@pytest.fixture
def conda_base(world, world_server, tmp_path, conda_home):
    return _base(world, world_server, tmp_path, "Miniconda3", _installer.NEW_VERSION, "miniconda3")


@pytest.fixture
def conda_base_old(world, world_server, tmp_path, conda_home):
    return _base(world, world_server, tmp_path, "Miniconda3", _installer.OLD_VERSION, "miniconda3")


@pytest.fixture
def miniforge_base(world, world_server, tmp_path, conda_home):
    return _base(world, world_server, tmp_path, "Miniforge3", _installer.NEW_VERSION, "miniforge3")
