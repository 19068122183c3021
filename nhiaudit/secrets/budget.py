"""Bounds of a `--secrets-in` scan and the account of what it skipped (reported, never silently lost)."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

MAX_FILE_BYTES = 1024 * 1024  # larger files are skipped (and reported)
MAX_FILES = 50_000  # files read per tree
MAX_DEPTH = 64  # directory levels below the tree's root
MAX_SECONDS = 120.0  # for all trees of a scan, history included
MAX_COMMITS = 2_000  # --history: newest commits read per tree
MAX_HISTORY_BYTES = 256 * 1024 * 1024  # --history: bytes of `git log -p` read per tree
BINARY_PROBE = 8192  # a NUL byte in the first bytes: a binary file
EXAMPLES = 5  # paths named per skip reason


@dataclass
class Budget:
    """The time budget of a scan, and what each tree skipped."""

    seconds: float = MAX_SECONDS
    started: float = field(default_factory=time.monotonic)
    files_read: int = 0
    commits_read: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def expired(self) -> bool:
        return time.monotonic() - self.started > self.seconds

    def skip(self, reason: str, path: str) -> None:
        self.skipped[reason] += 1
        if path and len(self.examples[reason]) < EXAMPLES:
            self.examples[reason].append(path)

    def warnings(self) -> list[str]:
        """One line per skip reason, with a few paths; binary files are skipped by design and only counted."""
        out = []
        for reason in sorted(self.skipped):
            names = ", ".join(sorted(self.examples[reason]))
            out.append(f"--secrets-in: {self.skipped[reason]} skipped ({reason})" + (f": {names}" if names else ""))
        return out
