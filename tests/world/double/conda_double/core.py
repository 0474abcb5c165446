# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Prefixes, history, repodata, solving and linking for the conda double:
TEST INFRASTRUCTURE ONLY (see conda_double/__init__.py). Solving and linking
are done by py-rattler; records and history are written in conda's format."""
from __future__ import annotations

import ast
import asyncio
import datetime
import glob
import hashlib
import json
import os
import platform as _platform
import re
import shutil
import time

from . import VERSION
from .context import CondaError, HTTPFailure, fetch, url_hash

DIST_FIELDS = ("base_url", "build_number", "build_string", "channel", "dist_name", "name",
               "platform", "version")


def _rattler():
    import rattler  # bundled by the installer
    return rattler


# --------------------------------------------------------------------------- prefix data
def is_env(prefix):
    return os.path.isfile(os.path.join(prefix, "conda-meta", "history"))


def prefix_records(prefix):
    """{name: record dict} from PREFIX/conda-meta/*.json."""
    out = {}
    for path in sorted(glob.glob(os.path.join(prefix, "conda-meta", "*.json"))):
        try:
            with open(path) as fh:
                rec = json.load(fh)
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict) and rec.get("name"):
            rec["_path"] = path
            out[rec["name"]] = rec
    return out


def base_url_of(rec):
    chan = rec.get("channel") or ""
    sub = rec.get("subdir") or ""
    if "://" in chan:
        if sub and chan.rstrip("/").endswith("/" + sub):
            return chan.rstrip("/")[: -len(sub) - 1]
        return chan.rstrip("/")
    url = rec.get("url") or ""
    if url and "/" in url:
        return url.rsplit("/", 2)[0]
    return chan


def dist_fields(rec, ctx):
    base = base_url_of(rec)
    return {
        "base_url": base,
        "build_number": rec.get("build_number", 0),
        "build_string": rec.get("build", ""),
        "channel": ctx.channel_name(base) if "://" in base else base,
        "dist_name": "%s-%s-%s" % (rec["name"], rec["version"], rec.get("build", "")),
        "name": rec["name"],
        "platform": rec.get("subdir") or "noarch",
        "version": rec["version"],
    }


def history_path(prefix):
    return os.path.join(prefix, "conda-meta", "history")


def parse_history(prefix):
    """List of revisions: {date, cmd, version, add: [...], remove: [...], update_specs, remove_specs, neutered}."""
    revs = []
    try:
        with open(history_path(prefix)) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return revs
    cur = None
    for line in lines:
        m = re.match(r"^==>\s*(.*?)\s*<==\s*$", line)
        if m:
            cur = {"date": m.group(1), "add": [], "remove": [], "update_specs": [],
                   "remove_specs": [], "neutered_specs": [], "cmd": ""}
            revs.append(cur)
            continue
        if cur is None:
            continue
        if line.startswith("+"):
            cur["add"].append(line[1:])
        elif line.startswith("-"):
            cur["remove"].append(line[1:])
        elif line.startswith("# cmd:"):
            cur["cmd"] = line[6:].strip()
        else:
            m = re.match(r"^#\s*(update|install|create|remove|neutered) specs:\s*(.*)$", line)
            if m:
                try:
                    specs = ast.literal_eval(m.group(2))
                except (ValueError, SyntaxError):
                    specs = [s.strip() for s in m.group(2).strip("[]").split(",") if s.strip()]
                kind = {"install": "update", "create": "update"}.get(m.group(1), m.group(1))
                cur[kind + "_specs"].extend(specs)
    return revs


def spec_name(spec):
    spec = spec.strip()
    if "::" in spec:
        spec = spec.split("::", 1)[1]
    m = re.match(r"^([A-Za-z0-9_.\-]+)", spec)
    return m.group(1).lower() if m else spec


def requested_specs(prefix, installed=None):
    """conda's History.get_requested_specs_map(): {name: spec string}, ordered."""
    req = {}
    for rev in parse_history(prefix):
        for s in rev["remove_specs"]:
            req.pop(spec_name(s), None)
        for s in rev["update_specs"]:
            req[spec_name(s)] = s
        for s in rev["neutered_specs"]:
            req[spec_name(s)] = s
    if installed is not None:
        req = {k: v for k, v in req.items() if k in installed}
    return req


