# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The collection's one rule for credentials in text: what is masked, and whether text carries any.

Masked (replaced by ``********``) anywhere in a string, and in every string of a list, tuple or
dict, recursively:

* URL userinfo: ``scheme://user:password@host`` -> ``scheme://user:********@host``. The userinfo runs
  to the last ``@`` of the authority (which ends at ``/``, ``?``, ``#``, a space, ``"``, ``<``, ``>``
  or ``\\``), so a password with a raw ``@``, ``'``, ``:`` or ``%``-escapes is masked whole. A userinfo
  without ``:`` is a token used as the user name (``https://TOKEN@host``) and is masked whole.
* The same without a scheme, as proxies are often written (``HTTPS_PROXY=bob:pw@proxy:3128``):
  ``user:password@host[:port]`` standing alone (at the start, or after a space, ``=``, a quote, a
  bracket, ``,`` or ``;``) and followed by the end of the host.
* conda tokens in URL paths: ``https://host/t/<token>/...`` -> ``https://host/t/********/...``
  (after a scheme, or after a ``host.domain`` / ``host:port`` without one; never in a file path).
* Credentials in URL queries: ``?token=``, ``&access_token=``, ``password=``, ``api_key=``,
  ``X-Amz-Signature=``...
* In a dict, the string value of a key named like a secret (``password``, ``url_password``,
  ``ANACONDA_API_TOKEN``, ``secret``, ``api_key``, ``Authorization``).

pip's index options (``--index-url``, ``--extra-index-url``, ``-i``, ``PIP_INDEX_URL``...) carry URLs:
their credentials are masked by the URL rules however the option is written (``--index-url=URL``,
``--index-url URL``, ``-i URL``, ``-iURL``, ``PIP_EXTRA_INDEX_URL=URL``).

Left as they are: text that holds no credentials, such as match specs (``numpy>=1.2``,
``conda-forge::numpy``, ``pkg @ https://host/pkg.whl``), e-mail addresses in plain text
(``bob@example.com``: there is no password to hide), ``git@github.com:org/repo.git``, file paths
(``/srv/t/envs``) and text already masked. A ``word:word@host`` standing alone is read as
credentials and masked (``mailto:bob@example.com`` becomes ``mailto:********@example.com``):
when in doubt the rule hides.

Secrets are never matched literally: a short password (one character) would otherwise hide that
character everywhere; the patterns find credentials by where they are written.
"""

from __future__ import annotations

import re

MASK = "********"
NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"  # what Ansible shows for a no_log option

# scheme://USERINFO@ : the greedy class stops at the end of the authority, so the match ends at its last '@'
_URL_AUTH_RE = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#\"<>\\]*)@")

# user:password@host[:port] without a scheme, standing alone
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
_BARE_AUTH_RE = re.compile(r"(?P<head>(?:^|(?<=[\s=,;(\[{<'\"]))[A-Za-z0-9._~!$&*+%-]+:)(?P<password>[^\s/]*)"
                           r"@(?=" + _HOST + r"(?::[0-9]+)?(?:[/\s'\",;)\]}>]|$))")

# /t/<token> in a URL path: after a scheme (not file://), or after host.domain or host:port
_TOKEN_RE = re.compile(r"(?P<head>(?:(?<![A-Za-z0-9+.])(?![Ff][Ii][Ll][Ee]:)[A-Za-z][A-Za-z0-9+.-]*://"
                       r"|(?<![\w.@/:%-])[A-Za-z0-9-]+(?:(?:\.[A-Za-z0-9-]+)+(?::[0-9]+)?|:[0-9]+)(?=/))"
                       r"[^\s\"'<>]*?/t/)(?P<token>[^/\s\"'<>?#]+)")

# ?token=... &password=... in a URL query
_QUERY_RE = re.compile(r"(?P<head>[?&](?:[A-Za-z0-9_.-]*[_-])?(?:token|password|passwd|pwd|secret|api_?key|apikey|"
                       r"auth|signature|sig)=)(?P<value>[^&#\s\"'<>]+)", re.IGNORECASE)

# dict keys whose string values are secrets as a whole
_SECRET_KEY_RE = re.compile(r"(?:^|[_-])(?:password|passwd|token|secret|api_?key|apikey|authorization)$", re.IGNORECASE)


def _userinfo(match):
    user, colon, password = match.group("userinfo").partition(":")
    if colon:
        return "%s%s:%s@" % (match.group("head"), user, MASK if password else "")
    return "%s%s@" % (match.group("head"), MASK if user else "")


def mask_text(text):
    """``text`` with every credential the rule knows replaced by ``********``."""
    if not text or not isinstance(text, str):
        return text
    text = _URL_AUTH_RE.sub(_userinfo, text)
    text = _BARE_AUTH_RE.sub(lambda m: m.group("head") + (MASK if m.group("password") else "") + "@", text)
    text = _TOKEN_RE.sub(lambda m: m.group("head") + MASK, text)
    return _QUERY_RE.sub(lambda m: m.group("head") + MASK, text)


def secret_key(key):
    """True when a mapping key names a secret (its string value is masked whole)."""
    return isinstance(key, str) and bool(_SECRET_KEY_RE.search(key))


def mask(value):
    """``value`` with credentials masked: strings, and recursively lists, tuples and dicts (keys too)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, (list, tuple)):
        return [mask(item) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if secret_key(key) and isinstance(item, str) and item and item not in (MASK, NO_LOG_PLACEHOLDER):
                item = MASK
            out[mask(key)] = mask(item)
        return out
    return value


def has_secrets(value):
    """True when ``value`` carries a credential (masking would change it): files holding it are mode 0600."""
    return mask(value) != (list(value) if isinstance(value, tuple) else value)
