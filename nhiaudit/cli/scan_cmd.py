"""`nhiaudit scan`: collect or load an estate, analyse it against the written policy, report, exit."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_outputs
from nhiaudit.cli.options import (
    AsOfOpt,
    EstateInputs,
    FailOn,
    FailOnOpt,
    MinSeverityOpt,
    OnlyRuleOpt,
    PolicyOpt,
    RulesDirOpt,
    SkipRuleOpt,
    parse_as_of,
    rule_selection,
    with_estate_inputs,
)
from nhiaudit.exit_status import final_status
from nhiaudit.gc_pause import keep_until_exit
from nhiaudit.reporters.formats import OutputFormat
from nhiaudit.textsafe import markup_safe, terminal_safe

if TYPE_CHECKING:
    from nhiaudit.reporters.interface import Reporter

RulesOpt = RulesDirOpt  # the name other commands import


def _reporter(kind: OutputFormat, path: Path | None) -> Reporter:
    """The reporter for one output; the table in a file has no colour codes and COLUMNS or 80 columns."""
    from nhiaudit.reporters.interface import get_reporter

    if kind is OutputFormat.TABLE and path is not None:
        from nhiaudit.cli.console import console_width
        from nhiaudit.reporters.table import TableReporter

        return TableReporter(width=console_width(None), color=False)
    return get_reporter(kind)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)


@handle_errors
@with_estate_inputs
def scan(
    inputs: EstateInputs,
    policy: PolicyOpt = None,
    rules: RulesDirOpt = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                help="Write the report here.")] = None,
    fail_on: FailOnOpt = FailOn.HIGH,
    skip_rule: SkipRuleOpt = None,
    only_rule: OnlyRuleOpt = None,
    min_severity: MinSeverityOpt = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", metavar="FILE", help="Baseline file (`nhiaudit baseline create`) or an earlier JSON report: "
        "its findings are marked baselined and never fail the run.")] = None,
    output_json: Annotated[Path | None, typer.Option("--output-json", metavar="FILE",
                                                     help="Also write the JSON report.")] = None,
    output_sarif: Annotated[Path | None, typer.Option("--output-sarif", metavar="FILE",
                                                      help="Also write SARIF.")] = None,
    output_markdown: Annotated[Path | None, typer.Option("--output-markdown", metavar="FILE",
                                                         help="Also write Markdown.")] = None,
    output_html: Annotated[Path | None, typer.Option("--output-html", metavar="FILE",
                                                     help="Also write the HTML report.")] = None,
    output_codequality: Annotated[Path | None, typer.Option(
        "--output-gitlab-codequality", metavar="FILE",
        help="Also write GitLab Code Quality JSON (for artifacts:reports:codequality).")] = None,
    sarif_root: Annotated[Path | None, typer.Option("--sarif-root", metavar="DIR",
                                                    help="SARIF and GitLab Code Quality paths are relative to "
                                                    "this (default: the git root).")] = None,
    sarif_category: Annotated[str | None, typer.Option(
        "--sarif-category", metavar="ID",
        help="SARIF automationDetails.id (code scanning category); default per provider/account.")] = None,
    timings: Annotated[bool, typer.Option("--timings", help="Print the time spent per stage on stderr.")] = False,
    secrets_in: Annotated[list[Path] | None, typer.Option(
        "--secrets-in", metavar="DIR", help="Also look for the estate's credentials written in this tree (a git "
        "checkout or any directory; repeatable); see docs/secrets.md.")] = None,
    history: Annotated[bool, typer.Option(
        "--history", help="With --secrets-in: also read the git history (lines added by each commit).")] = False,
) -> None:
    """Scan identities against the written policy and report findings."""
    from nhiaudit.cli.progress import stage_progress
    from nhiaudit.cli.verbose import describe_inputs
    from nhiaudit.findings import Severity
    from nhiaudit.reporters.interface import RenderContext
    from nhiaudit.scan import analysis_domains, load_setup, run_scan
    from nhiaudit.secrets.inputs import check_trees, with_tree_sightings

    threshold = Severity(fail_on.severity) if fail_on.severity else None
    trees = list(secrets_in or [])
    check_trees(trees, history)
    day = parse_as_of(as_of)
    domains = analysis_domains(inputs.live.gcp.domains)
    refuse_overwriting_inputs([output, output_json, output_sarif, output_markdown, output_html, output_codequality],
                              [policy, baseline, *inputs.snapshots, *inputs.imports], input_dirs=rules or [])
    console = stderr_console(inputs.quiet)
    # Stage progress on a terminal (-v: what is read, then a line per stage); gone before any output.
    with stage_progress(console, quiet=inputs.quiet, plan=describe_inputs(inputs, policy, rules or [])) as timer:
        # Fail fast: rules, policy and live options are checked before the first request to any cloud.
        setup = load_setup(policy, list(rules or []), rule_selection(skip_rule, only_rule, min_severity), timer)
        estate = timer.run("load", inputs.for_policy(setup.policy).load, console)
        secrets_scan, secrets_warnings = None, []
        if trees:  # part of reading the inputs: the sightings join the estate before analysis
            estate, secrets_scan, secrets_warnings = timer.run("load", with_tree_sightings, estate, trees, history)
        result = run_scan(estate, policy, list(rules or []), day, timer, domains, setup=setup)
    report = result.report
    if secrets_scan is not None:
        report = report.model_copy(update={"secrets_scan": secrets_scan})
    for warning in secrets_warnings:
        console.print(f"[yellow]warning[/yellow]: {markup_safe(warning)}")
    if baseline is not None:
        from nhiaudit.baseline import apply_baseline

        report = apply_baseline(report, baseline)
    context = RenderContext(policy=result.analysis.estate.policy if policy else None, sarif_root=sarif_root,
                            fallback_artifact=inputs.first_file,
                            rules={r.rule.id: r.rule.doc() for r in result.rules}, baseline=baseline,
                            sarif_category=sarif_category)
    # Every output is attempted even when one fails; the failures are reported and set the status below.
    extras = [(path, kind) for kind, path in ((OutputFormat.JSON, output_json), (OutputFormat.SARIF, output_sarif),
                                              (OutputFormat.MARKDOWN, output_markdown),
                                              (OutputFormat.HTML, output_html),
                                              (OutputFormat.GITLAB_CODEQUALITY, output_codequality))
              if path is not None]
    failures = write_outputs((path, functools.partial(_reporter(kind, path).chunks, report, context))
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
    keep_until_exit(estate, result, report, context)  # the process ends next: not freed object by object
    if status:
        raise typer.Exit(status)
