# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Command line of the conda double: TEST INFRASTRUCTURE ONLY (see conda_double/__init__.py).

Mirrors conda 26.7's argv, JSON shapes, exit codes and side effects as recorded in
tests/world/reference (older behaviour when the installed version says so).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

from . import VERSION, miniyaml
from . import core
from .context import (ALIASES, ENUMS, ENV_CREATE_IS_CREATE, ENVS_DETAILS,
                      CondaError, Context, PlainError, canonical_key, channel_object,
                      default_settings, mask, read_yaml_file, root_prefix)

NOTHING = "All requested packages already installed."


def out_json(obj):
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write("%s: error: %s\n" % (self.prog, message))
        sys.exit(2)


def _common(p, target=True, channels=True, txn=True):
    p.add_argument("--json", action="store_true", default=os.environ.get("CONDA_JSON", "").lower() in ("1", "true", "yes"))
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("--debug", action="store_true")
    p.add_argument("--offline", action="store_true")
    if target:
        p.add_argument("-n", "--name")
        p.add_argument("-p", "--prefix")
    if channels:
        p.add_argument("-c", "--channel", action="append", default=[])
        p.add_argument("--override-channels", action="store_true")
        p.add_argument("--strict-channel-priority", action="store_true")
        p.add_argument("--no-channel-priority", action="store_true")
        p.add_argument("--use-local", action="store_true")
        p.add_argument("--solver")
        p.add_argument("--repodata-fn", action="append")
        p.add_argument("--insecure", "-k", action="store_true")
    if txn:
        p.add_argument("-y", "--yes", action="store_true")
        p.add_argument("-d", "--dry-run", action="store_true")
        p.add_argument("--download-only", action="store_true")
        p.add_argument("--no-deps", action="store_true")
        p.add_argument("--only-deps", action="store_true")
        p.add_argument("--freeze-installed", "--no-update-deps", action="store_true")
        p.add_argument("--update-deps", action="store_true")
        p.add_argument("--update-specs", action="store_true")
        p.add_argument("-S", "--satisfied-skip-solve", action="store_true")
        p.add_argument("--force-reinstall", action="store_true")
        p.add_argument("--copy", action="store_true")
        p.add_argument("--no-pin", action="store_true")
        p.add_argument("--override-frozen", action="store_true")


def build_parser():
    p = Parser(prog="conda")
    p.add_argument("-V", "--version", action="store_true")
    sub = p.add_subparsers(dest="cmd", parser_class=Parser)

    for name in ("create", "install", "update", "upgrade"):
        s = sub.add_parser(name)
        _common(s)
        s.add_argument("packages", nargs="*")
        s.add_argument("-f", "--file", action="append", default=[])
        if name == "create":
            s.add_argument("--clone")
            s.add_argument("--no-default-packages", action="store_true")
        if name in ("update", "upgrade"):
            s.add_argument("--all", "--update-all", action="store_true", dest="all")
        if name == "install":
            s.add_argument("--revision", metavar="REVISION")
    for name in ("remove", "uninstall"):
        s = sub.add_parser(name)
        _common(s)
        s.add_argument("packages", nargs="*")
        s.add_argument("--all", action="store_true")
        s.add_argument("--features", action="store_true")
        s.add_argument("--force", action="store_true")
        s.add_argument("--keep-env", action="store_true")

    s = sub.add_parser("info")
    _common(s, target=False, channels=True, txn=False)
    s.add_argument("--base", action="store_true")
    s.add_argument("-e", "--envs", action="store_true")
    s.add_argument("-a", "--all", action="store_true")
    s.add_argument("-s", "--system", action="store_true")
    s.add_argument("--unsafe-channels", action="store_true")

    s = sub.add_parser("list")
    _common(s, channels=False, txn=False)
    s.add_argument("regex", nargs="?")
    s.add_argument("-e", "--export", action="store_true")
    s.add_argument("--explicit", action="store_true")
    s.add_argument("--md5", action="store_true")
    s.add_argument("--sha256", action="store_true")
    s.add_argument("-r", "--revisions", action="store_true")
    s.add_argument("-f", "--full-name", action="store_true")
    s.add_argument("--no-pip", action="store_true")
    s.add_argument("-c", "--canonical", action="store_true")
    s.add_argument("--size", action="store_true")

    s = sub.add_parser("config")
    _common(s, channels=False, txn=False)
    loc = s.add_mutually_exclusive_group()
    loc.add_argument("--system", action="store_true")
    loc.add_argument("--env", action="store_true")
    loc.add_argument("--file")
    s.add_argument("--show", nargs="*", default=None)
    s.add_argument("--show-sources", action="store_true")
    s.add_argument("--validate", action="store_true")
    s.add_argument("--describe", nargs="*", default=None)
    s.add_argument("--write-default", action="store_true")
    s.add_argument("--get", nargs="*", default=None)
    s.add_argument("--set", nargs=2, action="append", default=[])
    s.add_argument("--add", "--prepend", nargs=2, action="append", default=[], dest="add")
    s.add_argument("--append", nargs=2, action="append", default=[])
    s.add_argument("--remove", nargs=2, action="append", default=[])
    s.add_argument("--remove-key", action="append", default=[])
    s.add_argument("--stdin", action="store_true")

    s = sub.add_parser("search")
    _common(s, target=False, txn=False)
    s.add_argument("match_spec", nargs="?")
    s.add_argument("-i", "--info", action="store_true")
    s.add_argument("--subdir", "--platform")

    s = sub.add_parser("run")
    s.add_argument("-n", "--name")
    s.add_argument("-p", "--prefix")
    s.add_argument("--cwd")
    s.add_argument("--no-capture-output", "--live-stream", action="store_true")
    s.add_argument("command", nargs=argparse.REMAINDER)

    s = sub.add_parser("clean")
    _common(s, target=False, channels=False, txn=False)
    s.add_argument("-a", "--all", action="store_true")
    s.add_argument("-y", "--yes", action="store_true")
    s.add_argument("-d", "--dry-run", action="store_true")
    s.add_argument("-p", "--packages", action="store_true")
    s.add_argument("-t", "--tarballs", action="store_true")
    s.add_argument("-i", "--index-cache", action="store_true")

    env = sub.add_parser("env")
    esub = env.add_subparsers(dest="envcmd", parser_class=Parser)
    s = esub.add_parser("list")
    _common(s, target=False, channels=False, txn=False)
    s = esub.add_parser("create")
    _common(s)
    s.add_argument("-f", "--file", action="append", default=[])
    s.add_argument("remote_definition", nargs="?")
    s = esub.add_parser("update")
    _common(s, txn=False)
    s.add_argument("-f", "--file", action="append", default=[])
    s.add_argument("--prune", action="store_true")
    s.add_argument("remote_definition", nargs="?")
    s = esub.add_parser("remove")
    _common(s, channels=False)
    s = esub.add_parser("export")
    _common(s, channels=False, txn=False)
    s.add_argument("-c", "--channel", action="append", default=[])
    s.add_argument("--override-channels", action="store_true")
    s.add_argument("-f", "--file")
    s.add_argument("--no-builds", action="store_true")
    s.add_argument("--ignore-channels", action="store_true")
    s.add_argument("--from-history", action="store_true")
    s.add_argument("--format")
    return p


