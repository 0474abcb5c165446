# Copyright: contributors to condafleet.conda
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one masking rule: hostile credentials are masked whole, text without credentials is left alone."""
from __future__ import annotations

import pytest

from ansible_collections.condafleet.conda.plugins.module_utils._secrets import MASK, has_secrets, mask, mask_text

M = MASK

MASKED = [
    # (text, masked text, the secret that must be gone)
    ("https://bob:pa'ss@host/x", "https://bob:%s@host/x" % M, "pa'ss"),
    ("https://bob:p@ss@host:8080/x", "https://bob:%s@host:8080/x" % M, "p@ss"),
    ("https://bob:x@host", "https://bob:%s@host" % M, "x@"),
    ("https://u:p%40ss%3Aw@h/", "https://u:%s@h/" % M, "p%40ss"),
    ("https://u:a:b:c@h/c", "https://u:%s@h/c" % M, "a:b:c"),
    ("https://ghp_T0KEN@h/simple", "https://%s@h/simple" % M, "ghp_T0KEN"),
    ("channel_alias: 'https://u:pa''ss@m.example.com/conda'", "channel_alias: 'https://u:%s@m.example.com/conda'" % M, "pa''ss"),
    ("http://127.0.0.1:8731/t/tk-123/conda-forge/noarch/repodata.json",
     "http://127.0.0.1:8731/t/%s/conda-forge/noarch/repodata.json" % M, "tk-123"),
    ("https://m.example.com/t/tk-9", "https://m.example.com/t/%s" % M, "tk-9"),
    ("conda.example.com/t/tk-1/chan", "conda.example.com/t/%s/chan" % M, "tk-1"),
    ("127.0.0.1:8731/t/tk-2/x", "127.0.0.1:8731/t/%s/x" % M, "tk-2"),
    ("http://bob:pw1@proxy.example.com:3128", "http://bob:%s@proxy.example.com:3128" % M, "pw1"),
    ("HTTPS_PROXY=bob:pw2@proxy:3128", "HTTPS_PROXY=bob:%s@proxy:3128" % M, "pw2"),
    ("https: bob:p@w3@proxy.example.com:3128", "https: bob:%s@proxy.example.com:3128" % M, "p@w3"),
    ("{'https': 'bob:pa'ss@proxy:3128'}", "{'https': 'bob:%s@proxy:3128'}" % M, "pa'ss"),
    ("bob:pw4@[::1]:3128", "bob:%s@[::1]:3128" % M, "pw4"),
    ("--index-url=https://u:pw5@pypi.example.com/simple", "--index-url=https://u:%s@pypi.example.com/simple" % M, "pw5"),
    ("--extra-index-url https://u:pw6@h/simple", "--extra-index-url https://u:%s@h/simple" % M, "pw6"),
    ("-i https://u:pw7@h/simple", "-i https://u:%s@h/simple" % M, "pw7"),
    ("-ihttps://u:pw8@h/simple", "-ihttps://u:%s@h/simple" % M, "pw8"),
    ("PIP_INDEX_URL=https://__token__:pypi-AgEI@h/simple", "PIP_INDEX_URL=https://__token__:%s@h/simple" % M, "pypi-AgEI"),
    ("https://h/simple?token=q1&x=1", "https://h/simple?token=%s&x=1" % M, "q1"),
    ("https://s3.example.com/i.sh?X-Amz-Signature=d34db33f", "https://s3.example.com/i.sh?X-Amz-Signature=%s" % M, "d34db33f"),
    ("a https://u:p1@h1/x and https://u:p2@h2/t/tk2/y.", "a https://u:%s@h1/x and https://u:%s@h2/t/%s/y." % (M, M, M), "p1"),
    ('{"caused_by": "HTTPError(\'403 for url: http://fleet:s3c@127.0.0.1:1/x\')", "url": "https://u:pw9@h/t/tk3/c"}',
     '{"caused_by": "HTTPError(\'403 for url: http://fleet:%s@127.0.0.1:1/x\')", "url": "https://u:%s@h/t/%s/c"}' % (M, M, M),
     "s3c"),
    ("git+https://u:tok@github.com/o/r.git", "git+https://u:%s@github.com/o/r.git" % M, "tok@"),
    ("mailto:bob@example.com", "mailto:%s@example.com" % M, "bob@"),  # read as user:password@host: hidden
]

UNTOUCHED = [
    "numpy>=1.2", "conda-forge::numpy", "scikit-learn>=1.3,<2", "pytorch=*=cuda*", "pkg @ https://host/pkg.whl",
    "bob@example.com", "write to bob@example.com today", "Contact: bob@example.com", "git@github.com:org/repo.git",
    "user@host:/path", "/srv/t/envs/x", "envs/t/x", "file:///srv/t/channel", "https://example.com/a@b",
    "https://h/t/<TOKEN>/conda-forge", "https://u:%s@h" % M, "https://u:@h", "12:30 pm", "http://[::1]:80/x",
    "https://conda.anaconda.org/conda-forge", "", "x",
]


@pytest.mark.parametrize("text, masked, secret", MASKED)
def test_credentials_are_masked_whole(text, masked, secret):
    assert mask_text(text) == masked
    assert secret not in mask_text(text)
    assert has_secrets(text)
    assert mask_text(masked) == masked  # masking is idempotent


@pytest.mark.parametrize("text", UNTOUCHED)
def test_text_without_credentials_is_left_alone(text):
    assert mask_text(text) == text
    assert not has_secrets(text)


def test_a_one_character_password_hides_nothing_else():
    text = "proxy_servers:\n  https: http://bob:x@proxy.example.com:3128\nexclude: xz, lxml\n"
    assert mask_text(text) == "proxy_servers:\n  https: http://bob:%s@proxy.example.com:3128\nexclude: xz, lxml\n" % M


def test_results_are_masked_recursively():
    result = {"cmd": ["conda", "install", "-c", "https://u:pw@h/c", "numpy"], "n": 1, "ok": True, "none": None,
              "nested": {"commands": [("pip", "--index-url", "https://u:pw@h/simple")]},
              "https://u:pw@h": "keys too"}
    assert mask(result) == {"cmd": ["conda", "install", "-c", "https://u:%s@h/c" % M, "numpy"], "n": 1, "ok": True,
                            "none": None, "nested": {"commands": [["pip", "--index-url", "https://u:%s@h/simple" % M]]},
                            "https://u:%s@h" % M: "keys too"}
    assert has_secrets(result) and not has_secrets(mask(result))


def test_values_of_secret_keys_are_masked_whole():
    value = {"url_password": "x", "ANACONDA_API_TOKEN": "abc", "Authorization": "Bearer abc", "mirror": {"token": "t"},
             "add_anaconda_token": True, "password": None, "token_file": "/etc/t", "headers": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    assert mask(value) == {"url_password": M, "ANACONDA_API_TOKEN": M, "Authorization": M, "mirror": {"token": M},
                           "add_anaconda_token": True, "password": None, "token_file": "/etc/t",
                           "headers": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
