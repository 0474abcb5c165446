# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""Configuration (.condarc search path, env vars), channels and errors of the
conda double: TEST INFRASTRUCTURE ONLY (see conda_double/__init__.py)."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from . import VERSION, miniyaml


def vtuple(version):
    out = []
    for part in re.split(r"[.\-]", version):
        m = re.match(r"\d+", part)
        out.append(int(m.group(0)) if m else 0)
    return tuple(out)


NEW_NAMES = vtuple(VERSION) >= (25, 5)      # auto_activate (alias auto_activate_base)
ENVS_DETAILS = vtuple(VERSION) >= (25, 11)  # envs_details in env list / info
NO_IMPLICIT_DEFAULTS = vtuple(VERSION) >= (25, 9)
ENV_CREATE_IS_CREATE = vtuple(VERSION) >= (26, 7)


def root_prefix():
    return os.path.abspath(os.environ.get("CONDA_DOUBLE_ROOT") or sys.prefix)


def home():
    return os.path.expanduser("~")


# --------------------------------------------------------------------------- errors
class CondaError(Exception):
    """A conda error: dumped as conda's error JSON (rc 1 unless told)."""

    def __init__(self, name, message, module="conda.exceptions", rc=1, **fields):
        super().__init__(message)
        self.name = name
        self.message = message
        self.module = module
        self.rc = rc
        self.fields = fields

    def dump(self):
        out = {
            "caused_by": "None",
            "error": "%s: %s" % (self.name, self.message),
            "exception_name": self.name,
            "exception_type": "<class '%s.%s'>" % (self.module, self.name),
            "message": self.message,
        }
        out.update(self.fields)
        return out


class PlainError(Exception):
    """An error conda prints as plain text on stderr even with --json."""

    def __init__(self, text, rc=1):
        super().__init__(text)
        self.text = text
        self.rc = rc


# --------------------------------------------------------------------------- defaults
def _chan_dump(url):
    return channel_object(url)


def default_settings(root):
    """conda 26.7 ``config --show`` defaults (transcript 33), root-relative."""
    h = home()
    d = {
        "add_anaconda_token": True, "add_pip_as_python_dependency": True,
        "aggressive_update_packages": ["ca-certificates", "certifi", "openssl"],
        "allow_conda_downgrades": False, "allow_cycles": True, "allow_non_channel_urls": False,
        "allow_softlinks": False, "allowlist_channels": [], "always_copy": False,
        "always_softlink": False, "always_yes": None, "anaconda_upload": None,
        "auto_activate": True, "auto_stack": 0, "auto_update_conda": True, "bld_path": "",
        "changeps1": True, "channel_alias": "https://conda.anaconda.org",
        "channel_priority": "flexible", "channel_settings": [], "channels": [],
        "client_ssl_cert": None, "client_ssl_cert_key": None, "clobber": False,
        "conda_build": {}, "console": "classic", "create_default_packages": [],
        "croot": os.path.join(root, "conda-bld"),
        "custom_channels": {"pkgs/main": "https://repo.anaconda.com",
                            "pkgs/pro": "https://repo.anaconda.com",
                            "pkgs/r": "https://repo.anaconda.com"},
        "custom_multichannels": {"defaults": None, "local": []},
        "debug": False, "default_activation_env": "base",
        "default_channels": ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"],
        "default_python": "%d.%d" % sys.version_info[:2], "default_threads": None,
        "denylist_channels": [], "deps_modifier": "not_set", "dev": False,
        "disallowed_packages": [], "download_only": False, "dry_run": False,
        "enable_private_envs": False, "env_prompt": "({default_env}) ",
        "environment_specifier": None,
        "envs_dirs": [os.path.join(root, "envs"), os.path.join(h, ".conda", "envs")],
        "envvars_force_uppercase": True,
        "error_upload_url": "https://conda.io/conda-post/unexpected-error",
        "exclude_newer": "", "exclude_newer_package": {}, "execute_threads": 1,
        "experimental": [], "export_platforms": ["linux-64"], "extra_safety_checks": False,
        "fetch_threads": 5, "force": False, "force_32bit": False, "force_reinstall": False,
        "force_remove": False, "ignore_pinned": False, "json": False,
        "list_fields": ["name", "version", "build", "channel_name"], "local_repodata_ttl": 1,
        "migrated_channel_aliases": [], "migrated_custom_channels": {}, "no_lock": False,
        "no_plugins": False, "non_admin_enabled": True, "notify_outdated_conda": True,
        "number_channel_notices": 5, "offline": False, "override_channels_enabled": True,
        "override_virtual_packages": {}, "path_conflict": "clobber", "pinned_packages": [],
        "pkgs_dirs": [os.path.join(root, "pkgs"), os.path.join(h, ".conda", "pkgs")],
        "prefix_data_interoperability": False, "preview": [], "protect_frozen_envs": True,
        "proxy_servers": {}, "quiet": False, "register_envs": True, "remote_backoff_factor": 1,
        "remote_connect_timeout_secs": 9.15, "remote_max_retries": 3,
        "remote_read_timeout_secs": 60.0, "repodata_fns": ["current_repodata.json", "repodata.json"],
        "repodata_threads": None, "repodata_use_shards": True, "repodata_use_zst": True,
        "report_errors": None, "rollback_enabled": True, "root_prefix": root,
        "safety_checks": "warn", "sat_solver": "pycosat", "separate_format_cache": False,
        "shortcuts": True, "shortcuts_only": [], "show_channel_urls": None,
        "signing_metadata_url_base": None, "solver": "libmamba",
        "solver_ignore_timestamps": False, "ssl_verify": True, "subdir": "linux-64",
        "subdirs": ["linux-64", "noarch"], "target_prefix_override": "", "trace": False,
        "track_features": [], "unsatisfiable_hints": True, "unsatisfiable_hints_check_depth": 2,
        "update_modifier": "update_specs", "use_index_cache": False, "use_local": False,
        "use_only_tar_bz2": None, "verbosity": 0, "verify_threads": 1,
        "plugins": {},
    }
    if not NEW_NAMES:
        d.pop("auto_activate")
        d.pop("default_activation_env")
        d["auto_activate_base"] = True
    return d


