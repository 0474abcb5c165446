# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""A strict reader and writer, standard library only, for the YAML that conda's files hold in practice.

* It reads block mappings and sequences, one-line flow ``[...]``/``{...}``,
  plain, single- and double-quoted scalars and comments. Scalars resolve by the
  YAML 1.2 core schema, as conda's ruamel-based loader does. Anything else
  (anchors, aliases, tags, block scalars, multi-line flow or plain scalars,
  several documents) raises :class:`Unsupported`: it is never guessed, the
  caller asks the installation's own reader (``_conda_loader``).
* ``parse_document()`` reads a whole one-document file (an ``environment.yml``).
* ``parse()`` cuts a mapping file (a ``.condarc``) into top-level key blocks (a
  key at column 0 and every indented line under it) and parses each block's
  value; a block it cannot read is *opaque* (:data:`OPAQUE`, kept verbatim), a
  file it cannot cut has a ``problem``.
* ``render()`` replaces only the blocks of updated keys (:data:`REMOVE` drops
  one), appends new keys at the end and keeps every other line byte for byte;
  ``emit_block()`` writes one block in conda's own layout.
* ``same()`` is equality with YAML's meaning.
"""

from __future__ import annotations

import json
import math
import re

REMOVE = object()
OPAQUE = object()


class Unsupported(ValueError):
    """YAML this reader does not parse with certainty."""


# ---------------------------------------------------------------- scalars

_INT_RE = re.compile(r"^[-+]?[0-9]+$")
FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")

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
    if FLOAT_RE.match(text):
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
    """A mapping file (a ``.condarc``) cut into top-level blocks; lines outside blocks are kept as they are."""

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
    """The :class:`Document` of ``text``."""
    return Document(text)


def top_level_kind(text):
    """What the top level of ``text`` is, by its first content line: ``(kind, line number, line)``.

    ``kind`` is ``"list"``, ``"scalar"`` or ``None`` (a mapping, or a line this test
    leaves to the parsers); ``(None, None, None)`` when there is no content.
    """
    for number, line in enumerate(text.splitlines(), 1):
        body = line.strip()
        if not body or body.startswith("#") or body.startswith("%") or body in ("---", "..."):
            continue
        body = re.sub(r"^---[ \t]+", "", body)
        if body[:1] == "[" or _is_item(body):
            return "list", number, body
        if line[:1] not in " \t" and body[:1] not in "{&!?*|>" and not _KEY_RE.match(body) and not (
                body[:1] in "'\"" and re.search(r"""['"][ \t]*:""", body)):
            return "scalar", number, body
        return None, number, body
    return None, None, None


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
    return emit_scalar(str(key))


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


# ---------------------------------------------------------------- meaning

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
