"""lone_surrogate_escape skips its regex scan when no `\\ud`/`\\uD` is present: the answers stay the same."""

from __future__ import annotations

import pytest

from nhiaudit.jsonlocate import lone_surrogate_escape


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": "plain text, \\u00e9 and \\\\ no escapes of surrogates"}', None),
        ('"\\uD800"', 1),  # upper-case hex digits are an escape too
        ('"x", "\\uDC00"', 6),
        ('"\\uD83E\\uDD9C a pair"', None),
        ('"\\\\uD800 is text"', None),
        ("", None),
    ],
)
def test_lone_surrogate_escape(text, expected):
    assert lone_surrogate_escape(text) == expected