# --------------------------------------------------------------------------- helpers
def target_prefix(ctx, args, required=True, must_exist=False):
    name = getattr(args, "name", None)
    prefix = getattr(args, "prefix", None)
    if prefix:
        return os.path.abspath(os.path.expanduser(prefix))
    if name:
        if name in ("base", "root"):
            return ctx.root
        if "/" in name:
            raise CondaError("CondaValueError", "Invalid environment name: '%s'" % name)
        for d in ctx.envs_dirs:
            cand = os.path.join(d, name)
            if core.is_env(cand):
                return cand
        for d in ctx.envs_dirs:
            if os.access(d, os.W_OK) or not os.path.exists(d):
                return os.path.join(d, name)
        return os.path.join(ctx.envs_dirs[0], name)
    if os.environ.get("CONDA_PREFIX"):
        return os.path.abspath(os.environ["CONDA_PREFIX"])
    return ctx.root


def require_env(prefix):
    if not os.path.isdir(prefix):
        raise CondaError("EnvironmentLocationNotFound", "Not a conda environment: %s" % prefix,
                         location=prefix)
    if not core.is_env(prefix):
        raise CondaError("DirectoryNotACondaEnvironmentError",
                         "The target directory exists, but it is not a conda environment.\n"
                         "Use 'conda create' to convert the directory to a conda environment.\n"
                         "  target directory: %s\n" % prefix, target_directory=prefix)


def normalize_spec(spec):
    import re
    spec = spec.strip()
    spec = re.sub(r"==([<>]=?)", r"\1", spec)       # python==>3.9 is read as python >3.9
    m = re.match(r"^([A-Za-z0-9_.\-]+(?:::)?[A-Za-z0-9_.\-]*)=([^=<>!~ ]+)=([^=<>!~ ]+)$", spec)
    if m:  # name=version=build (conda env export's pins; version * is any version)
        name, version, build = m.groups()
        if version == "*":
            return "%s * %s" % (name, build)
        return "%s ==%s %s" % (name, version, build)
    spec = re.sub(r"^([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)=([<>!~]=?)", r"\1\2", spec)
    return spec


def channel_spec(ctx, index, spec):
    """``chan::pkg`` -> ``file://<repodata mirror of chan>::pkg`` (what rattler solves against)."""
    if "::" not in spec:
        return spec
    chan, rest = spec.split("::", 1)
    from .context import url_hash
    for url in ctx.expand_channel(chan):
        if url in index.channels:
            return "file://%s::%s" % (os.path.join(index.cache, url_hash(url)), rest)
    return spec


def parse_specs(specs):
    rattler = core._rattler()
    out = []
    for s in specs:
        norm = normalize_spec(s)
        try:
            out.append(rattler.MatchSpec(norm, strict=False))
        except Exception as exc:
            raise CondaError("InvalidMatchSpec", "Invalid spec '%s': %s" % (s, exc),
                             invalid_spec=s, details=str(exc))
    return out


def read_spec_file(path):
    """--file: a text file of specs, an @EXPLICIT file or an environment.yml."""
    if not os.path.exists(path):
        raise CondaError("EnvironmentFileNotFound", "'%s' file not found" % path, filename=path)
    if path.endswith((".yml", ".yaml")):
        data = read_yaml_file(path) or {}
        return env_file_specs(data)
    specs, channels, explicit = [], [], False
    with open(path) as fh:
        lines = fh.read().splitlines()
    for raw in lines:
        if raw.strip() == "@EXPLICIT":
            explicit = True
            continue
        if explicit and "://" in raw and not raw.lstrip().startswith("#"):
            url = raw.strip().split("#", 1)[0]
            base, fn = url.rsplit("/", 2)[0], url.rsplit("/", 1)[1]
            stem = fn[:-len(".tar.bz2")] if fn.endswith(".tar.bz2") else fn.rsplit(".", 1)[0]
            name, version, build = stem.rsplit("-", 2)
            specs.append("%s ==%s %s" % (name, version, build))
            if base not in channels:
                channels.append(base)
            continue
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("@"):
            specs.append(line)
    return {"specs": specs, "channels": channels, "pip": [], "name": None, "prefix": None,
            "explicit": explicit}


def env_file_specs(data):
    specs, pip = [], []
    for dep in data.get("dependencies") or []:
        if isinstance(dep, dict):
            pip.extend(str(x) for x in (dep.get("pip") or []))
        elif dep is not None:
            specs.append(str(dep))
    return {"specs": specs, "channels": [str(c) for c in data.get("channels") or []], "pip": pip,
            "name": data.get("name"), "prefix": data.get("prefix")}


def check_not_found(ctx, index, specs, installed, channel_urls):
    missing = []
    for s in specs:
        name = core.spec_name(s)
        if name.startswith("__") or name in index.names or name in installed:
            continue
        missing.append(s)
    if missing:
        chan_lines = "".join("\n  - %s" % mask(u) for u in channel_urls)
        pkg_lines = "".join("\n  - %s" % s for s in missing)
        msg = ("The following packages are not available from current channels:\n%s\n\n"
               "Current channels:\n%s\n\nTo search for alternate channels that may provide the "
               "conda package you're\nlooking for, navigate to\n\n    https://anaconda.org\n\n"
               "and use the search bar at the top of the page.\n"
               % (pkg_lines, chan_lines))
        raise CondaError("PackagesNotFoundInChannelsError", msg,
                         channel_urls=[channel_object(u) for u in channel_urls],
                         channels_formatted=chan_lines, packages=missing,
                         packages_formatted=pkg_lines)


def priority_of(ctx, args):
    if getattr(args, "strict_channel_priority", False):
        return "strict"
    if getattr(args, "no_channel_priority", False):
        return "disabled"
    return str(ctx["channel_priority"])


def argv_line():
    return [os.path.join(root_prefix(), "bin", "conda")] + sys.argv[1:]