def history_line(rec):
    return "%s::%s-%s-%s" % (rec.get("channel") or base_url_of(rec), rec["name"], rec["version"], rec.get("build", ""))


def write_history(prefix, argv, unlink, link, update_specs=None, remove_specs=None):
    os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    lines = ["==> %s <==" % now, "# cmd: %s" % " ".join(argv), "# conda version: %s" % VERSION]
    lines += sorted("-" + history_line(r) for r in unlink)
    lines += sorted("+" + history_line(r) for r in link)
    if update_specs is not None:
        lines.append("# update specs: %r" % (list(update_specs),))
    if remove_specs is not None:
        lines.append("# remove specs: %r" % (list(remove_specs),))
    with open(history_path(prefix), "a") as fh:
        fh.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- env registry
def environments_txt():
    return os.path.join(os.path.expanduser("~"), ".conda", "environments.txt")


def _read_registry():
    try:
        with open(environments_txt()) as fh:
            return [l.strip() for l in fh if l.strip()]
    except OSError:
        return []


def register_env(prefix):
    prefix = os.path.abspath(prefix)
    entries = _read_registry()
    if prefix in entries:
        return
    os.makedirs(os.path.dirname(environments_txt()), exist_ok=True)
    with open(environments_txt(), "a") as fh:
        fh.write(prefix + "\n")


def unregister_env(prefix):
    prefix = os.path.abspath(prefix)
    entries = _read_registry()
    if prefix not in entries:
        return
    with open(environments_txt(), "w") as fh:
        fh.write("".join(e + "\n" for e in entries if e != prefix))


def known_envs(ctx):
    envs = {ctx.root}
    for e in _read_registry():
        if is_env(e):
            envs.add(os.path.abspath(e))
    for d in ctx.envs_dirs:
        if os.path.isdir(d):
            for n in os.listdir(d):
                p = os.path.join(d, n)
                if is_env(p):
                    envs.add(p)
    return sorted(envs)


def _iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat()


def env_details(ctx, prefix):
    name = ""
    if prefix == ctx.root:
        name = "base"
    elif os.path.dirname(prefix) in ctx.envs_dirs:
        name = os.path.basename(prefix)
    created = None
    try:
        with open(os.path.join(prefix, "conda-meta", "created_at")) as fh:
            created = _iso(float(fh.read().strip()))
    except (OSError, ValueError):
        pass
    try:
        last = _iso(os.stat(history_path(prefix)).st_mtime)
    except OSError:
        last = None
    return {"name": name, "created": created, "last_modified": last,
            "active": os.path.abspath(os.environ.get("CONDA_PREFIX") or "/nonexistent") == prefix,
            "base": prefix == ctx.root,
            "frozen": os.path.exists(os.path.join(prefix, "conda-meta", "frozen")),
            "writable": os.access(prefix, os.W_OK)}


# --------------------------------------------------------------------------- virtual packages
def virtual_packages():
    """[(name, version, build)] like conda's: CONDA_OVERRIDE_* honoured."""
    env = os.environ
    out = [("__archspec", "1", env.get("CONDA_OVERRIDE_ARCHSPEC") or _platform.machine() or "x86_64"),
           ("__conda", VERSION, "0")]
    glibc = env.get("CONDA_OVERRIDE_GLIBC")
    if glibc is None:
        try:
            glibc = os.confstr("CS_GNU_LIBC_VERSION").split()[1]
        except (ValueError, OSError, IndexError, AttributeError):
            glibc = "2.17"
    if glibc:
        out.append(("__glibc", glibc, "0"))
    linux = env.get("CONDA_OVERRIDE_LINUX")
    if linux is None:
        m = re.match(r"\d+(\.\d+)*", _platform.release())
        linux = m.group(0) if m else "0"
    if linux:
        out.append(("__linux", linux, "0"))
    out.append(("__unix", "0", "0"))
    if "CONDA_OVERRIDE_CUDA" in env:
        cuda = env["CONDA_OVERRIDE_CUDA"].strip()
    else:
        cuda = _detect_cuda()
    if cuda:
        out.append(("__cuda", cuda, "0"))
    return sorted(out)


