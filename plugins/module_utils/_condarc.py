# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The ``.condarc`` policy: which settings conda has, what values it accepts, what a request changes.

Design (see the ``conda_config`` module):

* ``_yaml_subset`` reads the file as blocks of top-level keys and renders the
  changed ones, keeping every other line byte for byte.
* ``check_value()`` holds conda 26.7's type of each setting, so that nothing is
  written that would make every conda command on the host fail;
  ``file_problem()`` refuses a file that is no mapping of settings at all.
* ``key_updates()`` is pure: current data + request -> ordered updates (a value,
  or ``REMOVE``); writing a key removes its older names (``ALIASES``).
* ``plan()`` is the whole decision for one file, shared by check mode and the
  real run: the updates, the new text (checked to read back as intended), its
  mode, the Terms of Service to accept, and the one ``changed``.
"""

from __future__ import annotations

import difflib
import json
import re
from urllib.parse import quote

from ansible_collections.condafleet.conda.plugins.module_utils._prefix import version_tuple as _version_tuple
from ansible_collections.condafleet.conda.plugins.module_utils._secrets import has_secrets, mask
from ansible_collections.condafleet.conda.plugins.module_utils._tos import anaconda_channels, tos_accepted
from ansible_collections.condafleet.conda.plugins.module_utils._yaml_subset import (
    FLOAT_RE,
    OPAQUE,
    REMOVE,
    parse,
    render,
    same,
    top_level_kind,
)

# conda 26.7 `conda config --show --json` (115 keys), plus aliases and `plugins`.
KNOWN_KEYS = frozenset("""
add_anaconda_token add_pip_as_python_dependency aggressive_update_packages allow_conda_downgrades allow_cycles
allow_non_channel_urls allow_softlinks allowlist_channels always_copy always_softlink always_yes anaconda_upload
auto_activate auto_stack auto_update_conda bld_path changeps1 channel_alias channel_priority channel_settings channels
client_ssl_cert client_ssl_cert_key clobber conda_build console create_default_packages croot custom_channels
custom_multichannels debug default_activation_env default_channels default_python default_threads denylist_channels
deps_modifier dev disallowed_packages download_only dry_run enable_private_envs env_prompt environment_specifier
envs_dirs envvars_force_uppercase error_upload_url exclude_newer exclude_newer_package execute_threads experimental
export_platforms extra_safety_checks fetch_threads force force_32bit force_reinstall force_remove ignore_pinned json
list_fields local_repodata_ttl migrated_channel_aliases migrated_custom_channels no_lock no_plugins non_admin_enabled
notify_outdated_conda number_channel_notices offline override_channels_enabled override_virtual_packages
path_conflict pinned_packages pkgs_dirs prefix_data_interoperability preview protect_frozen_envs proxy_servers quiet
register_envs remote_backoff_factor remote_connect_timeout_secs remote_max_retries remote_read_timeout_secs
repodata_fns repodata_threads repodata_use_shards repodata_use_zst report_errors rollback_enabled root_prefix
safety_checks sat_solver separate_format_cache shortcuts shortcuts_only show_channel_urls signing_metadata_url_base
solver solver_ignore_timestamps ssl_verify subdir subdirs target_prefix_override trace track_features
unsatisfiable_hints unsatisfiable_hints_check_depth update_modifier use_index_cache use_local use_only_tar_bz2
verbosity verify_threads plugins
channel auto_activate_base envs_path verify_ssl experimental_solver yes self_update virtual_packages whitelist_channels
cooldown
""".split())

# Names that are one setting to conda: two of them in one file is a MultipleKeysError.
ALIASES = (
    ("channels", "channel"), ("auto_activate", "auto_activate_base"), ("envs_dirs", "envs_path"),
    ("ssl_verify", "verify_ssl"), ("solver", "experimental_solver"), ("always_yes", "yes"),
    ("auto_update_conda", "self_update"), ("override_virtual_packages", "virtual_packages"),
    ("allowlist_channels", "whitelist_channels"), ("exclude_newer", "cooldown"),
    # older names conda 26.7 still reads (conda/base/context.py)
    ("environment_specifier", "env_spec"), ("prefix_data_interoperability", "pip_interop_enabled"),
    ("disallowed_packages", "disallow"), ("root_prefix", "root_dir"), ("export_platforms", "extra_platforms"),
    ("client_ssl_cert", "client_cert"), ("client_ssl_cert_key", "client_cert_key"),
    ("add_anaconda_token", "add_binstar_token"), ("always_softlink", "softlink"), ("always_copy", "copy"),
    ("anaconda_upload", "binstar_upload"), ("conda_build", "conda-build"), ("verbosity", "verbose"),
)

KNOWN_KEYS = KNOWN_KEYS | frozenset(name for group in ALIASES for name in group)

LIST_KEYS = frozenset(("channels", "default_channels", "pkgs_dirs", "envs_dirs", "allowlist_channels",
                       "denylist_channels", "pinned_packages", "create_default_packages", "disallowed_packages"))

MAP_KEYS = frozenset(("custom_channels", "custom_multichannels", "proxy_servers", "override_virtual_packages", "plugins"))

BOOL_KEYS = frozenset("""
add_anaconda_token add_pip_as_python_dependency allow_conda_downgrades allow_cycles allow_non_channel_urls
allow_softlinks always_copy always_softlink always_yes anaconda_upload auto_activate auto_activate_base
auto_update_conda changeps1 clobber debug dev download_only dry_run enable_private_envs envvars_force_uppercase
extra_safety_checks force force_32bit force_reinstall force_remove ignore_pinned json no_lock no_plugins
non_admin_enabled notify_outdated_conda offline override_channels_enabled prefix_data_interoperability
protect_frozen_envs quiet register_envs repodata_use_shards repodata_use_zst report_errors rollback_enabled
self_update separate_format_cache shortcuts show_channel_urls solver_ignore_timestamps trace unsatisfiable_hints
use_index_cache use_local use_only_tar_bz2 yes
""".split())

# conda 26.7's types (conda/base/context.py) for the keys whose wrong type makes every conda command fail.
INT_KEYS = frozenset("""
auto_stack default_threads execute_threads fetch_threads number_channel_notices remote_backoff_factor
remote_max_retries repodata_threads unsatisfiable_hints_check_depth verbosity verify_threads
""".split())

FLOAT_KEYS = frozenset(("remote_connect_timeout_secs", "remote_read_timeout_secs"))

STR_KEYS = frozenset("""
bld_path channel_alias client_ssl_cert client_ssl_cert_key console croot default_activation_env default_python
env_prompt environment_specifier error_upload_url experimental_solver root_prefix signing_metadata_url_base solver
subdir target_prefix_override
""".split())

STR_LIST_KEYS = frozenset("""
aggressive_update_packages allowlist_channels channel channels create_default_packages default_channels
denylist_channels disallowed_packages envs_dirs envs_path experimental export_platforms list_fields
migrated_channel_aliases pinned_packages pkgs_dirs preview repodata_fns shortcuts_only subdirs track_features
whitelist_channels
""".split())

STR_MAP_KEYS = frozenset(("custom_channels", "proxy_servers", "migrated_custom_channels", "conda_build",
                          "override_virtual_packages", "virtual_packages"))

# Keys whose strings are channel names or URLs: no whitespace, not empty.
CHANNEL_KEYS = frozenset(("channels", "channel", "default_channels", "channel_alias", "custom_channels",
                          "custom_multichannels", "allowlist_channels", "whitelist_channels", "denylist_channels",
                          "migrated_channel_aliases", "migrated_custom_channels"))

CHOICES = {"channel_priority": ("flexible", "strict", "disabled"), "safety_checks": ("disabled", "warn", "enabled"),
           "path_conflict": ("clobber", "warn", "prevent")}

AUTO_ACTIVATE_RENAMED = (25, 5)  # conda renamed auto_activate_base to auto_activate in 25.5.0
CHANNELS_MODES = ("exact", "present", "absent", "prepend", "append")


class CondarcError(ValueError):
    """A request that cannot be honoured; the message is meant for the user."""


def alias_group(key):
    """Return every name of the setting ``key`` (itself first)."""
    for group in ALIASES:
        if key in group:
            return (key,) + tuple(name for name in group if name != key)
    return (key,)


def unknown_keys(keys, extra_keys=()):
    """Keys conda does not know (conda 26.7 list + aliases + ``extra_keys``)."""
    allowed = KNOWN_KEYS | frozenset(extra_keys or ())
    return [key for key in keys if key not in allowed]


def auto_activate_key(version_tuple):
    """The name the installed conda understands: ``auto_activate`` from 25.5, else ``auto_activate_base``."""
    return "auto_activate" if tuple(version_tuple) >= AUTO_ACTIVATE_RENAMED else "auto_activate_base"


# ---------------------------------------------------------------- what a request may write

_KEY_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def bad_key_names(keys):
    """Keys that cannot be conda settings whatever ``validate_keys`` says (conda's names are identifiers)."""
    return [key for key in keys if not isinstance(key, str) or not _KEY_NAME_RE.match(key)]


def suggest(key, extra_keys=()):
    """The known keys closest to a mistyped ``key`` (for the error message)."""
    return difflib.get_close_matches(str(key), sorted(KNOWN_KEYS | frozenset(extra_keys or ())), n=3, cutoff=0.75)


def _type_name(value):
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", type(None): "null"}.get(type(value), type(value).__name__)


def _strings(value, where):
    """(place, string) for every string in ``value`` (mapping keys included), ``where`` naming the place."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _strings(item, "%s[%d]" % (where, number))
    elif isinstance(value, dict):
        for name, item in value.items():
            yield "%s key" % where, str(name)
            yield from _strings(item, "%s.%s" % (where, name))


def _check_strings(key, value):
    """Control characters anywhere, and empty or spaced channel names, are refused with the place named."""
    for where, text in _strings(value, key):
        if _CONTROL_RE.search(text):
            raise CondarcError("%s holds a control character (%s); conda settings are one-line strings"
                               % (where, json.dumps(mask(text))))
        if key in CHANNEL_KEYS and (not text.strip() or text != text.strip() or re.search(r"\s", text)):
            raise CondarcError("%s must be a channel name or URL without spaces, got %s" % (where, json.dumps(mask(text))))


def _check_elements(key, value):
    if key in STR_LIST_KEYS:
        for number, item in enumerate(value):
            if not isinstance(item, str):
                raise CondarcError("%s[%d] must be a string, got %s %r" % (key, number, _type_name(item), item))
    if key in STR_MAP_KEYS or key == "custom_multichannels":
        for name, item in value.items():
            if key == "custom_multichannels":
                if not isinstance(item, list) or not all(isinstance(entry, str) for entry in item):
                    raise CondarcError("custom_multichannels.%s must be a list of channel names" % name)
            elif not isinstance(item, str) and not (item is None and key != "custom_channels"):
                raise CondarcError("%s.%s must be a string, got %s %r" % (key, name, _type_name(item), mask(item)))


def check_value(key, value):
    """conda's type for ``key`` (conda/base/context.py); returns the value to write.

    Booleans are taken from their usual strings, integers and numbers from digits, an integer is written as a
    number where conda wants one; anything conda would refuse to load (so that every conda command on the host
    would fail) raises CondarcError naming the key and the value.
    """
    if value is None:
        raise CondarcError("%s: null is not a value to write; list the key in remove_keys to remove it" % key)
    name = key
    key = next((group[0] for group in ALIASES if key in group), key)  # an older name has its setting's type
    try:
        return _check_typed(key, value)
    except CondarcError as exc:
        if name == key:
            raise
        raise CondarcError("%s (%s is the older name of %s)" % (exc, name, key))


def _check_typed(key, value):
    if key in BOOL_KEYS:
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off", "1", "0"):
            value = value.lower() in ("true", "yes", "on", "1")
        if not isinstance(value, bool):
            raise CondarcError("%s must be a boolean, got %r" % (key, value))
    if key in INT_KEYS or key in FLOAT_KEYS or key == "local_repodata_ttl":
        if isinstance(value, str) and re.match(r"^[-+]?[0-9]+$", value.strip()):
            value = int(value)
        elif key in FLOAT_KEYS and isinstance(value, str) and FLOAT_RE.match(value.strip()):
            value = float(value)
        if isinstance(value, bool) and key != "local_repodata_ttl" or not isinstance(
                value, (int, float) if key in FLOAT_KEYS else int):
            raise CondarcError("%s must be %s, got %s %r" % (
                key, "a number" if key in FLOAT_KEYS else "an integer", _type_name(value), value))
        if key in FLOAT_KEYS and not isinstance(value, bool):
            value = float(value)
    if key in STR_KEYS and not isinstance(value, str):
        raise CondarcError("%s must be a string, got %s %r%s" % (key, _type_name(value), value, (
            " (quote it in YAML: 3.10 is the number 3.1)" if isinstance(value, (int, float)) else "")))
    if (key in LIST_KEYS or key in STR_LIST_KEYS) and not isinstance(value, list):
        raise CondarcError("%s must be a list" % key)
    if (key in MAP_KEYS or key in STR_MAP_KEYS) and not isinstance(value, dict):
        raise CondarcError("%s must be a mapping" % key)
    if key in CHOICES and value not in CHOICES[key]:
        raise CondarcError("%s must be one of %s, got %r" % (key, ", ".join(CHOICES[key]), value))
    if key in ("ssl_verify", "verify_ssl") and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"  # a quoted 'false' would be read as a CA bundle path
    if key in ("ssl_verify", "verify_ssl") and not isinstance(value, (bool, str)):
        raise CondarcError("ssl_verify must be a boolean or a path to a CA bundle")
    _check_elements(key, value)
    _check_strings(key, value)
    return value


def file_problem(text):
    """Why ``text`` cannot be a ``.condarc`` at all (conda could not load it as settings), or None.

    Control characters other than tab and line breaks are not YAML; a top level that is a list or a scalar
    is not a mapping of settings. Such a file is never rewritten.
    """
    found = re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    if found:
        return ("holds the control character %s on line %d, which YAML does not allow (conda cannot read the "
                "file either)" % (json.dumps(found.group(0)), text.count("\n", 0, found.start()) + 1))
    kind, number, body = top_level_kind(text)
    if kind == "list":
        return "holds a list at its top level (line %d), not a mapping of settings" % number
    if kind == "scalar":
        return "holds a scalar at its top level (line %d: %s), not a mapping of settings" % (
            number, json.dumps(mask(body[:60])))
    return None


# ---------------------------------------------------------------- decisions

def merge_channels(current, wanted, mode):
    """The channel list after applying ``wanted`` with ``mode`` (exact/present/absent/prepend/append)."""
    current = list(current or [])
    if mode == "exact":
        return list(wanted)
    if mode == "absent":
        return [c for c in current if c not in wanted]
    if mode == "present":
        return current + [c for c in wanted if c not in current]
    if mode == "prepend":
        return list(wanted) + [c for c in current if c not in wanted]
    if mode == "append":
        return [c for c in current if c not in wanted] + list(wanted)
    raise CondarcError("unknown channels_mode %r" % mode)


def mirror_url(mirror):
    """The mirror base URL with its credentials (``user:password@`` or ``/t/<token>``)."""
    url = str(mirror["url"]).rstrip("/")
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)(.*)$", url)
    if not match:
        raise CondarcError("mirror.url must be a URL with a scheme, like https://mirror.example.com/conda")
    if mirror.get("username") or mirror.get("password"):
        if not (mirror.get("username") and mirror.get("password")):
            raise CondarcError("mirror.username and mirror.password go together")
        auth = "%s:%s@" % (quote(str(mirror["username"]), safe=""), quote(str(mirror["password"]), safe=""))
        url = match.group(1) + auth + match.group(2)
    if mirror.get("token"):
        url += "/t/" + str(mirror["token"])
    return url


def mirror_settings(mirror):
    """channel_alias, default_channels and custom_channels pointing every channel at the mirror."""
    base = mirror_url(mirror)
    out = {"channel_alias": base}
    defaults = mirror.get("default_channels")
    if defaults is None:
        defaults = ["pkgs/main", "pkgs/r"]
    if defaults:
        out["default_channels"] = ["%s/%s" % (base, name.strip("/")) for name in defaults]
    if mirror.get("custom_channels"):
        out["custom_channels"] = dict((name, base) for name in mirror["custom_channels"])
    return out


def requested_auto_activate(request):
    """The auto-activation value asked for (option or either name in settings), or None."""
    settings = request.get("settings") or {}
    values = [request.get("auto_activate")] + [settings.get(name) for name in ("auto_activate", "auto_activate_base")]
    values = [check_value("auto_activate", value) for value in values if value is not None]
    if len(set(values)) > 1:
        raise CondarcError("auto_activate is given twice with different values")
    return values[0] if values else None


def request_of(params, conda_version):
    """The request of ``conda_config``'s options; ``conda_version`` (of the installation, or ``None``) names the
    auto-activation key. CondarcError when ``auto_activate`` is asked and there is no conda to choose the key."""
    request = dict((key, params.get(key)) for key in ("settings", "channels", "channels_mode", "no_defaults",
                                                      "auto_activate", "mirror", "remove_keys", "accept_anaconda_tos"))
    request["auto_activate_key"] = None
    if requested_auto_activate(request) is not None:
        if not conda_version:
            raise CondarcError("auto_activate needs the conda version of the installation at prefix (%s), and no "
                               "conda installation is there: set prefix to it (the key is auto_activate_base before "
                               "conda 25.5, auto_activate since)" % params.get("prefix"))
        request["auto_activate_key"] = auto_activate_key(_version_tuple(conda_version))
    return request


def desired_values(current, request):
    """Ordered key -> value (or REMOVE) that the request asks for, before comparing with ``current``.

    ``request``: settings, channels, channels_mode, no_defaults, auto_activate,
    auto_activate_key (from the installed conda's version), mirror, remove_keys.
    """
    want = {}
    for key, value in sorted((request.get("settings") or {}).items()):  # sorted: stable whatever the caller's order
        if key not in ("auto_activate", "auto_activate_base"):
            want[key] = check_value(key, value)
    if request.get("mirror"):
        for key, value in mirror_settings(request["mirror"]).items():
            value = check_value(key, value)
            if key in want and not same(want[key], value):
                raise CondarcError("%s is set both in settings and by mirror" % key)
            want[key] = value
    mode = request.get("channels_mode") or "exact"
    if request.get("channels") is not None:
        if "channels" in want:
            raise CondarcError("give channels either as the channels option or in settings, not both")
        if request.get("no_defaults") and mode != "absent" and "defaults" in request["channels"]:
            raise CondarcError("no_defaults conflicts with 'defaults' in channels")
        wanted_channels = check_value("channels", list(request["channels"]))
        want["channels"] = merge_channels(current.get("channels", current.get("channel")), wanted_channels, mode)
    if request.get("no_defaults"):
        channels = want.get("channels", current.get("channels"))
        if isinstance(channels, list) and "defaults" in channels:
            if "channels" in (request.get("settings") or {}):
                raise CondarcError("no_defaults conflicts with 'defaults' in settings.channels")
            want["channels"] = [c for c in channels if c != "defaults"]
        if (request.get("settings") or {}).get("default_channels"):
            raise CondarcError("no_defaults conflicts with settings.default_channels")
        want["default_channels"] = []
    auto = requested_auto_activate(request)
    if auto is not None:
        if not request.get("auto_activate_key"):
            raise CondarcError("auto_activate needs the installed conda's version to choose its key")
        want[request["auto_activate_key"]] = auto
    for key in request.get("remove_keys") or ():
        for name in alias_group(key):
            if name in want:
                raise CondarcError("%s is both set and in remove_keys" % name)
            want[name] = REMOVE
    return want


def key_updates(current, request):
    """Ordered updates (key -> new value, or REMOVE) that turn ``current`` into what is requested.

    Writing a key also removes its aliases (conda refuses two names of one
    setting in a file): ``auto_activate`` leaves no ``auto_activate_base`` twin.
    """
    updates = {}
    for key, value in desired_values(current, request).items():
        if value is REMOVE:
            if key in current:
                updates[key] = REMOVE
            continue
        if key not in current or current[key] is OPAQUE or not same(current[key], value):
            updates[key] = value
        for twin in alias_group(key)[1:]:
            if twin in current:
                updates[twin] = REMOVE
    return updates


def apply_updates(current, updates):
    """The data after ``updates`` (used to check what a rendered file reads back as)."""
    data = dict(current)
    for key, value in updates.items():
        if value is REMOVE:
            data.pop(key, None)
        else:
            data[key] = value
    return data


#: the keys the ToS decision reads, when the installation enforces Anaconda's Terms of Service
TOS_KEYS = ("channels", "channel", "default_channels", "custom_channels", "channel_alias")


def needed_keys(wanted, tos_enforced):
    """The top-level keys whose values the decision needs read with certainty (all names of each wanted key)."""
    needed = set(name for key in wanted for name in alias_group(key))
    if tos_enforced:
        needed.update(TOS_KEYS)
    return needed


def plan(doc, text, current, request, old_mode, no_rewrite=None, tos_records=None):
    """The whole decision for one ``.condarc`` (pure: what the file and the host say is passed in).

    ``doc``/``text``: the file as parsed (``_yaml_subset.parse``) and its text, without a byte-order mark;
    ``current``: its data; ``old_mode``: its permission bits, ``None`` when it does not exist;
    ``no_rewrite``: why it may not be rewritten, if so; ``tos_records``: the ToS acceptance records when
    the installation enforces Anaconda's Terms of Service (its plugin is installed), else ``None``.

    Returns a dict: ``updates`` (key -> value or ``REMOVE``), ``after`` (the data after),
    ``text`` (the new text), ``write``, ``mode`` (what the file must have: ``0600`` when it holds a
    credential), ``chmod`` (only the mode changes), ``tos`` (channels whose ToS must be accepted),
    ``changed``. Raises :class:`CondarcError` when the request cannot be met, before anything is written.
    """
    updates = key_updates(current, request)
    after = apply_updates(current, updates)
    if updates and no_rewrite:
        raise CondarcError("must change (%s) but cannot be rewritten with certainty: %s"
                           % (", ".join(updates), no_rewrite))
    new_text = render(doc, updates) if updates else text
    if updates:  # the new file must read back as intended before it is written
        check = parse(new_text)
        readback = check.data()
        if check.problem or set(readback) != set(after) or any(
                not same(readback[key], value) for key, value in updates.items() if value is not REMOVE):
            raise CondarcError("would not read back as intended after the change (internal check failed)")
    tos = [] if tos_records is None else [url for url in anaconda_channels(after) if not tos_accepted(tos_records, url)]
    if tos and not request.get("accept_anaconda_tos"):
        raise CondarcError("uses the channels %s, which are Anaconda's, and the installation enforces their Terms of "
                           "Service, which have not been accepted. Set accept_anaconda_tos: true to accept them "
                           "(after reading them: https://www.anaconda.com/legal), or stop using them (no_defaults: "
                           "true, or other channels)" % ", ".join(tos))
    mode = 0o600 if has_secrets(new_text) else (old_mode if old_mode is not None else 0o644)
    write = bool(updates)
    chmod = not write and old_mode is not None and mode != old_mode
    return {"updates": updates, "after": after, "text": new_text, "write": write, "mode": mode, "chmod": chmod,
            "tos": tos, "changed": write or chmod or bool(tos)}


def managed_values(decision, wanted, needed):
    """What the result reports: the values after the run of the keys the request manages."""
    after, updates = decision["after"], decision["updates"]
    managed = [key for key in needed if key in wanted or key in updates]
    return dict((key, after[key]) for key in sorted(managed) if key in after and after[key] is not OPAQUE)
