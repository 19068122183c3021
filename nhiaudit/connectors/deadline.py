"""The `--timeout` of a live collection: one deadline shared by every call of every account or project.

Each connector enforces it where its SDK lets it (botocore's events for AWS, the retry and timeout of each
GCP call); this module holds the clock and the error they share.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


class DeadlineExceeded(Exception):
    """A call was refused, or not retried, because the collection's --timeout had passed."""

    def __init__(self, seconds: float, last_error: str | None = None) -> None:
        super().__init__(seconds, last_error)
        self.seconds = seconds
        self.last_error = last_error

    def __str__(self) -> str:
        tail = f" (last error: {self.last_error})" if self.last_error else ""
        return f"cut off by --timeout after {self.seconds:g} s{tail}"


@dataclass
class Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self) -> None:
        if self.expired():
            raise DeadlineExceeded(self.seconds)

    def sleep(self, delay: float, sleep: Callable[[float], None] = time.sleep) -> None:
        """Sleep `delay` seconds, or raise DeadlineExceeded at once if that would end past the deadline."""
        if delay >= self.remaining():
            raise DeadlineExceeded(self.seconds)
        sleep(delay)
