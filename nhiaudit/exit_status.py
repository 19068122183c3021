"""The documented exit statuses of the `nhiaudit` command (README "Exit status", docs/reports.md)."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    """No finding at or above --fail-on, and every source was collected."""
    FINDINGS = 1
    """At least one open finding at or above --fail-on (excepted and baselined ones never count)."""
    USAGE_ERROR = 2
    """Bad arguments or bad input (policy, snapshot, rule or export file), or an output that could not be
    written."""
    INCOMPLETE = 3
    """A source failed or was denied: the results are partial. Findings (1) and output errors (2) win."""
    INTERNAL_ERROR = 4
    """An unexpected exception: a bug in nhiaudit. Never 1, so a crash is never read as "findings"."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C), as shells report SIGINT."""
    BROKEN_PIPE = 141
    """The reader of stdout went away (`| head`), as shells report SIGPIPE; nothing is printed."""


def final_status(*, findings: bool, output_failed: bool = False, broken_pipe: bool = False,
                 incomplete: bool = False) -> ExitStatus:
    """The one status of a run that got as far as results, in the documented order:
    findings (1) > an output not written (2) > stdout's reader gone (141) > collection incomplete (3) > 0.

    Findings win because they are real whatever happened to the reports; a failed write wins over an
    incomplete collection because the user is missing a report, not just part of one."""
    if findings:
        return ExitStatus.FINDINGS
    if output_failed:
        return ExitStatus.USAGE_ERROR
    if broken_pipe:
        return ExitStatus.BROKEN_PIPE
    if incomplete:
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK
