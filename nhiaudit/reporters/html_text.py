"""Estate text on its way into the HTML report: one escaping rule for text nodes and attribute values."""

from __future__ import annotations

import html

from nhiaudit.textsafe import terminal_safe, utf8_safe


def h(value: object, limit: int | None = None, multiline: bool = False) -> str:
    """Text safe in an HTML text node or a quoted attribute value.

    Control, bidi and invisible characters become visible escapes first (a right-to-left override in a role
    name must not reverse the text around it), then `& < > " '` become character references. Newlines are
    kept only for our own multi-line text (`multiline`), shown with `white-space: pre-wrap`."""
    text = utf8_safe(terminal_safe(str(value), keep_newlines=multiline))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return html.escape(text, quote=True)


def count_noun(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"
