"""A thread-safe count of the requests a connector actually sends (every attempt, retries included), per
call, shared by every connector so tests and benchmarks read call budgets the same way."""

from __future__ import annotations

import threading
from collections import Counter


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()  # "iam:GetAccountAuthorizationDetails", gRPC method, ... -> n

    def add(self, call: str) -> None:
        with self._lock:
            self.counts[call] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)