ALIASES = {"channel": "channels", "verify_ssl": "ssl_verify", "yes": "always_yes",
           "envs_path": "envs_dirs", "self_update": "auto_update_conda",
           "whitelist_channels": "allowlist_channels", "experimental_solver": "solver",
           "virtual_packages": "override_virtual_packages"}
if NEW_NAMES:
    ALIASES["auto_activate_base"] = "auto_activate"
ENUMS = {"channel_priority": ("flexible", "strict", "disabled"),
         "path_conflict": ("clobber", "warn", "prevent"),
         "safety_checks": ("disabled", "warn", "enabled")}


def canonical_key(key):
    return ALIASES.get(key, key)


# --------------------------------------------------------------------------- search path
def _expand(path):
    """Config files for one search-path entry (conda's _expand_search_path)."""
    if os.path.isfile(path):
        base = os.path.basename(path)
        if base in (".condarc", "condarc") or base.endswith((".yml", ".yaml")):
            return [path]
        return []
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path)
                      if f.endswith((".yml", ".yaml")) and os.path.isfile(os.path.join(path, f)))
    return []


def search_path(root, target_prefix=None):
    h = home()
    out = []

    def triple(d):
        out.extend([os.path.join(d, ".condarc"), os.path.join(d, "condarc"), os.path.join(d, "condarc.d")])

    triple("/etc/conda")
    triple("/var/lib/conda")
    triple(root)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        triple(os.path.join(xdg, "conda"))
    triple(os.path.join(h, ".config", "conda"))
    triple(os.path.join(h, ".conda"))
    out.append(os.path.join(h, ".condarc"))
    cp = target_prefix or os.environ.get("CONDA_PREFIX")
    if cp and os.path.abspath(cp) != root:
        triple(cp)
    if os.environ.get("CONDARC"):
        out.append(os.environ["CONDARC"])
    return out


def read_yaml_file(path):
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        return None
    try:
        data = miniyaml.load(text)
    except Exception:
        return None
    return data if isinstance(data, dict) else ({} if data is None else None)


def _envvar_settings(known):
    out = {}
    for var, value in os.environ.items():
        if not var.startswith("CONDA_"):
            continue
        key = var[len("CONDA_"):].lower()
        if key in ("prefix", "default_env", "shlvl", "exe", "python_exe", "root", "root_prefix",
                   "promt_modifier", "prompt_modifier"):
            continue
        if key == "envs_path":
            out["envs_dirs"] = [p for p in value.split(os.pathsep) if p]
            continue
        key = canonical_key(key)
        if key not in known:
            continue
        default = known[key]
        if isinstance(default, list):
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            out[key] = miniyaml.scalar(value)
    return out


