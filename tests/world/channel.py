# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Offline conda channels and a loopback PyPI index: TEST INFRASTRUCTURE ONLY.

Builds the channel table of ``reference/conda-26.7/README.md`` (the channel real
conda 26.7 was recorded against) as genuine conda packages (``info/index.json``,
``info/paths.json``, ``info/files``, payload), half ``.tar.bz2`` and half
``.conda``, indexed by rattler's indexer, plus conda-forge-style CUDA/CPU
PyTorch builds, the legacy ``pytorch``/``nvidia`` channels, and a PEP 503 index
of tiny wheels. Nothing in ``plugins/`` or ``roles/`` knows this exists.

Usage::

    python tests/world/channel.py --out .cache/world [--force]

or ``build_channel(out_dir)`` which returns (and stores in ``stamp.json``)::

    {"root": DIR, "channels": {"conda-forge": ..., "pytorch": ..., "nvidia": ...},
     "pypi": DIR/pypi, ...}

The build is skipped when ``DIR/stamp.json`` carries the hash of this file.
Only ``DIR/{conda-forge,pytorch,nvidia,pypi}`` and ``DIR/stamp.json`` are
written; anything else under ``DIR`` (e.g. ``DIR/installers``) is left alone.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import bz2
import concurrent.futures
import fcntl
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(REPO, ".cache", "world")
DOWNLOADS = os.path.join(REPO, ".cache", "downloads")

#: conda's standard prefix placeholder; rattler/conda rewrite it when linking.
PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
#: build timestamp of the reference table (ms), as seen in the transcripts.
TIMESTAMP = 1700000000000
#: build timestamp of the conda-forge-style PyTorch builds (ms).
CF_TIMESTAMP = 1730000000000
#: mtime of every archive member (s) and zip entry.
MTIME = 1700000000
ZIP_DATE = (2023, 11, 14, 22, 13, 20)
LICENSE = "BSD-3-Clause"
PIP_VERSION = "24.0"

PYTHONS = ["3.9.18", "3.10.14", "3.11.9", "3.12.4", "3.13.1"]
TORCH_PYS = ["3.9", "3.10", "3.11", "3.12"]
#: legacy pytorch channel: version -> (torchvision, torchaudio, CUDA variants)
LEGACY_TORCH = {
    "2.0.1": ("0.15.2", "2.0.2", ["11.8"]),
    "2.1.0": ("0.16.0", "2.1.0", ["11.8", "12.1"]),
    "2.4.0": ("0.19.0", "2.4.0", ["11.8", "12.1", "12.4"]),
}
#: conda-forge-style pytorch (only on conda-forge): version -> (tv, ta, CUDA variants)
CF_TORCH = {"2.5.1": ("0.20.1", "2.5.1", ["11.8", "12.4"])}
CUDA_VERSIONS = ["11.8", "12.1", "12.4"]
CHANNELS = ("conda-forge", "pytorch", "nvidia")


# --------------------------------------------------------------------------- helpers
def _xy(version):
    return ".".join(version.split(".")[:2])


def _nodot(xy):
    return xy.replace(".", "")


def _pin(xy):
    major, minor = xy.split(".")
    return "python >=%s,<%s.%d.0a0" % (xy, major, int(minor) + 1)


def _sp(xy):
    return "lib/python%s/site-packages" % xy


def _short_hash(*parts):
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:7]


class Pkg:
    """One conda package: metadata, payload, format and the channels it is on."""

    def __init__(self, name, version, build, subdir="linux-64", depends=(), constrains=(),
                 build_number=0, noarch=None, track_features="", fmt="tar.bz2",
                 channels=("conda-forge",), timestamp=TIMESTAMP):
        self.name = name
        self.version = version
        self.build = build
        self.subdir = subdir
        self.depends = list(depends)
        self.constrains = list(constrains)
        self.build_number = build_number
        self.noarch = noarch
        self.track_features = track_features
        self.fmt = fmt
        self.channels = tuple(channels)
        self.timestamp = timestamp
        # path -> (bytes, executable, has_prefix)
        self.files = {}

    @property
    def dist(self):
        return "%s-%s-%s" % (self.name, self.version, self.build)

    @property
    def filename(self):
        return "%s.%s" % (self.dist, self.fmt)

    def add(self, path, data, executable=False, prefix=False):
        if isinstance(data, str):
            data = data.encode()
        self.files[path] = (data, executable, prefix)

    def index_json(self):
        idx = {
            "name": self.name,
            "version": self.version,
            "build": self.build,
            "build_number": self.build_number,
            "depends": self.depends,
            "license": LICENSE,
            "subdir": self.subdir,
            "timestamp": self.timestamp,
        }
        if self.constrains:
            idx["constrains"] = self.constrains
        if self.noarch:
            idx["noarch"] = self.noarch
        if self.track_features:
            idx["track_features"] = self.track_features
        return idx


