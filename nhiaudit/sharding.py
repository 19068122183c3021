"""`--shard I/N`: which of an organisation's accounts (AWS accounts, GCP projects) one collection job reads.

The assignment needs no coordinator: every job enumerates the same organisation and keeps the accounts whose
sha256 (not Python's `hash`, which PYTHONHASHSEED salts) falls in its shard, so the N jobs of a CI matrix or a
Kubernetes Indexed Job split the work without talking to each other, and an account keeps its shard when
others are added or removed. The account whose credentials enumerated the organisation is pinned to shard 0.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from nhiaudit.errors import UsageError

MAX_SHARDS = 10_000  # more jobs than any scheduler runs for one collection: a typo, not a plan
_SPEC = re.compile(r"^\s*(\d{1,6})\s*/\s*(\d{1,6})\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 0-based, as Kubernetes' JOB_COMPLETION_INDEX
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`I/N` with 0 <= I < N; UsageError otherwise."""
        match = _SPEC.match(text)
        if not match:
            raise UsageError(f"--shard must be I/N (shard I of N, counted from 0, e.g. 0/3), got {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if not 1 <= count <= MAX_SHARDS:
            raise UsageError(f"--shard {text}: the number of shards must be between 1 and {MAX_SHARDS}")
        if index >= count:
            raise UsageError(f"--shard {text}: shards are numbered 0 to {count - 1}")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, accounts: Iterable[str], pinned: str | None = None) -> list[str]:
        """The accounts of this shard, in the order given."""
        return [a for a in accounts if shard_of(a, self.count, pinned) == self.index]


def shard_of(account: str, count: int, pinned: str | None = None) -> int:
    """The shard (0 to count-1) that collects `account`; `pinned` (the enumerating account) is in shard 0."""
    if account == pinned:
        return 0
    digest = hashlib.sha256(account.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count