class Context:
    """Merged configuration, like conda's ``context``."""

    def __init__(self, target_prefix=None, json_mode=False, extra_sources=None):
        self.root = root_prefix()
        self.defaults = default_settings(self.root)
        self.sources = []  # (name, dict)
        for path in search_path(self.root, target_prefix):
            for f in _expand(path):
                data = read_yaml_file(f)
                if data:
                    self.sources.append((f, {canonical_key(k): v for k, v in data.items()}))
        env = _envvar_settings(self.defaults)
        if env:
            self.sources.append(("envvars", env))
        if json_mode:
            self.sources.append(("cmd_line", {"json": True}))
        self.settings = dict(self.defaults)
        # sequences: higher priority (later) sources first; maps merge; primitives clobber
        for key, default in self.defaults.items():
            vals = [src[key] for _name, src in self.sources if key in src]
            if not vals:
                continue
            if isinstance(default, list):
                merged = []
                for v in reversed(vals):
                    for item in (v if isinstance(v, list) else [v]):
                        if item not in merged:
                            merged.append(item)
                self.settings[key] = merged
            elif isinstance(default, dict):
                merged = dict(default) if key not in ("custom_multichannels",) else dict(default)
                for v in vals:
                    if isinstance(v, dict):
                        merged.update(v)
                self.settings[key] = merged
            else:
                self.settings[key] = vals[-1]
        self.settings["root_prefix"] = self.root

    def __getitem__(self, key):
        return self.settings[key]

    @property
    def config_files(self):
        return [n for n, _src in self.sources if n not in ("envvars", "cmd_line")]

    @property
    def envs_dirs(self):
        return [os.path.abspath(os.path.expanduser(d)) for d in self.settings["envs_dirs"]]

    @property
    def pkgs_dir(self):
        return os.path.join(self.root, "pkgs")

    # ------------------------------------------------------------------ channels
    def channel_alias(self):
        return str(self.settings.get("channel_alias") or "https://conda.anaconda.org").rstrip("/")

    def expand_channel(self, name):
        """One channel name/URL -> list of channel base URLs."""
        name = str(name).strip().rstrip("/")
        if name == "defaults":
            multi = (self.settings.get("custom_multichannels") or {}).get("defaults")
            chans = multi if multi else self.settings.get("default_channels") or []
            out = []
            for c in chans:
                out.extend(self.expand_channel(c))
            return out
        if "://" in name:
            return [strip_subdir(name)]
        if name.startswith(("/", "./", "~")):
            return ["file://" + os.path.abspath(os.path.expanduser(name))]
        custom = self.settings.get("custom_channels") or {}
        if name in custom:
            return [str(custom[name]).rstrip("/") + "/" + name]
        return [self.channel_alias() + "/" + name]

    def channel_urls(self, cli_channels, override, file_channels=()):
        names = list(file_channels) + list(cli_channels or [])
        if not override:
            names += list(self.settings.get("channels") or [])
            if not self.settings.get("channels") and not NO_IMPLICIT_DEFAULTS:
                names.append("defaults")
        out = []
        for n in names:
            for url in self.expand_channel(n):
                if url not in out:
                    out.append(url)
        return out

    def channel_name(self, url):
        """conda's canonical channel name for a base URL."""
        clean = strip_token(strip_auth(url)).rstrip("/")
        alias = strip_token(strip_auth(self.channel_alias())).rstrip("/")
        if clean.startswith(alias + "/"):
            return clean[len(alias) + 1:]
        for name, base in (self.settings.get("custom_channels") or {}).items():
            if clean == str(base).rstrip("/") + "/" + name:
                return name
        return clean.rsplit("/", 1)[-1]


def strip_subdir(url):
    url = url.rstrip("/")
    for sub in ("/linux-64", "/noarch"):
        if url.endswith(sub):
            return url[: -len(sub)]
    return url


def strip_auth(url):
    p = urllib.parse.urlsplit(url)
    if p.username or p.password:
        netloc = p.hostname + (":%d" % p.port if p.port else "")
        return urllib.parse.urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment))
    return url


