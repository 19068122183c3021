"""YAML text for values and comments that come from the estate (attacker-controlled names and tags).

Every estate string is written as a YAML double-quoted scalar in which everything but plain printable
characters is a `\\` escape: a name holding a newline, a quote, `#`, `: `, `{`, a YAML line break (NEL,
LS, PS), a bidi override or a lone surrogate stays one string and shows what it holds. Comment text gets
the same escapes without the quotes, so it cannot end its line early. Both are clipped to a bound.
"""

from __future__ import annotations

import re

from nhiaudit.textsafe import visible_escape

MAX_COMMENT_CHARS = 400

# C0, DEL, C1, YAML's own line breaks (NEL U+0085, LS U+2028, PS U+2029), bidi and invisible characters,
# BOM, lone surrogates and the tag characters: escaped in values and comments alike.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\U000e0000-\U000e007f]"
)
_SLUG_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quoted(value: str) -> str:
    """`value` as a double-quoted YAML scalar that reads back as exactly `value` (never clipped: it may be an
    identity id or a resource pattern that must match; callers bound what they pass)."""
    body = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _UNSAFE.sub(lambda m: visible_escape(m.group()), body) + '"'


def comment_text(text: str, limit: int = MAX_COMMENT_CHARS) -> str:
    """Text for after a `#`: one line whatever it holds (line breaks and controls as visible escapes)."""
    return _UNSAFE.sub(lambda m: visible_escape(m.group()), clip(text, limit).replace("\\", "\\\\"))


def slug(text: str, fallback: str, limit: int = 60) -> str:
    """A predictable name from estate text: lower case, runs of other characters as one `-`, clipped."""
    out = _SLUG_UNSAFE.sub("-", text.lower()).strip("-._")[:limit].strip("-._")
    return out or fallback


def unique_names(wanted: list[str]) -> list[str]:
    """The names in order; the second and later of equal names get the smallest free `-2`, `-3`, ...
    suffix (free: neither wanted as it is nor given already)."""
    blocked = set(wanted)
    used: set[str] = set()
    out = []
    for name in wanted:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name}-{n}"
            if candidate in blocked:
                candidate = name  # another entry wants it as it is: try the next number
                used.add(name)
        used.add(candidate)
        out.append(candidate)
    return out
