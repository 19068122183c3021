"""`nhiaudit explain TARGET` and `nhiaudit explain --can-reach SYSTEM`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import AsOfOpt, EstateInputs, PolicyOpt, parse_as_of, with_estate_inputs
from nhiaudit.exit_status import ExitStatus
from nhiaudit.explain.formats import ExplainFormat


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)


@handle_errors
@with_estate_inputs
def explain(
    inputs: EstateInputs,
    target: Annotated[str | None, typer.Argument(
        help="Integration name, identity id (ARN, SA e-mail, object id) or a unique fragment of either.",
        show_default=False, metavar="TARGET")] = None,
    can_reach: Annotated[str | None, typer.Option(
        "--can-reach", metavar="SYSTEM",
        help="Instead: every identity and integration that can reach this policy system, and how.")] = None,
    policy: PolicyOpt = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule directory (repeatable).")] \
        = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[ExplainFormat, typer.Option("--format", "-f", help="Output format.")] = \
        ExplainFormat.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")] = None,
    no_findings: Annotated[bool, typer.Option("--no-findings", help="Skip running the rules (faster on large "
                                              "estates); paths and credentials are still shown.")] = False,
) -> None:
    """Who calls the model, with which credential, for which declared task, and what it can reach:
    every path hop by hop with its reason. With --can-reach: who can reach a system."""
    from nhiaudit.errors import UsageError
    from nhiaudit.explain.build import can_reach as build_can_reach
    from nhiaudit.explain.build import explain as build_explanation
    from nhiaudit.explain.inputs import prepare_inputs
    from nhiaudit.explain.render import render
    from nhiaudit.explain.target import resolve
    from nhiaudit.gc_pause import paused_gc
    from nhiaudit.scan import analysis_domains

    if (target is None) == (can_reach is None):
        raise UsageError("give either a TARGET to explain or --can-reach SYSTEM (not both)")
    day = parse_as_of(as_of)
    domains = analysis_domains(inputs.live.gcp.domains)
    refuse_overwriting_inputs([output], [policy, *inputs.snapshots, *inputs.imports], input_dirs=rules or [])
    console = stderr_console(inputs.quiet)
    estate = inputs.load(console)
    prepared = prepare_inputs(estate, policy, list(rules or []), day,
                              with_findings=target is not None and not no_findings, only_system=can_reach,
                              gcp_domains=domains)
    ctx = prepared.context
    color = output is None and fmt is ExplainFormat.TABLE and sys.stdout.isatty()
    with paused_gc():
        if prepared.system is not None:
            result = build_can_reach(ctx, prepared.system)
        else:
            result = build_explanation(ctx, resolve(ctx.estate, target or ""), prepared.findings)
        text = render(result, fmt, color=color)
    write_output(text, output)
    if not estate.complete:
        console.print("collection incomplete: results are partial (exit 3)", style="red")
        raise typer.Exit(ExitStatus.INCOMPLETE)