# --------------------------------------------------------------------------- transactions
def transact(ctx, args, prefix, specs, mode, file_channels=(), pip=(), prune=False,
             env_channel_strip=False, override=None):
    """create/install/update/env-update: solve, print the plan, link. Returns rc."""
    json_mode = args.json
    cli_channels = list(getattr(args, "channel", []) or [])
    override = args.override_channels if override is None else override
    if getattr(args, "override_channels", False) and not cli_channels and not file_channels:
        raise CondaError("ArgumentError", "At least one -c / --channel flag must be supplied when "
                         "using --override-channels.", rc=2)
    if env_channel_strip and "nodefaults" in file_channels:
        file_channels = [c for c in file_channels if c != "nodefaults"]
        override = True
    exists = core.is_env(prefix)
    if mode == "create":
        if exists and args.dry_run:
            raise CondaError("CondaValueError",
                             "Cannot `create --dry-run` with an existing conda environment")
        installed = {}
        history = {}
    else:
        if not exists:
            if mode == "env-update":
                installed, history = {}, {}
            else:
                require_env(prefix)
        if exists:
            installed = core.prefix_records(prefix)
            history = core.requested_specs(prefix, installed)
    channel_urls = ctx.channel_urls(cli_channels, override, file_channels)
    if not channel_urls:
        pkgs = list(specs)
        raise CondaError("NoChannelsConfiguredError",
                         "No channels are configured. Please add channels to your configuration "
                         "with `conda config --add channels <channel>` or pass `-c <channel>`.",
                         packages=pkgs, packages_str=", ".join(pkgs))
    parse_specs(specs)
    if mode == "update":
        for s in specs:
            if core.spec_name(s) not in installed:
                raise CondaError("PackageNotInstalledError",
                                 "%s\n\nPackage is not installed in prefix.\n  prefix: %s\n  package name: %s\n"
                                 % (prefix, prefix, core.spec_name(s)), prefix=prefix,
                                 package_name=core.spec_name(s))
    index = core.Index(ctx, channel_urls).load()
    check_not_found(ctx, index, specs, installed, channel_urls)

    new_names = {core.spec_name(s) for s in specs}
    rattler = core._rattler()
    if prune:
        solve_specs = list(specs)
    else:
        merged = dict(history)
        for s in specs:
            merged.pop(core.spec_name(s), None)
            merged[core.spec_name(s)] = s
        solve_specs = list(merged.values())
        if mode == "update" and getattr(args, "all", False):
            solve_specs = [core.spec_name(s) for s in solve_specs] or list(installed)
    locked = []
    for name, rec in installed.items():
        if (mode == "update" or getattr(args, "update_specs", False) or
                getattr(args, "update_deps", False)) and \
                (name in new_names or getattr(args, "all", False)) and name in index.names:
            continue  # UPDATE_SPECS: the named packages move to the newest that fits
        if name in new_names:
            ms = parse_specs([s for s in specs if core.spec_name(s) == name])[0]
            try:
                pr = rattler.PrefixRecord.from_path(rec["_path"])
                if not ms.matches(pr):
                    continue
            except Exception:
                continue
        locked.extend(core.locked_records(index, {name: rec}))
    # installed packages not on any channel (base's conda, python) stay locked as they are
    solved = core.solve(ctx, index, [channel_spec(ctx, index, normalize_spec(s)) for s in solve_specs],
                        locked, priority_of(ctx, args))
    new = {}
    for r in solved:
        if isinstance(r, rattler.PrefixRecord) or not r.url.startswith("file://") or \
                r.url.rsplit("/", 2)[0] not in index.mirror_of:
            # a locked, installed record kept as is
            new[r.name.normalized] = ("installed", installed.get(r.name.normalized), r)
        else:
            new[r.name.normalized] = ("new", index.repodata_dict(r), r)
    unlink, link_recs, link_raw = [], [], []
    for name, rec in installed.items():
        if name not in new:
            unlink.append(rec)
        elif new[name][0] == "new" and core.record_key(new[name][1]) != core.record_key(rec):
            unlink.append(rec)
    for name, (kind, d, raw) in new.items():
        if kind == "new" and (name not in installed or core.record_key(d) != core.record_key(installed[name])):
            link_recs.append(d)
            link_raw.append(raw)
    if mode == "create" and exists:
        unlink = []  # the old env is simply deleted
        if not (json_mode or getattr(args, "yes", False) or ctx["always_yes"] or args.dry_run):
            # "Remove existing environment? (y/[n])" with no TTY: the default, no
            sys.stdout.write("WARNING: A conda environment already exists at '%s'\n\n"
                             "Remove existing environment?\nThis will remove ALL packages contained "
                             "within this specified prefix directory.\n (y/[n])? \n" % prefix)
            sys.stderr.write("\nCondaSystemExit: Exiting.\n\n")
            return 0
    if not unlink and not link_recs and mode != "create" and not pip:
        if json_mode:
            out_json({"success": True, "message": NOTHING})
        else:
            print("\n# All requested packages already installed.\n")
        return 0
    order = {r.name.normalized: i for i, r in enumerate(core.topo(list(link_raw)))}
    link_pairs = sorted(zip(link_recs, link_raw), key=lambda p: order.get(p[0]["name"], 0))
    result = plan_result(ctx, prefix, unlink, [pair[0] for pair in link_pairs])
    if args.dry_run:
        return report_dry_run(result, json_mode)
    # download first: a failure here leaves the prefix untouched
    core.download(index, [pair[1] for pair in link_pairs], ctx.pkgs_dir)
    requested = {} if prune else dict(history)
    for s in specs:
        requested[core.spec_name(s)] = s
    if prune:
        requested = {core.spec_name(s): s for s in specs}
    if mode == "create" and os.path.lexists(prefix):
        if exists:
            core.unregister_env(prefix)
        shutil.rmtree(prefix, ignore_errors=True)
        installed = {}
    created = not core.is_env(prefix)
    os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
    keep = {n: installed[n] for n in installed}
    all_records = [t[2] for t in new.values()]
    link_or_fail(ctx, index, prefix, all_records, keep, requested)
    if created:
        with open(os.path.join(prefix, "conda-meta", "created_at"), "w") as fh:
            fh.write("%f\n" % core.now_epoch())
    core.update_requested(prefix, dict(requested))
    core.write_history(prefix, argv_line(), unlink, [pair[0] for pair in link_pairs],
                       update_specs=list(specs))
    if ctx["register_envs"] and prefix != ctx.root:
        core.register_env(prefix)
    if pip:
        result["actions"]["PIP"] = run_pip(prefix, pip)
    return report_done(result, json_mode)


def plan_result(ctx, prefix, unlink, link_dicts):
    """The ``--json`` answer of a transaction: FETCH, UNLINK and LINK in conda's shapes."""
    actions = {"FETCH": [d for d in link_dicts if not os.path.exists(os.path.join(ctx.pkgs_dir, d["fn"]))],
               "PREFIX": prefix}
    if unlink:
        actions["UNLINK"] = [core.dist_fields(r, ctx) for r in sorted(unlink, key=lambda r: r["name"])]
    if link_dicts:
        actions["LINK"] = [core.dist_fields(d, ctx) for d in link_dicts]
    return {"success": True, "actions": actions, "prefix": prefix}


def report_dry_run(result, json_mode):
    result["dry_run"] = True
    if json_mode:
        out_json(result)
    else:
        print_plan(result)
        print("\nDryRunExit: Dry run. Exiting.\n", file=sys.stderr)
    return 0


def report_done(result, json_mode):
    if json_mode:
        out_json(result)
    else:
        print_plan(result)
        print("Preparing transaction: done\nVerifying transaction: done\nExecuting transaction: done")
    return 0


def link_or_fail(ctx, index, prefix, records, installed, requested):
    """Link ``records`` into ``prefix``; any failure is conda's CondaError."""
    try:
        core.link(ctx, index, prefix, records, installed, requested)
    except CondaError:
        raise
    except Exception as exc:
        raise CondaError("CondaError", "Transaction failed: %s" % exc, module="conda") from exc


