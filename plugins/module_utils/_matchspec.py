# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""conda version ordering and match-spec matching, standard library only.

Written to agree with conda's ``VersionOrder``, ``VersionSpec`` and
``MatchSpec`` on the cases in ``tests/unit/data/matchspec-cases.json``
(verdicts recorded from a real conda 26.7). Public API:

* ``VersionOrder(text)``, ordered by ``<`` and ``==``
* ``VersionSpec(text)`` with ``.match(version) -> bool``
* ``MatchSpec.parse(text)`` with ``.match(record) -> bool`` and ``str()``
  in conda's canonical form; ``MatchSpecError`` (a ``ValueError``)
* ``unsatisfied(specs, installed_records)``
"""

from __future__ import annotations

import functools
import re

__all__ = ["MatchSpec", "MatchSpecError", "VersionOrder", "VersionSpec", "unsatisfied"]


class MatchSpecError(ValueError):
    """An invalid match spec or version (conda's InvalidMatchSpec / InvalidVersionSpec)."""

    def __init__(self, spec, reason, what="match spec"):
        self.spec = spec
        self.reason = reason
        super().__init__("invalid %s %r: %s" % (what, spec, reason))


# -- Version ordering ----------------------------------------------------------

_VERSION_CHARS = re.compile(r"^[*.+!_0-9a-z]+$")
_RUNS = re.compile(r"[0-9]+|[*]+|[^0-9*]+")
# 'post' sorts after every number; upper-case 'DEV' sorts before '_' and every lower-case string
_SPECIAL = {"post": float("inf"), "dev": "DEV"}


def _parse_component(text, whole):
    """'1' -> [1]; '0a1' -> [0, 'a', 1]; 'rc1' -> [0, 'rc', 1]; 'post1' -> [0, inf, 1]."""
    if not text:
        raise MatchSpecError(whole, "empty version component", "version")
    parts = [int(run) if run.isdigit() else _SPECIAL.get(run, run) for run in _RUNS.findall(text)]
    return parts if isinstance(parts[0], int) else [0] + parts


def _parse_segment(text, whole):
    """Split a version or local version on '.'/'_' into components.

    A trailing '_' (openssl-style '1.1_') stays on the last component as a
    string part, which sorts after 'dev' and before 'a'.
    """
    trailing = text.endswith("_")
    pieces = re.split(r"[._]", text[:-1] if trailing else text)
    if trailing:
        pieces[-1] += "_"
    return [_parse_component(c, whole) for c in pieces]


def _cmp_part(a, b):
    """Strings sort before numbers; numbers (and 'post' = inf) compare numerically."""
    a_str, b_str = isinstance(a, str), isinstance(b, str)
    if a_str != b_str:
        return -1 if a_str else 1
    return (a > b) - (a < b)


def _cmp_padded(a, b, fill, cmp):
    """Compare sequences item by item with ``cmp``, the shorter one padded with ``fill``."""
    for i in range(max(len(a), len(b))):
        res = cmp(a[i] if i < len(a) else fill, b[i] if i < len(b) else fill)
        if res:
            return res
    return 0


def _cmp_parts(a, b):
    """Compare two components ([1, 'a', 2]), missing parts counting as 0."""
    return _cmp_padded(a, b, 0, _cmp_part)


def _cmp_lists(a, b):
    """Compare two lists of components, missing components counting as empty."""
    return _cmp_padded(a, b, [], _cmp_parts)


@functools.total_ordering
class VersionOrder:
    """A conda version, comparable with conda's ordering rules.

    ``[epoch!]main[+local]``; case-insensitive; components split on '.' and '_'
    ('-' is read as '_' when the string has no '_'); within a component, runs of
    digits and letters alternate, and a component starting with letters gets a
    leading 0. Order of strings: 'dev' < '_' < 'a' < 'b' < ... < 'rc' < (number)
    < 'post'. Missing components and parts count as 0, so 1.0 == 1.0.0.
    """

    __slots__ = ("text", "norm", "epoch", "main", "local")

    def __init__(self, text):
        self.text = str(text).strip()
        norm = self.text.lower()
        if not norm:
            raise MatchSpecError(text, "empty version string", "version")
        if not _VERSION_CHARS.match(norm) and "-" in norm and "_" not in norm:
            norm = norm.replace("-", "_")
        if not _VERSION_CHARS.match(norm):
            raise MatchSpecError(text, "invalid character(s) in version", "version")
        self.norm = norm
        epoch, bang, rest = norm.rpartition("!")
        if bang and not epoch.isdigit():
            raise MatchSpecError(text, "epoch must be an integer", "version")
        self.epoch = int(epoch) if epoch else 0
        if rest.count("+") > 1:
            raise MatchSpecError(text, "duplicated local version separator '+'", "version")
        main, _sep, local = rest.partition("+")
        if not main or rest.endswith("+"):
            raise MatchSpecError(text, "empty version", "version")
        self.main = _parse_segment(main, text)
        self.local = _parse_segment(local, text) if local else []

    def _cmp(self, other):
        if not isinstance(other, VersionOrder):
            other = VersionOrder(other)
        if self.epoch != other.epoch:
            return -1 if self.epoch < other.epoch else 1
        return _cmp_lists(self.main, other.main) or _cmp_lists(self.local, other.local)

    def __eq__(self, other):
        if not isinstance(other, (VersionOrder, str)):
            return NotImplemented
        return self._cmp(other) == 0

    def __lt__(self, other):
        if not isinstance(other, (VersionOrder, str)):
            return NotImplemented
        return self._cmp(other) < 0

    __hash__ = None  # 1.0 == 1.0.0, so no hash consistent with equality is kept

    def __repr__(self):
        return "VersionOrder(%r)" % self.text

    def __str__(self):
        return self.norm

    def startswith(self, prefix):
        """True when this version lies under ``prefix.*`` (conda's fuzzy '=1.2')."""
        if self.epoch != prefix.epoch:
            return False
        mine, theirs = self.main, prefix.main
        if prefix.local:
            if _cmp_lists(self.main, prefix.main):
                return False
            mine, theirs = self.local, prefix.local
        last = len(theirs) - 1
        if _cmp_lists(mine[:last], theirs[:last]):
            return False
        got = mine[last] if last < len(mine) else []
        want = theirs[last]
        if _cmp_parts(got[:len(want) - 1], want[:-1]):
            return False
        got_part = got[len(want) - 1] if len(want) - 1 < len(got) else 0
        if isinstance(want[-1], str):
            return isinstance(got_part, str) and got_part.startswith(want[-1])
        return _cmp_part(got_part, want[-1]) == 0


# -- Version specs: '>=1.2,<2|==3.0', '1.2.*', '~=1.2', '(a|b),c', '^regex$' ----

_RELATION = re.compile(r"^(==|!=|<=|>=|~=|<|>|=)(?![=<>!~])(.+)$")
_OPERATORS = {
    "==": lambda v, t: v == t,
    "!=": lambda v, t: v != t,
    "<=": lambda v, t: v <= t,
    ">=": lambda v, t: v >= t,
    "<": lambda v, t: v < t,
    ">": lambda v, t: v > t,
    "=": lambda v, t: v.startswith(t),
    "!=startswith": lambda v, t: not v.startswith(t),
}


@functools.lru_cache(maxsize=4096)
def _cached_version(text):
    return VersionOrder(text)


def _relation(term, whole):
    """'>=1.2', '!=1.2.*', '~=1.2', '=1.2': an operator and a version."""
    found = _RELATION.match(term)
    if not found:
        raise MatchSpecError(whole, "invalid version operator in %r" % term)
    op, target = found.groups()
    if target.endswith(".*"):
        if op == "~=":
            raise MatchSpecError(whole, "'~=' cannot be used with '.*'")
        op = "!=startswith" if op == "!=" else op
        target = target[:-2]
    order = VersionOrder(target)
    if op == "~=":
        # compatible release: >= target and the same release up to its last '.' component
        if "." not in target.rpartition("!")[2]:
            raise MatchSpecError(whole, "'~=' needs a version with at least two components")
        prefix = VersionOrder(order.norm.rsplit(".", 1)[0])
        return lambda v: v >= order and v.startswith(prefix)
    func = _OPERATORS[op]
    return lambda v: func(v, order)


def _regex(pattern, whole):
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise MatchSpecError(whole, "bad regex %r: %s" % (pattern, exc))


def _term_matcher(term, whole):
    """A predicate on VersionOrder for one term without ',', '|' or parentheses."""
    if term == "*":
        return lambda v: True
    if term.startswith("^") or term.endswith("$"):
        if not (term.startswith("^") and term.endswith("$")):
            raise MatchSpecError(whole, "regex version must start with '^' and end with '$'")
        pattern = _regex(term, whole)
        return lambda v: pattern.match(v.text) is not None
    if term[0] in "=<>!~":
        return _relation(term, whole)
    if "*" in term.rstrip("*"):  # '1.*.3': wildcard over the raw version string
        pattern = _regex("^(?:%s)$" % ".*".join(re.escape(p) for p in term.split("*")), whole)
        return lambda v: pattern.match(v.text) is not None
    if term.endswith("*"):
        order = VersionOrder(term.rstrip("*").rstrip("."))
        return lambda v: v.startswith(order)
    order = VersionOrder(term)
    return lambda v: v == order


# Recursive descent over a reversed token list (pop() takes the next token):
#   or := and ('|' and)*    and := atom (',' atom)*    atom := '(' or ')' | term

def _parse_joined(tokens, whole, separator, parse_part, combine):
    """Parts joined by ``separator``: one predicate that ``combine`` (any/all) makes of theirs."""
    preds = [parse_part(tokens, whole)]
    while tokens and tokens[-1] == separator:
        tokens.pop()
        preds.append(parse_part(tokens, whole))
    return preds[0] if len(preds) == 1 else (lambda v: combine(p(v) for p in preds))


def _parse_or(tokens, whole):
    return _parse_joined(tokens, whole, "|", _parse_and, any)


def _parse_and(tokens, whole):
    return _parse_joined(tokens, whole, ",", _parse_atom, all)


def _parse_atom(tokens, whole):
    token = tokens.pop() if tokens else None
    if token is None or token in ",|)":
        raise MatchSpecError(whole, "empty term in version spec")
    if token != "(":
        return _term_matcher(token, whole)
    pred = _parse_or(tokens, whole)
    if not tokens or tokens.pop() != ")":
        raise MatchSpecError(whole, "unbalanced parenthesis in version spec")
    return pred


class VersionSpec:
    """A parsed conda version spec; ``match()`` takes a version string or VersionOrder.

    ',' (and) binds tighter than '|' (or); parentheses group. Terms: '*', '1.2'
    (exact, 1.2 == 1.2.0), '1.2.*' / '1.2*' (prefix), '=1.2' (prefix), '==',
    '!=', '<', '<=', '>', '>=', '~=' (compatible release), '^regex$'.
    """

    def __init__(self, text):
        self.text = str(text).strip().replace(" ", "")
        if not self.text:
            raise MatchSpecError(text, "empty version spec")
        # regexes ('^...$') stay whole; ',', '|', '(' and ')' are tokens of their own
        tokens = re.findall(r"\^[^$]*\$|[,|()]|[^,|()]+", self.text)[::-1]
        self._pred = _parse_or(tokens, self.text)
        if tokens:
            raise MatchSpecError(self.text, "unexpected %r in version spec" % tokens[-1])

    def match(self, version):
        if not isinstance(version, VersionOrder):
            try:
                version = _cached_version(str(version))
            except MatchSpecError:
                return False
        return self._pred(version)

    def __str__(self):
        return self.text

    def __repr__(self):
        return "VersionSpec(%r)" % self.text


# -- Match specs ---------------------------------------------------------------

_SUBDIRS = frozenset(
    "noarch linux-32 linux-64 linux-aarch64 linux-armv6l linux-armv7l linux-ppc64 linux-ppc64le "
    "linux-riscv64 linux-s390x osx-64 osx-arm64 win-32 win-64 win-arm64 emscripten-wasm32 "
    "wasi-wasm32 zos-z".split())
_BRACKET_KEYS = frozenset(
    "name version build build_number channel subdir md5 sha256 fn url license track_features "
    "features".split())
_BRACKET_ITEM = re.compile(r"[\s,]*([a-z_0-9]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^,\s\"']+)\s*(?:,|$|(?=\s))")
_PKG_SUFFIXES = (".conda", ".tar.bz2")
_DEFAULTS = ("pkgs/main", "pkgs/r", "pkgs/msys2")


def _str_matcher(pattern, whole):
    """conda's string fields: exact, '*' glob, or '^...$' regex."""
    if pattern.startswith("^") and pattern.endswith("$"):
        regex = _regex(pattern, whole)
    elif "*" in pattern:
        regex = _regex("^%s$" % ".*".join(re.escape(p) for p in pattern.split("*")), whole)
    else:
        return lambda value: value == pattern
    return lambda value: regex.match(value) is not None


def _split_brackets(spec, text):
    """"name[k=v, k2='v 2']" -> ('name', {k: v, k2: 'v 2'}); brackets must end the spec."""
    if "[" not in text:
        if "]" in text:
            raise MatchSpecError(spec, "unbalanced ']'")
        return text, {}
    head, _sep, inner = text.partition("[")
    if not inner.endswith("]") or "[" in inner:
        raise MatchSpecError(spec, "brackets must close at the end of the spec")
    inner, fields, pos = inner[:-1].strip(), {}, 0
    while pos < len(inner):
        item = _BRACKET_ITEM.match(inner, pos)
        if not item:
            raise MatchSpecError(spec, "cannot read bracket fields %r" % inner)
        key, value = item.group(1), item.group(2)
        if key not in _BRACKET_KEYS:
            raise MatchSpecError(spec, "unknown bracket key %r" % key)
        fields[key] = value[1:-1] if value[:1] in "'\"" else value
        pos = item.end()
    return head.strip(), fields


def _split_channel_subdir(value):
    """'https://host/conda-forge/linux-64/' -> ('https://host/conda-forge', 'linux-64')."""
    value = str(value or "").strip().rstrip("/")
    head, _sep, last = value.rpartition("/")
    return (head, last) if head and last in _SUBDIRS else (value, None)


def _split_version_build(rest):
    """Split '1.0 py_0', '=1.0=py_0', '>=1,<2 *_0' into (version, build or None).

    The build is the text after the first ' ' or '=' that does not follow an
    operator character and leaves a non-empty tail free of '-=,|<>~'.
    """
    for i in range(1, len(rest) - 1):
        if rest[i] in " =" and rest[i - 1] not in "=!|,<>~":
            tail = rest[i + 1:].strip()
            if tail and not any(c in tail for c in "-=,|<>~"):
                return rest[:i].replace(" ", ""), tail
    return rest.replace(" ", ""), None


def _translate_version(version, build):
    """A leading '=': '=1.2' -> '1.2*' alone, '1.2' before a build; '==1.2' -> '1.2' alone.

    '==>3.9' therefore reads as '>3.9', as conda does.
    """
    if not version.startswith("=") or version == "==":
        return version
    if version.startswith("==") and build is None:
        return version[2:]
    body = version[1:]
    if any(c in body for c in "=,|"):
        return version
    return body + "*" if build is None and not body.endswith("*") else body


def _package_file_fields(spec, text):
    """'<channel URL>/<subdir>/name-1.0-py_0.conda' -> that exact package's fields."""
    for suffix in _PKG_SUFFIXES:
        if text.endswith(suffix):
            text = text[:-len(suffix)]
    location, _sep, filename = text.rpartition("/")
    pieces = filename.rsplit("-", 2)
    if len(pieces) != 3 or not all(pieces):
        raise MatchSpecError(spec, "cannot read name-version-build from the package file name")
    channel, subdir = _split_channel_subdir(location)
    _check_name(spec, pieces[0])
    return {"name": pieces[0], "version": "==" + pieces[1], "build": pieces[2],
            "channel": channel or None, "subdir": subdir}


#: conda package names: letters, digits, '_', '-', '.', not starting with '.' or '-' (a glob
#: may use '*'; '^...$' is a regular expression)
_NAME_RE = re.compile(r"^[A-Za-z0-9_*][A-Za-z0-9_.*-]*$")


def _check_name(spec, name):
    """Refuse a package name conda cannot have ('../../etc', 'a/b'), naming it."""
    if name.startswith("^") and name.endswith("$") and len(name) > 2 and not any(c.isspace() for c in name):
        _regex(name, spec)
        return
    if not _NAME_RE.match(name):
        raise MatchSpecError(spec, "invalid package name %r: a name has only letters, digits, '_', '-' and '.', "
                                   "and starts with a letter, a digit or '_'" % name)


def _check_channel(spec, channel):
    """A channel is a name ('conda-forge', 'pkgs/main'), '*', a URL or an absolute path; never '.' or '..' parts."""
    if any(c.isspace() for c in channel):
        raise MatchSpecError(spec, "invalid channel %r" % channel)
    if "://" not in channel and set(channel.split("/")) & set([".", ".."]):
        raise MatchSpecError(spec, "invalid channel %r: give a channel name or a URL" % channel)


def _channel_matches(want, record_channel):
    """Whether a record's channel (a name, channel URL or subdir URL) is the spec's channel.

    'conda-forge' matches 'conda-forge', '.../conda-forge' and '.../conda-forge/<subdir>';
    a URL matches the same URL or a name-only record that ends its path; 'defaults'
    matches pkgs/main, pkgs/r and pkgs/msys2.
    """
    have = _split_channel_subdir(record_channel)[0]
    want = want.rstrip("/")
    if want == "*":  # '*/linux-64::numpy': any channel
        return True
    if not have:
        return False
    if want == "defaults":
        return any(_channel_matches(name, have) for name in _DEFAULTS)
    if have == want:
        return True
    if "://" in want:
        path = want.split("://", 1)[1].partition("/")[2]  # 'https://host/pkgs/main' -> 'pkgs/main'
        return "://" not in have and ("/" + path + "/").endswith("/" + have + "/")
    return have.endswith("/" + want)


def _record_channels(record):
    """Where a record says it came from: channel, base_url (conda list), the url's folder."""
    url = str(record.get("url") or "").rpartition("/")[0]
    return [v for v in (record.get("channel"), record.get("base_url"), url) if v]


class MatchSpec:
    """A parsed conda match spec. Build with ``MatchSpec.parse(text)``.

    Attributes: ``name`` (lower case; may be a glob), ``version`` (VersionSpec or
    None), ``build`` (str or None; may be a glob), ``channel``, ``subdir``,
    ``build_number`` ((operator, int) or None), ``extra`` (other bracket fields,
    compared as strings), ``original`` (the text given).
    """

    def __init__(self, name, version=None, build=None, channel=None, subdir=None,
                 extra=None, original=None):
        self.original = original if original is not None else name
        self.name = name.lower()
        self.version = VersionSpec(version) if version else None
        self.build, self.channel, self.subdir = build, channel, subdir
        self.extra = dict(extra or {})
        self.build_number = self._parse_build_number(self.extra.pop("build_number", "*"))
        self._name_match = _str_matcher(self.name, self.original)
        self._build_match = _str_matcher(build, self.original) if build else None
        self._extra_match = [(k, _str_matcher(v, self.original)) for k, v in sorted(self.extra.items())]

    def _parse_build_number(self, text):
        """'3', '>=3' -> (operator, 3); '*' -> None (any)."""
        if str(text).strip() == "*":
            return None
        found = re.match(r"^\s*(==|!=|<=|>=|<|>|=)?\s*(\d+)\s*$", str(text))
        if not found:
            raise MatchSpecError(self.original, "invalid build_number %r" % text)
        op = found.group(1) or "=="
        return ("==" if op == "=" else op), int(found.group(2))

    @classmethod
    def parse(cls, text):
        """Parse a conda match spec; raise MatchSpecError naming ``text`` when it is invalid."""
        if isinstance(text, MatchSpec):
            return text
        if not isinstance(text, str):
            raise MatchSpecError(text, "a match spec must be a string")
        bad = sorted(set(c for c in text if ord(c) < 32 or ord(c) == 127) - set("\t"))
        if bad:
            raise MatchSpecError(text, "control character %s in the spec" % ", ".join(repr(c) for c in bad))
        body = text.split("#", 1)[0].strip()
        if not body:
            raise MatchSpecError(text, "empty spec")
        try:
            if body.endswith(_PKG_SUFFIXES):
                return cls(original=text, **_package_file_fields(text, body))
            return cls(original=text, **cls._fields(text, body))
        except MatchSpecError as exc:
            if exc.spec == text:
                raise
            raise MatchSpecError(text, exc.reason)

    @staticmethod
    def _fields(spec, body):
        """'chan/subdir::name version build[k=v]' -> keyword arguments for MatchSpec()."""
        body, fields = _split_brackets(spec, body)
        channel, subdir = None, None
        if "::" in body:
            channel, _sep, body = body.rpartition("::")
            channel, subdir = _split_channel_subdir(channel)
            if not channel:
                raise MatchSpecError(spec, "empty channel before '::'")
        found = re.match(r"^([^ =<>!~]+)?(.*)$", body.strip())
        name, rest = found.group(1), found.group(2).strip()
        if not name:
            raise MatchSpecError(spec, "no package name found")
        version, build = _split_version_build(rest) if rest else (None, None)
        if version:
            version = _translate_version(version, build)
        # bracket fields override the positional ones, as in conda
        channel, subdir = fields.pop("channel", channel), fields.pop("subdir", subdir)
        if channel and "::" in channel:
            raise MatchSpecError(spec, "invalid channel %r" % channel)
        name = fields.pop("name", name)
        _check_name(spec, name)
        if channel:
            _check_channel(spec, channel)
        return {"name": name, "version": fields.pop("version", version),
                "build": fields.pop("build", build) or None, "channel": channel or None,
                "subdir": subdir or None, "extra": fields}

    # -- matching -----------------------------------------------------------

    def match(self, record):
        """True when the package record (conda-meta / repodata / conda list dict) satisfies this spec."""
        if not self._name_match(str(record.get("name", ""))):
            return False
        if self.version is not None and not self.version.match(str(record.get("version", ""))):
            return False
        build = record.get("build", record.get("build_string", ""))
        if self._build_match is not None and not self._build_match(str(build)):
            return False
        if self.build_number is not None and not self._match_build_number(record):
            return False
        channels = _record_channels(record)
        if self.channel and not any(_channel_matches(self.channel, c) for c in channels):
            return False
        if self.subdir and self._record_subdir(record, channels) != self.subdir:
            return False
        return all(match(str(record.get(key, ""))) for key, match in self._extra_match)

    def _match_build_number(self, record):
        try:
            number = int(record.get("build_number"))
        except (TypeError, ValueError):
            return False
        op, want = self.build_number
        return _OPERATORS[op](number, want)

    @staticmethod
    def _record_subdir(record, channels):
        subdirs = [_split_channel_subdir(c)[1] for c in channels]
        return record.get("subdir") or next(filter(None, subdirs), None) or record.get("platform")

    # -- rendering ----------------------------------------------------------

    def _version_text(self, brackets):
        """The version part of str(): '==1.0', '=1.2', '!=1.0', or else a bracket field."""
        version = str(self.version) if self.version is not None else ""
        if version in ("", "*"):
            return ""
        if any(c in version for c in "><$^|,") or (version[:2] in ("!=", "~=") and self.build):
            brackets.append("version='%s'" % version)
            return ""
        if version[0] in "=!~":
            return version
        if version.endswith("*"):
            return "=" + version.rstrip("*").rstrip(".")
        return "==" + version

    def __str__(self):
        """conda's canonical form, e.g. 'numpy==1.0=py_0', "python[version='>3.9']"."""
        text = self.name
        if self.channel:
            text = "%s%s::%s" % (self.channel, "/" + self.subdir if self.subdir else "", text)
        brackets = []
        version = self._version_text(brackets)
        text += version
        if self.build and "*" not in self.build and version and not brackets:
            text += "=" + self.build
        elif self.build:
            brackets.append("build=%s" % self.build)
        if self.build_number is not None:
            op, num = self.build_number
            brackets.append("build_number=%s" % (num if op == "==" else "'%s%d'" % (op, num)))
        brackets.extend("%s=%s" % (key, self.extra[key]) for key in sorted(self.extra))
        return text + ("[%s]" % ",".join(brackets) if brackets else "")

    def __repr__(self):
        return "MatchSpec(%r)" % str(self)


# -- Helpers for modules -------------------------------------------------------

def unsatisfied(specs, installed_records):
    """The specs (as given, in order) that no installed record satisfies.

    Records are looked up by name; a glob name is tried against every record.
    Raises MatchSpecError on the first invalid spec.
    """
    records = list(installed_records)
    by_name = {}
    for record in records:
        by_name.setdefault(record.get("name"), []).append(record)
    missing = []
    for spec in specs:
        parsed = MatchSpec.parse(spec)
        wild = "*" in parsed.name or parsed.name.startswith("^")
        candidates = records if wild else by_name.get(parsed.name, [])
        if not any(parsed.match(record) for record in candidates):
            missing.append(spec)
    return missing
