"""Which files of a tree `--secrets-in` reads, and reading them within bounds.

A git checkout (and git on PATH): the tracked files plus the untracked ones that are not ignored (`git ls-files
--cached --others --exclude-standard`), i.e. exactly what git's ignore rules leave. Anything else: a walk that
applies every .gitignore it meets (secrets/gitignore.py), skips `.git`, never follows a symbolic link and
stops at MAX_DEPTH. Either way only regular files are read (no links, FIFOs or devices), opened without
following links and without blocking, up to MAX_FILE_BYTES.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from nhiaudit.secrets import gitcmd
from nhiaudit.secrets.budget import BINARY_PROBE, MAX_DEPTH, MAX_FILE_BYTES, MAX_FILES, Budget
from nhiaudit.secrets.gitignore import IgnoreRule, ignored, parse_gitignore

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def candidate_files(root: Path, budget: Budget) -> Iterator[str]:
    """Relative posix paths of the files to read, sorted (git) or in walk order (sorted per directory)."""
    listed = gitcmd.list_files(root) if gitcmd.is_work_tree(root) else None
    if listed is not None:
        yield from sorted(listed)
        return
    yield from _walk(root, budget)


def _walk(root: Path, budget: Budget) -> Iterator[str]:
    stack: list[tuple[str, int, list[IgnoreRule]]] = [("", 0, [])]
    while stack:
        rel_dir, depth, rules = stack.pop()
        directory = root / rel_dir if rel_dir else root
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            budget.skip("unreadable directory", rel_dir or ".")
            continue
        ignore_file = next((e for e in entries if e.name == ".gitignore" and e.is_file(follow_symlinks=False)), None)
        if ignore_file is not None:
            text = _read(Path(ignore_file.path), MAX_FILE_BYTES)
            if text is not None:
                rules = [*rules, *parse_gitignore(text.decode("utf-8", "replace"), rel_dir)]
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink():
                continue  # never followed: no loops, nothing outside the tree
            is_dir = entry.is_dir(follow_symlinks=False)
            if entry.name == ".git" or ignored(rules, rel, is_dir):
                continue
            if is_dir:
                if depth + 1 > MAX_DEPTH:
                    budget.skip(f"deeper than {MAX_DEPTH} directories", rel)
                else:
                    subdirs.append(rel)
            else:
                yield rel
        stack.extend((d, depth + 1, rules) for d in reversed(subdirs))


def _read(path: Path, limit: int) -> bytes | None:
    """Up to limit + 1 bytes of a regular file (not a link, FIFO or device); None when it is none or unreadable."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_texts(root: Path, budget: Budget) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every readable text file of the tree, within the budget."""
    count = 0
    for rel in candidate_files(root, budget):
        if budget.expired():
            budget.skip("time budget spent", rel)
            continue
        if count >= MAX_FILES:
            budget.skip(f"more than {MAX_FILES} files", rel)
            continue
        path = root / rel
        try:
            info = os.lstat(path)
        except OSError:
            continue  # listed by git but deleted in the work tree
        if not stat.S_ISREG(info.st_mode):
            continue
        if info.st_size > MAX_FILE_BYTES:
            budget.skip(f"larger than {MAX_FILE_BYTES // 1024} KiB", rel)
            continue
        data = _read(path, MAX_FILE_BYTES)
        if data is None:
            budget.skip("unreadable", rel)
            continue
        if len(data) > MAX_FILE_BYTES:
            budget.skip(f"larger than {MAX_FILE_BYTES // 1024} KiB", rel)
            continue
        if b"\0" in data[:BINARY_PROBE]:
            budget.skip("binary", "")
            continue
        count += 1
        budget.files_read += 1
        yield rel, data.decode("utf-8", "replace")