def run_pip(prefix, pip_specs):
    py = os.path.join(prefix, "bin", "python")
    cmd = [py, "-m", "pip", "install", "--disable-pip-version-check", "-U"] + list(pip_specs)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    if proc.returncode != 0:
        raise CondaError("CondaEnvException", "Pip failed\n\n%s" % proc.stdout,
                         module="conda.exceptions")
    return list(pip_specs)


def print_plan(result):
    a = result["actions"]
    print("\n## Package Plan ##\n\n  environment location: %s\n" % result["prefix"])
    if a.get("LINK"):
        print("The following NEW packages will be INSTALLED:\n")
        for r in a["LINK"]:
            print("  %-20s %s::%s-%s" % (r["name"], r["channel"], r["version"], r["build_string"]))
        print()
    if a.get("UNLINK"):
        print("The following packages will be REMOVED:\n")
        for r in a["UNLINK"]:
            print("  %s-%s-%s" % (r["name"], r["version"], r["build_string"]))
        print()


def remove_all(ctx, args, prefix):
    if prefix == ctx.root:
        raise CondaError("CondaEnvironmentError", "cannot remove root environment, add -n NAME or -p PREFIX option")
    if not core.is_env(prefix):
        raise CondaError("EnvironmentLocationNotFound", "Not a conda environment: %s" % prefix,
                         location=prefix)
    installed = core.prefix_records(prefix)
    actions = {"FETCH": [], "PREFIX": prefix}
    if installed:
        actions["UNLINK"] = [core.dist_fields(r, ctx) for r in installed.values()]
    result = {"success": True, "actions": actions, "prefix": prefix}
    if args.dry_run:
        result["dry_run"] = True
        if args.json:
            out_json(result)
        return 0
    if not (args.json or getattr(args, "yes", False) or ctx["always_yes"]):
        # no TTY: "Proceed ([y]/n)?" defaults to yes, the directory prompt to no
        rattler = core._rattler()
        installed_pr = [rattler.PrefixRecord.from_path(r["_path"]) for r in installed.values()]
        core.rattler_install(ctx, prefix, [], installed_pr)
        core.write_history(prefix, argv_line(), list(installed.values()), [])
        print("\nRemove all packages in environment %s:\n" % prefix)
        print_plan(result)
        sys.stdout.write("Everything found within the environment (%s), including any conda "
                         "environment configurations and any non-conda files, will be deleted. "
                         "Do you wish to continue?\n (y/[n])? \n" % prefix)
        sys.stderr.write("\nCondaSystemExit: Exiting.\n\n")
        return 0
    shutil.rmtree(prefix, ignore_errors=True)
    core.unregister_env(prefix)
    if args.json:
        out_json(result)
    else:
        print("\nRemove all packages in environment %s:\n" % prefix)
    return 0


def cmd_remove(ctx, args):
    prefix = target_prefix(ctx, args)
    if args.all:
        return remove_all(ctx, args, prefix)
    if not args.packages:
        raise CondaError("CondaValueError", "no package names supplied,\n"
                         "       try \"conda remove -h\" for more details")
    require_env(prefix)
    installed = core.prefix_records(prefix)
    missing = [s for s in args.packages if core.spec_name(s) not in installed]
    if missing:
        lines = "".join("\n  - %s" % s for s in missing)
        raise CondaError("PackagesNotFoundInPrefixError",
                         "The following packages are missing from the target environment:\n"
                         "  prefix: %s\n%s\n" % (prefix, lines),
                         package_name=missing, packages_formatted=lines, prefix=prefix)
    names = {core.spec_name(s) for s in args.packages}
    history = core.requested_specs(prefix, installed)
    keep_specs = [v for k, v in history.items() if k not in names]
    # what the remaining requests still need (plus unrequested, unrelated packages conda keeps)
    needed = set()
    graph = {n: [core.spec_name(d) for d in r.get("depends", [])] for n, r in installed.items()}
    if "python" in graph and "pip" in installed:
        graph["python"].append("pip")
    stack = [core.spec_name(s) for s in keep_specs]
    while stack:
        n = stack.pop()
        if n in needed or n not in installed or n in names:
            continue
        needed.add(n)
        stack.extend(graph.get(n, []))
    if not history:  # no history specs: only drop the named packages
        needed = set(installed) - names
    unlink = [installed[n] for n in installed if n not in needed]
    actions = {"FETCH": [], "PREFIX": prefix,
               "UNLINK": [core.dist_fields(r, ctx) for r in sorted(unlink, key=lambda r: r["name"])]}
    result = {"success": True, "actions": actions, "prefix": prefix}
    if args.dry_run:
        result["dry_run"] = True
        if args.json:
            out_json(result)
        return 0
    rattler = core._rattler()
    keep_records = []
    for n in needed:
        keep_records.append(rattler.PrefixRecord.from_path(installed[n]["_path"]))
    installed_pr = [rattler.PrefixRecord.from_path(r["_path"]) for r in installed.values()]
    core.rattler_install(ctx, prefix, keep_records, installed_pr)
    for r in unlink:  # rattler leaves no record, but be sure
        if os.path.exists(r["_path"]):
            os.remove(r["_path"])
    core.write_history(prefix, argv_line(), unlink, [], remove_specs=list(args.packages))
    if args.json:
        out_json(result)
    else:
        print_plan(result)
    return 0


def history_states(prefix):
    """conda's History.construct_states(): the set of history dist lines after each revision."""
    states, cur = [], set()
    for rev in core.parse_history(prefix):
        for line in rev["remove"]:
            cur.discard(line)
        for line in rev["add"]:
            cur.add(line)
        states.append(set(cur))
    return states


def split_history_line(line):
    """``CHANNEL::name-version-build`` -> (channel, name, version, build)."""
    chan, _sep, dist = line.rpartition("::")
    name, version, build = dist.rsplit("-", 2)
    return chan, name, version, build


def find_revision_record(ctx, index, chan, name, version, build):
    """The channel record (a rattler RepoDataRecord) of one history line, or None."""
    rattler = core._rattler()
    found = []
    for sparse in index.sparse:
        try:
            records = sparse.load_records(rattler.PackageName(name))
        except Exception:
            continue
        for rec in records:
            if str(rec.version) == version and rec.build == build:
                found.append(rec)
    for rec in found:
        url, sub = index.origin(rec)[:2]
        if chan in ("%s/%s" % (url, sub), "%s/%s" % (ctx.channel_name(url), sub), url, ctx.channel_name(url)):
            return rec
    return found[0] if found else None


