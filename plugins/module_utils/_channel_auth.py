# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Channel credentials handed to conda through private files instead of its command line.

A channel given as ``https://user:password@host/channel`` or ``https://host/t/<token>/channel``
would reach conda's argv (visible to every user in the process list), and conda copies the
URLs it was given into files anyone may read: ``conda-meta/history``, ``pkgs/urls.txt``,
``pkgs/cache/*.info.json`` and each package's ``repodata_record.json``. conda has two ways of
its own to add credentials to a request at the moment it is sent, so the URL it is given (and
writes down) can stay clean:

* basic auth from a netrc file (``NETRC``), looked up by host name;
* anaconda tokens from ``$BINSTAR_CONFIG_DIR/data/<quoted URL>.token``, inserted as
  ``/t/<token>/`` into every request under that URL.

:func:`plan` (pure) splits the channels into clean URLs and the entries of those files;
:func:`write_files` writes them into a private directory (0700, files 0600) and returns the
environment for conda. What cannot be expressed that way is left in the URL as given (and still
masked in every output): a password netrc cannot hold (white space, a backslash, a leading ``"``),
a host with two different logins, a token of characters conda does not read as a token.
"""

from __future__ import annotations

import os
import re

from urllib.parse import quote_plus, unquote, urlsplit, urlunsplit

from ansible_collections.condafleet.conda.plugins.module_utils._files import write_private

#: conda's own token pattern (conda.common.url.split_anaconda_token)
_TOKEN_PATH_RE = re.compile(r"/t/([A-Za-z0-9-]+)(?=/|$)")
#: what a netrc token cannot hold unquoted, read alike by every Python's netrc (shlex before 3.10, its own
#: lexer after): white space, a backslash (an escape for one, a character for the other), a leading quote
#: a host name as a netrc file holds it (letters, digits, dots, hyphens; colons of an IPv6 address)
_HOST_RE = re.compile(r"^[a-z0-9._:-]+$")
_NETRC_UNSAFE_RE = re.compile(r"[\s\\]|^\"")


class ChannelAuth:
    """The outcome of :func:`plan`: ``channels`` to pass to conda, and the credentials moved out of them."""

    def __init__(self, channels, netrc, tokens, kept):
        self.channels = channels  # conda's -c arguments, in order
        self.netrc = netrc  # {host: (login, password)}
        self.tokens = tokens  # {clean channel URL + "/": token}
        self.kept = kept  # channels whose credentials stay in the URL, with why: [(index, why)]

    def __bool__(self):
        return bool(self.netrc or self.tokens)


def split_url(url):
    """``(clean_url, login, password, token)`` of a channel URL; ``None`` parts where there are none.

    ``login``/``password`` are percent-decoded, as HTTP sends them. A URL that is not
    ``http(s)://`` is returned as it is (``file://`` and channel names carry no credentials).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None, None, None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url, None, None, None
    login = password = token = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, colon, secret = userinfo.partition(":")
        login, password = unquote(user), (unquote(secret) if colon else "")
    path = parts.path
    match = _TOKEN_PATH_RE.search(path)
    if match:
        token = match.group(1)
        path = path[:match.start()] + path[match.end():]
    clean = urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment)).rstrip("/")
    return clean, login, password, token


def _host(clean_url):
    return (urlsplit(clean_url).hostname or "").lower()


def plan(channels):
    """Split ``channels`` into clean URLs for conda's argv and the credentials for its files (pure)."""
    clean_channels, netrc, tokens, kept = [], {}, {}, []
    for index, channel in enumerate(channels):
        clean, login, password, token = split_url(channel)
        if login is None and token is None:
            clean_channels.append(channel)
            continue
        why = None
        host = _host(clean)
        if login is not None:
            if not _HOST_RE.match(host):
                why = "its host name %r cannot be written to a netrc file" % host
            elif not login and not password:
                why = "the URL's user name is empty"
            elif not login or not password or _NETRC_UNSAFE_RE.search(login) or _NETRC_UNSAFE_RE.search(password):
                why = "its user name or password is empty or holds white space, a backslash or a leading quote"
            elif host in netrc and netrc[host] != (login, password):
                why = "another channel on %s uses a different login" % host
        if why is None and token is not None and tokens.get(clean + "/", token) != token:
            why = "another channel at the same URL uses a different token"
        if why is not None:
            clean_channels.append(channel)
            kept.append((index, why))
            continue
        if login is not None:
            netrc[host] = (login, password)
        if token is not None:
            tokens[clean + "/"] = token
        clean_channels.append(clean)
    return ChannelAuth(clean_channels, netrc, tokens, kept)


def netrc_text(entries, existing=""):
    """A netrc file: ``entries`` first (the first entry for a host wins), then ``existing`` as it was."""
    lines = ["machine %s login %s password %s" % (host, login, password)
             for host, (login, password) in sorted(entries.items())]
    text = "\n".join(lines) + "\n"
    if existing:
        text += existing if existing.endswith("\n") else existing + "\n"
    return text


def token_file_name(url):
    """The file conda's ``read_binstar_tokens()`` reads the token for ``url`` from."""
    return quote_plus(url) + ".token"


def _read_optional(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return ""


def default_token_dir(environ):
    """Where conda reads anaconda tokens when ``BINSTAR_CONFIG_DIR`` is not set (Linux, macOS)."""
    if environ.get("BINSTAR_CONFIG_DIR"):
        return os.path.join(environ["BINSTAR_CONFIG_DIR"], "data")
    home = os.path.expanduser("~")
    if os.uname()[0] == "Darwin":
        return os.path.join(home, "Library", "Application Support", "binstar")
    return os.path.join(environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "binstar")


def write_files(auth, directory, environ):
    """Write ``auth``'s files under ``directory`` (private) and return the environment conda needs.

    ``environ`` is the environment conda would otherwise run with: a netrc (``NETRC`` or
    ``~/.netrc``) and tokens (``BINSTAR_CONFIG_DIR`` or conda's default directory) the user already
    has stay in force, after the channels' own.
    """
    update = {}
    if not auth:
        return update
    private = os.path.join(directory, "condafleet-channel-auth")
    os.mkdir(private, 0o700)
    if auth.netrc:
        existing = environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
        path = os.path.join(private, "netrc")
        write_private(path, netrc_text(auth.netrc, _read_optional(existing)))
        update["NETRC"] = path
    if auth.tokens:
        data = os.path.join(private, "binstar", "data")
        os.makedirs(data, 0o700)
        user_dir = default_token_dir(environ)
        names = set()
        for url, token in sorted(auth.tokens.items()):
            names.add(token_file_name(url))
            write_private(os.path.join(data, token_file_name(url)), token)
        if os.path.isdir(user_dir):
            for name in sorted(os.listdir(user_dir)):
                if name.endswith(".token") and name not in names:
                    write_private(os.path.join(data, name), _read_optional(os.path.join(user_dir, name)))
        update["BINSTAR_CONFIG_DIR"] = os.path.join(private, "binstar")
    return update
