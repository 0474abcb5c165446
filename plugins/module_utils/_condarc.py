# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Reading, deciding and writing ``.condarc`` files with the standard library only.

Design (see the ``conda_config`` module):

* ``parse()`` cuts a file into top-level key blocks (a key at column 0 and every
  indented line under it) and parses each block's value with a small, strict
  reader for the YAML that ``.condarc`` files hold in practice: block mappings
  and sequences, one-line flow ``[...]``/``{...}``, plain, single- and
  double-quoted scalars, comments. Scalars resolve by the YAML 1.2 core schema,
  as conda's ruamel-based loader does. Anything else (anchors, aliases, tags,
  block scalars, multi-line flow or plain scalars, documents) makes that block
  *opaque* (kept verbatim, value read by the installation's own Python when it
  is managed) or, at the top level, the whole file *unsegmentable*.
* ``plan()`` is pure: current data + request -> ordered updates.
* ``render()`` replaces only the blocks of changed keys, appends new keys at the
  end and keeps every other line byte for byte (comments, unmanaged keys).
  The module re-parses the result and checks it reads back as intended.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from urllib.parse import quote

from ansible_collections.condafleet.conda.plugins.module_utils._secrets import mask

REMOVE = object()
OPAQUE = object()

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
ANACONDA_HOST = "repo.anaconda.com"
DEFAULT_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
CHANNELS_MODES = ("exact", "present", "absent", "prepend", "append")


class Unsupported(ValueError):
    """YAML this reader does not parse with certainty."""


class CondarcError(ValueError):
    """A request that cannot be honoured; the message is meant for the user."""


def alias_group(key):
    """Return every name of the setting ``key`` (itself first)."""
    for group in ALIASES:
        if key in group:
            return (key,) + tuple(name for name in group if name != key)
    return (key,)


# ---------------------------------------------------------------- scalars

_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_KEY_RE = re.compile(r"""^(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'"""
                     r"""|(?:[^\s#'"\[\]{},&*!|>%@`?:-]|-(?=[^\s:]))(?:[^\s#:,\[\]{}]|:(?=[^\s,\[\]{}]))*)"""
                     r"""[ \t]*:(?:[ \t]+(?P<rest>.*)|$)""")
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
            "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}