def cmd_revert(ctx, args):
    """``install --revision N``: conda's revert_actions(): make PREFIX hold revision N's packages again."""
    prefix = target_prefix(ctx, args)
    require_env(prefix)
    try:
        revision = int(args.revision)
    except ValueError:
        raise CondaError("CondaValueError", "expected revision number, not: '%s'" % args.revision) from None
    states = history_states(prefix)
    try:
        state = states[revision]
    except IndexError:
        raise CondaError("CondaIndexError", "no such revision: %d" % revision) from None
    installed = core.prefix_records(prefix)
    key_of = {(rec["name"], str(rec["version"]), rec.get("build", "")): name for name, rec in installed.items()}
    wanted = {}
    for line in sorted(state):
        chan, name, version, build = split_history_line(line)
        wanted[(name, version, build)] = chan
    keep = {key_of[k]: installed[key_of[k]] for k in wanted if k in key_of}
    unlink = [rec for name, rec in installed.items() if name not in keep]
    missing = [k for k in wanted if k not in key_of]
    requested = core.requested_specs(prefix)
    if not unlink and not missing:
        if args.json:
            out_json({"success": True, "message": NOTHING})
        else:
            print("\n# All requested packages already installed.\n")
        return 0
    channel_urls = ctx.channel_urls(list(getattr(args, "channel", []) or []), args.override_channels)
    for key in missing:
        chan = wanted[key]
        if "://" in chan:
            url = core.base_url_of({"channel": chan, "subdir": chan.rstrip("/").rsplit("/", 1)[-1]})
            if url not in channel_urls:
                channel_urls.append(url)
    index = core.Index(ctx, channel_urls).load()
    link_raw = []
    not_found = []
    for key in missing:
        rec = find_revision_record(ctx, index, wanted[key], *key)
        if rec is None:
            not_found.append("%s::%s-%s-%s" % ((wanted[key],) + key))
        else:
            link_raw.append(rec)
    if not_found:
        chan_lines = "".join("\n  - %s" % mask(u) for u in channel_urls)
        pkg_lines = "".join("\n  - %s" % s for s in not_found)
        raise CondaError("PackagesNotFoundError",
                         "The following packages are missing from the target environment:%s\n" % pkg_lines,
                         packages=not_found, packages_formatted=pkg_lines, channels_formatted=chan_lines)
    order = {r.name.normalized: i for i, r in enumerate(core.topo(link_raw))}
    link_raw.sort(key=lambda r: order.get(r.name.normalized, 0))
    link_dicts = [index.repodata_dict(r) for r in link_raw]
    result = plan_result(ctx, prefix, unlink, link_dicts)
    if args.dry_run:
        return report_dry_run(result, args.json)
    core.download(index, link_raw, ctx.pkgs_dir)
    rattler = core._rattler()
    records = [rattler.PrefixRecord.from_path(rec["_path"]) for rec in keep.values()] + list(link_raw)
    link_or_fail(ctx, index, prefix, records, installed, requested)
    core.update_requested(prefix, requested)
    core.write_history(prefix, argv_line(), unlink, link_dicts, update_specs=list(requested.values()))
    return report_done(result, args.json)


def cmd_install(ctx, args, mode):
    if getattr(args, "revision", None) is not None:
        return cmd_revert(ctx, args)
    specs = list(args.packages)
    file_channels, pip, fname, fprefix = [], [], None, None
    for f in args.file:
        data = read_spec_file(f)
        if data.get("explicit"):  # a lockfile: exactly these packages from these channels
            args.override_channels = True
        specs += data["specs"]
        file_channels += data["channels"]
        pip += data["pip"]
        fname = fname or data["name"]
        fprefix = fprefix or data["prefix"]
    if mode == "create" and not (args.name or args.prefix):
        if fname:
            args.name = fname
        elif fprefix:
            args.prefix = fprefix
        elif not args.dry_run:
            raise CondaError("ArgumentError", "one of the arguments -n/--name -p/--prefix is required",
                             rc=2)
    prefix = target_prefix(ctx, args)
    if mode != "create" and not specs and not getattr(args, "all", False):
        raise CondaError("CondaValueError", "too few arguments, must supply command line package specs "
                         "or --file")
    return transact(ctx, args, prefix, specs, mode, file_channels=file_channels, pip=pip)


def load_env_file(args):
    files = args.file or ["environment.yml"]
    path = files[0]
    if not os.path.exists(path):
        raise CondaError("EnvironmentFileNotFound", "'%s' file not found" % os.path.abspath(path),
                         filename=os.path.abspath(path))
    data = read_yaml_file(path)
    if data is None:
        raise CondaError("CondaEnvException", "Invalid environment file: %s" % path)
    return env_file_specs(data)


def cmd_env_create(ctx, args):
    data = load_env_file(args)
    if not (args.name or args.prefix):
        if data["name"]:
            args.name = data["name"]
        elif data["prefix"]:
            args.prefix = data["prefix"]
        else:
            raise CondaError("CondaEnvException", "Unable to determine environment\n\nPlease re-run "
                             "this command with one of the following options:\n\n* Provide an "
                             "environment name via --name or -n\n* Re-run this command inside an "
                             "activated conda environment.")
    prefix = target_prefix(ctx, args)
    return transact(ctx, args, prefix, data["specs"], "create", file_channels=data["channels"],
                    pip=data["pip"], env_channel_strip=not ENV_CREATE_IS_CREATE)


def cmd_env_update(ctx, args):
    data = load_env_file(args)
    if not (args.name or args.prefix):
        if data["name"]:
            args.name = data["name"]
        elif data["prefix"]:
            args.prefix = data["prefix"]
    prefix = target_prefix(ctx, args)
    args.dry_run = False
    args.yes = True
    return transact(ctx, args, prefix, data["specs"], "env-update", file_channels=data["channels"],
                    pip=data["pip"], prune=args.prune, env_channel_strip=True)


def cmd_env_export(ctx, args):
    prefix = target_prefix(ctx, args)
    require_env(prefix)
    installed = core.prefix_records(prefix)
    name = os.path.basename(prefix) if prefix != ctx.root else "base"
    if args.from_history:
        deps = list(core.requested_specs(prefix, installed).values())
        out = {"name": name, "dependencies": deps, "prefix": prefix}
    else:
        chans = []
        for r in sorted(installed.values(), key=lambda r: r["name"]):
            base = core.base_url_of(r)
            cname = ctx.channel_name(base)
            alias = ctx.channel_alias()
            c = cname if base.startswith(alias + "/") else base
            if c not in chans:
                chans.append(c)
        for c in args.channel or []:
            if c not in chans:
                chans.insert(0, c)
        deps = []
        for r in sorted(installed.values(), key=lambda r: r["name"]):
            deps.append("%s=%s" % (r["name"], r["version"]) if args.no_builds else
                        "%s=%s=%s" % (r["name"], r["version"], r.get("build", "")))
        pips = core.pip_records(prefix, installed)
        if pips:
            deps.append({"pip": ["%s==%s" % (p["name"], p["version"]) for p in pips]})
        out = {"name": name, "channels": chans, "dependencies": deps, "prefix": prefix}
    if args.json:
        out_json(out)
    else:
        text = miniyaml.dump(out)
        if args.file:
            with open(args.file, "w") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
    return 0


def envs_payload(ctx):
    envs = core.known_envs(ctx)
    out = {"envs": envs}
    if ENVS_DETAILS:
        out["envs_details"] = {e: core.env_details(ctx, e) for e in envs}
    return out


def cmd_env_list(ctx, args):
    payload = envs_payload(ctx)
    if args.json:
        out_json(payload)
    else:
        print("# conda environments:\n#")
        for e in payload["envs"]:
            d = core.env_details(ctx, e)
            star = "*" if d["active"] else " "
            print("%-24s %s %s" % (d["name"], star, e))
        print()
    return 0


def cmd_info(ctx, args):
    if args.base:
        if args.json:
            out_json({"root_prefix": ctx.root})
        else:
            print(ctx.root)
        return 0
    if args.envs:
        return cmd_env_list(ctx, args)
    chans = []
    for u in ctx.channel_urls(args.channel, args.override_channels):
        chans += ["%s/linux-64" % mask(u), "%s/noarch" % mask(u)]
    h = os.path.expanduser("~")
    pyver = "%d.%d.%d.%s.%d" % tuple(sys.version_info)
    info = {
        "platform": "linux-64", "conda_version": VERSION, "conda_env_version": VERSION,
        "conda_build_version": "not installed", "root_prefix": ctx.root, "conda_prefix": ctx.root,
        "av_data_dir": os.path.join(ctx.root, "etc", "conda"), "av_metadata_url_base": None,
        "root_writable": os.access(ctx.root, os.W_OK),
        "pkgs_dirs": [os.path.abspath(os.path.expanduser(p)) for p in ctx["pkgs_dirs"]],
        "envs_dirs": ctx.envs_dirs, "default_prefix": os.environ.get("CONDA_PREFIX") or ctx.root,
        "active_prefix": os.environ.get("CONDA_PREFIX"),
        "active_prefix_name": os.environ.get("CONDA_DEFAULT_ENV"),
        "conda_shlvl": int(os.environ.get("CONDA_SHLVL", "-1") or -1), "channels": chans,
        "user_rc_path": os.path.join(h, ".condarc"), "rc_path": os.path.join(h, ".condarc"),
        "sys_rc_path": os.path.join(ctx.root, ".condarc"), "offline": bool(ctx["offline"]),
        "envs": core.known_envs(ctx), "python_version": pyver, "requests_version": "2.34.2",
        "user_agent": "conda/%s requests/2.34.2 CPython/%d.%d.%d Linux" % ((VERSION,) + tuple(sys.version_info[:3])),
        "conda_location": os.path.dirname(os.path.abspath(__file__)),
        "config_files": ctx.config_files, "netrc_file": None,
        "virtual_pkgs": [list(v) for v in core.virtual_packages()],
        "solver": {"name": str(ctx["solver"]), "user_agent": "solver/%s" % ctx["solver"],
                   "default": str(ctx["solver"]) == "libmamba"},
        "tmp_dir": os.environ.get("TMPDIR", "/tmp"),
        "notices_cache_dir": os.path.join(h, ".cache", "conda", "notices"),
        "UID": os.getuid(), "GID": os.getgid(), "sys.version": sys.version,
        "sys.prefix": sys.prefix, "sys.executable": os.path.join(ctx.root, "bin", "python"),
        "site_dirs": [],
        "env_vars": {k: v for k, v in os.environ.items() if k.startswith(("CONDA", "PATH"))},
    }
    if ENVS_DETAILS:
        info["envs_details"] = {e: core.env_details(ctx, e) for e in info["envs"]}
    if not ENV_CREATE_IS_CREATE:  # notices_cache_dir came with 26.7
        info.pop("notices_cache_dir", None)
    if args.json:
        out_json(info)
    else:
        print("\n     active environment : %s" % (info["active_prefix_name"] or "None"))
        print("       conda version : %s" % VERSION)
        print("         base environment : %s" % ctx.root)
        print("        channel URLs : %s" % "\n                        ".join(chans))
    return 0


def cmd_list(ctx, args):
    prefix = target_prefix(ctx, args)
    require_env(prefix)
    installed = core.prefix_records(prefix)
    if args.revisions:
        revs = []
        for i, rev in enumerate(core.parse_history(prefix)):
            add = {r.rsplit("-", 2)[0]: r for r in rev["add"]}
            rem = {r.rsplit("-", 2)[0]: r for r in rev["remove"]}

            def fmt(x):
                chan, _sep, dist = x.partition("::")
                return "%s-%s" % (dist, chan) if dist else x
            both = set(add) & set(rem)
            revs.append({"date": rev["date"], "rev": i,
                         "install": [fmt(add[k]) for k in add if k not in both],
                         "remove": [fmt(rem[k]) for k in rem if k not in both],
                         "upgrade": [{"old": fmt(rem[k]), "new": fmt(add[k])} for k in both],
                         "downgrade": []})
        if args.json:
            out_json(revs)
        else:
            for r in revs:
                print("%s  (rev %d)" % (r["date"], r["rev"]))
                for x in r["install"]:
                    print("    +%s" % x)
                for x in r["remove"]:
                    print("    -%s" % x)
                print()
        return 0
    recs = sorted(installed.values(), key=lambda r: r["name"])
    if args.regex:
        import re
        if args.full_name:
            recs = [r for r in recs if r["name"] == args.regex]
            if not recs:
                raise CondaError("PackageNotInstalledError", "%s\n\nPackage is not installed in prefix."
                                 "\n  prefix: %s\n  package name: %s\n" % (prefix, prefix, args.regex),
                                 prefix=prefix, package_name=args.regex)
        else:
            recs = [r for r in recs if re.search(args.regex, r["name"])]
            if not recs and not [p for p in core.pip_records(prefix, installed)
                                 if re.search(args.regex, p["name"])]:
                raise CondaError("CondaValueError", "No packages match '%s'." % args.regex)
    if args.explicit:
        lines = ["# This file may be used to create an environment using:",
                 "# $ conda create --name <env> --file <this file>",
                 "# platform: linux-64", "# created-by: conda %s" % VERSION, "@EXPLICIT"]
        for r in recs:
            url = r.get("url") or ""
            if args.md5 and r.get("md5"):
                url += "#" + r["md5"]
            elif args.sha256 and r.get("sha256"):
                url += "#sha256:" + r["sha256"]
            lines.append(url)
        sys.stdout.write("\n".join(lines) + "\n")
        return 0
    listed = [core.dist_fields(r, ctx) for r in recs]
    if not args.explicit:
        pips = core.pip_records(prefix, installed)
        if args.regex:
            import re
            pips = [p for p in pips if (p["name"] == args.regex if args.full_name
                                        else re.search(args.regex, p["name"]))]
        listed = sorted(listed + pips, key=lambda r: r["name"])
    if args.json:
        out_json(listed)
    elif args.export:
        print("# platform: linux-64")
        for r in recs:
            print("%s=%s=%s" % (r["name"], r["version"], r.get("build")))
    else:
        print("# packages in environment at %s:\n#\n# Name                    Version                   Build  Channel" % prefix)
        for r in listed:
            print("%-25s %-25s %-6s %s" % (r["name"], r["version"], r["build_string"], r["channel"]))
    return 0


