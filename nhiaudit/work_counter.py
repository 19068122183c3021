"""How many candidates the estate-wide loops examine (escalation targets, trust candidates, latent reasons).

Tests read these counts to prove the work grows linearly with the estate (tests/test_scaling_counters.py)
without timing anything; loops add their length once per pass, never once per element, so counting costs
nothing measurable. Counts accumulate per process: callers that compare runs call `reset()` first.
"""

from __future__ import annotations

from collections import Counter

WORK: Counter[str] = Counter()


def count(name: str, n: int) -> None:
    """Record that a loop named `name` examined `n` candidates."""
    WORK[name] += n


def reset() -> None:
    WORK.clear()
