"""Message templates: `{subject.name}`, `{item.system}`, `{params.max_age}`; nothing else is evaluated."""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{((?:subject|item|params)(?:\.[A-Za-z0-9_]+)*)\}")


def _lookup(scope: dict[str, Any], dotted: str) -> Any:
    value: Any = scope
    for part in dotted.split("."):
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


def render_message(template: str, scope: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        value = _lookup(scope, match.group(1))
        return match.group(0) if value is None else _text(value)

    return _PLACEHOLDER.sub(replace, template)
