# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Miniconda/Miniforge-compatible installers of the real conda: TEST INFRASTRUCTURE ONLY.

``build_installer(out_dir, distribution, conda_version, python_tag=...)`` writes a
self-extracting shell script named like upstream's
(``Miniconda3-py311_26.7.1-0-Linux-x86_64.sh``, ``Miniforge3-26.7.1-0-Linux-x86_64.sh``)
under ``DIR/installers/`` plus a ``.sha256`` sidecar (``<hex>  <filename>``), and
copies in upstream-style paths::

    DIR/installers/<name>                                            (+ .sha256)
    DIR/installers/{Miniconda3-latest,Miniforge3}-Linux-x86_64.sh    (newest, + .sha256)
    DIR/installers/miniconda/<name>                                  (+ .sha256)
    DIR/installers/miniconda/Miniconda3-latest-Linux-x86_64.sh       (newest)
    DIR/installers/conda-forge/miniforge/releases/download/<ver>-<build>/<name> (+ .sha256)
    DIR/installers/conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-x86_64.sh

The script has constructor's header lines (``# NAME:``, ``# VER:``, ``# PLAT:``)
and flags (``-b -p PREFIX -u -f -h -t -s -k -m -c -i``) with constructor's exit
codes and messages. It installs the **real conda** (``conda_dist``: the upstream
wheels and their pinned PyPI requirements) as the base environment over the
host's Python, the way a virtual environment is laid out (``bin/python`` links
to the host interpreter, ``pyvenv.cfg``): upstream installers bundle a Python,
these use the host's, so each carries one site-packages tree per Python it
supports and picks the host's. A Miniconda installer is for the one Python its
name says; a Miniforge installer carries every Python its conda version is
built for. ``conda init --install`` lays out ``bin/conda``, ``condabin/`` and
``etc/profile.d/conda.sh``; ``conda-meta/history`` is written last, so an
installer killed midway leaves a prefix without it.
``CONDAFLEET_INSTALLER_SLEEP=SECONDS`` sleeps just before ``bin/conda`` and the
history are written, so a test can kill the installer at that point.

