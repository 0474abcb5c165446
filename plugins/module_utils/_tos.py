# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Anaconda's channels and their Terms of Service.

``anaconda_channels()`` says which of the channels a ``.condarc`` configures
are Anaconda's (``defaults`` and ``pkgs/*`` expanded as conda expands them),
``tos_accepted()`` whether an acceptance record of conda's ToS plugin covers one.
"""

from __future__ import annotations

import re

ANACONDA_HOST = "repo.anaconda.com"
DEFAULT_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")


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
