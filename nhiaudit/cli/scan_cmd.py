"""`nhiaudit scan`: collect or load an estate, analyse it against the written policy, report, exit."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_outputs
from nhiaudit.cli.options import AsOfOpt, EstateInputs, PolicyOpt, parse_as_of, with_estate_inputs
from nhiaudit.exit_status import final_status
from nhiaudit.reporters.formats import OutputFormat
from nhiaudit.textsafe import markup_safe, terminal_safe

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
    from nhiaudit.findings import Severity
    from nhiaudit.reporters.interface import RenderContext, get_reporter
    from nhiaudit.scan import analysis_domains, run_scan

    if fail_on.lower() not in FAIL_ON_CHOICES:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, got {fail_on!r}")
    threshold = None if fail_on.lower() == "none" else Severity(fail_on.lower())
    day = parse_as_of(as_of)
    domains = analysis_domains(inputs.live.gcp.domains)
    refuse_overwriting_inputs([output, output_json, output_sarif, output_markdown],
                              [policy, baseline, *inputs.snapshots, *inputs.imports], input_dirs=rules or [])
    console = stderr_console(inputs.quiet)
    timer = StageTimer()
    estate = timer.run("load", inputs.load, console)
    result = run_scan(estate, policy, list(rules or []), day, timer, domains)
    report = result.report
    if baseline is not None:
        from nhiaudit.baseline import apply_baseline

        report = apply_baseline(report, baseline)
    context = RenderContext(policy=result.analysis.estate.policy if policy else None, sarif_root=sarif_root,
                            fallback_artifact=inputs.first_file,
                            rules={r.rule.id: r.rule.doc() for r in result.rules}, baseline=baseline,
                            sarif_category=sarif_category)
    # Every output is attempted even when one fails; the failures are reported and set the status below.
    extras = [(path, kind) for kind, path in ((OutputFormat.JSON, output_json), (OutputFormat.SARIF, output_sarif),
                                              (OutputFormat.MARKDOWN, output_markdown)) if path is not None]
    failures = write_outputs((path, functools.partial(get_reporter(kind).chunks, report, context))
                             for path, kind in [(output, fmt), *extras])
    for warning in context.warnings:
        console.print(f"[yellow]warning[/yellow]: {markup_safe(warning)}")
    if timings:
        console.print("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in timer.seconds.items()))
    failing = report.failing(threshold)
    if failing:
        console.print(f"{len(failing)} open finding(s) at or above {fail_on}", style="red")
    if not report.collection.complete:
        console.print("collection incomplete: results are partial", style="red")
    not_written = [f for f in failures if not f.broken_pipe]
    if not_written:
        targets = ", ".join(terminal_safe(str(f.target)) for f in not_written)
        console.print(f"{len(not_written)} output(s) not written: {targets}",
                      style="red", markup=False)
    status = final_status(findings=bool(failing), output_failed=bool(not_written),
                          broken_pipe=len(not_written) < len(failures), incomplete=not report.collection.complete)
    if status:
        raise typer.Exit(status)
