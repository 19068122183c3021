"""`nhiaudit diff OLD.json NEW.json`: new, fixed and unchanged findings between two JSON reports."""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stdout_console, write_output
from nhiaudit.cli.failures import report_output_error
from nhiaudit.errors import OutputError
from nhiaudit.exit_status import ExitStatus, final_status
from nhiaudit.textsafe import json_safe, rich_assemble, rich_text, utf8_safe

if TYPE_CHECKING:
    from nhiaudit.drift import Drift


class DiffFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


class FailOn(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    NONE = "none"


def _table(drift: Drift, width: int | None = None) -> str | None:
    """Rich tables; printed straight to the terminal, or returned as plain text for --output."""
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO() if width else None
    console = stdout_console()
    if buffer is not None:
        console = Console(file=buffer, width=width, no_color=True, highlight=False)
    console.print(rich_assemble(
        "nhiaudit diff: ", (f"{len(drift.new)} new", "bold"),
        f", {len(drift.fixed)} fixed, {len(drift.unchanged)} unchanged",
        f"  ({drift.old_label} -> {drift.new_label})",
    ))
    sections = [("New", [(f, str(f.status)) for f in drift.new]), ("Fixed", [(f, "") for f in drift.fixed])]
    changed = [(u.new, ", ".join(f"{k} {a} -> {b}" for k, (a, b) in u.changes.items()))
               for u in drift.unchanged if u.changes]
    sections.append(("Unchanged but different", changed))
    for title, rows in sections:
        if not rows:
            continue
        table = Table(title=f"{title} ({len(rows)})", title_justify="left", show_lines=False)
        for column in ("Severity", "Rule", "Integration", "Identity", "Finding", "Note"):
            table.add_column(column, overflow="fold")
        for f, note in rows:
            cells = (str(f.severity), f.rule_id, f.integration or "-", f.identity.id if f.identity else "-",
                     f.message, note)
            table.add_row(*(rich_text(c) for c in cells))  # Text: user content is never Rich markup
        console.print(table)
    return buffer.getvalue() if buffer else None


def register(app: typer.Typer) -> None:
    @app.command("diff")
    @handle_errors
    def diff(
        old: Annotated[Path, typer.Argument(help="Earlier JSON report (`nhiaudit scan --format json`).")],
        new: Annotated[Path, typer.Argument(help="Later JSON report.")],
        fmt: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format.")] = DiffFormat.TABLE,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")] = None,
        fail_on: Annotated[
            FailOn, typer.Option("--fail-on", help="Exit 1 when a new open finding is at or above this.")
        ] = FailOn.NONE,
    ) -> None:
        """List findings that are new, fixed or unchanged between two scans (matched by fingerprint)."""
        from nhiaudit.drift import diff_files, drift_json, drift_markdown
        from nhiaudit.findings import FindingStatus, Severity

        refuse_overwriting_inputs([output], [old, new])
        drift = diff_files(old, new)
        threshold = None if fail_on == FailOn.NONE else Severity(fail_on.value)
        failing = threshold is not None and any(
            f.status == FindingStatus.OPEN and f.severity.rank >= threshold.rank for f in drift.new)
        try:
            if fmt == DiffFormat.JSON:
                write_output(json_safe(drift_json(drift)), output)
            elif fmt == DiffFormat.MARKDOWN:
                write_output(utf8_safe(drift_markdown(drift)), output)
            else:
                text = _table(drift, width=160 if output else None)
                if text is not None:
                    write_output(text, output)
        except OutputError as exc:  # findings (1) still win over an output that could not be written
            report_output_error(exc)
            raise typer.Exit(final_status(findings=failing, output_failed=not exc.broken_pipe,
                                          broken_pipe=exc.broken_pipe)) from None
        if failing:
            raise typer.Exit(ExitStatus.FINDINGS)