def cmd_search(ctx, args):
    """conda search SPEC --json: {name: [records]} (PackagesNotFoundError when none)."""
    import fnmatch
    import re
    rattler = core._rattler()
    spec = normalize_spec(args.match_spec or "*")
    m = re.match(r"^([A-Za-z0-9_.*\-]+)\s*(.*)$", spec)
    name_pat, rest = (m.group(1), m.group(2).strip()) if m else (spec, "")
    parts = rest.split()
    vspec = rattler.VersionSpec(parts[0]) if parts else None
    build_pat = parts[1] if len(parts) > 1 else None
    urls = ctx.channel_urls(args.channel, args.override_channels)
    index = core.Index(ctx, urls).load()
    found = {}
    for (mirror, sub, fn), rec in sorted(index.records.items(), key=lambda kv: kv[0][2]):
        if not fnmatch.fnmatch(rec.get("name", ""), name_pat):
            continue
        if vspec is not None and not vspec.matches(rattler.Version(rec["version"])):
            continue
        if build_pat and not fnmatch.fnmatch(rec.get("build", ""), build_pat):
            continue
        chan = index.mirror_of["file://" + mirror]
        d = dict(rec)
        d.update({"channel": "%s/%s" % (chan, sub), "subdir": sub, "fn": fn,
                  "url": "%s/%s/%s" % (chan, sub, fn)})
        found.setdefault(rec["name"], []).append(d)
    for k in found:
        found[k].sort(key=lambda d: (rattler.Version(d["version"]), d.get("build_number", 0)))
    if not found:
        chan_lines = "".join("\n  - %s" % mask(u) for u in urls)
        raise CondaError("PackagesNotFoundError",
                         "The following packages are not available from current channels:\n\n"
                         "  - %s\n\nCurrent channels:\n%s\n" % (args.match_spec, chan_lines),
                         packages=[args.match_spec], packages_formatted="\n  - %s" % args.match_spec,
                         channel_urls=[channel_object(u) for u in urls],
                         channels_formatted=chan_lines)
    if args.json:
        out_json(found)
    else:
        print("Loading channels: done")
        print("# %-26s %-15s %-20s %s" % ("Name", "Version", "Build", "Channel"))
        for name in sorted(found):
            for d in found[name]:
                print("%-28s %-15s %-20s %s" % (name, d["version"], d.get("build"),
                                                ctx.channel_name(d["channel"].rsplit("/", 1)[0])))
    return 0


