"""`nhiaudit diff OLD.json NEW.json`: new, fixed and unchanged findings between two JSON reports."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, write_output
from nhiaudit.cli.failures import report_output_error
from nhiaudit.cli.options import FailOn, FailOnOpt
from nhiaudit.errors import OutputError
from nhiaudit.exit_status import ExitStatus, final_status
from nhiaudit.textsafe import json_safe, rich_assemble, rich_text, utf8_safe

if TYPE_CHECKING:
    from nhiaudit.drift import Drift


class DiffFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def _table(drift: Drift, *, color: bool, width: int) -> str:
    """The drift as text for a terminal of that width. Below WIDE_WIDTH one block per finding; from there a
    table whose Finding cell puts the identity on its own line: ARNs stay whole."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from nhiaudit.cli.console import render_text
    from nhiaudit.reporters.table import WIDE_WIDTH, finding_block

    out: list[object] = [rich_assemble(
        "nhiaudit diff: ", (f"{len(drift.new)} new", "bold"),
        f", {len(drift.fixed)} fixed, {len(drift.unchanged)} unchanged",
        f"  ({drift.old_label} -> {drift.new_label})",
    )]
    sections = [("New", [(f, str(f.status)) for f in drift.new]), ("Fixed", [(f, "") for f in drift.fixed])]
    changed = [(u.new, ", ".join(f"{k} {a} -> {b}" for k, (a, b) in u.changes.items()))
               for u in drift.unchanged if u.changes]
    sections.append(("Unchanged but different", changed))
    wide = width >= WIDE_WIDTH
    for title, rows in sections:
        if not rows:
            continue
        if not wide:
            out.append(Text(f"{title} ({len(rows)})", style="bold"))
            out += [Padding(finding_block(f, note), (0, 0, 1, 2), expand=False) for f, note in rows]
            continue
        table = Table(title=f"{title} ({len(rows)})", title_justify="left", show_lines=False)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Rule", no_wrap=True, overflow="fold")
        table.add_column("Integration", overflow="fold")
        table.add_column("Finding", ratio=3, overflow="fold")
        table.add_column("Note", ratio=1, overflow="fold")
        for f, note in rows:
            # Text: user content is never Rich markup. The identity on its own line wraps whole or not at all.
            finding = rich_text(f.message)
            if f.identity is not None:
                finding = Text.assemble(finding, "\n", rich_text(f.identity.id, style="dim"))
            table.add_row(rich_text(str(f.severity)), rich_text(f.rule_id), rich_text(f.integration or "-"),
                          finding, rich_text(note))
        out.append(table)
    return render_text(out, color=color, width=width)


def register(app: typer.Typer) -> None:
    @app.command("diff")
    @handle_errors
    def diff(
        old: Annotated[Path, typer.Argument(metavar="OLD.json",
                                            help="Earlier JSON report (`nhiaudit scan --format json`).")],
        new: Annotated[Path, typer.Argument(metavar="NEW.json", help="Later JSON report.")],
        fmt: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format.")] = DiffFormat.TABLE,
        output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                    help="Write here, not stdout.")] = None,
        fail_on: FailOnOpt = FailOn.NONE,
    ) -> None:
        """List findings that are new, fixed or unchanged between two scans (matched by fingerprint)."""
        from nhiaudit.cli.console import console_width, terminal_settings
        from nhiaudit.drift import diff_files, drift_json, drift_markdown
        from nhiaudit.findings import FindingStatus, Severity

        refuse_overwriting_inputs([output], [old, new])
        drift = diff_files(old, new)
        threshold = Severity(fail_on.severity) if fail_on.severity else None
        failing = threshold is not None and any(
            f.status == FindingStatus.OPEN and f.severity.rank >= threshold.rank for f in drift.new)
        try:
            if fmt == DiffFormat.JSON:
                write_output(json_safe(drift_json(drift)), output)
            elif fmt == DiffFormat.MARKDOWN:
                write_output(utf8_safe(drift_markdown(drift)), output)
            else:
                screen = terminal_settings(sys.stdout)  # a file: no colour, COLUMNS or 80 columns
                write_output(_table(drift, color=output is None and screen.color,
                                    width=console_width(None) if output else screen.width), output)
        except OutputError as exc:  # findings (1) still win over an output that could not be written
            report_output_error(exc)
            raise typer.Exit(final_status(findings=failing, output_failed=not exc.broken_pipe,
                                          broken_pipe=exc.broken_pipe)) from None
        if failing:
            raise typer.Exit(ExitStatus.FINDINGS)
