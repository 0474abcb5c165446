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
  The 3.11 trees of 26.7.1 carry it too (``solver: classic`` works there, as with
  conda-forge's conda); the 3.13 ones cannot (no trixie build root).
- Extensions lose their DWARF debug sections (``strip --strip-debug``) and every
  tree carries the ``.pyc`` files pip would have compiled (``compile_bytecode``):
  a fresh base neither writes 25 MB of debug info nor compiles conda on its first run.

``site_packages(conda_version, python)`` returns ``(members, solver)``: the
files of that site-packages tree as ``[(relative path, bytes, mode)]``.

Upstream installers (opt-in, internet needed): ``CONDAFLEET_WORLD_UPSTREAM=1`` (or
``build.py --upstream``; a comma-separated list of file names for some only)
makes the world use upstream's own Miniforge/Miniconda installers instead of
building these: ``fetch_upstream(name)`` downloads
``github.com/conda-forge/miniforge/releases/download/<ver>-<build>/<name>`` and
checks it against its ``.sha256``, or ``repo.anaconda.com/miniconda/<name>``
against the SHA256 of the listing at ``repo.anaconda.com/miniconda/``
(``CONDAFLEET_UPSTREAM_MINIFORGE_URL`` / ``CONDAFLEET_UPSTREAM_MINICONDA_URL``
name a mirror; ``file://`` works, its listing saved as ``index.html``). A failed
download or a checksum mismatch raises ``UpstreamError`` saying which URL and why.
"""
from __future__ import annotations

import hashlib
import os
import re
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
#: the Debian release whose build root (``scripts/images``) compiles pycosat for a Python.
#: Every tree for these Pythons carries pycosat, as conda-forge's conda (a dependency)
#: does, so ``solver: classic`` works on 26.7.1 too; 3.13 has no build root: its trees
#: (26.7.1 only) have no pycosat and ``solver: classic`` fails there with
#: ``CondaDependencyError: Cannot run solver. No functioning SAT implementations available.``
PYCOSAT_RELEASE = {"3.9": "bullseye", "3.11": "bookworm"}
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
    if python not in PYCOSAT_RELEASE:
        raise RuntimeError("no build root compiles pycosat for Python %s (conda's classic solver needs it)" % python)
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
            head, dummy, rest = name.partition("/")
            if head.endswith(".data"):
                kind, dummy, rest = rest.partition("/")
                if kind not in ("purelib", "platlib"):
                    continue
                name = rest
            mode = (zi.external_attr >> 16) & 0o777 or 0o644
            out.append((name, zf.read(zi), mode))
    # pip marks what it installed; conda tells pip-installed packages from its own by this file
    for name, dummy, dummy in list(out):
        if name.endswith(".dist-info/METADATA"):
            out.append((name[:-len("METADATA")] + "INSTALLER", b"pip\n", 0o644))
    return out


def _strip_tool():
    return shutil.which("strip")


def strip_debug(members):
    """``members`` with the DWARF debug sections of their ELF extensions removed
    (``strip --strip-debug``: code, symbols and behaviour are untouched). PyPI's
    zstandard, msgpack and ruamel.yaml.clib wheels ship with debug info: about a
    quarter of the bytes an install writes. Unchanged when binutils' strip is missing."""
    tool = _strip_tool()
    todo = [i for i, (name, data, dummy) in enumerate(members) if name.endswith(".so") and data[:4] == b"\x7fELF"]
    if not tool or not todo:
        return members
    out = list(members)
    work = tempfile.mkdtemp(prefix="condafleet-strip-")
    try:
        paths = []
        for n, i in enumerate(todo):
            path = os.path.join(work, "%d.so" % n)
            with open(path, "wb") as fh:
                fh.write(members[i][1])
            paths.append(path)
        proc = subprocess.run([tool, "--strip-debug"] + paths, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError("%s --strip-debug failed:\n%s" % (tool, proc.stdout[-2000:]))
        for i, path in zip(todo, paths):
            with open(path, "rb") as fh:
                out[i] = (members[i][0], fh.read(), members[i][2])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


#: the mtime of every file in the payload (``installer._segment``); the .pyc files record it
PAYLOAD_MTIME = 1700000000
#: the image with a given Python for compiling .pyc files when this machine has no such interpreter
PYTHON_IMAGE = {"3.9": "localhost/condafleet-build:bullseye", "3.11": "localhost/condafleet-build:bookworm",
                "3.13": "localhost/condafleet-test:trixie"}


def bytecode_compiler(python):
    """How the .pyc files for ``python`` are made: ``("local", interpreter)``,
    ``("podman", image)`` or ``(None, None)`` (no interpreter of that version here:
    no .pyc files; conda then compiles what it imports on its first runs)."""
    if "%d.%d" % sys.version_info[:2] == python:
        return "local", sys.executable
    for cand in ("/usr/bin/python" + python, "/usr/local/bin/python" + python):
        if os.access(cand, os.X_OK):
            return "local", cand
    image = PYTHON_IMAGE.get(python)
    if image and shutil.which("podman"):
        probe = subprocess.run(["podman", "image", "exists", image], env=_container_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if probe.returncode == 0:
            return "podman", image
    return None, None


def compile_bytecode(members, python):
    """``members`` plus the ``__pycache__/*.cpython-XY.pyc`` files pip would have written
    at install time (timestamp-checked, for sources with mtime ``PAYLOAD_MTIME``), so a
    fresh base does not spend its first second of every conda command compiling."""
    how, what = bytecode_compiler(python)
    if how is None:
        return members
    work = tempfile.mkdtemp(prefix="condafleet-pyc-")
    try:
        tree = os.path.join(work, "sp")
        for name, data, dummy in members:
            if name.endswith(".py"):
                path = os.path.join(tree, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as fh:
                    fh.write(data)
                os.utime(path, (PAYLOAD_MTIME, PAYLOAD_MTIME))
        args = ["-m", "compileall", "-q", "-j0", "--invalidation-mode", "timestamp"]
        skip = ("SOURCE_DATE_EPOCH", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
        env = {k: v for k, v in os.environ.items() if k not in skip}
        if how == "local":
            cmd = [what] + args + [tree]
        else:
            cmd = ["podman", "run", "--rm", "--network", "none", "-v", "%s:/sp" % tree, what,
                   "python" + python] + args + ["/sp"]
            env = dict(_container_env(), **{k: v for k, v in env.items() if k.startswith("CONTAINERS")})
        # files that do not compile (templates, other Pythons' code) are left out, as pip leaves them
        subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, check=False)
        tag = "cpython-%s" % python.replace(".", "")
        out = list(members)
        for root, dummy, files in os.walk(tree):
            if os.path.basename(root) != "__pycache__":
                continue
            for fn in sorted(files):
                if fn.endswith(".pyc") and ".%s." % tag in fn:
                    path = os.path.join(root, fn)
                    with open(path, "rb") as fh:
                        out.append((os.path.relpath(path, tree), fh.read(), 0o644))
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: py-rattler 0.26 (the only release conda-rattler-solver 0.2.0 accepts) now and then crashes the
#: interpreter while it shuts down (SIGSEGV, or SIGABRT with "PyGILState_Release"), after conda has
#: printed its whole answer. The world ends such a process as soon as Python's own exit handlers
#: have run, with the status conda chose, before the extension's teardown: conda's behaviour and
#: output are unchanged, and processes that never imported rattler are left alone.
EXIT_GUARD_PTH = "condafleet-world-exit.pth"
EXIT_GUARD = b"""# condafleet test world (TEST INFRASTRUCTURE): see tests/world/conda_dist.py
import atexit
import os
import sys

_status = []
_exit = sys.exit


def _record_exit(code=None):
    _status.append(code)
    _exit(code)


def _end():
    # only a process that imported rattler and ended through sys.exit(), whose status is known
    if "rattler" not in sys.modules or not _status or not isinstance(_status[-1], (int, type(None))):
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(_status[-1] or 0)


sys.exit = _record_exit
atexit.register(_end)
"""


def site_packages(conda_version, python):
    """``(members, solver)`` of the site-packages tree for ``conda_version`` on ``python``."""
    build = BUILDS[conda_version]
    if python not in build["pythons"]:
        raise ValueError("conda %s is not built for Python %s" % (conda_version, python))
    members = []
    for wheel in [conda_wheel(conda_version), os.path.join(wheels_dir(), MENUINST_WHEEL)] + \
            dependency_wheels(conda_version, python):
        members.extend(_wheel_members(wheel))
    if build["solver"] == "classic" or python in PYCOSAT_RELEASE:
        soname, path = pycosat_extension(python)
        with open(path, "rb") as fh:
            members.append((soname, fh.read(), 0o755))
    if "py-rattler" in " ".join(BY_CONDA[conda_version]):
        members.append(("condafleet_world_exit.py", EXIT_GUARD, 0o644))
        members.append((EXIT_GUARD_PTH, b"import condafleet_world_exit\n", 0o644))
    return compile_bytecode(strip_debug(members), python), build["solver"]


def fingerprint(conda_version):
    """Changes whenever what goes into ``conda_version``'s installers changes."""
    h = hashlib.sha256()
    h.update(repr((BUILDS[conda_version], COMMON, BY_PYTHON, BY_CONDA[conda_version], PYCOSAT,
                   bool(_strip_tool()), PAYLOAD_MTIME,
                   [bytecode_compiler(p)[0] for p in BUILDS[conda_version]["pythons"]])).encode())
    with open(conda_wheel(conda_version), "rb") as fh:
        h.update(hashlib.sha256(fh.read()).digest())
    with open(os.path.join(wheels_dir(), MENUINST_WHEEL), "rb") as fh:
        h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


# --------------------------------------------------------------------------- upstream installers
#: opt-in: use upstream's own installers (internet needed) instead of building ours.
#: "1"/"all": every installer the world builds; else a comma-separated list of file names
#: (``Miniforge3-26.7.1-0-Linux-x86_64.sh,Miniconda3-py311_25.3.1-1-Linux-x86_64.sh``)
UPSTREAM_ENV = "CONDAFLEET_WORLD_UPSTREAM"
#: where upstream's installers are fetched from (overridable: a mirror, or a stand-in in tests)
MINIFORGE_URL_ENV = "CONDAFLEET_UPSTREAM_MINIFORGE_URL"
MINICONDA_URL_ENV = "CONDAFLEET_UPSTREAM_MINICONDA_URL"
MINIFORGE_URL = "https://github.com/conda-forge/miniforge/releases/download"
MINICONDA_URL = "https://repo.anaconda.com/miniconda"
UPSTREAM_DIR = os.path.join(CACHE, "downloads", "upstream")

_NAME_RES = (
    re.compile(r"^(?P<dist>Miniforge3)-(?P<version>\d+(?:\.\d+)+)-(?P<build>\d+)-Linux-x86_64\.sh$"),
    re.compile(r"^(?P<dist>Miniconda3)-(?P<tag>py\d+)_(?P<version>\d+(?:\.\d+)+)-(?P<build>\d+)"
               r"-Linux-x86_64\.sh$"),
)
_HEX64 = re.compile(r"\b[0-9a-fA-F]{64}\b")


class UpstreamError(RuntimeError):
    """An upstream installer could not be fetched or did not match its published checksum."""


def parse_installer_name(name):
    """``(distribution, conda version, build, python tag or None)`` of an upstream file name."""
    for regex in _NAME_RES:
        m = regex.match(name)
        if m:
            return m.group("dist"), m.group("version"), int(m.group("build")), m.groupdict().get("tag")
    raise ValueError("not an upstream Linux x86_64 installer name: %r (Miniforge3-<ver>-<build>-Linux-x86_64.sh "
                     "or Miniconda3-pyXY_<ver>-<build>-Linux-x86_64.sh)" % name)


def upstream_selection(value=None):
    """What ``CONDAFLEET_WORLD_UPSTREAM`` (or ``value``) asks for: ``None``, ``"all"`` or a set of names."""
    if value is None:
        value = os.environ.get(UPSTREAM_ENV, "")
    if isinstance(value, (set, list, tuple)):
        names = set(value)
    else:
        value = str(value).strip()
        if value.lower() in ("", "0", "no", "false", "off"):
            return None
        if value.lower() in ("1", "yes", "true", "on", "all"):
            return "all"
        names = {v.strip() for v in value.split(",") if v.strip()}
    for n in names:
        parse_installer_name(n)
    return names or None


def upstream_urls(name):
    """``(installer URL, checksum URL, checksum kind)``; kind is ``"sidecar"`` (Miniforge's
    ``<name>.sha256``) or ``"index"`` (repo.anaconda.com/miniconda/'s listing, whose table
    has each file's SHA256)."""
    dist, version, build, dummy = parse_installer_name(name)
    if dist == "Miniforge3":
        base = (os.environ.get(MINIFORGE_URL_ENV) or MINIFORGE_URL).rstrip("/")
        url = "%s/%s-%d/%s" % (base, version, build, name)
        return url, url + ".sha256", "sidecar"
    base = (os.environ.get(MINICONDA_URL_ENV) or MINICONDA_URL).rstrip("/")
    # a web server lists the directory; a file:// mirror has the listing saved as index.html
    index = base + ("/index.html" if base.startswith("file:") else "/")
    return "%s/%s" % (base, name), index, "index"


def checksum_from_sidecar(text, name):
    """The digest of a ``sha256sum``-style sidecar (the line naming ``name`` when there are several)."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if fields and _HEX64.fullmatch(fields[0]):
            found.append((fields[0].lower(), fields[1].lstrip("*") if len(fields) > 1 else None))
    for digest, fname in found:
        if fname == name:
            return digest
    if len(found) == 1 and found[0][1] in (None, name):
        return found[0][0]
    return None


def checksum_from_index(html, name):
    """The SHA256 the Miniconda listing gives for ``name``: the row whose link is ``name``."""
    for m in re.finditer(r'href="(?:[^"]*/)?%s"' % re.escape(name), html):
        row_end = html.find("</tr>", m.end())
        row = html[m.end(): row_end if row_end >= 0 else m.end() + 1000]
        digest = _HEX64.search(row)
        if digest:
            return digest.group(0).lower()
    return None


def _fetch(url, timeout, dest=None, what="a file"):
    """GET ``url`` (http(s) or file): its bytes, or streamed into ``dest``; UpstreamError on failure."""
    import urllib.error
    import urllib.request
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "condafleet-world/1"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            if dest is None:
                return resp.read()
            with open(dest, "wb") as fh:
                shutil.copyfileobj(resp, fh, 1 << 20)
            return None
    except urllib.error.HTTPError as exc:
        reason = "HTTP %d %s" % (exc.code, exc.reason)
        if exc.code == 404:
            reason += " (no such release or file: check the version and build number)"
    except urllib.error.URLError as exc:
        reason = str(exc.reason)
    except (OSError, ValueError) as exc:  # timeouts, resets, bad URLs
        reason = "%s: %s" % (type(exc).__name__, exc)
    raise UpstreamError(
        "could not download %s (%s): %s. Upstream's installers were asked for (build.py --upstream or %s) "
        "instead of the world's own: that needs internet access (or %s / %s naming a mirror); leave them "
        "out to build the world's installers offline." % (url, what, reason, UPSTREAM_ENV, MINIFORGE_URL_ENV,
                                                          MINICONDA_URL_ENV))


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_upstream(name, cache_dir=None, timeout=120):
    """Download upstream's installer ``name`` and verify it against its published SHA256.

    Returns ``(path, sha256)``, the file kept under ``cache_dir`` (default
    ``.cache/downloads/upstream``) with a ``.sha256`` sidecar. A file already
    there is used again when it still matches the checksum upstream publishes now
    (the checksum is always fetched). Raises ``UpstreamError`` saying what failed.
    """
    cache_dir = cache_dir or UPSTREAM_DIR
    url, sum_url, kind = upstream_urls(name)
    text = _fetch(sum_url, timeout, what="the SHA256 of %s" % name).decode("utf-8", "replace")
    expected = checksum_from_sidecar(text, name) if kind == "sidecar" else checksum_from_index(text, name)
    if not expected:
        raise UpstreamError("%s gives no SHA256 for %s: not downloading an installer that cannot be verified"
                            % (sum_url, name))
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, name)
    if os.path.isfile(path) and file_sha256(path) == expected:
        return path, expected
    tmp = "%s.part%d" % (path, os.getpid())
    try:
        _fetch(url, timeout, dest=tmp, what=name)
        got = file_sha256(tmp)
        if got != expected:
            raise UpstreamError("%s downloaded from %s has sha256 %s but %s says %s: not used (removed)"
                                % (name, url, got, sum_url, expected))
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    with open(path + ".sha256", "w") as fh:
        fh.write("%s  %s\n" % (expected, name))
    return path, expected
