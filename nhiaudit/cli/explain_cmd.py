"""`nhiaudit explain TARGET` and `nhiaudit explain --can-reach SYSTEM`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import (
    AsOfOpt,
    EstateInputs,
    MinSeverityOpt,
    OnlyRuleOpt,
    PolicyOpt,
    RulesDirOpt,
    SkipRuleOpt,
    parse_as_of,
    rule_selection,
    with_estate_inputs,
)
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
    rules: RulesDirOpt = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[ExplainFormat, typer.Option("--format", "-f", help="Output format.")] = \
        ExplainFormat.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                help="Write here, not stdout.")] = None,
    no_findings: Annotated[bool, typer.Option("--no-findings", help="Skip running the rules (faster on large "
                                              "estates); paths and credentials are still shown.")] = False,
    skip_rule: SkipRuleOpt = None,
    only_rule: OnlyRuleOpt = None,
    min_severity: MinSeverityOpt = None,
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
    from nhiaudit.scan import analysis_domains, load_setup

    if target is None and can_reach is None:
        raise UsageError("nothing to explain: give a TARGET (an integration or identity), or --can-reach SYSTEM "
                         "to list who can reach a system")
    if target is not None and can_reach is not None:
        raise UsageError(f"give a TARGET or --can-reach SYSTEM, not both (got {target!r} and --can-reach "
                         f"{can_reach!r})")
    day = parse_as_of(as_of)
    domains = analysis_domains(inputs.live.gcp.domains)
    refuse_overwriting_inputs([output], [policy, *inputs.snapshots, *inputs.imports], input_dirs=rules or [])
    console = stderr_console(inputs.quiet)
    from nhiaudit.cli.progress import stage_progress

    with stage_progress(console, quiet=inputs.quiet) as timer:
        # Fail fast: rules and policy are checked before any collection starts.
        setup = load_setup(policy, list(rules or []), rule_selection(skip_rule, only_rule, min_severity), timer)
        estate = timer.run("load", inputs.for_policy(setup.policy).load, console)
        prepared = prepare_inputs(estate, policy, list(rules or []), day,
                                  with_findings=target is not None and not no_findings, only_system=can_reach,
                                  gcp_domains=domains, setup=setup, timer=timer)
    ctx = prepared.context
    from nhiaudit.cli.console import console_width, terminal_settings

    screen = terminal_settings(sys.stdout)  # NO_COLOR, FORCE_COLOR, --no-color, COLUMNS; a file: 80 or COLUMNS
    color = output is None and fmt is ExplainFormat.TABLE and screen.color
    width = screen.width if output is None else console_width(None)
    with paused_gc():
        if prepared.system is not None:
            result = build_can_reach(ctx, prepared.system)
        else:
            result = build_explanation(ctx, resolve(ctx.estate, target or ""), prepared.findings)
        text = render(result, fmt, color=color, width=width)
    write_output(text, output)
    if not estate.complete:
        console.print("collection incomplete: results are partial (exit 3)", style="red")
        raise typer.Exit(ExitStatus.INCOMPLETE)