def cmd_run(ctx, args):
    prefix = target_prefix(ctx, args)
    require_env(prefix)
    cmd = list(args.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    env = dict(os.environ)
    env["PATH"] = os.path.join(prefix, "bin") + os.pathsep + env.get("PATH", "")
    env["CONDA_PREFIX"] = prefix
    try:
        return subprocess.call(cmd, env=env, cwd=args.cwd)
    except OSError as exc:
        print(str(exc), file=sys.stderr)
        return 1


# --------------------------------------------------------------------------- config
def config_target(ctx, args):
    if args.file:
        return os.path.abspath(os.path.expanduser(args.file))
    if args.system:
        return os.path.join(ctx.root, ".condarc")
    if args.env or args.name or args.prefix:
        if args.name or args.prefix:
            return os.path.join(target_prefix(ctx, args), ".condarc")
        if os.environ.get("CONDA_PREFIX"):
            return os.path.join(os.environ["CONDA_PREFIX"], ".condarc")
    return os.path.join(os.path.expanduser("~"), ".condarc")


def _key_error(key, msg, json_mode):
    if json_mode:
        raise CondaError("CondaKeyError", "%r: %s" % (key, msg), key=key, msg=msg)
    raise PlainError("Unknown key: %r\n\nCondaKeyError: %r: %s\n\n" % (key, key, msg)
                     if msg == "unknown parameter" else "\nCondaKeyError: %r: %s\n\n" % (key, msg))


def show_value(key, value):
    if key in ("channel_alias",):
        return channel_object(value)
    if key in ("default_channels",):
        return [channel_object(v) for v in value]
    if key == "custom_channels":
        return {k: channel_object(str(v).rstrip("/") + "/" + k) for k, v in sorted(value.items())}
    if key == "custom_multichannels":
        return {k: [channel_object(x) for x in (v or [])] for k, v in value.items()}
    return value


def cmd_config(ctx, args):
    known = default_settings(ctx.root)
    json_mode = args.json
    path = config_target(ctx, args)
    modifying = bool(args.set or args.add or args.append or args.remove or args.remove_key or args.stdin)
    if args.show is not None or args.show_sources or args.describe is not None or args.validate:
        if args.show_sources:
            srcs = {}
            if args.file:
                data = read_yaml_file(path)
                if data:
                    srcs[path] = data
            else:
                srcs = dict(ctx.sources)
            if json_mode:
                out_json(srcs)
            else:
                for name, data in srcs.items():
                    print("==> %s <==" % name)
                    sys.stdout.write(miniyaml.dump(data))
                    print()
            return 0
        if args.describe is not None:
            keys = args.describe or sorted(known)
            out = [{"name": k, "aliases": [a for a, t in ALIASES.items() if t == k],
                    "default_value": known.get(k), "description": "", "element_types": [],
                    "parameter_type": type(known.get(k)).__name__} for k in keys]
            if json_mode:
                out_json(out)
            else:
                for d in out:
                    print("%s: %r" % (d["name"], d["default_value"]))
            return 0
        if args.validate:
            return 0
        sctx = ctx
        if args.file:
            sctx = Context(json_mode=json_mode)
            data = read_yaml_file(path) or {}
            base = os.path.basename(path)
            if base in (".condarc", "condarc") or base.endswith((".yml", ".yaml")):
                for k, v in data.items():
                    k = canonical_key(k)
                    if isinstance(known.get(k), list):
                        sctx.settings[k] = list(v or []) + [x for x in sctx.settings[k] if x not in (v or [])]
                    elif isinstance(known.get(k), dict) and isinstance(v, dict):
                        sctx.settings[k] = dict(sctx.settings[k], **v)
                    else:
                        sctx.settings[k] = v
        settings = dict(sctx.settings)
        settings["json"] = bool(json_mode)
        settings["console"] = "json" if json_mode else "classic"
        if settings.get("custom_multichannels", {}).get("defaults") is None:
            settings["custom_multichannels"] = dict(settings.get("custom_multichannels") or {})
            settings["custom_multichannels"]["defaults"] = list(settings["default_channels"])
        if not settings.get("plugins"):
            settings.pop("plugins", None)
        keys = [canonical_key(k) for k in args.show] if args.show else sorted(settings)
        out = {}
        for k in sorted(keys):
            if k not in settings:
                _key_error(k, "invalid key", json_mode)
            out[k] = show_value(k, settings[k])
        if json_mode:
            out_json(out)
        else:
            for k, v in out.items():
                if k in ("channel_alias",):
                    v = settings[k]
                sys.stdout.write(miniyaml.dump({k: v}))
        return 0
    if args.get is not None:
        data = read_yaml_file(path) or {}
        keys = args.get or list(data)
        got = {}
        for k in keys:
            if k in data:
                got[k] = data[k]
        if json_mode:
            out_json({"success": True, "rc_path": path, "warnings": [], "get": got})
        else:
            for k, v in got.items():
                if isinstance(v, list):
                    for item in reversed(v):
                        print("--add %s %r" % (k, item))
                else:
                    print("--set %s %s" % (k, v))
        return 0
    if not modifying:
        return 0
    # seed a new file from the sys rc (conda does this)
    if os.path.exists(path):
        data = read_yaml_file(path)
        if data is None:
            data = {}
    else:
        sysrc = os.path.join(ctx.root, ".condarc")
        data = (read_yaml_file(sysrc) or {}) if os.path.exists(sysrc) and sysrc != path else {}
    warnings = []

    def check_key(key, sequence=None):
        top = key.split(".", 1)[0]
        if top not in known and top not in ALIASES:
            _key_error(key, "unknown parameter", json_mode)
        if top in ALIASES:
            new = ALIASES[top]
            sys.stderr.write("WARNING conda.cli.condarc:set_key(521): Key %s is an alias of %s; "
                             "setting value with latter\n" % (top, new))
            key = new + key[len(top):]
        return key

    for key, item in args.add:
        key = check_key(key)
        if not isinstance(known.get(key.split(".")[0]), (list, dict)):
            raise CondaError("CondaValueError", "Key '%s' is not a known sequence parameter." % key)
        seq = data.setdefault(key, [])
        if seq is None:
            seq = data[key] = []
        if item in seq:
            sys.stderr.write("Warning: '%s' already in '%s' list, moving to the top\n" % (item, key))
            warnings.append("'%s' already in '%s' list, moving to the top" % (item, key))
            seq.remove(item)
        seq.insert(0, item)
    for key, item in args.append:
        key = check_key(key)
        if not isinstance(known.get(key.split(".")[0]), (list, dict)):
            raise CondaError("CondaValueError", "Key '%s' is not a known sequence parameter." % key)
        seq = data.setdefault(key, [])
        if seq is None:
            seq = data[key] = []
        if item in seq:
            sys.stderr.write("Warning: '%s' already in '%s' list, moving to the bottom\n" % (item, key))
            warnings.append("'%s' already in '%s' list, moving to the bottom" % (item, key))
            seq.remove(item)
        seq.append(item)
    for key, value in args.set:
        key = check_key(key)
        top, _sep, sub = key.partition(".")
        val = miniyaml.scalar(value)
        if top in ENUMS and str(val) not in ENUMS[top]:
            raise CondaError("CustomValidationError",
                             "Parameter %s = %r declared in <<merged>> is invalid.\n"
                             "'%s' is not a valid %s" % (top, val, val, top),
                             parameter_name=top, parameter_value=str(val), source="<<merged>>")
        if isinstance(known.get(top), list) and not sub:
            raise CondaError("CondaKeyError", "%r: key must be a primitive (not a list)" % key,
                             key=key, msg="key must be a primitive (not a list)")
        if sub:
            m = data.setdefault(top, {})
            if not isinstance(m, dict):
                m = data[top] = {}
            m[sub] = val
        else:
            data[key] = val
    for key, item in args.remove:
        key = canonical_key(key)
        if key not in data:
            _key_error(key, "key %r is not in the config file" % key, True) if json_mode else None
            raise PlainError("\nCondaKeyError: %r: key %r is not in the config file\n\n" % (key, key))
        if item not in (data.get(key) or []):
            if json_mode:
                raise CondaError("CondaKeyError", "%r: %r is not in the %r key of the config file"
                                 % (key, item, key), key=key,
                                 msg="%r is not in the %r key of the config file" % (item, key))
            raise PlainError("\nCondaKeyError: %r: %r is not in the %r key of the config file\n\n"
                             % (key, item, key))
        data[key] = [x for x in data[key] if x != item]
    for key in args.remove_key:
        k = canonical_key(key)
        if k not in data and key not in data:
            if json_mode:
                raise CondaError("CondaKeyError", "%r: key %r is not in the config file" % (key, key),
                                 key=key, msg="key %r is not in the config file" % key)
            raise PlainError("\nCondaKeyError: %r: key %r is not in the config file\n\n" % (key, key))
        data.pop(key if key in data else k)
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w") as fh:
        fh.write(miniyaml.dump(data))
    if json_mode:
        out_json({"success": True, "rc_path": path, "warnings": warnings})
    return 0


# --------------------------------------------------------------------------- main
def dispatch(args):
    tp = None
    if getattr(args, "prefix", None):
        tp = os.path.abspath(args.prefix)
    ctx = Context(target_prefix=tp, json_mode=getattr(args, "json", False))
    cmd = args.cmd
    if cmd in ("create", "install", "update", "upgrade"):
        return cmd_install(ctx, args, {"upgrade": "update"}.get(cmd, cmd))
    if cmd in ("remove", "uninstall"):
        return cmd_remove(ctx, args)
    if cmd == "info":
        return cmd_info(ctx, args)
    if cmd == "list":
        return cmd_list(ctx, args)
    if cmd == "config":
        return cmd_config(ctx, args)
    if cmd == "run":
        return cmd_run(ctx, args)
    if cmd == "search":
        return cmd_search(ctx, args)
    if cmd == "clean":
        if getattr(args, "json", False):
            out_json({"success": True})
        return 0
    if cmd == "env":
        e = args.envcmd
        if e == "list":
            return cmd_env_list(ctx, args)
        if e == "create":
            return cmd_env_create(ctx, args)
        if e == "update":
            return cmd_env_update(ctx, args)
        if e == "remove":
            return remove_all(ctx, args, target_prefix(ctx, args))
        if e == "export":
            return cmd_env_export(ctx, args)
        sys.stderr.write("usage: conda env [-h] {create,export,list,remove,update} ...\n")
        return 2
    sys.stderr.write("usage: conda [-h] [-v] [--no-plugins] [-V] COMMAND ...\n")
    return 2


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-V", "--version") or argv == ["--version"]:
        print("conda %s" % VERSION)
        return 0
    if argv and argv[0].startswith("shell."):
        root = root_prefix()
        print('export CONDA_EXE="%s/bin/conda"\nexport _CE_M=""\nexport _CE_CONDA=""\n'
              'export CONDA_PYTHON_EXE="%s/bin/python"\n. "%s/etc/profile.d/conda.sh"' % (root, root, root))
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print("conda %s" % VERSION)
        return 0
    json_mode = getattr(args, "json", False)
    try:
        return dispatch(args)
    except CondaError as exc:
        if json_mode:
            sys.stdout.write(json.dumps(exc.dump(), indent=2, sort_keys=True) + "\n\n")
        else:
            sys.stderr.write("\n%s: %s\n\n" % (exc.name, exc.message))
        return exc.rc
    except PlainError as exc:
        sys.stderr.write(exc.text)
        return exc.rc
    except KeyboardInterrupt:
        return 1