def _detect_cuda():
    try:
        rattler = _rattler()
        for vp in rattler.VirtualPackage.detect():
            g = vp.into_generic()
            if g.name.normalized == "__cuda":
                return str(g.version)
    except Exception:
        pass
    return ""


# --------------------------------------------------------------------------- repodata
SUBDIRS = ("linux-64", "noarch")


class Index:
    """Repodata of the channels, mirrored into PKGS/cache/<hash>/ for rattler."""

    def __init__(self, ctx, channel_urls):
        self.ctx = ctx
        self.channels = channel_urls
        self.cache = os.path.join(ctx.pkgs_dir, "cache", "double")
        self.records = {}     # (mirror_base, subdir, fn) -> original record dict
        self.mirror_of = {}   # mirror base -> channel url
        self.names = set()
        self.sparse = []

    def load(self):
        rattler = _rattler()
        add_pip = bool(self.ctx["add_pip_as_python_dependency"])
        for url in self.channels:
            mirror = os.path.join(self.cache, url_hash(url))
            self.mirror_of["file://" + mirror] = url
            for sub in SUBDIRS:
                try:
                    raw = fetch("%s/%s/repodata.json" % (url, sub))
                except HTTPFailure as exc:
                    if exc.status == 404 and sub != "noarch":
                        raw = b'{"packages": {}, "packages.conda": {}}'
                    elif exc.status == 404:
                        from .context import mask
                        raise CondaError(
                            "UnavailableInvalidChannel",
                            "HTTP 404 NOT FOUND for channel %s <%s>\n\nThe channel is not accessible "
                            "or is invalid.\n\nYou will need to adjust your conda configuration to "
                            "proceed.\nUse `conda config --show channels` to view your configuration's "
                            "current state,\nand use `conda config --show-sources` to view config "
                            "file locations.\n" % (self.ctx.channel_name(url), mask(url)),
                            channel_name=self.ctx.channel_name(url), channel_url=mask(url),
                            status_code=404, reason="NOT FOUND", response_details="", json="")
                    else:
                        raise exc.conda_error()
                data = json.loads(raw.decode("utf-8"))
                for key in ("packages", "packages.conda"):
                    for fn, rec in (data.get(key) or {}).items():
                        self.records[(mirror, sub, fn)] = dict(rec)
                        self.names.add(rec.get("name"))
                        if add_pip and rec.get("name") == "python" and \
                                not any(spec_name(d) == "pip" for d in rec.get("depends", [])):
                            rec["depends"] = list(rec.get("depends", [])) + ["pip"]
                d = os.path.join(mirror, sub)
                os.makedirs(d, exist_ok=True)
                data.setdefault("info", {})["subdir"] = sub
                data["info"].pop("base_url", None)
                tmp = os.path.join(d, "repodata.json.%d" % os.getpid())
                with open(tmp, "w") as fh:
                    json.dump(data, fh)
                os.replace(tmp, os.path.join(d, "repodata.json"))
                chan = rattler.Channel("file://" + mirror)
                self.sparse.append(rattler.SparseRepoData(chan, sub, os.path.join(d, "repodata.json")))
        return self

    def origin(self, rec):
        """(channel url, subdir, fn, original record) of a solved RepoDataRecord."""
        url = rec.url
        mirror_base, sub, fn = url.rsplit("/", 2)
        mirror_dir = mirror_base[len("file://"):]
        return self.mirror_of[mirror_base], sub, fn, self.records.get((mirror_dir, sub, fn), {})

    def repodata_dict(self, rec):
        chan, sub, fn, orig = self.origin(rec)
        d = {"name": rec.name.source, "version": str(rec.version), "build": rec.build,
             "build_number": rec.build_number, "channel": "%s/%s" % (chan, sub), "subdir": sub,
             "fn": fn, "md5": orig.get("md5"), "legacy_bz2_size": None,
             "url": "%s/%s/%s" % (chan, sub, fn), "sha256": orig.get("sha256"),
             "arch": None, "platform": None, "depends": list(orig.get("depends", [])),
             "constrains": list(orig.get("constrains", []))}
        for k in ("noarch", "license", "license_family", "track_features", "features",
                  "package_type", "timestamp", "size"):
            if orig.get(k) not in (None, "") or k in ("timestamp", "size"):
                if k in orig:
                    d[k] = orig[k]
        if orig.get("noarch") and "package_type" not in d:
            d["package_type"] = "noarch_python" if orig["noarch"] == "python" else "noarch_generic"
        return d


