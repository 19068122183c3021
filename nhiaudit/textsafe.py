"""Sanitisers for estate data on its way out: terminal, Rich, Markdown, XML and UTF-8 text.

Names, paths, tags, policy documents and API replies are attacker-controlled. Every output escapes them for
its own context; this module holds the shared rules so each reporter does the same thing:

- terminal: control characters, bidi overrides, zero-width and line/paragraph separators are shown as
  visible escapes (`\\x1b`, `\\u202e`), so no data can move the cursor, clear the screen, make a hyperlink
  or forge a line such as "0 findings, all clear";
- Rich: data becomes `Text` (never parsed as markup) after the terminal escaping;
- Markdown: inline text with every character that could start markup, HTML or an autolink escaped, or a
  code span whose fence is longer than any backtick run in the value;
- XML 1.0: characters outside its Char production become visible escapes;
- JSON: bidi, invisible and C1 characters as `\\u` escapes (json escapes C0 itself), and as character
  references in XML;
- UTF-8: lone surrogates (from JSON `\\ud800` escapes) become U+FFFD so the text can be encoded.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported where used: the CLI imports this module at start-up
    from rich.text import Text

# C0 controls, DEL and C1 controls, soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width
# spaces/joiners and LRM/RLM, line/paragraph separators, bidi embeddings/overrides/isolates, invisible
# operators, BOM, interlinear annotation, lone surrogates and the tag characters.
_UNSAFE_OTHERS = (
    "\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\U000e0000-\U000e007f"
)
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x1f{_UNSAFE_OTHERS}]")
_TERMINAL_UNSAFE_KEEP_NL = re.compile(f"[\x00-\x09\x0b-\x1f{_UNSAFE_OTHERS}]")
# Outside XML 1.0's Char (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]), and CR:
# parsers turn a raw CR in text into LF, so it cannot round-trip, and on a terminal it rewrites the line.
_XML_INVALID = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible_escape(ch: str) -> str:
    """`\\n`, `\\x1b` for a byte-sized code point, `\\u202e` for the BMP, `\\U000e0041` beyond."""
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escape_match(match: re.Match[str]) -> str:
    return visible_escape(match.group())


def one_line(text: object, limit: int = 300) -> str:
    """A message on one line (whitespace folded), at most `limit` characters: for API errors, whose bodies
    can be long or multi-line. Terminal escaping stays the printer's job."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """The text with every control, bidi, invisible or separator character shown as a visible escape.

    A newline is escaped too unless `keep_newlines` (for our own multi-line text, never for a single value:
    a newline in a name could forge an output line)."""
    pattern = _TERMINAL_UNSAFE_KEEP_NL if keep_newlines else _TERMINAL_UNSAFE
    return pattern.sub(_escape_match, text) if pattern.search(text) else text


def rich_text(text: object, style: str = "") -> Text:
    """A Rich Text of a data value: terminal-safe and never parsed as markup (`[/x]` stays literal)."""
    from rich.text import Text

    return Text(terminal_safe(str(text)), style=style)


def rich_assemble(*parts: str | Text | tuple[str, str]) -> Text:
    """`Text.assemble` with every plain or styled string part made terminal-safe (Text parts are trusted)."""
    from rich.text import Text

    safe: list[str | Text | tuple[str, str]] = []
    for part in parts:
        if isinstance(part, tuple):
            safe.append((terminal_safe(str(part[0])), part[1]))
        elif isinstance(part, str):
            safe.append(terminal_safe(part))
        else:
            safe.append(part)
    return Text.assemble(*safe)


def markup_safe(text: object) -> str:
    """A data value for inside a Rich markup string: terminal-safe, then markup-escaped."""
    from rich.markup import escape

    return escape(terminal_safe(str(text)))


def utf8_safe(text: str) -> str:
    """The text with lone surrogates replaced by U+FFFD, so it can be written as UTF-8."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


_JSON_UNSAFE = re.compile(f"[{_UNSAFE_OTHERS}]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if code > 0xFFFF:  # as a UTF-16 surrogate pair, like json's own escapes
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_safe(text: str) -> str:
    """Serialised JSON (written with ensure_ascii=False) with DEL, C1 controls, bidi and invisible characters
    as `\\u` escapes (the same strings to a parser, harmless on a terminal) and lone surrogates as U+FFFD.
    JSON's structure is ASCII, so such characters can only be inside strings."""
    if text.isascii() and "\x7f" not in text:  # the common case, checked at C speed (reports are large)
        return text
    return _JSON_UNSAFE.sub(_json_escape, text) if _JSON_UNSAFE.search(text) else text


def xml_safe(text: str) -> str:
    """The text with every character XML 1.0 does not allow (and CR) shown as a visible escape."""
    return _XML_INVALID.sub(_escape_match, text) if _XML_INVALID.search(text) else text


def xml_charrefs(document: str) -> str:
    """A serialised XML document with DEL, C1 controls, bidi and invisible characters as character
    references (the same text to a parser, harmless on a terminal). Markup is ASCII, so they can only be
    in text or attribute values; run xml_safe on the values first (surrogates are not allowed at all)."""
    return _JSON_UNSAFE.sub(lambda m: f"&#x{ord(m.group()):x};", document) \
        if _JSON_UNSAFE.search(document) else document


# ---- Markdown ----------------------------------------------------------------------------------------

# Always escaped: what starts emphasis, code, links, images, HTML, entities, tables, strike-through,
# headings, math and e-mail autolinks. Escaped in context: `:` before `/` (scheme://) and `.` inside a
# word (www.x, evil.com), which is what GitHub's extended autolinks and linkify look for; a backslash
# escape splits the text node those scanners see.
_MD_ALWAYS = re.compile(r"([\\`*_\[\]<>|~&!#$@])")
_MD_AUTOLINK = re.compile(r"(:(?=/)|(?<=[A-Za-z0-9])\.(?=[A-Za-z0-9]))")
_BACKTICK_RUN = re.compile(r"`+")


def _one_line(text: str, limit: int | None) -> str:
    # Whitespace (newlines included) folds to single spaces; other controls become visible escapes.
    text = terminal_safe(" ".join(str(text).split()))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def md_text(text: str, limit: int | None = None) -> str:
    """Plain inline Markdown text on one line: no HTML, markup, link, autolink or table pipe can come
    out of it; safe in a table cell, a list item, a heading or a block quote."""
    text = _one_line(text, limit)
    return _MD_AUTOLINK.sub(r"\\\1", _MD_ALWAYS.sub(r"\\\1", text))


def md_code(text: str, table: bool = True, limit: int | None = None) -> str:
    """A code span on one line whose fence is longer than any backtick run in the value (padded with a
    space when the value starts or ends with a backtick). In a table (`table=True`), pipes are escaped:
    GFM splits cells before it parses code spans and removes that backslash again."""
    text = _one_line(text, limit)
    if not text:
        return "` `"
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