# --------------------------------------------------------------------------- payloads
def _python_script(version):
    xy = _xy(version)
    return """#!/bin/sh
# condafleet test world (TEST INFRASTRUCTURE): stand-in for CPython %(version)s.
# --version/-V print "Python %(version)s". Where the host has a real
# python%(xy)s (/usr/bin, /usr/local/bin, /bin) this runs it as a venv-style
# interpreter of this environment: it (re)creates PREFIX/bin/python%(xy)s -> host
# interpreter and PREFIX/pyvenv.cfg, so sys.prefix is the environment and its
# lib/python%(xy)s/site-packages is on sys.path. Set
# CONDAFLEET_WORLD_NO_HOST_PYTHON=1 to behave as if there were no host python.
prefix="%(placeholder)s"
version="%(version)s"
xy="%(xy)s"
case "${1:-}" in
  -V|--version) echo "Python $version"; exit 0 ;;
  -VV) echo "Python $version (condafleet test world stand-in)"; exit 0 ;;
esac
host=""
if [ -z "${CONDAFLEET_WORLD_NO_HOST_PYTHON:-}" ]; then
  for d in /usr/bin /usr/local/bin /bin; do
    if [ -x "$d/python$xy" ]; then host="$d/python$xy"; break; fi
  done
fi
if [ -z "$host" ]; then
  echo "condafleet test world: this python $version is a stand-in and the host has" \\
    "no python$xy (looked in /usr/bin, /usr/local/bin, /bin); only --version and -V work" >&2
  exit 1
fi
home="${host%%/*}"
link="$prefix/bin/python$xy"
cfg="$prefix/pyvenv.cfg"
if [ "$(readlink "$link" 2>/dev/null)" != "$host" ]; then
  { ln -s "$host" "$link.tmp$$" && mv -f "$link.tmp$$" "$link"; } 2>/dev/null || rm -f "$link.tmp$$" 2>/dev/null
fi
if ! grep -qx "home = $home" "$cfg" 2>/dev/null; then
  { printf 'home = %%s\\ninclude-system-site-packages = false\\nversion = %%s\\n' \\
      "$home" "$version" >"$cfg.tmp$$" && mv -f "$cfg.tmp$$" "$cfg"; } 2>/dev/null \\
    || rm -f "$cfg.tmp$$" 2>/dev/null
fi
if [ "$(readlink "$link" 2>/dev/null)" = "$host" ] && grep -qx "home = $home" "$cfg" 2>/dev/null; then
  exec "$link" "$@"
fi
# The prefix is not writable: run the host interpreter with the environment's
# site-packages on sys.path (sys.prefix is then the host's).
PYTHONPATH="$prefix/lib/python$xy/site-packages${PYTHONPATH:+:$PYTHONPATH}" exec "$host" "$@"
""" % {"version": version, "xy": xy, "placeholder": PLACEHOLDER}


PIP_SCRIPT = """#!%s/bin/python
# -*- coding: utf-8 -*-
import re
import sys
from pip._internal.cli.main import main
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(main())
""" % PLACEHOLDER


def _dist_info(dist_name, version):
    norm = dist_name.replace("-", "_")
    base = "%s-%s.dist-info" % (norm, version)
    return {
        base + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
                            "Summary: condafleet test world stand-in\n" % (dist_name, version),
        base + "/INSTALLER": "conda\n",
    }


