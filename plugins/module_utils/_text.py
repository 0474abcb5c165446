# -*- coding: utf-8 -*-
# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The text of a file the user gives (a spec file, an environment.yml), decoded as conda decodes it.
"""

from __future__ import annotations

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_text(data):
    """The text of a spec file's bytes: UTF-8, else UTF-16 when the file starts with its byte-order mark.

    conda's ``load_file()`` falls back to UTF-16 for any bytes that are not UTF-8;
    without a byte-order mark that turns a Latin-1 file into unrelated characters,
    so here such a file is an error (UnicodeDecodeError at the first byte that is not UTF-8).
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if data[:2] in _UTF16_BOMS:
            return data.decode("utf-16")
        raise


def read_text_file(path, what):
    """The text of ``path`` (see ``decode_text``); ValueError naming ``what`` and the path when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ValueError("cannot read %s %s: %s" % (what, path, exc.strerror or exc))
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        if data[:2] in _UTF16_BOMS:
            raise ValueError("cannot read %s %s: it starts as UTF-16 text but is not (%s)" % (what, path, exc.reason))
        raise ValueError("cannot read %s %s: it is not UTF-8 text (byte 0x%02x at offset %d)"
                         % (what, path, data[exc.start], exc.start))


def spec_text(spec_file, spec_content):
    """The spec the user gave: the text of ``spec_file`` (read as :func:`read_text_file` does), else
    ``spec_content``; ``None`` when neither was given."""
    if spec_file:
        return read_text_file(spec_file, "spec_file")
    return spec_content
