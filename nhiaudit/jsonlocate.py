"""Where a value is in JSON text: a path (keys and indexes, as a shape check or pydantic gives) -> line and
column, for error messages. Only used when something is wrong, so it favours simplicity over speed, but it
is iterative (a hostile file nested 100,000 deep cannot exhaust the stack) and linear in the text.

The text is JSON that has already been parsed; with duplicate keys the last one wins, as in `json.loads`
(and the SDKs and CLI that wrote the export), so that is the one located.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

MAX_JSON_DEPTH = 200
"""Nesting limit for JSON input: pydantic's parser (snapshots) stops at this depth too."""

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR = re.compile(r"[^\s,\]}:]+")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW_ESCAPE = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of `offset`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _skip_value(text: str, pos: int) -> int:
    char = text[pos]
    if char == '"':
        match = _STRING.match(text, pos)
        return match.end() if match else len(text)
    if char in "[{":
        depth = 0
        for token in _TOKEN.finditer(text, pos):
            first = token.group()[0]
            if first in "[{":
                depth += 1
            elif first in "]}":
                depth -= 1
                if depth == 0:
                    return token.end()
        return len(text)
    match = _SCALAR.match(text, pos)
    return match.end() if match and match.end() > pos else pos + 1


def _member(text: str, pos: int, key: str) -> int | None:
    """Offset of the value of `key` in the object at `pos` (the last one, if the key repeats)."""
    found = None
    pos = _skip_ws(text, pos + 1)
    while pos < len(text) and text[pos] != "}":
        match = _STRING.match(text, pos)
        if match is None:
            return found
        name = json.loads(match.group())
        pos = _skip_ws(text, match.end())
        if text[pos : pos + 1] == ":":
            pos = _skip_ws(text, pos + 1)
        if name == key:
            found = pos
        pos = _skip_ws(text, _skip_value(text, pos))
        if text[pos : pos + 1] == ",":
            pos = _skip_ws(text, pos + 1)
    return found


def _item(text: str, pos: int, index: int) -> int | None:
    pos = _skip_ws(text, pos + 1)
    for _ in range(index):
        if pos >= len(text) or text[pos] == "]":
            return None
        pos = _skip_ws(text, _skip_value(text, pos))
        if text[pos : pos + 1] == ",":
            pos = _skip_ws(text, pos + 1)
    return pos if pos < len(text) and text[pos] != "]" else None


def value_offset(text: str, path: Sequence[str | int]) -> int:
    """Offset of the value at `path`, or of the deepest part of it that exists. Path elements that are
    neither a key of an object nor an index of a list (e.g. a marker for a document decoded from a
    string) stop the walk there: the message then points at the string holding the document."""
    pos = _skip_ws(text, len(text) - len(text.lstrip("\ufeff")))
    try:
        for part in path:
            char = text[pos : pos + 1]
            if isinstance(part, int) and char == "[":
                found = _item(text, pos, part)
            elif isinstance(part, str) and char == "{":
                found = _member(text, pos, part)
            else:
                break
            if found is None:
                break
            pos = found
    except (IndexError, ValueError):  # only reached for text that is not the JSON it claims to be
        pass
    return pos


def locate(text: str, path: Sequence[str | int]) -> tuple[int, int]:
    """Line and column of the value at `path` in the JSON `text`."""
    return line_column(text, value_offset(text, path))


def first_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> int | None:
    """Offset of the first bracket that nests deeper than `limit`, or None."""
    depth = 0
    for token in _TOKEN.finditer(text):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth > limit:
                return token.start()
        elif first in "]}":
            depth -= 1
    return None


def lone_surrogate_escape(text: str) -> int | None:
    """Offset of a `\\ud800`-style escape that is not half of a surrogate pair, or None. `json.loads`
    accepts them, but the string is not valid Unicode: it cannot be written as UTF-8 later."""
    if "\\ud" not in text and "\\uD" not in text:  # every match holds one: skip the regex scan of a large file
        return None
    paired_low = -1
    for match in _SURROGATE.finditer(text):
        slashes = match.group(1)
        if len(slashes) % 2 == 0:  # an escaped backslash followed by "u...": not an escape
            continue
        start = match.start(1) + len(slashes) - 1
        if start == paired_low:
            continue
        if int(match.group(2), 16) < 0xDC00 and _LOW_ESCAPE.match(text, match.end()):
            paired_low = match.end()
            continue
        return start
    return None
