# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: contributors to condafleet.conda
"""A tiny YAML subset reader/writer for the conda double: TEST INFRASTRUCTURE ONLY.

The test hosts have no python3-yaml, so the double carries this. It reads what
``.condarc`` and ``environment.yml`` files use: block mappings and sequences
(nested, also ``- key: value`` items), flow sequences/mappings of scalars,
quoted and plain scalars, comments (``#!final`` style markers are ignored).
It writes conda's style (``key:`` then ``  - item``).
"""
from __future__ import annotations

import json
import re

__all__ = ["load", "dump", "YAMLError"]


class YAMLError(ValueError):
    pass


_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def _strip_comment(line):
    out = []
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"" and (i == 0 or line[i - 1] in " \t:[{,-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def _split_flow(text):
    items, depth, cur, quote = [], 0, [], None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        items.append("".join(cur).strip())
    return items


def scalar(text):
    text = text.strip()
    if text == "":
        return None
    if text[0] == "[" and text[-1] == "]":
        return [scalar(t) for t in _split_flow(text[1:-1])]
    if text[0] == "{" and text[-1] == "}":
        out = {}
        for item in _split_flow(text[1:-1]):
            k, _sep, v = item.partition(":")
            out[scalar(k)] = scalar(v)
        return out
    if text[0] == '"' and text[-1] == '"' and len(text) > 1:
        try:
            return json.loads(text)
        except ValueError:
            return text[1:-1]
    if text[0] == "'" and text[-1] == "'" and len(text) > 1:
        return text[1:-1].replace("''", "'")
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~"):
        return None
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def _key_split(content):
    """'key: value' -> (key, value) or None when content is not a mapping entry."""
    quote = None
    for i, ch in enumerate(content):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "'\"" and i == 0:
            quote = ch
            continue
        if ch == ":" and (i + 1 == len(content) or content[i + 1] in " \t"):
            return scalar(content[:i]), content[i + 1:].strip()
        if ch in "[{" and i == 0:
            return None
    return None


def load(text):
    lines = []
    for raw in text.splitlines():
        if raw.strip() in ("---", "..."):
            continue
        line = _strip_comment(raw.replace("\t", "  "))
        if line.strip():
            lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
    if not lines:
        return None
    value, pos = _parse(lines, 0, lines[0][0])
    if pos != len(lines):
        raise YAMLError("cannot parse line: %r" % lines[pos][1])
    return value


def _parse(lines, pos, indent):
    content = lines[pos][1]
    if content.startswith("- ") or content == "-":
        return _parse_seq(lines, pos, indent)
    if _key_split(content) is not None:
        return _parse_map(lines, pos, indent)
    return scalar(content), pos + 1


def _parse_map(lines, pos, indent):
    out = {}
    while pos < len(lines) and lines[pos][0] == indent:
        content = lines[pos][1]
        kv = _key_split(content)
        if kv is None:
            break
        key, rest = kv
        pos += 1
        if rest:
            out[key] = scalar(rest)
        elif pos < len(lines) and (lines[pos][0] > indent or
                                   (lines[pos][0] == indent and lines[pos][1].startswith("-"))):
            out[key], pos = _parse(lines, pos, lines[pos][0])
        else:
            out[key] = None
    return out, pos


def _parse_seq(lines, pos, indent):
    out = []
    while pos < len(lines) and lines[pos][0] == indent and (
            lines[pos][1].startswith("- ") or lines[pos][1] == "-"):
        rest = lines[pos][1][1:].strip()
        if not rest:
            pos += 1
            if pos < len(lines) and lines[pos][0] > indent:
                val, pos = _parse(lines, pos, lines[pos][0])
            else:
                val = None
            out.append(val)
            continue
        if _key_split(rest) is not None and not rest.startswith(("'", '"', "[", "{")):
            # "- key: value" opens a mapping whose indent is that of "key"
            sub_indent = indent + 1 + (len(lines[pos][1][1:]) - len(lines[pos][1][1:].lstrip(" ")))
            lines[pos] = (sub_indent, rest)
            val, pos = _parse_map(lines, pos, sub_indent)
            out.append(val)
            continue
        out.append(scalar(rest))
        pos += 1
    return out, pos


def _fmt(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if text == "" or scalar(text) != text or text[0] in "!&*%@`|>'\"#[]{}," or \
            ": " in text or " #" in text or text != text.strip():
        return json.dumps(text)
    return text


def _dump(value, indent, out):
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return
        for key, val in value.items():
            if isinstance(val, dict) and val:
                out.append("%s%s:" % (pad, _fmt(key)))
                _dump(val, indent + 2, out)
            elif isinstance(val, (list, tuple)) and val:
                out.append("%s%s:" % (pad, _fmt(key)))
                _dump(list(val), indent + 2, out)
            elif isinstance(val, dict):
                out.append("%s%s: {}" % (pad, _fmt(key)))
            elif isinstance(val, (list, tuple)):
                out.append("%s%s: []" % (pad, _fmt(key)))
            else:
                out.append("%s%s: %s" % (pad, _fmt(key), _fmt(val)))
    else:
        for item in value:
            if isinstance(item, dict) and item:
                sub = []
                _dump(item, indent + 2, sub)
                sub[0] = "%s- %s" % (pad, sub[0][indent + 2:])
                out.extend(sub)
            elif isinstance(item, (list, tuple)) and item:
                sub = []
                _dump(list(item), indent + 2, sub)
                sub[0] = "%s- %s" % (pad, sub[0][indent + 2:])
                out.extend(sub)
            else:
                out.append("%s- %s" % (pad, _fmt(item)))


def dump(value):
    """YAML text for a dict (conda's layout: lists indented under their key)."""
    if value is None or value == {}:
        return "{}\n"
    out = []
    _dump(value, 0, out)
    return "\n".join(out) + "\n"
