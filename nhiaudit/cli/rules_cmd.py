"""`nhiaudit rules`: list, show, validate and test rules; list the facts rules can read."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nhiaudit.cli.common import handle_errors, stderr_console, stdout_console, write_output
from nhiaudit.cli.options import RulesDirOpt, deprecated_flag
from nhiaudit.exit_status import ExitStatus
from nhiaudit.textsafe import markup_safe, rich_text, terminal_safe

if TYPE_CHECKING:
    from rich.table import Table

FRAMEWORK_KEYS = {"owasp-nhi": "owasp_nhi", "nist-csf": "nist_csf"}
FILE_WIDTH = 120  # a table written to --output: as wide as the widest layout needs


class RulesFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


FormatOpt = Annotated[RulesFormat, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write here, not stdout.")]


def _print_rich(render: Any, output: Path | None) -> None:
    """`render(console)` prints to the terminal, or as plain text into --output."""
    if output is None:
        render(stdout_console())
        return
    import io

    from nhiaudit.cli.console import buffer_console

    buffer = io.StringIO()
    render(buffer_console(buffer, color=False, width=FILE_WIDTH))
    write_output(buffer.getvalue(), output)


def _markdown_table(header: list[str], rows: list[list[str]], code_columns: int = 1) -> str:
    """A GFM table; the first `code_columns` cells of a row are code spans (ids), the others plain text.
    Rule files given with --rules are input like any other: every cell is escaped."""
    from nhiaudit.textsafe import md_code, md_text

    lines = ["| " + " | ".join(md_text(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_code(c) if i < code_columns else md_text(c) for i, c in enumerate(row)) + " |"
              for row in rows]
    return "\n".join(lines) + "\n"


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


WIDE_RULES_TABLE = 120  # from here on: subject and frameworks columns fit beside the title


def _rules_table(ordered: list, width: int) -> Table:
    """Rule ids whole at any width: the id column never wraps or truncates; the title column gives way.
    One heading row per category (the rules come sorted by it); wide adds subject and frameworks."""
    from rich import box
    from rich.table import Table

    wide = width >= WIDE_RULES_TABLE
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("id", no_wrap=True, overflow="fold")
    table.add_column("severity", no_wrap=True)
    if wide:
        table.add_column("subject", no_wrap=True)
    table.add_column("title", ratio=2)
    if wide:
        table.add_column("frameworks", ratio=1)
    category = None
    for r in ordered:
        if r.rule.category.value != category:
            category = r.rule.category.value
            table.add_row(rich_text(category, style="bold"))
        # Text cells: rule files (--rules) are input, and add_row would parse plain strings as markup.
        rule_id = r.rule.id if r.rule.enabled else f"{r.rule.id} (off)"
        fw = r.rule.frameworks
        cells = [f"  {rule_id}", r.rule.severity.value, *([r.rule.subject.value] if wide else []), r.rule.title,
                 *([" ".join(fw.owasp_nhi + fw.nist_csf)] if wide else [])]
        table.add_row(*(rich_text(c) for c in cells))
    return table


@handle_errors
def list_rules(
    rules: RulesDirOpt = None,
    framework: Annotated[str | None, typer.Option("--framework", metavar="owasp-nhi|nist-csf",
                                                  help="Coverage per framework item.")] = None,
    fmt: FormatOpt = RulesFormat.TABLE,
    output: OutputOpt = None,
    as_json: Annotated[bool, typer.Option("--json", hidden=True, help="Deprecated: --format json.")] = False,
) -> None:
    """List rules (shipped and --rules), or coverage per framework item."""
    import json

    from rich.table import Table

    from nhiaudit.errors import UsageError
    from nhiaudit.rules_engine.loader import load_rules

    if as_json:
        deprecated_flag("--json", "--format json")
        fmt = RulesFormat.JSON
    loaded = load_rules(list(rules or []), include_disabled=True)
    if framework is None:
        ordered = sorted(loaded, key=lambda c: (c.rule.category.value, c.rule.id))
        if fmt is RulesFormat.JSON:
            write_output(json.dumps([c.rule.doc() | {"subject": c.rule.subject.value, "enabled": c.rule.enabled}
                                     for c in ordered], indent=1), output)
        elif fmt is RulesFormat.MARKDOWN:
            write_output(_markdown_table(
                ["rule", "category", "severity", "subject", "frameworks", "title"],
                [[c.rule.id, c.rule.category.value, c.rule.severity.value, c.rule.subject.value,
                  " ".join(c.rule.frameworks.owasp_nhi + c.rule.frameworks.nist_csf),
                  c.rule.title + ("" if c.rule.enabled else " (off by default)")] for c in ordered]), output)
        else:
            _print_rich(lambda console: console.print(_rules_table(ordered, console.width)), output)
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
    if fmt is RulesFormat.JSON:
        write_output(json.dumps([{"item": i, "title": titles.get(i, ""), "rules": sorted(coverage[i])}
                                 for i in ordered_items], indent=1), output)
        return
    if fmt is RulesFormat.MARKDOWN:
        write_output(_markdown_table([framework, "title", "rules"],
                                     [[i, titles.get(i, "unknown item"), ", ".join(sorted(coverage[i])) or
                                       "not covered"] for i in ordered_items]), output)
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
    _print_rich(lambda console: console.print(table), output)


@handle_errors
def show_rule(rule_id: Annotated[str, typer.Argument(metavar="ID", help="Rule id.")], rules: RulesDirOpt = None,
              fmt: FormatOpt = RulesFormat.TABLE, output: OutputOpt = None) -> None:
    """Render a rule's documentation: what, why, how to fix, example, references, frameworks.

    --format markdown prints the Markdown source, json the rule's metadata as reports carry it."""
    import json

    from rich.markdown import Markdown

    from nhiaudit.errors import UsageError
    from nhiaudit.rules_engine.docs import rule_markdown
    from nhiaudit.rules_engine.loader import load_rules
    from nhiaudit.rules_engine.selection import did_you_mean

    by_id = {r.rule.id: r.rule for r in load_rules(list(rules or []), include_disabled=True)}
    if rule_id not in by_id:
        raise UsageError(f"no rule {rule_id!r}{did_you_mean(rule_id, by_id)} (`nhiaudit rules list` shows them)")
    rule = by_id[rule_id]
    if fmt is RulesFormat.JSON:
        write_output(json.dumps(rule.doc() | {"subject": rule.subject.value, "enabled": rule.enabled}, indent=1),
                     output)
    elif fmt is RulesFormat.MARKDOWN:
        write_output(rule_markdown(rule), output)
    else:
        text = Markdown(terminal_safe(rule_markdown(rule), keep_newlines=True))
        _print_rich(lambda console: console.print(text), output)