The payload is one gzip'd tar per Python; the header gives each one's byte range
(``PAYLOADS``) and top-level entries (``MANIFEST_X_Y``), so an install reads only
its own segment and never lists the payload. The entries are recorded in
``site-packages/.condafleet-installer-manifest``; ``-u`` removes what the previous
installer and this one bring (and other versions' ``NAME-VER.dist-info``) and
keeps the rest. Miniconda's ``# VER:`` carries its Python (``py311_26.7.1-0``),
as upstream's does. ``place_upstream``/``build_all(upstream=...)`` put upstream's
own installers in the same places instead (see ``conda_dist.fetch_upstream``).

Nothing in ``plugins/`` or ``roles/`` knows this exists.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import conda_dist  # noqa: E402

DEFAULT_PORT = 8731
DISTRIBUTIONS = ("Miniconda3", "Miniforge3")
#: the versions the world builds: one before the auto_activate rename, one current.
VERSIONS = ("25.3.1", "26.7.1")
OLD_VERSION, NEW_VERSION = VERSIONS
#: the Python of the Miniconda installers the tests use on this machine (its /usr/bin/python3)
MINICONDA_TAG = "py311"


def world_url(port=DEFAULT_PORT):
    return os.environ.get("CONDAFLEET_WORLD_URL") or "http://127.0.0.1:%d" % port


def installer_name(distribution, conda_version, build=0, python_tag=MINICONDA_TAG):
    if distribution == "Miniconda3":
        return "Miniconda3-%s_%s-%d-Linux-x86_64.sh" % (python_tag, conda_version, build)
    if distribution == "Miniforge3":
        return "Miniforge3-%s-%d-Linux-x86_64.sh" % (conda_version, build)
    raise ValueError("unknown distribution %r" % distribution)


def python_tags(conda_version):
    """The ``pyXY`` tags of the Miniconda installers built for ``conda_version``."""
    return ["py" + p.replace(".", "") for p in conda_dist.BUILDS[conda_version]["pythons"]]


def _python_of(tag):
    return "%s.%s" % (tag[2], tag[3:])


def preset_condarc(distribution, url, solver):
    """The ``.condarc`` an installer ships in its prefix.

    Upstream installers bring conda-libmamba-solver (conda's default solver),
    which is not on PyPI; these name the solver their conda runs offline. The
    key sits in the installation's own ``.condarc``, the lowest-ranked file of
    the installation, so any ``.condarc`` a user or the collection writes
    still decides.
    """
    url = url.rstrip("/")
    if distribution == "Miniforge3":
        text = "channels:\n  - conda-forge\nchannel_alias: %s\n" % url
    else:
        text = ("channels:\n  - defaults\nchannel_alias: %s\ndefault_channels:\n  - %s/conda-forge\n"
                % (url, url))
    return text + "solver: %s\n" % solver


#: where an installation records the top-level site-packages entries its installer laid down
#: (so that ``-u`` with a later installer removes what the earlier one brought)
MANIFEST_FILE = ".condafleet-installer-manifest"


def _segment(members):
    """One gzip'd tar of a site-packages tree; returns ``(bytes, top-level entries)``."""
    buf = io.BytesIO()
    top = set()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, data, mode in sorted(members, key=lambda m: m[0]):
            top.add(name.split("/", 1)[0])
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = conda_dist.PAYLOAD_MTIME
            tar.addfile(info, io.BytesIO(data))
    bad = sorted(t for t in top if not re.match(r"^[A-Za-z0-9_.+-]+$", t))
    if bad:  # the header lists them as shell words
        raise ValueError("site-packages entries the installer header cannot list: %s" % bad)
    return buf.getvalue(), sorted(top)


def _payload(conda_version, pythons):
    """The payload: one gzip'd tar per Python, one after the other.

    Returns ``(bytes, [(python, start, size, [top-level entries])])``; an
    installer reads only its host Python's segment (``tail -c | head -c``), and
    knows from the header what that segment holds without listing it.
    """
    blob, table = bytearray(), []
    for python in pythons:
        members, dummy = conda_dist.site_packages(conda_version, python)
        data, top = _segment(members)
        table.append((python, len(blob), len(data), top))
        blob += data
    return bytes(blob), table


HEADER = r'''#!/bin/sh
#
# NAME:  @NAME@
# VER:   @VER@
# PLAT:  linux-64
# LINES: @PAYLOAD_LINE@
#
# condafleet test world (TEST INFRASTRUCTURE ONLY): a constructor-style
# installer of the real conda @CONDA_VERSION@, built from the upstream wheels,
# installed over the host's Python (one of: @PYTHONS@).
# Flags, messages and exit codes follow constructor's header.sh.
unset CONDARC MAMBARC
export OLD_LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
INSTALLER_NAME="@NAME@"
INSTALLER_VER="@VER@"
CONDA_VERSION="@CONDA_VERSION@"
CONDA_BUILD="@BUILD@"
PYTHONS="@PYTHONS@"
SOLVER="@SOLVER@"
PRESET_CONDARC='@CONDARC@'
MANIFEST_FILE="@MANIFEST_FILE@"
PAYLOAD_LINE=@PAYLOAD_LINE@
# the payload starts at byte PAYLOAD_OFFSET: one gzip'd tar of a site-packages
# tree per Python, "X.Y:START:SIZE" (START counted from PAYLOAD_OFFSET);
# MANIFEST_X_Y lists the top-level entries of that tree
PAYLOAD_OFFSET=@PAYLOAD_OFFSET@
PAYLOADS="@PAYLOADS@"
@MANIFESTS@
THIS_PATH="$0"
THIS_FILE=$(basename "$0")
BATCH=0
FORCE=0
UPDATE=0
TEST=0
INIT=0
KEEP_PKGS=1
PREFIX="${HOME:-/root}/@DEFAULT_DIR@"

usage() {
    cat <<EOF
usage: $0 [options]

Installs $INSTALLER_NAME $INSTALLER_VER

-b           run install in batch mode (without manual intervention),
             it is expected the license terms (if any) are agreed upon
-c           run 'conda init' after installation (only applies to batch mode)
-f           no error if install prefix already exists
-h           print this help message and exit
-i           run install in interactive mode
-k           keep the package cache
-m           disable the creation of menu items / shortcuts
-p PREFIX    install prefix, defaults to $PREFIX, must not contain spaces.
-s           skip running pre/post-link/install scripts
-u           update an existing installation
-t           run package tests after installation (may install conda-build)
EOF
}

while getopts "bcifhkmp:sut" x; do
    case "$x" in
        h) usage; exit 2 ;;
        b) BATCH=1 ;;
        i) BATCH=0 ;;
        c) INIT=1 ;;
        f) FORCE=1 ;;
        k) KEEP_PKGS=1 ;;
        m) ;;
        p) PREFIX="$OPTARG" ;;
        s) ;;
        u) FORCE=1; UPDATE=1 ;;
        t) TEST=1 ;;
        ?) printf "ERROR: did not recognize option '%s', please try -h\n" "$x" >&2; exit 1 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then
    printf "ERROR: did not recognize option '%s', please try -h\n" "$1" >&2
    exit 1
fi

if [ "$(uname -m)" != "x86_64" ]; then
    echo "WARNING:" >&2
    echo "    Your operating system appears not to be 64-bit, but you are trying to" >&2
    echo "    install a 64-bit version of $INSTALLER_NAME." >&2
fi

if [ "$BATCH" = "0" ]; then
    printf "\nWelcome to %s %s\n\nIn order to continue the installation process, please review the license\nagreement.\n" "$INSTALLER_NAME" "$INSTALLER_VER"
    printf "Do you accept the license terms? [yes|no]\n>>> "
    read -r ans || ans=""
    case "$ans" in
        [yY][eE][sS]) ;;
        *) printf "The license agreement wasn't approved, aborting installation.\n"; exit 2 ;;
    esac
    printf "\n%s will now be installed into this location:\n%s\n" "$INSTALLER_NAME" "$PREFIX"
fi

case "$PREFIX" in
    *\ *) echo "ERROR: Cannot install into directories with spaces" >&2; exit 1 ;;
esac

# the host interpreter the base environment is built over (venv style): the system
# python3 when this installer carries its version, else any python3.X it carries
HOST_PY=""
for c in /usr/bin/python3 /usr/local/bin/python3 python3; do
    p=$(command -v "$c" 2>/dev/null) || continue
    v=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    case " $PYTHONS " in *" $v "*) HOST_PY="$p"; break ;; esac
done
if [ -z "$HOST_PY" ]; then
    for v in $PYTHONS; do
        for c in "/usr/bin/python$v" "/usr/local/bin/python$v" "python$v"; do
            p=$(command -v "$c" 2>/dev/null) || continue
            # only an interpreter that is that version (a pythonX.Y on PATH may be anything)
            w=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
            [ "$w" = "$v" ] && { HOST_PY="$p"; break 2; }
        done
    done
fi
if [ -z "$HOST_PY" ]; then
    printf "ERROR: %s %s (condafleet test world) installs conda %s over the host's Python, one of %s: none found\n" \
        "$INSTALLER_NAME" "$INSTALLER_VER" "$CONDA_VERSION" "$PYTHONS" >&2
    exit 1
fi
HOST_PY=$("$HOST_PY" -c 'import os, sys; print(os.path.realpath(sys.executable))')

if [ "$FORCE" = "0" ] && [ -e "$PREFIX" ]; then
    printf "ERROR: File or directory already exists: '%s'\n" "$PREFIX" >&2
    printf "If you want to update an existing installation, use the -u option.\n" >&2
    exit 1
elif [ "$FORCE" = "1" ] && [ -e "$PREFIX" ]; then
    REINSTALL=1
fi

if ! mkdir -p "$PREFIX"; then
    printf "ERROR: Could not create directory: '%s'\n" "$PREFIX" >&2
    exit 1
fi
PREFIX=$(cd "$PREFIX" && pwd)
export PREFIX
printf "PREFIX=%s\n" "$PREFIX"

PYXY=$("$HOST_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PYVER=$("$HOST_PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
PYNEXT=$("$HOST_PY" -c 'import sys; print("%d.%d" % (sys.version_info[0], sys.version_info[1] + 1))')
PYTAG=$(echo "$PYXY" | tr -d .)
SP="$PREFIX/lib/python$PYXY/site-packages"

SEGMENT=""
for seg in $PAYLOADS; do
    case "$seg" in "$PYXY":*) SEGMENT="$seg" ;; esac
done
if [ -z "$SEGMENT" ]; then
    echo "ERROR: this installer carries no site-packages for Python $PYXY" >&2; exit 1
fi
SEG_START=${SEGMENT#*:}; SEG_SIZE=${SEG_START#*:}; SEG_START=${SEG_START%%:*}
eval "MANIFEST=\$MANIFEST_$(echo "$PYXY" | tr . _)"

echo "Unpacking payload ..."
mkdir -p "$SP" "$PREFIX/bin" "$PREFIX/conda-meta" "$PREFIX/pkgs" "$PREFIX/envs" || exit 1
# an update replaces what this installer and the one before it brought (their
# manifests: no listing of the payload needed) and keeps everything else;
# a distribution's other versions (NAME-VERSION.dist-info) go too
OLD_MANIFEST=""
[ -f "$SP/$MANIFEST_FILE" ] && OLD_MANIFEST=$(cat "$SP/$MANIFEST_FILE")
for entry in $OLD_MANIFEST $MANIFEST; do
    case "$entry" in
        ""|.|..|*/*) continue ;;
        *.dist-info) rm -rf "${SP:?}/$entry" "${SP:?}/${entry%-*}"-[0-9]*.dist-info ;;
        *) rm -rf "${SP:?}/$entry" ;;
    esac
done
# written before the files, so that an installer killed while extracting leaves
# a manifest for the -u that repairs it
printf '%s\n' $MANIFEST > "$SP/$MANIFEST_FILE"
tail -c +$((PAYLOAD_OFFSET + SEG_START + 1)) "$THIS_PATH" | head -c "$SEG_SIZE" | tar -xzf - -C "$SP" || {
    echo "ERROR: could not extract the payload" >&2; exit 1; }

printf 'home = %s\ninclude-system-site-packages = false\nversion = %s\n' \
    "$(dirname "$HOST_PY")" "$PYVER" > "$PREFIX/pyvenv.cfg"
ln -sfn "$HOST_PY" "$PREFIX/bin/python$PYXY"
ln -sfn "python$PYXY" "$PREFIX/bin/python"
ln -sfn "python$PYXY" "$PREFIX/bin/python3"

if [ "${UPDATE}" = "0" ] || [ ! -e "$PREFIX/.condarc" ]; then
    printf '%s' "$PRESET_CONDARC" > "$PREFIX/.condarc"
elif grep -q '^solver:' "$PREFIX/.condarc"; then
    # an update keeps the user's .condarc, but the solver key names what this conda runs
    sed -i "s/^solver:.*/solver: $SOLVER/" "$PREFIX/.condarc"
else
    printf 'solver: %s\n' "$SOLVER" >> "$PREFIX/.condarc"
fi

TS=1700000000000
CHAN="https://conda.anaconda.org/conda-forge"
[ "$INSTALLER_NAME" = "Miniconda3" ] && CHAN="https://repo.anaconda.com/pkgs/main"
rm -f "$PREFIX"/conda-meta/conda-[0-9]*.json "$PREFIX"/conda-meta/python-[0-9]*.json
cat > "$PREFIX/conda-meta/python-$PYVER-h0_host.json" <<EOF
{"name": "python", "version": "$PYVER", "build": "h0_host", "build_number": 0,
 "channel": "$CHAN/linux-64", "subdir": "linux-64", "fn": "python-$PYVER-h0_host.conda",
 "url": "$CHAN/linux-64/python-$PYVER-h0_host.conda", "md5": "00000000000000000000000000000000",
 "depends": [], "constrains": [], "license": "Python-2.0", "timestamp": $TS, "size": 0,
 "requested_spec": "python", "requested_specs": ["python"],
 "files": ["bin/python", "bin/python3", "bin/python$PYXY", "pyvenv.cfg"],
 "paths_data": {"paths_version": 1, "paths": []},
 "link": {"source": "$PREFIX/pkgs/python-$PYVER-h0_host", "type": 1}}
EOF
cat > "$PREFIX/conda-meta/conda-$CONDA_VERSION-py${PYTAG}_$CONDA_BUILD.json" <<EOF
{"name": "conda", "version": "$CONDA_VERSION", "build": "py${PYTAG}_$CONDA_BUILD",
 "build_number": $CONDA_BUILD, "channel": "$CHAN/linux-64", "subdir": "linux-64",
 "fn": "conda-$CONDA_VERSION-py${PYTAG}_$CONDA_BUILD.conda",
 "url": "$CHAN/linux-64/conda-$CONDA_VERSION-py${PYTAG}_$CONDA_BUILD.conda",
 "md5": "00000000000000000000000000000000",
 "depends": ["python >=$PYXY,<$PYNEXT.0a0"], "constrains": [], "license": "BSD-3-Clause",
 "timestamp": $TS, "size": 0, "requested_spec": "conda", "requested_specs": ["conda"],
 "files": ["bin/conda", "condabin/conda", "etc/profile.d/conda.sh"],
 "paths_data": {"paths_version": 1, "paths": []},
 "link": {"source": "$PREFIX/pkgs/conda-$CONDA_VERSION", "type": 1}}
EOF
printf '# platform: linux-64\n@EXPLICIT\n%s/linux-64/python-%s-h0_host.conda\n%s/linux-64/conda-%s-py%s_%s.conda\n' \
    "$CHAN" "$PYVER" "$CHAN" "$CONDA_VERSION" "$PYTAG" "$CONDA_BUILD" \
    > "$PREFIX/conda-meta/initial-state.explicit.txt"
printf '{"name": "%s", "version": "%s", "platform": "linux-64", "type": "sh"}\n' \
    "$INSTALLER_NAME" "$INSTALLER_VER" > "$PREFIX/.installer.info"
if [ "$(id -u)" != "0" ]; then touch "$PREFIX/.nonadmin"; fi

if [ -n "${CONDAFLEET_INSTALLER_SLEEP:-}" ]; then
    echo "(test hook) sleeping ${CONDAFLEET_INSTALLER_SLEEP}s before writing bin/conda and conda-meta/history"
    sleep "$CONDAFLEET_INSTALLER_SLEEP"
fi

echo "Installing base environment..."
# conda lays out its own entry points: bin/conda, condabin/conda, etc/profile.d/conda.sh
if ! "$PREFIX/bin/python" -I -m conda init --install >"$PREFIX/.init.log" 2>&1; then
    cat "$PREFIX/.init.log" >&2
    echo "ERROR: 'conda init --install' failed" >&2
    exit 1
fi
rm -f "$PREFIX/.init.log"
# conda-meta/history comes last: a killed installer leaves none, and conda only
# takes the prefix for an environment once it is there
{
    printf '==> %s <==\n' "$(date '+%Y-%m-%d %H:%M:%S')"
    printf '# cmd: %s -b -p %s\n' "$THIS_PATH" "$PREFIX"
    printf '# conda version: %s\n' "$CONDA_VERSION"
    printf '+%s/linux-64::conda-%s-py%s_%s\n' "$CHAN" "$CONDA_VERSION" "$PYTAG" "$CONDA_BUILD"
    printf '+%s/linux-64::python-%s-h0_host\n' "$CHAN" "$PYVER"
    printf "# update specs: ['python', 'conda']\n"
} >> "$PREFIX/conda-meta/history"

if [ -n "${HOME:-}" ]; then
    mkdir -p "$HOME/.conda" 2>/dev/null && {
        grep -qxF "$PREFIX" "$HOME/.conda/environments.txt" 2>/dev/null ||
            echo "$PREFIX" >> "$HOME/.conda/environments.txt"; } 2>/dev/null || true
fi

if [ "$INIT" = "1" ] && [ "$BATCH" = "1" ]; then
    "$PREFIX/bin/conda" init >/dev/null 2>&1 || true
fi
if [ "$TEST" = "1" ]; then
    "$PREFIX/bin/conda" --version || exit 1
fi
echo "installation finished."
exit 0
@@END_HEADER@@
'''


def installer_ver(distribution, conda_version, build=0, python_tag=MINICONDA_TAG):
    """``# VER:`` of an installer: Miniconda's carries its Python tag (``py311_26.7.1-0``), as upstream's."""
    ver = "%s-%d" % (conda_version, build)
    return "%s_%s" % (python_tag, ver) if distribution == "Miniconda3" else ver


def render_header(distribution, conda_version, build, python_tag, pythons, condarc, table):
    """The installer's shell header for a payload laid out as ``table`` (see ``_payload``)."""
    header = HEADER
    subst = {"@NAME@": distribution, "@VER@": installer_ver(distribution, conda_version, build, python_tag),
             "@CONDA_VERSION@": conda_version, "@BUILD@": str(build),
             "@PYTHONS@": " ".join(pythons), "@SOLVER@": conda_dist.BUILDS[conda_version]["solver"],
             "@CONDARC@": condarc.replace("'", ""),
             "@DEFAULT_DIR@": distribution.lower(),
             "@MANIFEST_FILE@": MANIFEST_FILE,
             "@PAYLOADS@": " ".join("%s:%d:%d" % (py, start, size) for py, start, size, dummy in table),
             "@MANIFESTS@": "\n".join('MANIFEST_%s="%s"' % (py.replace(".", "_"), " ".join(top))
                                      for py, dummy, dummy, top in table)}
    for k, v in subst.items():
        header = header.replace(k, v)
    header = header.replace("@PAYLOAD_LINE@", str(header.count("\n") + 1))
    # the header states its own length: settle the number of digits
    offset = 0
    for dummy in range(10):
        text = header.replace("@PAYLOAD_OFFSET@", str(offset))
        if len(text.encode()) == offset:
            return text
        offset = len(text.encode())
    raise RuntimeError("could not settle the header length")


def build_installer(out_dir, distribution, conda_version, build=0, python_tag=MINICONDA_TAG,
                    port=DEFAULT_PORT, url=None, force=False):
    """Build one installer under ``out_dir/installers``; returns its path.

    Miniconda: for the one Python of ``python_tag``; Miniforge: for every Python
    ``conda_version`` is built for (``python_tag`` is ignored).
    """
    name = installer_name(distribution, conda_version, build, python_tag)
    inst_dir = os.path.join(os.path.abspath(out_dir), "installers")
    os.makedirs(inst_dir, exist_ok=True)
    target = os.path.join(inst_dir, name)
    url = url or world_url(port)
    condarc = preset_condarc(distribution, url, conda_dist.BUILDS[conda_version]["solver"])
    if distribution == "Miniconda3":
        pythons = [_python_of(python_tag)]
    else:
        pythons = list(conda_dist.BUILDS[conda_version]["pythons"])
    key = hashlib.sha256(json.dumps([_source_hash(), conda_dist.fingerprint(conda_version), distribution,
                                     conda_version, build, pythons, condarc]).encode()).hexdigest()
    stamp = target + ".stamp"
    if not force and os.path.exists(target) and os.path.exists(stamp) and open(stamp).read() == key:
        _place(out_dir, distribution, conda_version, build, target)
        return target
    payload, table = _payload(conda_version, pythons)
    header = render_header(distribution, conda_version, build, python_tag, pythons, condarc, table)
    tmp = target + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(header.encode())
        fh.write(payload)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    if os.path.exists(target + ".sha256"):
        os.unlink(target + ".sha256")
    with open(stamp, "w") as fh:
        fh.write(key)
    _place(out_dir, distribution, conda_version, build, target)
    return target


def _write_sidecar(path):
    side = path + ".sha256"
    if os.path.exists(side) and os.stat(side).st_mtime >= os.stat(path).st_mtime:
        return
    tmp = "%s.tmp%d" % (side, os.getpid())
    with open(tmp, "w") as fh:
        fh.write("%s  %s\n" % (conda_dist.file_sha256(path), os.path.basename(path)))
    os.replace(tmp, side)


def _copy(src, dest, sidecar=True):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.abspath(src) != os.path.abspath(dest):
        same = False
        try:
            same = os.path.samefile(src, dest)
        except OSError:
            pass
        if not same:
            tmp = "%s.tmp%d" % (dest, os.getpid())
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copy2(src, tmp)
            os.replace(tmp, dest)
            if os.path.exists(dest + ".sha256"):
                os.unlink(dest + ".sha256")  # another file now: its sidecar is rewritten below
    if sidecar:
        _write_sidecar(dest)


def _place(out_dir, distribution, conda_version, build, target):
    inst = os.path.join(os.path.abspath(out_dir), "installers")
    name = os.path.basename(target)
    _write_sidecar(target)
    if distribution == "Miniconda3":
        _copy(target, os.path.join(inst, "miniconda", name))
    else:
        _copy(target, os.path.join(inst, "conda-forge", "miniforge", "releases", "download",
                                   "%s-%d" % (conda_version, build), name))


def place_latest(out_dir, distribution, target):
    inst = os.path.join(os.path.abspath(out_dir), "installers")
    # the flat mirror directory carries "latest" names too, each with a sidecar
    _copy(target, os.path.join(inst, "Miniconda3-latest-Linux-x86_64.sh" if distribution == "Miniconda3"
                               else "Miniforge3-Linux-x86_64.sh"))
    if distribution == "Miniconda3":
        _copy(target, os.path.join(inst, "miniconda", "Miniconda3-latest-Linux-x86_64.sh"))
    else:
        _copy(target, os.path.join(inst, "conda-forge", "miniforge", "releases", "latest",
                                   "download", "Miniforge3-Linux-x86_64.sh"), sidecar=False)


def _source_hash():
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), conda_dist.__file__):
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def place_upstream(out_dir, name, cache_dir=None):
    """Put upstream's installer ``name`` (downloaded and verified by ``conda_dist.fetch_upstream``)
    where the world's own would be: the flat mirror and the upstream-style paths, with sidecars."""
    src, digest = conda_dist.fetch_upstream(name, cache_dir)
    distribution, conda_version, build, dummy = conda_dist.parse_installer_name(name)
    inst_dir = os.path.join(os.path.abspath(out_dir), "installers")
    target = os.path.join(inst_dir, name)
    _copy(src, target, sidecar=False)
    with open(target + ".sha256", "w") as fh:
        fh.write("%s  %s\n" % (digest, name))
    with open(target + ".stamp", "w") as fh:  # never a key of ours: switching back rebuilds ours
        fh.write("upstream:%s" % digest)
    _place(out_dir, distribution, conda_version, build, target)
    return target