def resolve_plain(text):
    """Resolve a plain scalar by the YAML 1.2 core schema (what conda's loader does)."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT_RE.match(text):
        return int(text)
    if re.match(r"^0o[0-7]+$", text):
        return int(text[2:], 8)
    if re.match(r"^0x[0-9a-fA-F]+$", text):
        return int(text[2:], 16)
    if _FLOAT_RE.match(text):
        return float(text)
    if re.match(r"^[-+]?\.(inf|Inf|INF)$", text):
        return float("-inf") if text.startswith("-") else float("inf")
    if text in (".nan", ".NaN", ".NAN"):
        return float("nan")
    return text


def _quoted(text, pos):
    """Parse a quoted scalar starting at ``text[pos]``; return (value, next position)."""
    quote_char = text[pos]
    out = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if quote_char == "'":
            if char == "'":
                if text[i + 1:i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(char)
            i += 1
            continue
        if char == '"':
            return "".join(out), i + 1
        if char == "\\":
            esc = text[i + 1:i + 2]
            size = {"x": 2, "u": 4, "U": 8}.get(esc)
            if size:
                digits = text[i + 2:i + 2 + size]
                if not re.match(r"^[0-9a-fA-F]{%d}$" % size, digits):
                    raise Unsupported("bad escape in a double-quoted string")
                out.append(chr(int(digits, 16)))
                i += 2 + size
                continue
            if esc not in _ESCAPES:
                raise Unsupported("unknown escape \\%s" % esc)
            out.append(_ESCAPES[esc])
            i += 2
            continue
        out.append(char)
        i += 1
    raise Unsupported("quoted string does not end on its line")


def _skip(text, pos):
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _end_of_line(text, pos):
    """Only spaces or a comment may follow a value."""
    pos = _skip(text, pos)
    if pos < len(text) and text[pos] != "#":
        raise Unsupported("unexpected text after a value: %r" % text[pos:])


#: nesting this reader reads by itself; deeper YAML goes to the installation's reader, and conda's own
#: configuration loader, which gives up on deep nesting (RecursionError), is asked whether it can read it
MAX_DEPTH = 32


def _flow(text, pos, depth=0):
    """Parse a one-line flow node at ``text[pos]``; return (value, next position)."""
    pos = _skip(text, pos)
    if pos >= len(text):
        raise Unsupported("flow collection does not end on its line")
    char = text[pos]
    if char in "[{":
        if depth >= MAX_DEPTH:
            raise Unsupported("collections nested more than %d deep" % MAX_DEPTH)
        closing = "]" if char == "[" else "}"
        items = [] if char == "[" else {}
        pos = _skip(text, pos + 1)
        while True:
            if pos >= len(text):
                raise Unsupported("flow collection does not end on its line")
            if text[pos] == closing:
                return items, pos + 1
            if char == "[":
                value, pos = _flow(text, pos, depth + 1)
                items.append(value)
            else:
                key, pos = _flow(text, pos, depth + 1)
                pos = _skip(text, pos)
                if text[pos:pos + 1] != ":" or isinstance(key, (list, dict)):
                    raise Unsupported("flow mapping entry without a key")
                value, pos = _flow(text, pos + 1, depth + 1)
                if key in items:
                    raise Unsupported("duplicate key %r" % (key,))
                items[key] = value
            pos = _skip(text, pos)
            if text[pos:pos + 1] == ",":
                pos = _skip(text, pos + 1)
            elif text[pos:pos + 1] != closing:
                raise Unsupported("malformed flow collection")
    if char in "'\"":
        return _quoted(text, pos)
    if char in "&*!|>%@`?#,":
        raise Unsupported("unsupported YAML indicator %r" % char)
    match = re.match(r"((?:[^,\[\]{}:#\s]|:(?=[^\s,\[\]{}])|[ \t]+(?=[^\s#,\[\]{}:]))+)", text[pos:])
    if not match:
        return None, pos
    return resolve_plain(match.group(1)), pos + match.end()


def parse_inline(text):
    """Parse the value written after ``key:`` on the same line (comment allowed)."""
    text = text.strip()
    if not text or text.startswith("#"):
        return None
    char = text[0]
    if char in "[{'\"":
        value, pos = _flow(text, 0)
        _end_of_line(text, pos)
        return value
    if char in "&*!|>%@`?,]}" or (char == "-" and text[1:2] in ("", " ")):
        raise Unsupported("unsupported YAML indicator %r" % char)
    plain = re.split(r"[ \t]+#", text, maxsplit=1)[0].rstrip()
    if ": " in plain or plain.endswith(":") or "\t" in plain:
        raise Unsupported("ambiguous plain scalar %r" % plain)
    return resolve_plain(plain)


# ---------------------------------------------------------------- block nodes

def _content_lines(lines):
    """(indent, text) of the lines that carry YAML content (no blanks, no comment lines)."""
    out = []
    for line in lines:
        body = line.rstrip("\r\n")
        if "\t" in body[:len(body) - len(body.lstrip(" \t"))]:
            raise Unsupported("tab in indentation")
        stripped = body.lstrip(" ")
        if stripped and not stripped.startswith("#"):
            out.append([len(body) - len(stripped), stripped])
    if len(set(indent for indent, _text in out)) > MAX_DEPTH:  # at least as many levels of nesting
        raise Unsupported("collections nested more than %d deep" % MAX_DEPTH)
    return out


def _parse_node(items, idx, parent_indent, seq_at_parent=False):
    """Parse the block node starting at ``items[idx]``; return (value, next index)."""
    indent, text = items[idx]
    if indent < parent_indent or (indent == parent_indent and not (seq_at_parent and _is_item(text))):
        return None, idx
    if _is_item(text):
        return _parse_seq(items, idx, indent)
    return _parse_map(items, idx, indent)


def _is_item(text):
    return text == "-" or text.startswith("- ") or text.startswith("-\t")


def _parse_seq(items, idx, indent):
    out = []
    while idx < len(items) and items[idx][0] == indent and _is_item(items[idx][1]):
        rest = items[idx][1][1:].lstrip(" ")
        if not rest or rest.startswith("#"):
            idx += 1
            if idx < len(items) and items[idx][0] > indent:
                value, idx = _parse_node(items, idx, indent)
            else:
                value = None
        elif _KEY_RE.match(rest) or _is_item(rest):  # compact mapping or sequence inside an item
            items[idx] = [indent + len(items[idx][1]) - len(rest), rest]
            value, idx = (_parse_seq if _is_item(rest) else _parse_map)(items, idx, items[idx][0])
        else:
            value = parse_inline(rest)
            idx += 1
        out.append(value)
    if idx < len(items) and items[idx][0] > indent:
        raise Unsupported("bad indentation in a sequence")
    return out, idx


def _key_text(raw):
    if raw[0] in "'\"":
        value, _pos = _quoted(raw, 0)
        return value
    return resolve_plain(raw)


def _parse_map(items, idx, indent):
    out = {}
    while idx < len(items) and items[idx][0] == indent:
        match = _KEY_RE.match(items[idx][1])
        if not match:
            raise Unsupported("not a 'key: value' line: %r" % items[idx][1])
        key = _key_text(match.group("key"))
        if not isinstance(key, str):
            raise Unsupported("non-string mapping key %r" % (key,))
        if key in out:
            raise Unsupported("duplicate key %r" % key)
        rest = match.group("rest") or ""
        idx += 1
        if rest.strip() and not rest.strip().startswith("#"):
            out[key] = parse_inline(rest)
        elif idx < len(items) and (items[idx][0] > indent or (items[idx][0] == indent and _is_item(items[idx][1]))):
            out[key], idx = _parse_node(items, idx, indent, seq_at_parent=True)
        else:
            out[key] = None
    if idx < len(items) and items[idx][0] > indent:
        raise Unsupported("bad indentation in a mapping")
    return out, idx


def parse_block(lines):
    """Parse one top-level block (its key line first); return (key, value). Raises Unsupported."""
    items = _content_lines(lines)
    value, idx = _parse_map(items, 0, 0)
    if idx != len(items) or len(value) != 1:
        raise Unsupported("block does not end cleanly")
    return next(iter(value.items()))


_DOC_START = re.compile(r"^---(?:[ \t]+#.*)?[ \t]*$")
_DOC_END = re.compile(r"^\.\.\.(?:[ \t]+#.*)?[ \t]*$")


def parse_document(text):
    """The value of a whole one-document YAML stream (an ``environment.yml``); ``None`` when it is empty.

    Unlike ``Document`` (which cuts a ``.condarc`` into blocks to rewrite it),
    this reads the file as a whole: a byte-order mark, a ``---`` start marker
    before the content, an ``...`` end marker after it and a top level indented
    by any number of spaces are read as YAML reads them. Raises ``Unsupported``
    for what it does not read with certainty: directives (``%YAML``), a second
    document, content after ``...``, and everything ``parse_block`` refuses.
    """
    lines = text[1:].splitlines() if text.startswith("\ufeff") else text.splitlines()
    body = []
    started = ended = False
    for line in lines:
        if ended:
            if line.strip() and not line.lstrip().startswith("#"):
                raise Unsupported("content after the document end marker '...'")
            continue
        if line.startswith("%") and not started:
            raise Unsupported("a YAML directive (%r)" % line[:40])
        if _DOC_START.match(line):
            if started:
                raise Unsupported("more than one YAML document ('---')")
            started = True
            continue
        if line.startswith("---") and line[3:4] in ("", " ", "\t"):
            raise Unsupported("content on the document start line %r" % line[:40])
        if _DOC_END.match(line):
            ended = True
            continue
        if line.startswith("...") and line[3:4] in ("", " ", "\t"):
            raise Unsupported("content on the document end line %r" % line[:40])
        if line.strip() and not line.lstrip().startswith("#"):
            started = True
        body.append(line)
    items = _content_lines(body)
    if not items:
        return None
    indent, first = items[0]
    if _is_item(first):
        value, idx = _parse_seq(items, 0, indent)
    elif _KEY_RE.match(first):
        value, idx = _parse_map(items, 0, indent)
    elif len(items) == 1:
        value, idx = parse_inline(first), 1
    else:
        raise Unsupported("a multi-line scalar document")
    if idx != len(items):
        raise Unsupported("the document does not end cleanly at line %r" % items[idx][1][:60])
    return value


# ---------------------------------------------------------------- documents

class Block:
    """One top-level key: lines ``start`` to ``end`` (exclusive) of the file."""

    def __init__(self, key, start, end, value, error=None):
        self.key, self.start, self.end, self.value, self.error = key, start, end, value, error


class Document:
    """A ``.condarc`` cut into top-level blocks; lines outside blocks are kept as they are."""

    def __init__(self, text):
        self.text = text
        self.lines = text.splitlines(True)
        self.blocks = []
        self.problem = None  # why the file cannot be cut into blocks with certainty
        self._segment()

    def _segment(self):
        starts = []
        for number, line in enumerate(self.lines):
            body = line.rstrip("\r\n")
            if not body.strip() or body[0] in " \t#":
                continue
            if body.startswith("-") and starts and _is_item(body):
                continue  # "key:\n- item": a sequence at the key's own indentation
            match = _KEY_RE.match(body)
            if not match or body.startswith(("---", "...")):
                self.problem = "line %d is not a top-level 'key: value' line: %r" % (number + 1, body[:60])
                return
            starts.append(number)
        for position, start in enumerate(starts):
            end = starts[position + 1] if position + 1 < len(starts) else len(self.lines)
            while end > start + 1 and (not self.lines[end - 1].strip() or self.lines[end - 1].startswith("#")):
                end -= 1
            raw = _KEY_RE.match(self.lines[start].rstrip("\r\n")).group("key")
            try:
                key = _key_text(raw)
            except Unsupported as exc:
                self.problem = str(exc)
                return
            try:
                parsed_key, value = parse_block(self.lines[start:end])
                error = None
            except Unsupported as exc:
                value, error = OPAQUE, str(exc)
            block = Block(key, start, end, value, error)
            if error is None and parsed_key != key:
                self.problem = "cannot read key %r" % raw
                return
            if any(other.key == key for other in self.blocks):
                self.problem = "key %r appears twice" % key
                return
            self.blocks.append(block)

    def block(self, key):
        for block in self.blocks:
            if block.key == key:
                return block
        return None

    def data(self):
        """The parsed values; opaque blocks map to OPAQUE."""
        return dict((block.key, block.value) for block in self.blocks)

    def opaque(self, keys=None):
        """Keys (among ``keys``) whose block this reader could not parse, with the reason."""
        return dict((b.key, b.error) for b in self.blocks if b.value is OPAQUE and (keys is None or b.key in keys))

    def anchored(self, key):
        """True when the block of ``key`` may define an anchor that other blocks use."""
        block = self.block(key)
        return bool(block and re.search(r"(^|[\s\[{,:-])&\S", "".join(self.lines[block.start:block.end])))


def parse(text):
    return Document(text)


# ---------------------------------------------------------------- emitting

_YAML11_WORDS = frozenset("y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF "
                          "null Null NULL ~ = <<".split())
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./~$(][^\s#:,\[\]{}'\"]*(?::[^\s#,\[\]{}'\"]+)*$")
_NUMBERISH = re.compile(r"^[-+]?(\.?[0-9][0-9_,.:]*([eE][-+]?[0-9]+)?|0[xob][0-9a-fA-F_]+|\.(inf|Inf|INF|nan|NaN|NAN))$")


def emit_scalar(value):
    """One scalar that both YAML 1.1 (PyYAML) and 1.2 (ruamel, conda) read back as ``value``."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            text = text.replace("e", ".0e", 1)
        return text
    text = str(value)
    if (_PLAIN_SAFE.match(text) and text not in _YAML11_WORDS and not _NUMBERISH.match(text)
            and not re.match(r"^[0-9]{4}-[0-9]", text) and not text.endswith(":")):
        return text
    if re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", text):
        return json.dumps(text)
    return "'%s'" % text.replace("'", "''")


