# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""_text: spec files read as conda decodes them (UTF-8, or UTF-16 with its byte-order mark)."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils import _text


def test_read_text_file_names_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "environment.yml"
    path.write_bytes(b"dependencies:\n  - caf\xe9\n")
    with pytest.raises(ValueError, match=r"cannot read spec_file .*environment.yml: it is not UTF-8 text \(byte 0xe9 at offset 21\)"):
        _text.read_text_file(str(path), "spec_file")
    with pytest.raises(ValueError, match="cannot read spec_file .*missing"):
        _text.read_text_file(str(tmp_path / "missing"), "spec_file")


def test_spec_files_are_utf8_or_utf16_with_its_byte_order_mark():
    text = "name: x\ndependencies:\n  - python\n"
    assert _text.decode_text(text.encode("utf-16")) == text
    assert _text.decode_text(text.encode("utf-8")) == text
    # conda would read these bytes as UTF-16 (any even length decodes): unrelated characters, not the file
    latin1 = "dependencies:\n  - cafés\n".encode("latin-1")
    assert len(latin1) % 2 == 0
    with pytest.raises(UnicodeDecodeError):
        _text.decode_text(latin1)


def test_read_text_file_names_a_broken_utf16_file(tmp_path):
    path = tmp_path / "environment.yml"
    path.write_bytes(b"\xff\xfe" + "name: x\n".encode("utf-16-le") + b"\x00")
    with pytest.raises(ValueError, match=r"environment.yml: it starts as UTF-16 text but is not"):
        _text.read_text_file(str(path), "spec_file")


def test_spec_text_reads_the_file_else_gives_the_content(tmp_path):
    from ansible_collections.condafleet.conda.plugins.module_utils._text import spec_text
    spec = tmp_path / "environment.yml"
    spec.write_bytes(b"dependencies: [numpy]\n")
    assert spec_text(str(spec), None) == "dependencies: [numpy]\n"
    assert spec_text(None, "x: 1\n") == "x: 1\n" and spec_text(None, None) is None
    with pytest.raises(ValueError, match="cannot read spec_file %s" % tmp_path):
        spec_text(str(tmp_path / "missing.yml"), None)
