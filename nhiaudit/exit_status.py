"""The documented exit statuses of the `nhiaudit` command (see docs/exit-codes.md)."""

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    """No finding at or above --fail-on, and every source was collected."""
    FINDINGS = 1
    """At least one open finding at or above --fail-on (excepted and baselined ones never count)."""
    USAGE_ERROR = 2
    """Bad arguments or bad input (policy, snapshot, rule or export file)."""
    INCOMPLETE = 3
    """A source failed or was denied: the results are partial. Findings (1) win over this."""
