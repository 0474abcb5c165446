# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""The real conda, as site-packages trees for the world's installers: TEST INFRASTRUCTURE ONLY.

conda is not on PyPI and no channel can be reached, so the world's installers
carry the upstream conda wheels (``conda-26.7.1``, ``conda-25.3.1``, ``menuinst``,
built unchanged from their release tags) read in place from a directory:
``$CONDAFLEET_CONDA_WHEELS``, by default ``<repo>/../shared/vendor/conda``.
Everything else conda needs comes from PyPI by name, pinned below, downloaded
once into ``.cache/downloads/conda-deps/<cpXY>``.

What runs where (measured, see the wheels' README):

- conda 26.7.1 needs Python >= 3.10; it runs with ``solver: rattler``
  (``conda-rattler-solver`` over ``py-rattler``), no pycosat needed. Built for
  3.11 (bookworm) and 3.13 (trixie).
- conda 25.3.1 runs on Python >= 3.9 with the classic solver, whose ``pycosat``
  PyPI has only as a source distribution: it is compiled here in a build root of
  the Debian release whose Python it is for (``localhost/condafleet-build:<release>``,
  made by ``scripts/images``), so its glibc is the release's. Built for 3.9
  (bullseye) and 3.11 (bookworm, where 25.3.1 -> 26.7.1 upgrades are tested).

``site_packages(conda_version, python)`` returns ``(members, solver)``: the
files of that site-packages tree as ``[(relative path, bytes, mode)]``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("CONDAFLEET_CACHE") or os.path.join(REPO, ".cache")
DEPS_DIR = os.path.join(CACHE, "downloads", "conda-deps")
BUILT_DIR = os.path.join(CACHE, "downloads", "conda-built")

#: where the upstream conda wheels are read from (in place, never copied into the repository)
WHEELS_ENV = "CONDAFLEET_CONDA_WHEELS"
DEFAULT_WHEELS = os.path.normpath(os.path.join(REPO, "..", "shared", "vendor", "conda"))
MENUINST_WHEEL = "menuinst-2.5.2-py3-none-any.whl"

#: conda version -> the Pythons its installers are built for and the solver it runs with
BUILDS = {
    "25.3.1": {"pythons": ("3.9", "3.11"), "solver": "classic"},
    "26.7.1": {"pythons": ("3.11", "3.13"), "solver": "rattler"},
}
#: the Debian release whose build root compiles pycosat for a Python
PYCOSAT_RELEASE = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"}
PYCOSAT = "pycosat==0.6.6"

#: PyPI requirements, pinned, for every Python and conda version
COMMON = (
    "archspec==0.2.7", "boltons==26.2.0", "certifi==2026.10.19.post1", "charset-normalizer==3.5.3",
    "conda-package-handling==2.4.0", "conda-package-streaming==0.12.0", "distro==1.9.0",
    "frozendict==2.5.1", "idna==3.20", "jsonpatch==1.33", "jsonpointer==3.0.0", "packaging==26.3",
    "platformdirs==4.4.0", "pluggy==1.6.0", "requests==2.32.5", "ruamel.yaml==0.18.17",
    "ruamel.yaml.clib==0.2.15", "setuptools==82.0.1", "tqdm==4.70.1", "urllib3==2.6.3",
    "zstandard==0.25.0", "tomli-w==1.2.0",
)
#: extra requirements by Python (markers of conda's and menuinst's metadata)
BY_PYTHON = {"3.9": ("tomli==2.5.0",), "3.10": ("tomli==2.5.0", "truststore==0.10.5"),
             "3.11": ("truststore==0.10.5",), "3.13": ("truststore==0.10.5",)}
#: extra requirements by conda version
BY_CONDA = {
    "25.3.1": (),
    "26.7.1": ("msgpack==1.2.4", "backports-zstd==1.8.0", "conda-rattler-solver==0.2.0", "py-rattler==0.26.0"),
}


class MissingWheels(RuntimeError):
    """The upstream conda wheels are not where the world looks for them."""


def wheels_dir():
    return os.path.abspath(os.environ.get(WHEELS_ENV) or DEFAULT_WHEELS)


def conda_wheel(conda_version):
    """Path of the upstream ``conda-<version>`` wheel, or a clear error saying what is needed."""
    directory = wheels_dir()
    name = "conda-%s-py3-none-any.whl" % conda_version
    missing = [n for n in (name, MENUINST_WHEEL) if not os.path.isfile(os.path.join(directory, n))]
    if missing:
        raise MissingWheels(
            "the offline world's installers carry the real conda, built from upstream release tags "
            "with 'pip wheel --no-deps': %s not found in %s. Put the wheels there or point %s at a "
            "directory that holds them (conda-%s and %s)."
            % (", ".join(missing), directory, WHEELS_ENV, conda_version, MENUINST_WHEEL))
    return os.path.join(directory, name)


def requirements(conda_version, python):
    return list(COMMON) + list(BY_PYTHON[python]) + list(BY_CONDA[conda_version])


def _tag(python):
    return "cp" + python.replace(".", "")


def _pip(*args):
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"] + list(args)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), proc.stdout[-3000:]))


def dependency_wheels(conda_version, python):
    """The pinned PyPI wheels for ``python``, downloaded once; returns their paths."""
    reqs = requirements(conda_version, python)
    dest = os.path.join(DEPS_DIR, _tag(python))
    wanted = {_norm(r.split("==")[0]): r.split("==")[1] for r in reqs}
    have = _present(dest, wanted)
    if len(have) < len(wanted):
        os.makedirs(dest, exist_ok=True)
        todo = [r for r in reqs if _norm(r.split("==")[0]) not in have]
        _pip("download", "--no-deps", "--only-binary=:all:", "--python-version", python,
             "--implementation", "cp", "--abi", _tag(python), "--abi", "abi3", "--abi", "none",
             "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
             "--platform", "manylinux2014_x86_64", "--platform", "manylinux1_x86_64",
             "--platform", "manylinux_2_5_x86_64", "--platform", "any", "-d", dest, *todo)
        have = _present(dest, wanted)
        lacking = sorted(set(wanted) - set(have))
        if lacking:
            raise RuntimeError("pip did not bring wheels for %s (Python %s)" % (", ".join(lacking), python))
    return [have[name] for name in sorted(have)]


def _norm(name):
    return name.lower().replace("_", "-").replace(".", "-")


def _present(directory, wanted):
    """{normalised name: path} of the wheels in ``directory`` whose version is the pinned one."""
    found = {}
    if not os.path.isdir(directory):
        return found
    for fn in sorted(os.listdir(directory)):
        if not fn.endswith(".whl"):
            continue
        name, version = fn.split("-")[:2]
        name = _norm(name)
        if wanted.get(name) == version:
            found[name] = os.path.join(directory, fn)
    return found


def _container_env():
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "podman", "containers.conf"))
    return env