def solve(ctx, index, specs, locked, priority):
    rattler = _rattler()
    vps = [rattler.GenericVirtualPackage(rattler.PackageName(n), rattler.Version(v), b)
           for n, v, b in virtual_packages()]
    prio = rattler.ChannelPriority.Disabled if priority == "disabled" else rattler.ChannelPriority.Strict
    try:
        return asyncio.run(rattler.solve_with_sparse_repodata(
            specs=specs, sparse_repodata=index.sparse, locked_packages=locked,
            virtual_packages=vps, channel_priority=prio))
    except Exception as exc:  # rattler.exceptions.SolverError and friends
        text = str(exc)
        if not text.startswith("Cannot solve"):
            text = "Cannot solve the request because of: " + text
        if not text.endswith("\n"):
            text += "\n"
        raise CondaError("RattlerUnsatisfiableError", text,
                         module="conda_rattler_solver.exceptions", allow_retry=False)


def locked_records(index, installed):
    """Installed records as RepoDataRecords (for rattler's locked_packages)."""
    rattler = _rattler()
    out = []
    for name, rec in installed.items():
        path = rec.get("_path")
        try:
            pr = rattler.PrefixRecord.from_path(path)
            if name == "python" and index.ctx["add_pip_as_python_dependency"] and \
                    not any(spec_name(d) == "pip" for d in pr.depends):
                pr.depends = list(pr.depends) + ["pip"]
        except Exception:
            continue
        out.append(pr)
    return out


def topo(records):
    rattler = _rattler()
    try:
        return list(rattler.PackageRecord.sort_topologically(list(records)))
    except Exception:
        return list(records)


def record_key(d):
    return (d["name"], d["version"], d.get("build", d.get("build_string")), base_url_of(d))


def download(index, records, pkgs_dir):
    """Fetch the archives of solved records into the mirror (and PKGS/<fn>)."""
    for rec in records:
        chan, sub, fn, orig = index.origin(rec)
        mirror = rec.url[len("file://"):]
        if not os.path.exists(mirror):
            cached = os.path.join(pkgs_dir, fn)
            if os.path.exists(cached) and orig.get("sha256") and \
                    hashlib.sha256(open(cached, "rb").read()).hexdigest() == orig["sha256"]:
                data = open(cached, "rb").read()
            else:
                try:
                    data = fetch("%s/%s/%s" % (chan, sub, fn))
                except HTTPFailure as exc:
                    raise exc.conda_error()
                if orig.get("sha256") and hashlib.sha256(data).hexdigest() != orig["sha256"]:
                    raise CondaError("ChecksumMismatchError", "Conda detected a mismatch between the "
                                     "expected content and downloaded content\nfor url '%s'." % rec.url,
                                     url="%s/%s/%s" % (chan, sub, fn))
            tmp = mirror + ".part%d" % os.getpid()
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, mirror)
        target = os.path.join(pkgs_dir, fn)
        if not os.path.exists(target):
            os.makedirs(pkgs_dir, exist_ok=True)
            try:
                os.link(mirror, target)
            except OSError:
                shutil.copyfile(mirror, target)