def build_all(out_dir, port=DEFAULT_PORT, url=None, force=False, upstream=None):
    """Every installer of the world: {(distribution, version): path} for this machine's
    Python, and {(distribution, version, python_tag): path} for each Miniconda Python.

    ``upstream`` (default: ``$CONDAFLEET_WORLD_UPSTREAM``, see
    ``conda_dist.upstream_selection``) puts upstream's own installers (downloaded,
    checksum verified) in place of the world's: ``"all"``, or a set of file names
    (names the world does not build are placed too, under ``("upstream", name)``).
    """
    chosen = conda_dist.upstream_selection(upstream)
    wanted = set(chosen) if isinstance(chosen, set) else set()

    def one(distribution, ver, tag=MINICONDA_TAG):
        name = installer_name(distribution, ver, python_tag=tag)
        if chosen == "all" or name in wanted:
            wanted.discard(name)
            return place_upstream(out_dir, name)
        return build_installer(out_dir, distribution, ver, python_tag=tag, port=port, url=url, force=force)

    out = {}
    for ver in VERSIONS:
        for tag in python_tags(ver):
            path = one("Miniconda3", ver, tag)
            out[("Miniconda3", ver, tag)] = path
            if tag == MINICONDA_TAG:
                out[("Miniconda3", ver)] = path
        out[("Miniforge3", ver)] = one("Miniforge3", ver)
    for name in sorted(wanted):
        out[("upstream", name)] = place_upstream(out_dir, name)
    for dist in DISTRIBUTIONS:
        place_latest(out_dir, dist, out[(dist, NEW_VERSION)])
    return out


if __name__ == "__main__":  # pragma: no cover
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(REPO, ".cache", "world"))
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--upstream", nargs="?", const="all", default=None,
                    help="use upstream's installers (internet): all, or comma-separated file names")
    a = ap.parse_args()
    for k, v in build_all(a.out, port=a.port, force=a.force, upstream=a.upstream).items():
        print("%s %s: %s" % (k[0], k[1], v))