def _add_module(pkg, sp, module, dist_name, body=""):
    init = '"""condafleet test world stand-in for %s (TEST INFRASTRUCTURE)."""\n%s' \
           '__version__ = "%s"\n__build__ = "%s"\n' % (pkg.name, body, pkg.version, pkg.build)
    pkg.add("%s/%s/__init__.py" % (sp, module), init)
    for path, text in _dist_info(dist_name, pkg.version).items():
        pkg.add("%s/%s" % (sp, path), text)


def _add_marker(pkg):
    # The same payload the reference channel had: share/NAME/VERSION.txt.
    pkg.add("share/%s/%s.txt" % (pkg.name, pkg.version),
            "%s %s %s\n" % (pkg.name, pkg.version, pkg.build))


_PIP_FILES = None


def _pip_files():
    """Pure-python pip for the ``pip`` packages: {relpath under site-packages: bytes}.

    Prefers the pip 24.0 wheel in .cache/downloads (``pip download``ed once when
    PyPI is reachable); otherwise vendors the pip of the interpreter running
    the builder.
    """
    global _PIP_FILES
    if _PIP_FILES is not None:
        return _PIP_FILES
    wheel = os.path.join(DOWNLOADS, "pip-%s-py3-none-any.whl" % PIP_VERSION)
    if not os.path.exists(wheel):
        try:
            os.makedirs(DOWNLOADS, exist_ok=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--only-binary", ":all:", "--dest", DOWNLOADS, "pip==%s" % PIP_VERSION],
                           check=True, timeout=120, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            pass
    files = {}
    if os.path.exists(wheel):
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    files[info.filename] = zf.read(info)
    else:
        spec = importlib.util.find_spec("pip")
        pkgdir = os.path.dirname(spec.origin)
        spdir = os.path.dirname(pkgdir)
        names = ["pip"] + [n for n in os.listdir(spdir)
                           if n.startswith("pip-") and n.endswith(".dist-info")]
        for top in names:
            for dirpath, dirnames, filenames in os.walk(os.path.join(spdir, top)):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for fn in filenames:
                    if fn.endswith(".pyc"):
                        continue
                    full = os.path.join(dirpath, fn)
                    with open(full, "rb") as fh:
                        files[os.path.relpath(full, spdir)] = fh.read()
    for path in list(files):
        if path.endswith(".dist-info/INSTALLER"):
            files[path] = b"conda\n"
    _PIP_FILES = files
    return files


# --------------------------------------------------------------------------- the table
def packages():
    """Every package of the world, in a fixed order."""
    pkgs = []
    legacy = ("conda-forge", "pytorch")

    for version in PYTHONS:
        xy = _xy(version)
        p = Pkg("python", version, "h0_0_cpython", depends=["__glibc >=2.17"])
        script = _python_script(version)
        p.add("bin/python", script, executable=True, prefix=True)
        p.add("bin/python3", script, executable=True, prefix=True)
        p.add("%s/README.txt" % _sp(xy),
              "This directory exists so that you have a place to put site-packages.\n")
        if xy == "3.9":
            # pip uses distutils on 3.9, which Debian ships separately
            # (python3-distutils, not in the fleet's images); use sysconfig.
            p.add("%s/_condafleet_world_pip.pth" % _sp(xy),
                  "import sysconfig; sysconfig._PIP_USE_SYSCONFIG = True\n")
        pkgs.append(p)

    for version in PYTHONS:
        xy = _xy(version)
        p = Pkg("pip", PIP_VERSION, "py%s_0" % _nodot(xy), depends=[_pin(xy)])
        for rel, data in sorted(_pip_files().items()):
            p.add("%s/%s" % (_sp(xy), rel), data)
        p.add("bin/pip", PIP_SCRIPT, executable=True, prefix=True)
        p.add("bin/pip3", PIP_SCRIPT, executable=True, prefix=True)
        pkgs.append(p)

    numpy = [("1.24.3", TORCH_PYS[:3], "conda"), ("1.26.4", TORCH_PYS, "conda"),
             ("2.1.0", TORCH_PYS[1:] + ["3.13"], "tar.bz2")]
    for version, pys, fmt in numpy:
        for xy in pys:
            p = Pkg("numpy", version, "py%s_0" % _nodot(xy), depends=[_pin(xy)], fmt=fmt)
            _add_marker(p)
            _add_module(p, _sp(xy), "numpy", "numpy")
            pkgs.append(p)

    for version, fmt in (("2.0.3", "conda"), ("2.2.2", "tar.bz2")):
        for xy in TORCH_PYS:
            p = Pkg("pandas", version, "py%s_0" % _nodot(xy),
                    depends=[_pin(xy), "numpy >=1.22"], fmt=fmt)
            _add_marker(p)
            _add_module(p, _sp(xy), "pandas", "pandas", "import numpy\n")
            pkgs.append(p)

    for xy in TORCH_PYS:
        p = Pkg("scikit-learn", "1.3.2", "py%s_0" % _nodot(xy),
                depends=[_pin(xy), "numpy >=1.17"], fmt="conda")
        _add_marker(p)
        _add_module(p, _sp(xy), "sklearn", "scikit-learn", "import numpy\n")
        pkgs.append(p)

    p = Pkg("fastapi", "0.110.0", "pyhd8ed1ab_0", subdir="noarch", noarch="python",
            depends=["python >=3.8"], fmt="conda")
    _add_marker(p)
    _add_module(p, "site-packages", "fastapi", "fastapi")
    pkgs.append(p)

    p = Pkg("opencv", "4.9.0", "h0_0", depends=["numpy >=1.21"])
    _add_marker(p)
    pkgs.append(p)

    for cv in CUDA_VERSIONS:
        p = Pkg("cuda-version", cv, "h0_0", channels=("conda-forge", "nvidia"))
        _add_marker(p)
        pkgs.append(p)

    for cv in CUDA_VERSIONS:
        p = Pkg("pytorch-cuda", cv, "h0_0", channels=legacy,
                depends=["__cuda >=%s" % cv.split(".", maxsplit=1)[0], "cuda-version %s.*" % cv])
        _add_marker(p)
        pkgs.append(p)

    for variant in ("cuda", "cpu"):
        p = Pkg("pytorch-mutex", "1.0", variant, subdir="noarch", noarch="generic",
                channels=legacy, track_features="pytorch-mutex" if variant == "cpu" else "")
        _add_marker(p)
        pkgs.append(p)

    # Legacy `pytorch` channel builds (pyX.Y_cudaC_cudnn8_0 / pyX.Y_cpu_0).
    for version, (tv, ta, cudas) in LEGACY_TORCH.items():
        fmt = "tar.bz2" if version == "2.1.0" else "conda"
        for xy in TORCH_PYS:
            for cv in cudas + [None]:
                if cv:
                    build = "py%s_cuda%s_cudnn8_0" % (xy, cv)
                    deps = [_pin(xy), "numpy >=1.21", "pytorch-cuda >=%s,<%s.1" % (cv, cv),
                            "pytorch-mutex ==1.0 cuda"]
                else:
                    build = "py%s_cpu_0" % xy
                    deps = [_pin(xy), "numpy >=1.21", "pytorch-mutex ==1.0 cpu"]
                p = Pkg("pytorch", version, build, depends=deps, channels=legacy, fmt=fmt)
                _add_marker(p)
                _add_module(p, _sp(xy), "torch", "torch",
                            "cuda_version = %r\n" % cv)
                pkgs.append(p)
        pkgs.extend(_torch_extras(version, tv, ta, legacy))

    # conda-forge-style builds (only on conda-forge): cuda<XY>_mkl_py<PY>_h<hash>_3NN
    # (needs __cuda >=MAJOR and cuda-version >=X.Y,<MAJOR+1) and cpu_mkl_..._1NN.
    for version, (tv, ta, cudas) in CF_TORCH.items():
        for xy in TORCH_PYS:
            for cv in cudas + [None]:
                py = _nodot(xy)
                if cv:
                    major = int(cv.split(".")[0])
                    tag = "cuda%s" % _nodot(cv)
                    build = "%s_mkl_py%s_h%s_300" % (tag, py, _short_hash("pytorch", version, tag, xy))
                    deps = [_pin(xy), "numpy >=1.21", "__cuda >=%d" % major,
                            "cuda-version >=%s,<%d" % (cv, major + 1)]
                    bn = 300
                    # among equal CUDA builds the newest CUDA wins
                    ts = CF_TIMESTAMP + int(_nodot(cv)) * 1000
                else:
                    build = "cpu_mkl_py%s_h%s_100" % (py, _short_hash("pytorch", version, "cpu", xy))
                    deps = [_pin(xy), "numpy >=1.21"]
                    bn = 100
                    ts = CF_TIMESTAMP
                p = Pkg("pytorch", version, build, depends=deps, build_number=bn,
                        fmt="conda", timestamp=ts)
                _add_marker(p)
                _add_module(p, _sp(xy), "torch", "torch", "cuda_version = %r\n" % cv)
                pkgs.append(p)
        pkgs.extend(_torch_extras(version, tv, ta, ("conda-forge",), CF_TIMESTAMP))
        for meta, glob in (("pytorch-gpu", "cuda*"), ("pytorch-cpu", "cpu*")):
            p = Pkg(meta, version, "h0_0", subdir="noarch", noarch="generic",
                    depends=["pytorch ==%s %s" % (version, glob)], fmt="conda",
                    timestamp=CF_TIMESTAMP)
            _add_marker(p)
            pkgs.append(p)
    return pkgs


def _torch_extras(version, tv, ta, channels, timestamp=TIMESTAMP):
    out = []
    for name, ver, module in (("torchvision", tv, "torchvision"), ("torchaudio", ta, "torchaudio")):
        for xy in TORCH_PYS:
            p = Pkg(name, ver, "py%s_0" % _nodot(xy), depends=[_pin(xy), "pytorch ==%s" % version],
                    channels=channels, fmt="conda", timestamp=timestamp)
            _add_marker(p)
            _add_module(p, _sp(xy), module, name, "import torch\n")
            out.append(p)
    return out


# --------------------------------------------------------------------------- archives
def _tar(entries):
    """Deterministic uncompressed tar of [(path, bytes, mode)]."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data, mode in sorted(entries):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = MTIME
            info.mode = mode
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _info_files(pkg):
    paths = []
    has_prefix = []
    for path in sorted(pkg.files):
        data, _exe, prefix = pkg.files[path]
        entry = {
            "_path": path,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        if prefix:
            entry["file_mode"] = "text"
            entry["prefix_placeholder"] = PLACEHOLDER
            has_prefix.append("%s text %s" % (PLACEHOLDER, path))
        paths.append(entry)
    info = {
        "info/index.json": json.dumps(pkg.index_json(), indent=2, sort_keys=True) + "\n",
        "info/paths.json": json.dumps({"paths": paths, "paths_version": 1},
                                      indent=2, sort_keys=True) + "\n",
        "info/files": "".join(p + "\n" for p in sorted(pkg.files)),
        "info/about.json": json.dumps({
            "license": LICENSE,
            "summary": "condafleet test world stand-in for %s (TEST INFRASTRUCTURE)" % pkg.name,
        }, indent=2, sort_keys=True) + "\n",
    }
    if has_prefix:
        info["info/has_prefix"] = "".join(line + "\n" for line in has_prefix)
    if pkg.noarch == "python":
        info["info/link.json"] = json.dumps(
            {"noarch": {"type": "python"}, "package_metadata_version": 1},
            indent=2, sort_keys=True) + "\n"
    return [(path, text.encode(), 0o644) for path, text in info.items()]


def write_package(pkg, directory):
    """Write ``pkg`` as a .tar.bz2 or .conda into ``directory``; return the path."""
    info = _info_files(pkg)
    payload = [(path, data, 0o755 if exe else 0o644)
               for path, (data, exe, _prefix) in pkg.files.items()]
    target = os.path.join(directory, pkg.filename)
    if pkg.fmt == "tar.bz2":
        blob = bz2.compress(_tar(info + payload), 9)
        with open(target, "wb") as fh:
            fh.write(blob)
    else:
        import zstandard  # pinned in requirements-dev.txt

        cctx = zstandard.ZstdCompressor(level=10)
        members = [
            ("metadata.json", json.dumps({"conda_pkg_format_version": 2}).encode()),
            ("pkg-%s.tar.zst" % pkg.dist, cctx.compress(_tar(payload))),
            ("info-%s.tar.zst" % pkg.dist, cctx.compress(_tar(info))),
        ]
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in members:
                zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                zi.external_attr = 0o644 << 16
                zf.writestr(zi, data)
    return target


# --------------------------------------------------------------------------- pypi
def _wheel(name, version, modules, scripts=None):
    """A tiny pure-python wheel as (filename, bytes)."""
    norm = name.replace("-", "_")
    di = "%s-%s.dist-info" % (norm, version)
    files = dict(modules)
    files[di + "/METADATA"] = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
                               "Summary: condafleet test world wheel (TEST INFRASTRUCTURE)\n"
                               "Requires-Python: >=3.8\n" % (name, version))
    files[di + "/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: condafleet-world\n"
                            "Root-Is-Purelib: true\nTag: py3-none-any\n")
    if scripts:
        files[di + "/entry_points.txt"] = "[console_scripts]\n" + "".join(
            "%s = %s\n" % item for item in sorted(scripts.items()))
    record = []
    for path in sorted(files):
        data = files[path].encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append("%s/RECORD,," % di)
    files[di + "/RECORD"] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(files, key=lambda p: (p.startswith(di), p)):
            zi = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, files[path])
    return "%s-%s-py3-none-any.whl" % (norm, version), buf.getvalue()


def wheels():
    """The loopback PyPI index content: {project: [(filename, bytes)]}."""
    out = {}
    for version in ("1.0", "1.1"):
        body = ('"""condafleet-hello: test world wheel."""\n__version__ = "%s"\n\n\n'
                'def main():\n    print("condafleet-hello %s")\n' % (version, version))
        out.setdefault("condafleet-hello", []).append(_wheel(
            "condafleet-hello", version, {"condafleet_hello/__init__.py": body},
            {"condafleet-hello": "condafleet_hello:main"}))
    body = ('"""tinyjson: test world wheel."""\nimport json\n\n__version__ = "0.1"\n\n\n'
            'def dumps(obj):\n    return json.dumps(obj, sort_keys=True)\n')
    out["tinyjson"] = [_wheel("tinyjson", "0.1", {"tinyjson/__init__.py": body})]
    return out


def build_pypi(root):
    """PEP 503 layout: root/simple/<project>/index.html -> root/packages/<wheel>."""
    simple = os.path.join(root, "simple")
    pkgdir = os.path.join(root, "packages")
    os.makedirs(pkgdir, exist_ok=True)
    projects = wheels()
    links = []
    for project in sorted(projects):
        os.makedirs(os.path.join(simple, project), exist_ok=True)
        anchors = []
        for filename, data in projects[project]:
            with open(os.path.join(pkgdir, filename), "wb") as fh:
                fh.write(data)
            anchors.append('    <a href="../../packages/%s#sha256=%s" data-requires-python="&gt;=3.8">%s</a><br/>'
                           % (filename, hashlib.sha256(data).hexdigest(), filename))
        with open(os.path.join(simple, project, "index.html"), "w") as fh:
            fh.write("<!DOCTYPE html>\n<html>\n  <head><title>Links for %s</title></head>\n  <body>\n"
                     "    <h1>Links for %s</h1>\n%s\n  </body>\n</html>\n"
                     % (project, project, "\n".join(anchors)))
        links.append('    <a href="%s/">%s</a><br/>' % (project, project))
    with open(os.path.join(simple, "index.html"), "w") as fh:
        fh.write("<!DOCTYPE html>\n<html>\n  <head><title>Simple index</title></head>\n  <body>\n%s\n"
                 "  </body>\n</html>\n" % "\n".join(links))
    return {p: [item[0] for item in projects[p]] for p in projects}


# --------------------------------------------------------------------------- build
def source_hash():
    """sha256 of this builder's source and of the indexer's version."""
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as fh:
        h.update(fh.read())
    try:
        from importlib.metadata import version

        h.update(("py-rattler " + version("py-rattler")).encode())
    except Exception:  # noqa: BLE001 - the hash only has to be stable
        pass
    return h.hexdigest()


def _index(channel_dir):
    from rattler.index import index_fs

    asyncio.run(index_fs(channel_dir, write_zst=False, write_shards=False, force=True))
    # Determinism: the indexer stamps each record with the wall-clock time it
    # indexed it; pin that to the package's own build timestamp.
    for sub in sorted(os.listdir(channel_dir)):
        path = os.path.join(channel_dir, sub, "repodata.json")
        if not os.path.exists(path):
            continue
        with open(path) as fh:
            repodata = json.load(fh)
        for key in ("packages", "packages.conda"):
            for record in repodata.get(key, {}).values():
                if "indexed_timestamp" in record:
                    record["indexed_timestamp"] = record.get("timestamp", TIMESTAMP)
        with open(path, "w") as fh:
            json.dump(repodata, fh, indent=2, sort_keys=True)
            fh.write("\n")


def _result(out_dir):
    out_dir = os.path.abspath(out_dir)
    return {
        "root": out_dir,
        "channels": {c: os.path.join(out_dir, c) for c in CHANNELS},
        "pypi": os.path.join(out_dir, "pypi"),
        "pypi_simple": os.path.join(out_dir, "pypi", "simple"),
        "placeholder": PLACEHOLDER,
    }


def _cached(out_dir, digest):
    stamp = os.path.join(out_dir, "stamp.json")
    try:
        with open(stamp) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    res = data.get("result") or {}
    if data.get("source_hash") != digest or res.get("root") != os.path.abspath(out_dir):
        return None
    for path in res.get("channels", {}).values():
        if not os.path.exists(os.path.join(path, "noarch", "repodata.json")):
            return None
    if not os.path.exists(os.path.join(res.get("pypi", ""), "simple", "index.html")):
        return None
    return res


def build_channel(out_dir=DEFAULT_OUT, force=False, quiet=False):
    """Build (or reuse) the offline world under ``out_dir``; return its layout dict."""
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    digest = source_hash()
    with open(os.path.join(out_dir, ".channel.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force:
            res = _cached(out_dir, digest)
            if res is not None:
                if not quiet:
                    print("world: channel cache is current (%s)" % out_dir, file=sys.stderr)
                return res
        start = time.monotonic()
        tmp = os.path.join(out_dir, ".build-%d" % os.getpid())
        shutil.rmtree(tmp, ignore_errors=True)
        pool = os.path.join(tmp, ".pool")
        os.makedirs(pool)
        pkgs = packages()
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
            built = list(ex.map(lambda p: write_package(p, pool), pkgs))
        for pkg, path in zip(pkgs, built):
            for ch in pkg.channels:
                sub = os.path.join(tmp, ch, pkg.subdir)
                os.makedirs(sub, exist_ok=True)
                os.link(path, os.path.join(sub, pkg.filename))
        for ch in CHANNELS:
            for sub in ("noarch", "linux-64"):
                os.makedirs(os.path.join(tmp, ch, sub), exist_ok=True)
            _index(os.path.join(tmp, ch))
        build_pypi(os.path.join(tmp, "pypi"))
        shutil.rmtree(pool)
        # swap the new trees in, one by one; other content of out_dir stays
        for name in CHANNELS + ("pypi",):
            dest = os.path.join(out_dir, name)
            old = os.path.join(out_dir, ".old-%s-%d" % (name, os.getpid()))
            if os.path.exists(dest):
                os.rename(dest, old)
            os.rename(os.path.join(tmp, name), dest)
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        res = _result(out_dir)
        elapsed = time.monotonic() - start
        stamp = {"source_hash": digest, "result": res, "packages": len(pkgs),
                 "build_seconds": round(elapsed, 2)}
        with open(os.path.join(out_dir, "stamp.json.tmp"), "w") as fh:
            json.dump(stamp, fh, indent=2, sort_keys=True)
        os.replace(os.path.join(out_dir, "stamp.json.tmp"), os.path.join(out_dir, "stamp.json"))
        if not quiet:
            print("world: built %d packages in %.1f s into %s" % (len(pkgs), elapsed, out_dir),
                  file=sys.stderr)
        return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="world root (default .cache/world)")
    ap.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    args = ap.parse_args(argv)
    print(json.dumps(build_channel(args.out, force=args.force), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