def link(ctx, index, prefix, records, installed, requested):
    """Make PREFIX hold exactly ``records``; rewrite conda-meta the way conda writes it."""
    rattler = _rattler()
    installed_pr = []
    for rec in installed.values():
        try:
            installed_pr.append(rattler.PrefixRecord.from_path(rec["_path"]))
        except Exception:
            pass
    os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
    cache = os.path.join(ctx.pkgs_dir, "cache", "extracted")
    rattler_install(ctx, prefix, list(records), installed_pr)
    by_name = {r.name.normalized: r for r in records}
    for path in glob.glob(os.path.join(prefix, "conda-meta", "*.json")):
        try:
            with open(path) as fh:
                meta = json.load(fh)
        except (OSError, ValueError):
            continue
        rec = by_name.get(meta.get("name"))
        if rec is None:
            continue
        chan, sub, fn, orig = index.origin(rec) if rec.url.startswith("file://") and \
            rec.url.rsplit("/", 2)[0] in index.mirror_of else (None, None, None, None)
        if chan is None:
            continue
        new = index.repodata_dict(rec)
        new.pop("legacy_bz2_size", None)
        new.pop("arch", None)
        new.pop("platform", None)
        dist = "%s-%s-%s" % (new["name"], new["version"], new["build"])
        spec = requested.get(new["name"])
        if spec:
            new["requested_spec"] = spec
        new["package_tarball_full_path"] = os.path.join(ctx.pkgs_dir, fn)
        new["extracted_package_dir"] = os.path.join(ctx.pkgs_dir, dist)
        new["files"] = meta.get("files", [])
        new["paths_data"] = meta.get("paths_data", {"paths_version": 1, "paths": []})
        new["link"] = {"source": os.path.join(ctx.pkgs_dir, dist), "type": 1}
        if spec:
            new["requested_specs"] = [spec]
        tmp = path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(new, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)


def rattler_install(ctx, prefix, records, installed_pr):
    """rattler.install into PREFIX (records = the complete desired set)."""
    rattler = _rattler()
    tag = os.path.join(prefix, "CACHEDIR.TAG")
    had_tag = os.path.exists(tag)
    try:
        asyncio.run(rattler.install(records=list(records), target_prefix=prefix,
                                    cache_dir=os.path.join(ctx.pkgs_dir, "cache", "extracted"),
                                    installed_packages=list(installed_pr), show_progress=False))
    finally:
        if not had_tag and os.path.exists(tag):
            os.remove(tag)


def update_requested(prefix, requested):
    """Refresh requested_spec(s) of already-linked records."""
    for path in glob.glob(os.path.join(prefix, "conda-meta", "*.json")):
        try:
            with open(path) as fh:
                meta = json.load(fh)
        except (OSError, ValueError):
            continue
        spec = requested.get(meta.get("name"))
        cur = meta.get("requested_spec")
        if spec == cur:
            continue
        if spec:
            meta["requested_spec"] = spec
            meta["requested_specs"] = [spec]
        else:
            meta.pop("requested_spec", None)
            meta.pop("requested_specs", None)
        with open(path, "w") as fh:
            json.dump(meta, fh, indent=2)
            fh.write("\n")


def now_epoch():
    return time.time()


def pip_records(prefix, installed=None):
    """Python packages pip installed (not owned by a conda record), as conda 26.7 lists them."""
    installed = prefix_records(prefix) if installed is None else installed
    owned = set()
    for rec in installed.values():
        owned.update(rec.get("files") or [])
    out = []
    for info in sorted(glob.glob(os.path.join(prefix, "lib", "python*", "site-packages", "*.dist-info"))):
        rel = os.path.relpath(os.path.join(info, "METADATA"), prefix)
        if rel in owned:
            continue
        name = version = None
        try:
            with open(os.path.join(info, "METADATA")) as fh:
                for line in fh:
                    if line.startswith("Name:") and name is None:
                        name = line.split(":", 1)[1].strip()
                    elif line.startswith("Version:") and version is None:
                        version = line.split(":", 1)[1].strip()
                    elif not line.strip():
                        break
        except OSError:
            continue
        if not name or not version:
            continue
        norm = re.sub(r"[-_.]+", "-", name).lower()
        if norm in installed:
            continue
        out.append({"base_url": "https://pypi.org/", "build_number": 0, "build_string": "pypi_0",
                    "channel": "pypi", "dist_name": "%s-%s-pypi_0" % (norm, version), "name": norm,
                    "platform": "pypi", "version": version})
    return out
