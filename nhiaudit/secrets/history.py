"""`--history`: credential shapes in the lines commits added (`git log -p --all`), each hit named by commit, path
and the line number in that commit's version of the file. Bounded by MAX_COMMITS, MAX_HISTORY_BYTES and the
scan's time budget; what was not read is reported."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nhiaudit.secrets import gitcmd
from nhiaudit.secrets.budget import MAX_COMMITS, MAX_FILE_BYTES, MAX_HISTORY_BYTES, Budget
from nhiaudit.secrets.detect import Hit, at_lines, scan_text

_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_COMMIT = re.compile(rb"^commit ([0-9a-f]{40,64})$")


@dataclass
class _Section:
    """The added lines of one file in one commit."""

    commit: str
    path: str
    lines: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    size: int = 0


def _path_of(header: bytes) -> str | None:
    """`+++ b/path` -> path; `+++ /dev/null` (a deletion) -> None."""
    name = header[4:].rstrip(b"\r\n").decode("utf-8", "surrogateescape")
    if name.startswith('"') and name.endswith('"'):
        name = name[1:-1]
    return name[2:] if name.startswith("b/") else None


def history_hits(root: Path, budget: Budget) -> Iterator[tuple[str, str, Hit]]:
    """(commit, path, hit) for every credential shape the history of `root` added."""
    lines = gitcmd.log_patches(root, MAX_COMMITS)
    if lines is None:
        budget.skip("history: git is not available or this is not a git checkout", str(root))
        return
    read = 0
    commit = ""
    section: _Section | None = None
    next_line = old_left = new_left = 0  # inside a hunk, its lines are content even when they look like headers
    piece = False  # the rest of a line longer than gitcmd.MAX_LINE_BYTES: not a line of its own
    try:
        for raw in lines:
            read += len(raw)
            if read > MAX_HISTORY_BYTES or budget.expired():
                budget.skip("history: byte or time budget spent, older commits not read", commit[:12])
                break
            was_piece, piece = piece, not raw.endswith(b"\n")
            if was_piece:
                continue
            if old_left or new_left:
                if raw.startswith(b"+"):
                    new_left -= 1
                    _add(section, raw, next_line)
                    next_line += 1
                elif raw.startswith(b"-"):
                    old_left -= 1
                continue
            found = _COMMIT.match(raw.rstrip(b"\n"))
            if found:
                yield from _flush(section)
                section, commit = None, found.group(1).decode()
                budget.commits_read += 1
            elif raw.startswith(b"+++ "):
                yield from _flush(section)
                path = _path_of(raw)
                section = _Section(commit, path) if path else None
            elif hunk := _HUNK.match(raw):
                old_left = int(hunk.group(1) or 1)
                next_line = int(hunk.group(2))
                new_left = int(hunk.group(3) or 1)
        yield from _flush(section)
    finally:
        lines.close()


def _add(section: _Section | None, raw: bytes, number: int) -> None:
    if section is not None and section.size <= MAX_FILE_BYTES:
        section.lines.append(raw[1:].rstrip(b"\r\n").decode("utf-8", "replace"))
        section.numbers.append(number)
        section.size += len(raw)


def _flush(section: _Section | None) -> Iterator[tuple[str, str, Hit]]:
    if section is None or not section.lines or "\0" in "".join(section.lines[:50]):
        return
    for hit in at_lines(scan_text("\n".join(section.lines)), section.numbers):
        yield section.commit, section.path, hit