def build_image(release):
    return "localhost/condafleet-build:%s" % release


def pycosat_extension(python):
    """pycosat compiled for ``python`` in its release's build root; returns ``(filename, path)``."""
    release = PYCOSAT_RELEASE[python]
    soname = "pycosat.cpython-%s-x86_64-linux-gnu.so" % python.replace(".", "")
    target = os.path.join(BUILT_DIR, "%s-%s" % (PYCOSAT.replace("==", "-"), release), soname)
    if os.path.isfile(target):
        return soname, target
    sdist_dir = os.path.join(CACHE, "downloads", "sdist")
    os.makedirs(sdist_dir, exist_ok=True)
    sdists = [f for f in os.listdir(sdist_dir) if f.startswith(PYCOSAT.replace("==", "-"))]
    if not sdists:
        _pip("download", "--no-deps", "--no-binary", ":all:", "-d", sdist_dir, PYCOSAT)
        sdists = [f for f in os.listdir(sdist_dir) if f.startswith(PYCOSAT.replace("==", "-"))]
    work = tempfile.mkdtemp(prefix="condafleet-pycosat-")
    try:
        with tarfile.open(os.path.join(sdist_dir, sdists[0])) as tar:
            tar.extractall(work)
        src = os.path.join(work, os.listdir(work)[0])
        script = (
            "set -e; cd /src; gcc -O2 -shared -fPIC -DNDEBUG -I/usr/include/python{py} pycosat.c -o {so}; "
            "python{py} -c 'import sys; sys.path.insert(0, \".\"); import pycosat; "
            "assert pycosat.solve([[1, -5, 4], [-1, 5, 3, 4], [-3, -4]]) == [1, -2, -3, -4, 5]'"
        ).format(py=python, so=soname)
        cmd = ["podman", "run", "--rm", "--network", "none", "-v", "%s:/src" % src, build_image(release),
               "sh", "-c", script]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              env=_container_env(), check=False)
        if proc.returncode != 0:
            raise RuntimeError("building %s for Python %s in %s failed (run scripts/images first):\n%s"
                               % (PYCOSAT, python, build_image(release), proc.stdout[-3000:]))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(src, soname), target + ".tmp")
        os.replace(target + ".tmp", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return soname, target


def _wheel_members(path):
    """Files a wheel installs into site-packages: ``[(relative path, bytes, mode)]``.

    ``NAME.data/purelib`` and ``platlib`` go to site-packages as pip puts them;
    ``scripts`` and ``data`` are left out (the installer lays out ``bin/conda``
    with ``conda init --install``, as a real installation has it).
    """
    out = []
    with zipfile.ZipFile(path) as zf:
        for zi in zf.infolist():
            if zi.is_dir():
                continue
            name = zi.filename
            head, _, rest = name.partition("/")
            if head.endswith(".data"):
                kind, _, rest = rest.partition("/")
                if kind not in ("purelib", "platlib"):
                    continue
                name = rest
            mode = (zi.external_attr >> 16) & 0o777 or 0o644
            out.append((name, zf.read(zi), mode))
    # pip marks what it installed; conda tells pip-installed packages from its own by this file
    for name, _, _ in list(out):
        if name.endswith(".dist-info/METADATA"):
            out.append((name[:-len("METADATA")] + "INSTALLER", b"pip\n", 0o644))
    return out


def site_packages(conda_version, python):
    """``(members, solver)`` of the site-packages tree for ``conda_version`` on ``python``."""
    build = BUILDS[conda_version]
    if python not in build["pythons"]:
        raise ValueError("conda %s is not built for Python %s" % (conda_version, python))
    members = []
    for wheel in [conda_wheel(conda_version), os.path.join(wheels_dir(), MENUINST_WHEEL)] + \
            dependency_wheels(conda_version, python):
        members.extend(_wheel_members(wheel))
    if build["solver"] == "classic":
        soname, path = pycosat_extension(python)
        with open(path, "rb") as fh:
            members.append((soname, fh.read(), 0o755))
    return members, build["solver"]


def fingerprint(conda_version):
    """Changes whenever what goes into ``conda_version``'s installers changes."""
    h = hashlib.sha256()
    h.update(repr((BUILDS[conda_version], COMMON, BY_PYTHON, BY_CONDA[conda_version], PYCOSAT)).encode())
    with open(conda_wheel(conda_version), "rb") as fh:
        h.update(hashlib.sha256(fh.read()).digest())
    with open(os.path.join(wheels_dir(), MENUINST_WHEEL), "rb") as fh:
        h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()