# conda.common.url.split_anaconda_token: ``/t/<TOKEN>`` anywhere in the URL's path
# (``https://host/t/TK/chan``, ``https://host/conda/t/TK/chan``, ``https://host/api/t/TK``).
# conda's token alphabet is ``[a-zA-Z0-9-_]``; any path segment is accepted here so that no
# token, whatever its characters, can reach an output unmasked.
_TOKEN_RE = re.compile(r"/t/([^/]*)")


def split_token(url):
    """(url without ``/t/<TOKEN>``, token or None), as conda's split_anaconda_token (path only)."""
    url = str(url)
    p = urllib.parse.urlsplit(url)
    if not p.scheme or "://" not in url:
        return url, None
    m = _TOKEN_RE.search(p.path)
    if not m or (m.end() < len(p.path) and p.path[m.end()] != "/"):
        return url, None
    path = p.path[:m.start()] + p.path[m.end():]
    return urllib.parse.urlunsplit((p.scheme, p.netloc, path, p.query, p.fragment)), m.group(1)


def strip_token(url):
    return split_token(url)[0]


def channel_object(url):
    """conda's Channel dump: {auth, location, name, package_filename, platform, scheme, token}."""
    p = urllib.parse.urlsplit(str(url))
    auth = None
    if p.username:
        auth = "%s:%s" % (urllib.parse.unquote(p.username), urllib.parse.unquote(p.password or ""))
    path = p.path
    token = None
    m = _TOKEN_RE.search(path)
    if m and (m.end() == len(path) or path[m.end()] == "/"):
        token, path = m.group(1), path[:m.start()] + path[m.end():]
    netloc = (p.hostname or "") + (":%d" % p.port if p.port else "")
    path = path.rstrip("/")
    location, _sep, name = path.rpartition("/")
    if p.scheme == "file":
        location = location or "/"
    else:
        location = netloc + location
    return {"auth": auth, "location": location, "name": name, "package_filename": None,
            "platform": None, "scheme": p.scheme or None, "token": token}


def mask(url):
    token = split_token(url)[1]
    if token:
        url = url.replace("/t/" + token, "/t/<TOKEN>", 1)
    p = urllib.parse.urlsplit(url)
    if p.password:
        url = url.replace(":%s@" % p.password, ":<PASSWORD>@", 1)
    return url


# --------------------------------------------------------------------------- HTTP
def fetch(url, timeout=60):
    """GET a URL (file/http/https, basic auth from userinfo); bytes or raises CondaError."""
    p = urllib.parse.urlsplit(url)
    headers = {"User-Agent": "conda/%s condafleet-test-double" % VERSION}
    if p.username:
        cred = "%s:%s" % (urllib.parse.unquote(p.username), urllib.parse.unquote(p.password or ""))
        headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        url = strip_auth(url)
    if p.scheme == "file":
        path = urllib.request.url2pathname(p.path)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError:
            raise HTTPFailure(url, 404, "Not Found")
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        raise HTTPFailure(url, exc.code, exc.reason)
    except (urllib.error.URLError, OSError) as exc:
        raise HTTPFailure(url, "000", "CONNECTION FAILED", str(exc))


class HTTPFailure(Exception):
    def __init__(self, url, status, reason, detail=""):
        super().__init__("%s %s" % (status, reason))
        self.url = url
        self.status = status
        self.reason = reason
        self.detail = detail

    def conda_error(self):
        url = mask(self.url)
        if self.status == "000":
            msg = ("HTTP 000 CONNECTION FAILED for url <%s>\nElapsed: -\n\n"
                   "An HTTP error occurred when trying to retrieve this URL.\n"
                   "HTTP errors are often intermittent, and a simple retry will get you on your way.\n" % url)
        else:
            msg = ("HTTP %s %s for url <%s>\nElapsed: 00:00.01\n\n"
                   "An HTTP error occurred when trying to retrieve this URL.\n"
                   "HTTP errors are often intermittent, and a simple retry will get you on your way.\n"
                   % (self.status, str(self.reason).upper(), url))
        return CondaError("CondaHTTPError", msg, url=url, status_code=self.status,
                          reason=str(self.reason).upper(), elapsed_time="-",
                          response_details=self.detail, json="")


def url_hash(url):
    return hashlib.sha256(url.encode()).hexdigest()[:12]