@handle_errors
def validate_rules(directory: Annotated[Path, typer.Argument(metavar="DIR",
                                                             help="Directory of rule YAML files.")]) -> None:
    """Check rule files: schema, CEL compiles, referenced facts exist; and the data files of DIR/data/
    (privilege_escalation.yaml, ai_capability.yaml) when present: every action known to the installed action
    catalogue. Errors as file:line:col. Overrides (`id:` with `enabled:` / `severity:`) are checked against
    the shipped rules."""
    from nhiaudit.errors import InputError
    from nhiaudit.facts.data_check import data_problems
    from nhiaudit.permissions.catalogue import default_catalogue
    from nhiaudit.rules_engine.loader import load_rules

    problems, loaded = [], []
    try:
        loaded = _rules_of(directory, load_rules([directory], include_disabled=True))
    except InputError as exc:
        problems.extend(exc.problems)
    if directory.is_dir():
        problems.extend(data_problems(directory, default_catalogue()))
    if problems:
        raise InputError(problems)
    stderr_console().print(f"{markup_safe(directory)}: ok ({len(loaded)} rules)")


@handle_errors
def test_rules(directory: Annotated[Path | None, typer.Argument(metavar="DIR",
                                                                 help="Rule directory (default: shipped).")]
               = None) -> None:
    """Run each rule's own pass/fail test cases."""
    from nhiaudit.rules_engine.cases import run_rule_cases
    from nhiaudit.rules_engine.loader import load_rules

    loaded = (_rules_of(directory, load_rules([directory], include_disabled=True)) if directory
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


def _rules_of(directory: Path, loaded: list[Any]) -> list[Any]:
    """The rules whose file is in `directory` (loaded with the shipped ones, so its overrides apply)."""
    import os

    where = os.path.realpath(directory)
    return [r for r in loaded if os.path.dirname(os.path.realpath(r.rule.source_file)) == where]


@handle_errors
def list_facts(
    fmt: FormatOpt = RulesFormat.TABLE,
    output: OutputOpt = None,
    markdown: Annotated[bool, typer.Option("--markdown", hidden=True, help="Deprecated: --format markdown.")]
    = False,
) -> None:
    """The facts each rule subject exposes (what `subject.*` can read). --format markdown prints the tables
    of docs/rules.md."""
    import json

    from rich.table import Table

    from nhiaudit.facts.schema import FACTS

    if markdown:
        deprecated_flag("--markdown", "--format markdown")
        fmt = RulesFormat.MARKDOWN
    if fmt is RulesFormat.MARKDOWN:
        from nhiaudit.facts.docs import facts_markdown

        write_output(facts_markdown(), output)
        return
    if fmt is RulesFormat.JSON:
        write_output(json.dumps({kind.value: {f"subject.{name}": {"default": default, "description": text}
                                              for name, (default, text) in facts.items()}
                                 for kind, facts in FACTS.items()}, indent=1, default=str), output)
        return
    tables = []
    for kind, facts in FACTS.items():
        table = Table("fact", "default", "description", title=f"subject: {kind.value}")
        for name, (default, description) in facts.items():
            table.add_row(rich_text(f"subject.{name}"), rich_text(repr(default)), rich_text(description))
        tables.append(table)

    def render(console: Any) -> None:
        for table in tables:
            console.print(table)

    _print_rich(render, output)
