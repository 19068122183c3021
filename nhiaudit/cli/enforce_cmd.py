"""`nhiaudit enforce`: guardrails generated from the written policy, checked by re-analysing the estate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import AsOfOpt, EstateInputs, PolicyOpt, RulesDirOpt, parse_as_of, with_estate_inputs
from nhiaudit.enforce.formats import EnforceFormat
from nhiaudit.exit_status import ExitStatus

if TYPE_CHECKING:
    from nhiaudit.enforce.model import EnforcePlan


def register(app: typer.Typer) -> None:
    app.command("enforce")(enforce)


def _render(plan: EnforcePlan, fmt: EnforceFormat) -> str:
    if fmt is EnforceFormat.JSON:
        from nhiaudit.enforce.render_json import render_json

        return render_json(plan)
    if fmt is EnforceFormat.TERRAFORM:
        from nhiaudit.enforce.render_terraform import render_terraform

        return render_terraform(plan)
    from nhiaudit.enforce.render_plan import render_plan

    return render_plan(plan)


@handle_errors
@with_estate_inputs
def enforce(
    inputs: EstateInputs,
    policy: PolicyOpt = None,
    rules: RulesDirOpt = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[EnforceFormat, typer.Option("--format", "-f", help="plan: what changes for whom and the "
                                               "verification; json: the policy documents; terraform: HCL.")] = \
        EnforceFormat.PLAN,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                help="Write here (atomically), not stdout.")] = None,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", metavar="DIR", help="Write every format into DIR (nhiaudit-enforce.json, "
        "nhiaudit-enforce.tf, nhiaudit-enforce-plan.txt), each atomically.")] = None,
    check: Annotated[Path | None, typer.Option(
        "--check", metavar="DIR", help="Compare the guardrails committed in DIR with freshly generated ones: "
        "exit 1 when they differ.")] = None,
) -> None:
    """Generate guardrails that make the written policy's scope the enforced scope (AWS permissions
    boundaries, an SCP for AI invocation; GCP deny policies and conditional bindings; Azure role assignments
    narrowed in scope, Graph permissions to remove), verified by re-analysing the estate with them applied. Never
    applies anything. Exit 1 when the verification fails or --check finds a difference."""
    from nhiaudit.cli.progress import stage_progress
    from nhiaudit.enforce.generate import build_plan
    from nhiaudit.errors import UsageError
    from nhiaudit.scan import load_setup
    from nhiaudit.textsafe import markup_safe

    if policy is None:
        raise UsageError("enforce needs the written policy: --policy FILE")
    if output_dir is not None and output is not None:
        raise UsageError("give --output FILE or --output-dir DIR, not both")
    if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output-dir {output_dir}: not a directory")
    day = parse_as_of(as_of)
    written = [output] + ([output_dir / f.file_name for f in EnforceFormat] if output_dir else [])
    refuse_overwriting_inputs(written, [policy, *inputs.snapshots, *inputs.imports], input_dirs=rules or [])
    console = stderr_console(inputs.quiet)
    with stage_progress(console, quiet=inputs.quiet) as timer:
        setup = load_setup(policy, list(rules or []), timer=timer)
        estate = timer.run("load", inputs.load, console)
        plan = timer.run("rules", build_plan, estate, setup.policy, day, setup.rules)
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        for kind in EnforceFormat:
            write_output(_render(plan, kind), output_dir / kind.file_name)
    else:
        write_output(_render(plan, fmt), output)
    console = stderr_console()  # results, not progress: shown with --quiet too
    status = ExitStatus.OK
    if check is not None:
        from nhiaudit.enforce.check import check_directory

        divergences = check_directory(check, plan)
        for d in divergences:
            console.print(f"[red]{markup_safe(d.file)} differs from the guardrails generated now[/red]")
            for line in d.details:
                console.print(f"  {markup_safe(line)}", markup=True, highlight=False)
        if divergences:
            console.print("the enforced scope and the written policy diverge: regenerate with --output-dir "
                          "and review the change", style="red")
            status = ExitStatus.FINDINGS
    if not plan.verified:
        failing = ", ".join(c.guardrail for c in plan.checks if c.evaluated and not c.holds)
        console.print(f"verification fails for {markup_safe(failing)}: findings remain or may_reach access "
                      "is lost with the guardrails applied (see the plan)", style="red")
        status = ExitStatus.FINDINGS
    if status == ExitStatus.OK and not estate.complete:
        console.print("collection incomplete: the guardrails cover what was collected (exit 3)", style="red")
        status = ExitStatus.INCOMPLETE
    if status:
        raise typer.Exit(status)
