"""The repository's own documentation, read the way a reader (and GitHub) sees it.

Shared by the docs tests: which Markdown files there are, their links, their headings' anchors and the
`nhiaudit ...` command lines shown in their code blocks (and in the example CI files).
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
# Not documentation: virtualenvs, build output, caches, VCS data.
_SKIPPED_DIRS = {"build", "dist", "node_modules", "__pycache__"}
# Files that show commands outside Markdown: the CI recipes a reader copies.
EXAMPLE_SCRIPT_GLOBS = ("examples/ci/*.yml", "examples/ci/*.yaml")


@dataclass(frozen=True)
class Link:
    source: Path
    line: int
    target: str


@dataclass(frozen=True)
class Command:
    """One documented `nhiaudit` invocation: its words after `nhiaudit`, and where it is shown (for inline
    code, the line its paragraph or list item starts on)."""

    source: Path
    line: int
    text: str
    words: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.source.relative_to(ROOT)}:{self.line}: {self.text}"


def markdown_files() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*.md")):
        parts = path.relative_to(ROOT).parts[:-1]
        if any(p.startswith(".") or p in _SKIPPED_DIRS or p.endswith(".egg-info") for p in parts):
            continue
        found.append(path)
    return found


@cache
def _tokens(path: Path) -> tuple[Token, ...]:
    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    return tuple(md.parse(path.read_text(encoding="utf-8")))


def _walk(tokens: tuple[Token, ...] | list[Token]) -> Iterator[tuple[Token, int]]:
    """Every token with the 1-based line of the block it sits in."""
    for token in tokens:
        line = token.map[0] + 1 if token.map else 0
        yield token, line
        for child in token.children or ():
            yield child, line


def links(path: Path) -> list[Link]:
    """Links and images, including reference-style ones (markdown-it resolves them)."""
    found = []
    for token, line in _walk(_tokens(path)):
        if token.type == "link_open":
            found.append(Link(path, line, str(token.attrs.get("href", ""))))
        elif token.type == "image":
            found.append(Link(path, line, str(token.attrs.get("src", ""))))
        elif token.type in ("html_block", "html_inline"):
            found += [Link(path, line, m) for m in re.findall(r'(?:href|src)="([^"]*)"', token.content)]
    return found


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    kept = [c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM"]
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a link into `path` may name: headings (numbered when repeated) and HTML ids."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    tokens = _tokens(path)
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            inline = tokens[i + 1]
            text = "".join(c.content for c in inline.children or () if c.type in ("text", "code_inline"))
            slug = github_slug(text)
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
        if token.type in ("html_block", "inline"):
            found |= set(re.findall(r'<a\s+(?:id|name)="([^"]+)"', token.content))
    return found


# A command starts a line (after a `$ ` prompt, YAML's `run: ` or a list item's `- `).
_COMMAND_START = re.compile(r"^(?:\$\s+|-\s+|run:\s*\|?\s*|-\s+run:\s+)?nhiaudit\s+(?=[-a-z])")
# Shell words after which the nhiaudit command is over.
_SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "<", "2>&1"}


def _command_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines of a code block or script that run nhiaudit, continuation lines joined (1-based offsets)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i].strip()
        i += 1
        if not _COMMAND_START.match(line):
            continue
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + " " + lines[i].strip()
            i += 1
        yield start + 1, line


def command_words(line: str) -> tuple[str, ...]:
    body = line[_COMMAND_START.match(line).end():]  # type: ignore[union-attr]
    lexer = shlex.shlex(body, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = []
    for word in lexer:
        if word in _SHELL_OPERATORS or word.startswith((">", "<")) or word == "...":
            break  # `...` in docs: "and the options shown elsewhere"
        # `[--baseline FILE]` marks an optional part: the words are still checked.
        word = word.removeprefix("[").removesuffix("]")
        if word:
            words.append(word)
    return tuple(words)


def _commands_in(path: Path, text: str, first_line: int) -> list[Command]:
    return [Command(path, first_line + offset, line, command_words(line)) for offset, line in _command_lines(text)]


def documented_commands() -> list[Command]:
    """Every `nhiaudit ...` line in Markdown code blocks and inline code, and in the example CI files."""
    found: list[Command] = []
    for path in markdown_files():
        for token, line in _walk(_tokens(path)):
            if token.type in ("fence", "code_block") and token.map:
                found += _commands_in(path, token.content, line + (1 if token.type == "fence" else 0))
            elif token.type == "code_inline":
                found += _commands_in(path, token.content, line)
    for pattern in EXAMPLE_SCRIPT_GLOBS:
        for path in sorted(ROOT.glob(pattern)):
            found += _commands_in(path, path.read_text(encoding="utf-8"), 1)
    return found