def _emit_key(key):
    text = emit_scalar(str(key))
    return text


def emit_node(value, indent):
    """Lines (without newlines) of a block node at ``indent`` spaces."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = "%s%s:" % (pad, _emit_key(key))
            if isinstance(item, (list, dict)) and item:
                lines.append(head)
                lines.extend(emit_node(item, indent + 2))
            else:
                lines.append("%s %s" % (head, _emit_flat(item)))
    else:
        for item in value:
            if isinstance(item, (list, dict)) and item:
                nested = emit_node(item, indent + 2)
                lines.append("%s- %s" % (pad, nested[0].lstrip(" ")))
                lines.extend(nested[1:])
            else:
                lines.append("%s- %s" % (pad, _emit_flat(item)))
    return lines


def _emit_flat(value):
    if isinstance(value, list):
        return "[]"
    if isinstance(value, dict):
        return "{}"
    return emit_scalar(value)


def emit_block(key, value, comment=""):
    """The text of one top-level block, conda's own layout (``key:`` then ``  - item``).

    ``comment`` is the raw tail of the old key line (spaces and ``# ...``), kept as it was.
    """
    if isinstance(value, (list, dict)) and value:
        return "\n".join(["%s:%s" % (_emit_key(key), comment)] + emit_node(value, 2)) + "\n"
    return "%s: %s%s\n" % (_emit_key(key), _emit_flat(value), comment)


def emit(data):
    """A whole file for ``data`` (used for new files and in tests)."""
    return "".join(emit_block(key, value) for key, value in data.items())


def _key_comment(line):
    """The raw trailing comment of a block's key line (``#!final`` and friends stay with the key)."""
    match = _KEY_RE.match(line.rstrip("\r\n"))
    if not match or match.group("rest") is None:
        return ""
    rest = line.rstrip("\r\n")[match.start("rest"):]
    gap = line.rstrip("\r\n")[match.end("key"):match.start("rest")].split(":", 1)[-1]
    if rest.startswith("#"):
        return gap + rest
    if "'" in rest or '"' in rest:
        return ""
    found = re.search(r"[ \t]+#.*$", rest)
    return found.group(0) if found else ""


def render(doc, updates):
    """New file text: blocks of updated keys replaced/removed, new keys appended, all else verbatim."""
    lines = list(doc.lines)
    replace = {}
    appended = []
    for key, value in updates.items():
        block = doc.block(key)
        if block is None:
            if value is not REMOVE:
                appended.append(emit_block(key, value))
            continue
        replace[block.start] = (block.end, "" if value is REMOVE else emit_block(
            key, value, _key_comment(lines[block.start])))
    out = []
    number = 0
    while number < len(lines):
        if number in replace:
            end, text = replace[number]
            out.append(text)
            number = end
            continue
        out.append(lines[number])
        number += 1
    text = "".join(out)
    if appended:
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join(appended)
    return text


# ---------------------------------------------------------------- decisions

def same(left, right):
    """Equality with YAML's meaning: ``True`` is not ``1``, list order counts, mapping order does not."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) or isinstance(right, dict):
        return (isinstance(left, dict) and isinstance(right, dict) and set(left) == set(right)
                and all(same(left[key], right[key]) for key in left))
    if isinstance(left, list) or isinstance(right, list):
        return (isinstance(left, list) and isinstance(right, list) and len(left) == len(right)
                and all(same(a, b) for a, b in zip(left, right)))
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    return type(left) is type(right) and left == right


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
        elif key in FLOAT_KEYS and isinstance(value, str) and _FLOAT_RE.match(value.strip()):
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
    for number, line in enumerate(text.splitlines(), 1):
        body = line.strip()
        if not body or body.startswith("#") or body.startswith("%") or body in ("---", "..."):
            continue
        body = re.sub(r"^---[ \t]+", "", body)
        if body[:1] == "[" or _is_item(body):
            return "holds a list at its top level (line %d), not a mapping of settings" % number
        if line[:1] not in " \t" and body[:1] not in "{&!?*|>" and not _KEY_RE.match(body) and not (
                body[:1] in "'\"" and re.search(r"""['"][ \t]*:""", body)):
            return "holds a scalar at its top level (line %d: %s), not a mapping of settings" % (
                number, json.dumps(mask(body[:60])))
        return None
    return None


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


def plan(current, request):
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


# ---------------------------------------------------------------- channels and the ToS

def _channel_url(channel, data):
    channel = str(channel).rstrip("/")
    if "://" in channel:
        return [channel]
    if channel == "defaults":
        return list(data.get("default_channels") or DEFAULT_CHANNELS)
    custom = data.get("custom_channels") or {}
    if isinstance(custom, dict) and channel in custom:
        return ["%s/%s" % (str(custom[channel]).rstrip("/"), channel)]
    if channel in ("pkgs/main", "pkgs/r", "pkgs/msys2", "pkgs/pro"):
        return ["https://%s/%s" % (ANACONDA_HOST, channel)]
    alias = str(data.get("channel_alias") or "https://conda.anaconda.org").rstrip("/")
    return ["%s/%s" % (alias, channel)]


def anaconda_channels(data):
    """URLs of Anaconda's ToS-covered channels among ``data['channels']`` (``defaults`` expanded)."""
    out = []
    channels = data.get("channels")
    if not isinstance(channels, list):
        return out
    for channel in channels:
        for url in _channel_url(channel, data):
            match = re.match(r"^https?://(?:[^/@]*@)?%s(/.*)?$" % re.escape(ANACONDA_HOST), str(url))
            if match and url not in out:
                out.append(url)
    return out


def tos_accepted(records, url):
    """True when an acceptance record (``{"base_url": ..., "tos_accepted": true}``) covers ``url``."""
    want = url.rstrip("/")
    return any(isinstance(rec, dict) and rec.get("tos_accepted") is True
               and str(rec.get("base_url", "")).rstrip("/") == want for rec in records)


# The installation's own Python reads what this reader cannot (ruamel.yaml, which conda uses; else PyYAML),
# then hands the file to conda's own configuration loader, which may refuse what ruamel reads (500 nested
# lists: RecursionError): "conda_error" says why conda cannot use the file.
EXTERNAL_READER = r"""
import json, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
try:
    from ruamel.yaml import YAML
    data = YAML(typ="rt").load(text)
    used = "ruamel.yaml"
except ImportError:
    import yaml
    data = yaml.safe_load(text)
    used = "PyYAML"
problem = None
try:
    from conda.common.configuration import YamlRawParameter
except Exception:
    YamlRawParameter = None
if YamlRawParameter is not None:
    try:
        YamlRawParameter.make_raw_parameters_from_file(path)
    except Exception as exc:
        words = str(exc).strip().splitlines()
        problem = type(exc).__name__ + (": " + words[0][:300] if words else "")
print(json.dumps({"reader": used, "data": data, "conda_error": problem}, default=str))
"""
