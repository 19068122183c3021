"""Message templates: `{subject.name}`, `{item.system}`, `{params.max_age}`; nothing else is evaluated."""

from __future__ import annotations

import functools
import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{((?:subject|item|params)(?:\.[A-Za-z0-9_]+)*)\}")


def _lookup(scope: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = scope
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "none"
    return str(value)


@functools.lru_cache(maxsize=1024)
def _parse(template: str) -> tuple[str | tuple[str, tuple[str, ...]], ...]:
    """Literal text and (placeholder, dotted path) pieces: a rule's message is parsed once, not per finding."""
    pieces: list[str | tuple[str, tuple[str, ...]]] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(template):
        pieces.append(template[pos:match.start()])
        pieces.append((match.group(0), tuple(match.group(1).split("."))))
        pos = match.end()
    pieces.append(template[pos:])
    return tuple(p for p in pieces if p != "")


def render_message(template: str, scope: dict[str, Any]) -> str:
    out = []
    for piece in _parse(template):
        if isinstance(piece, str):
            out.append(piece)
            continue
        value = _lookup(scope, piece[1])
        out.append(piece[0] if value is None else _text(value))
    return "".join(out)
