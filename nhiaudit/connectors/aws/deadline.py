"""The `--timeout` of a live AWS collection: one deadline shared by every call of every account.

It is enforced on botocore's event system, like the read-only guard: no HTTP attempt (first try or retry)
starts once the deadline has passed, and a failed attempt is not retried after it. A request already on
the wire is bounded by the client's read timeout, so nothing outlives the deadline by more than one read.
"""

from __future__ import annotations

from typing import Any

from botocore.retries.standard import ThrottledRetryableChecker

from nhiaudit.connectors.deadline import Deadline as SharedDeadline
from nhiaudit.connectors.deadline import DeadlineExceeded
from nhiaudit.textsafe import one_line

__all__ = ["Deadline", "DeadlineExceeded"]

# Error codes botocore retries with backoff (throttling); after the deadline they end the call instead.
_THROTTLED = frozenset(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)


class Deadline(SharedDeadline):
    """The shared deadline, enforced on botocore's event system."""

    # -- botocore handlers

    def refuse_send(self, **_: Any) -> None:
        """`before-send`: every HTTP attempt passes here, retries included."""
        self.check()

    def stop_retry(self, response: Any = None, caught_exception: BaseException | None = None, **_: Any) -> None:
        """`needs-retry`: once the deadline has passed, a retryable failure ends the call instead of sleeping
        through a backoff first."""
        if not self.expired():
            return
        if isinstance(caught_exception, DeadlineExceeded):
            raise caught_exception
        if caught_exception is not None:
            raise DeadlineExceeded(self.seconds, _one_line(caught_exception)) from caught_exception
        http, parsed = response if isinstance(response, tuple) else (None, {})
        status = getattr(http, "status_code", 200)
        code = str(((parsed or {}).get("Error") or {}).get("Code", ""))
        if status >= 500 or status == 429 or code in _THROTTLED:
            raise DeadlineExceeded(self.seconds, f"{code or 'HTTP'} {status}")

    def install(self, events: Any) -> None:
        events.register_first("before-send", self.refuse_send, unique_id=f"nhiaudit-deadline-send-{id(self)}")
        events.register_first("needs-retry", self.stop_retry, unique_id=f"nhiaudit-deadline-retry-{id(self)}")


def _one_line(exc: BaseException) -> str:
    return one_line(exc, 200) or type(exc).__name__
