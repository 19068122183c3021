"""`nhiaudit rules`: list, show, validate and test rules; list the facts rules can read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, stderr_console, stdout_console
from nhiaudit.exit_status import ExitStatus
from nhiaudit.textsafe import markup_safe, rich_text, terminal_safe

FRAMEWORK_KEYS = {"owasp-nhi": "owasp_nhi", "nist-csf": "nist_csf"}
RulesDirOpt = Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule directory (repeatable).")]


def register(app: typer.Typer) -> None:
    rules_app = typer.Typer(help="List, show, validate and test rules.", no_args_is_help=True)
    rules_app.command("list")(list_rules)
    rules_app.command("show")(show_rule)
    rules_app.command("validate")(validate_rules)
    rules_app.command("test")(test_rules)
    rules_app.command("facts")(list_facts)
    app.add_typer(rules_app, name="rules")


def framework_items(key: str) -> dict[str, str]:
    """Item id -> title from rules/data/frameworks.yaml (framework key: owasp_nhi | nist_csf)."""
    import yaml

    from nhiaudit.rules_engine.loader import shipped_rules_dir

    with (shipped_rules_dir() / "data" / "frameworks.yaml").open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return {str(k): str(v) for k, v in ((data.get(key) or {}).get("items") or {}).items()}


def _item_order(item: str) -> tuple:
    head, _, tail = item.partition("-") if "-" in item else item.partition(":")
    digits = "".join(ch for ch in (tail if "-" in item else head) if ch.isdigit())
    return (head.rstrip("0123456789") if ":" in item else head, int(digits or 0), item)


@handle_errors
def list_rules(
    rules: RulesDirOpt = None,
    framework: Annotated[str | None, typer.Option("--framework", help="Coverage per item: owasp-nhi | nist-csf")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List rules (shipped and --rules), or coverage per framework item."""
    import json

    from rich.table import Table

    from nhiaudit.errors import UsageError
    from nhiaudit.rules_engine.loader import load_rules

    loaded = load_rules(list(rules or []), include_disabled=True)
    console = stdout_console()
    if framework is None:
        ordered = sorted(loaded, key=lambda c: (c.rule.category.value, c.rule.id))
        if as_json:
            typer.echo(json.dumps([c.rule.doc() | {"subject": c.rule.subject.value, "enabled": c.rule.enabled}
                                   for c in ordered], indent=1))
            return
        table = Table("id", "category", "severity", "subject", "title", "frameworks")
        for r in ordered:
            fw = r.rule.frameworks
            # Text cells: rule files (--rules) are input, and add_row would parse plain strings as markup.
            rule_id = r.rule.id if r.rule.enabled else f"{r.rule.id} (off)"
            table.add_row(*(rich_text(c) for c in (rule_id, r.rule.category.value, r.rule.severity.value,
                                                   r.rule.subject.value, r.rule.title,
                                                   " ".join(fw.owasp_nhi + fw.nist_csf))))
        console.print(table)
        return
    key = FRAMEWORK_KEYS.get(framework)
    if key is None:
        raise UsageError(f"--framework must be one of {', '.join(FRAMEWORK_KEYS)}, got {framework!r}")
    titles = framework_items(key)
    coverage: dict[str, list[str]] = {item: [] for item in titles}
    for r in (r for r in loaded if r.rule.enabled):  # a rule that is off covers nothing
        for item in getattr(r.rule.frameworks, key):
            coverage.setdefault(item, []).append(r.rule.id)
    ordered_items = sorted(coverage, key=_item_order)
    if as_json:
        typer.echo(json.dumps([{"item": i, "title": titles.get(i, ""), "rules": sorted(coverage[i])}
                               for i in ordered_items], indent=1))
        return
    covered = sum(1 for i in ordered_items if coverage[i])
    table = Table(title=f"coverage of {framework}: {covered}/{len(ordered_items)} items have rules")
    table.add_column(framework, no_wrap=True)
    table.add_column("title", ratio=2)
    table.add_column("rules", ratio=3, overflow="fold")
    for item in ordered_items:
        title = rich_text(titles[item]) if item in titles else rich_text("unknown item", style="yellow")
        covering = ", ".join(sorted(coverage[item]))
        table.add_row(rich_text(item), title,
                      rich_text(covering) if covering else rich_text("not covered", style="red"))
    console.print(table)


@handle_errors
def show_rule(rule_id: Annotated[str, typer.Argument(help="Rule id.")], rules: RulesDirOpt = None) -> None:
    """Render a rule's documentation: what, why, how to fix, example, references, frameworks."""
    from rich.markdown import Markdown

    from nhiaudit.errors import UsageError
    from nhiaudit.rules_engine.docs import rule_markdown
    from nhiaudit.rules_engine.loader import load_rules

    by_id = {r.rule.id: r.rule for r in load_rules(list(rules or []), include_disabled=True)}
    if rule_id not in by_id:
        raise UsageError(f"no rule {rule_id!r}; `nhiaudit rules list` shows them")
    stdout_console().print(Markdown(terminal_safe(rule_markdown(by_id[rule_id]), keep_newlines=True)))


@handle_errors
def validate_rules(directory: Annotated[Path, typer.Argument(help="Directory of rule YAML files.")]) -> None:
    """Check rule files: schema, CEL compiles, referenced facts exist; and the data files of DIR/data/
    (privilege_escalation.yaml, ai_capability.yaml) when present: every action known to the installed action
    catalogue. Errors as file:line:col."""
    from nhiaudit.errors import InputError
    from nhiaudit.facts.data_check import data_problems
    from nhiaudit.permissions.catalogue import default_catalogue
    from nhiaudit.rules_engine.loader import load_rules

    problems, loaded = [], []
    try:
        loaded = load_rules([directory], include_shipped=False, include_disabled=True)
    except InputError as exc:
        problems.extend(exc.problems)
    if directory.is_dir():
        problems.extend(data_problems(directory, default_catalogue()))
    if problems:
        raise InputError(problems)
    stderr_console().print(f"{markup_safe(directory)}: ok ({len(loaded)} rules)")


@handle_errors
def test_rules(directory: Annotated[Path | None, typer.Argument(help="Rule directory (default: shipped).")]
               = None) -> None:
    """Run each rule's own pass/fail test cases."""
    from nhiaudit.rules_engine.cases import run_rule_cases
    from nhiaudit.rules_engine.loader import load_rules

    loaded = (load_rules([directory], include_shipped=False, include_disabled=True) if directory
              else load_rules(include_disabled=True))
    console = stdout_console()
    passed = failed = 0
    for compiled in loaded:
        for result in run_rule_cases(compiled):
            if result.ok:
                passed += 1
            else:
                failed += 1
                console.print(f"[red]FAIL[/red] {markup_safe(result.rule_id)} / {markup_safe(result.case)}: "
                              f"{markup_safe(result.detail)}")
    console.print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(ExitStatus.FINDINGS)


@handle_errors
def list_facts(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the Markdown tables of docs/rules.md.")]
    = False,
) -> None:
    """The facts each rule subject exposes (what `subject.*` can read)."""
    from rich.table import Table

    from nhiaudit.facts.schema import FACTS

    if markdown:
        from nhiaudit.facts.docs import facts_markdown

        typer.echo(facts_markdown(), nl=False)
        return
    console = stdout_console()
    for kind, facts in FACTS.items():
        table = Table("fact", "default", "description", title=f"subject: {kind.value}")
        for name, (default, description) in facts.items():
            table.add_row(rich_text(f"subject.{name}"), rich_text(repr(default)), rich_text(description))
        console.print(table)
