"""`nhiaudit baseline create | update`: accept today's open findings in a small file a team reviews.

Both commands read an estate exactly as `scan` does (the same options and pipeline); they write the
baseline instead of a report, and exit 0 even when there are findings: accepting them is the point.
`update` never accepts a new finding silently: it lists what it would add and drop, and writes new
findings only with `--yes` (or a "yes" typed at a terminal).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import AsOfOpt, EstateInputs, PolicyOpt, parse_as_of, with_estate_inputs
from nhiaudit.cli.scan_cmd import RulesOpt
from nhiaudit.errors import UsageError
from nhiaudit.exit_status import ExitStatus
from nhiaudit.textsafe import terminal_safe

if TYPE_CHECKING:
    from datetime import date

    from nhiaudit.baseline import BaselineChanges
    from nhiaudit.baseline_file import BaselineEntry
    from nhiaudit.findings import Finding

DEFAULT_FILE = Path(".nhiaudit-baseline.yaml")
MAX_REASON = 2000

ReasonOpt = Annotated[
    str | None, typer.Option("--reason", metavar="TEXT", help="Why these findings are accepted (kept in the file).")
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Create and update the baseline: open findings accepted so CI fails only on new "
                             "ones (`scan --baseline FILE`).", no_args_is_help=True)
    group.command("create")(create)
    group.command("update")(update)
    app.add_typer(group, name="baseline")


def _check_reason(reason: str | None) -> str | None:
    if reason is not None and (not reason.strip() or len(reason) > MAX_REASON):
        raise UsageError(f"--reason must be 1 to {MAX_REASON} characters")
    return reason


def _scan(inputs: EstateInputs, policy: Path | None, rules: list[Path] | None, day: date) -> list[Finding]:
    """The findings of a scan (the `scan` pipeline); exit 3 with nothing written if collection was partial:
    a baseline from part of an estate would miss findings, and an update would drop the unread ones."""
    from nhiaudit.cli.progress import stage_progress
    from nhiaudit.scan import analysis_domains, load_setup, run_scan

    domains = analysis_domains(inputs.live.gcp.domains)
    console = stderr_console(inputs.quiet)
    with stage_progress(console, quiet=inputs.quiet) as timer:
        # Rules and policy are checked before the first request to any cloud, as for `scan`.
        setup = load_setup(policy, list(rules or []), timer=timer)
        estate = timer.run("load", inputs.for_policy(setup.policy).load, console)
        report = run_scan(estate, policy, list(rules or []), day, timer, domains, setup=setup).report
    if not report.collection.complete:
        stderr_console().print("collection incomplete: a baseline of partial results would be wrong; "
                               "nothing written", style="red", markup=False)
        raise typer.Exit(ExitStatus.INCOMPLETE)
    return list(report.findings)


@handle_errors
@with_estate_inputs
def create(
    inputs: EstateInputs,
    policy: PolicyOpt = None,
    rules: RulesOpt = None,
    as_of: AsOfOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE",
                                         help="Baseline file to write (JSON for a .json name, else YAML).")]
    = DEFAULT_FILE,
    reason: ReasonOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing baseline file.")] = False,
) -> None:
    """Accept every open finding of a scan: write them to a new baseline file (exit 0 with findings).

    Each entry is the finding's fingerprint, rule, identity and first-seen date (--as-of, default today),
    nothing else. Excepted findings are left out (they fail again when their exception expires).
    """
    from nhiaudit.baseline import new_baseline
    from nhiaudit.baseline_file import render_baseline, wants_json

    day = parse_as_of(as_of)
    reason = _check_reason(reason)
    refuse_overwriting_inputs([output], [policy, *inputs.snapshots, *inputs.imports], input_dirs=rules or [])
    if os.path.lexists(output) and not force:
        raise UsageError(f"{output} exists; review what changed with `nhiaudit baseline update {output}`, "
                         "or replace it with --force")
    baseline = new_baseline(_scan(inputs, policy, rules, day), day, reason)
    write_output(render_baseline(baseline, wants_json(output)), output)
    stderr_console(inputs.quiet).print(
        f"{terminal_safe(str(output))}: {len(baseline.entries)} finding(s) accepted as of {day.isoformat()}",
        markup=False)


@handle_errors
@with_estate_inputs
def update(
    inputs: EstateInputs,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Baseline file to update (from `baseline create`, "
                                                                "or an earlier JSON report to convert).")],
    policy: PolicyOpt = None,
    rules: RulesOpt = None,
    as_of: AsOfOpt = None,
    reason: ReasonOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept the new findings without asking.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
) -> None:
    """Show what a scan adds to and drops from a baseline, then write it.

    Resolved findings are dropped; kept ones keep their first-seen date and reason. New findings are written
    only with --yes (or when confirmed at a terminal): without it, exit 1 and nothing is written.
    """
    from nhiaudit.baseline import load_baseline, plan_update
    from nhiaudit.baseline_file import render_baseline, wants_json

    day = parse_as_of(as_of)
    reason = _check_reason(reason)
    refuse_overwriting_inputs([file], [policy, *inputs.snapshots, *inputs.imports], input_dirs=rules or [])
    baseline = load_baseline(file)  # a bad baseline fails before any collection
    changes = plan_update(baseline, _scan(inputs, policy, rules, day), day, reason)
    write_output(describe_changes(str(file), changes), None)
    if dry_run or not (changes.changed or baseline.legacy):
        note = "dry run: nothing written" if dry_run else "up to date: nothing written"
        stderr_console(inputs.quiet).print(f"{terminal_safe(str(file))}: {note}", markup=False)
        return
    if changes.added and not yes and not _confirmed(len(changes.added), file):
        stderr_console().print(f"{len(changes.added)} new finding(s) not accepted (use --yes to accept them); "
                               "nothing written", style="red", markup=False)
        raise typer.Exit(ExitStatus.FINDINGS)
    write_output(render_baseline(changes.updated, wants_json(file)), file)
    stderr_console(inputs.quiet).print(f"{terminal_safe(str(file))}: written ({len(changes.updated.entries)} "
                                       "finding(s))", markup=False)


def _confirmed(count: int, file: Path) -> bool:
    """Ask only a person at a terminal; a CI job without --yes must not hang on a prompt."""
    if not (sys.stdin is not None and sys.stdin.isatty() and sys.stderr is not None and sys.stderr.isatty()):
        return False
    return typer.confirm(f"Accept {count} new finding(s) into {terminal_safe(str(file))}?", default=False,
                         err=True)


def _entry_line(entry: BaselineEntry) -> str:
    who = entry.identity or (f"integration {entry.integration}" if entry.integration else "(no identity)")
    note = f"  first seen {entry.first_seen.isoformat()}"
    if entry.reason:
        note += f": {entry.reason}"
    return f"    {terminal_safe(who)}  [{entry.fingerprint[:12]}]{terminal_safe(note)}"


def _section(title: str, entries: tuple[BaselineEntry, ...]) -> list[str]:
    """Entries grouped by rule (they are sorted by rule, then identity)."""
    if not entries:
        return []
    lines = ["", f"{title} ({len(entries)}):"]
    rule = None
    for entry in entries:
        if entry.rule_id != rule:
            rule = entry.rule_id
            lines.append(f"  {terminal_safe(rule)}")
        lines.append(_entry_line(entry))
    return lines


def describe_changes(name: str, changes: BaselineChanges) -> str:
    head = (f"{terminal_safe(name)}: {len(changes.added)} new to accept, {len(changes.dropped)} resolved to "
            f"drop, {len(changes.kept)} kept")
    lines = [head,
             *_section("New, to accept", changes.added),
             *_section("Gone (resolved or now excepted), to drop", changes.dropped)]
    return "\n".join(lines) + "\n"
