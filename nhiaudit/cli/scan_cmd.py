"""`nhiaudit scan`: collect or load an estate, analyse it against the written policy, report, exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, stderr_console, write_output
from nhiaudit.cli.options import AsOfOpt, EstateInputs, PolicyOpt, parse_as_of, with_estate_inputs
from nhiaudit.exit_status import ExitStatus
from nhiaudit.findings import Severity
from nhiaudit.reporters.interface import OutputFormat

FAIL_ON_CHOICES = ("info", "low", "medium", "high", "critical", "none")


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)


@handle_errors
@with_estate_inputs
def scan(
    inputs: EstateInputs,
    policy: PolicyOpt = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule directory (repeatable).")] = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Exit 1 on open findings at or above this: "
                                         + "|".join(FAIL_ON_CHOICES))] = "high",
    baseline: Annotated[Path | None, typer.Option("--baseline", help="Earlier JSON report: its findings "
                                                  "are marked baselined and never fail the run.")] = None,
    output_json: Annotated[Path | None, typer.Option("--output-json", help="Also write the JSON report.")] = None,
    output_sarif: Annotated[Path | None, typer.Option("--output-sarif", help="Also write SARIF.")] = None,
    output_markdown: Annotated[Path | None, typer.Option("--output-markdown", help="Also write Markdown.")] = None,
    sarif_root: Annotated[Path | None, typer.Option("--sarif-root", help="SARIF paths are relative to this "
                                                    "(default: the git root).")] = None,
    sarif_category: Annotated[str | None, typer.Option("--sarif-category", help="SARIF automationDetails.id "
                                                       "(code scanning category); default per provider/account.")]
    = None,
    timings: Annotated[bool, typer.Option("--timings", help="Print the time spent per stage on stderr.")] = False,
) -> None:
    """Scan identities against the written policy and report findings."""
    from nhiaudit.analysis import StageTimer
    from nhiaudit.errors import UsageError
    from nhiaudit.reporters.interface import RenderContext, get_reporter
    from nhiaudit.scan import run_scan

    if fail_on.lower() not in FAIL_ON_CHOICES:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, got {fail_on!r}")
    threshold = None if fail_on.lower() == "none" else Severity(fail_on.lower())
    day = parse_as_of(as_of)
    console = stderr_console(inputs.quiet)
    timer = StageTimer()
    estate = timer.run("load", inputs.load, console)
    result = run_scan(estate, policy, list(rules or []), day, timer)
    report = result.report
    if baseline is not None:
        from nhiaudit.baseline import apply_baseline

        report = apply_baseline(report, baseline)
    context = RenderContext(policy=result.analysis.estate.policy if policy else None, sarif_root=sarif_root,
                            fallback_artifact=inputs.first_file,
                            rules={r.rule.id: r.rule.doc() for r in result.rules}, baseline=baseline,
                            sarif_category=sarif_category)
    write_output(get_reporter(fmt).render(report, context), output)
    for extra_fmt, path in ((OutputFormat.JSON, output_json), (OutputFormat.SARIF, output_sarif),
                            (OutputFormat.MARKDOWN, output_markdown)):
        if path is not None:
            write_output(get_reporter(extra_fmt).render(report, context), path)
    for warning in context.warnings:
        console.print(f"[yellow]warning[/yellow]: {warning}")
    if timings:
        console.print("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in timer.seconds.items()))
    failing = report.failing(threshold)
    if failing:
        console.print(f"{len(failing)} open finding(s) at or above {fail_on}", style="red")
        raise typer.Exit(ExitStatus.FINDINGS)
    if not report.collection.complete:
        console.print("collection incomplete: results are partial (exit 3)", style="red")
        raise typer.Exit(ExitStatus.INCOMPLETE)
