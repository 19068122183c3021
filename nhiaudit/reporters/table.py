"""Terminal view: findings grouped by integration, answering the four questions per AI access path.

Designed for 80 columns first: below WIDE_WIDTH, integrations are headed by a rule line (no panel border)
and findings outside an access path are blocks (severity and rule id, then message, identity, where);
from WIDE_WIDTH on, panels and a findings table. Rule ids never wrap; identifiers (ARNs, e-mails, key
names) wrap only at spaces, so one that fits the width is never split.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable

from rich.console import Group
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from nhiaudit.findings import Finding, FindingStatus, Severity
from nhiaudit.report import AccessPath, Report
from nhiaudit.reporters.fast_lines import FastPadding, FastTree
from nhiaudit.reporters.interface import RenderContext, Reporter
from nhiaudit.textsafe import rich_assemble, rich_text, terminal_safe

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red", Severity.HIGH: "bold red", Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan", Severity.INFO: "dim",
}
VERDICT_STYLE = {"allowed": "green", "must_not_reach": "bold red", "not_in_may_reach": "yellow",
                 "undeclared": "magenta"}
MAX_ROWS = 200
WIDE_WIDTH = 120  # from here on a findings table leaves the message column room to read
MAX_WARNING_LINES = 5  # unknown actions shown under the summary line (the JSON report lists them)


def _severity(f: Finding) -> Text:
    label = f.severity.value.upper()
    if f.status is not FindingStatus.OPEN:
        return Text(f"{label} ({f.status.value})", style="dim")
    return Text(label, style=SEVERITY_STYLE[f.severity])


def _finding_line(f: Finding, wide: bool) -> Text:
    """Severity and rule id, then the message: on one line when wide, the message below when narrow."""
    head = rich_assemble(_severity(f), " ", (f.rule_id, "dim"))
    return Text.assemble(head, " " if wide else "\n", rich_text(f.message))  # our newline, never the data's


def _path_tree(path: AccessPath, findings: list[Finding], wide: bool = True) -> Tree:
    # Every value from the estate goes through rich_assemble/rich_text: terminal-safe, never markup.
    who = rich_assemble(("who: ", "bold"), f"{path.identity_name} ", (f"[{path.provider}] {path.identity}", "dim"))
    tree = FastTree(who)  # Rich's Tree, byte for byte, without wrapping the labels that fit (fast_lines.py)
    if path.workloads:
        tree.add(rich_assemble(("runs in: ", "bold"), ", ".join(path.workloads)))
    creds = tree.add(Text("with: ", style="bold") + Text(
        "no stored credential (role / workload identity)" if not path.credentials else ""))
    for c in path.credentials:
        kind = "static" if c.get("static") else "short-lived"
        state = "" if c.get("active", True) else ", inactive"
        creds.add(rich_text(f"{c['type']} {c['id']} ({kind}, {c.get('age_days', 0)} days old{state})"))
    task = "undeclared: no integration in the policy" if path.integration is None else path.integration
    tree.add(rich_assemble(("for: ", "bold"), (task, "magenta" if path.integration is None else "")))
    reach = tree.add(Text("reaches: ", style="bold") + Text("no policy system" if not path.reachable_systems
                                                            else ""))
    for r in path.reachable_systems:
        verdict = r["verdict"]
        chain = f" via {len(r['path']) - 1}-hop chain" if r.get("via_chain") else ""
        reach.add(rich_assemble(f"{r['system']} ({r['access']}{chain}) ", (verdict, VERDICT_STYLE.get(verdict, ""))))
    if path.can_invoke_ai:
        tree.add(Text("can call AI models", style="bold magenta"))
    for f in findings:
        tree.add(_finding_line(f, wide))
    return tree


def _more(findings: list[Finding]) -> str | None:
    if len(findings) <= MAX_ROWS:
        return None
    return f"{len(findings) - MAX_ROWS} more: use --format json or --output-json for all"


def _other_findings_table(findings: list[Finding]) -> Table:
    table = Table(title="Other findings", show_lines=False, expand=True, caption=_more(findings))
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("identity", ratio=1, overflow="fold")
    table.add_column("finding", ratio=2, overflow="fold")
    for f in findings[:MAX_ROWS]:
        # add_row parses plain strings as markup: a role path such as /[/x]/ would raise MarkupError.
        table.add_row(_severity(f), rich_text(f.rule_id), rich_text(f.identity.name if f.identity else "-"),
                      rich_text(f.message))
    return table


def finding_block(f: Finding, note: str = "") -> Group:
    """One finding for a narrow terminal: severity and rule id, then message, identity, where (and a note),
    each on its own line, wrapped only at spaces. Also used by `nhiaudit diff`."""
    lines = [rich_assemble(_severity(f), "  ", (f.rule_id, "bold"))]
    details = [rich_text(f.message)]
    if f.identity is not None:  # the id on its own word: it moves to the next line whole rather than split
        name = f.identity.name if f.identity.name != f.identity.id else ""
        details.append(rich_assemble((name, "bold"), " " if name else "", (f.identity.id, "dim")))
    where = [f.identity.provider, f"account {f.identity.account}"] if f.identity else []
    if f.integration:
        where.append(f"integration {f.integration}")
    if where:
        details.append(rich_text(", ".join(where), style="dim"))
    if note:
        details.append(rich_text(note, style="italic"))
    return Group(*lines, FastPadding(Group(*details), (0, 0, 0, 2), expand=False))  # Padding, faster


def _block_and_blank_line(f: Finding) -> Group:
    return Group(finding_block(f), Text(""))


class _Deferred:
    """A renderable built when it is printed: by whichever of the two processes printing a long table
    alternately (render_text) prints it, so building is shared as printing is."""

    def __init__(self, build: Callable[..., object], *args: object) -> None:
        self._build, self._args = build, args

    def __rich__(self) -> object:
        return self._build(*self._args)


def _other_findings_blocks(findings: list[Finding]) -> list:
    parts: list = [Rule(Text("Other findings", style="bold"), align="left")]
    # A block and its blank line are one renderable: printed alternately by two processes (render_text), the
    # blocks would otherwise all fall to one of them.
    parts += [_Deferred(_block_and_blank_line, f) for f in findings[:MAX_ROWS]]
    more = _more(findings)
    if more:
        parts.append(Text(more, style="dim"))
    return parts


class TableReporter(Reporter):
    def __init__(self, width: int | None = None, color: bool | None = None) -> None:
        self._width = width
        self._color = color

    def render(self, report: Report, context: RenderContext) -> str:
        from nhiaudit.cli.console import render_text, terminal_settings

        settings = terminal_settings(sys.stdout)  # the table goes to stdout unless told otherwise
        color = settings.color if self._color is None else self._color
        width = self._width or settings.width
        # A long report's renderables are printed alternately by a forked child (render_text): a third less
        # time on the medium estate (600 renderables, 4,700 findings). The status line has stopped by now.
        text = render_text(self._renderables(report, wide=width >= WIDE_WIDTH), color=color, width=width,
                           color_system=settings.color_system, parallel=True)
        # Every value was escaped above; without colour no control character of ours is left either,
        # so escape whatever else might have slipped through.
        return text if color else terminal_safe(text, keep_newlines=True)

    def _renderables(self, report: Report, wide: bool = True) -> list:
        by_path: dict[tuple[str | None, str], list[Finding]] = defaultdict(list)
        placed: set[str] = set()
        path_keys = {(p.integration, p.identity) for p in report.access_paths}
        for f in report.findings:
            key = (f.integration, f.identity.id if f.identity else "")
            if key in path_keys:
                by_path[key].append(f)
                placed.add(f.fingerprint)
        groups: dict[str | None, list[AccessPath]] = defaultdict(list)
        for p in report.access_paths:
            groups[p.integration].append(p)
        out: list = [self._summary(report)]
        for integration, paths in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
            title = rich_text(f"integration: {integration}" if integration else "undeclared AI access (shadow AI)")
            trees = [(p, by_path.get((p.integration, p.identity), [])) for p in paths[:MAX_ROWS]]
            border = "magenta" if integration is None else "blue"
            if wide:
                out.append(Panel(Group(*(_path_tree(p, found, wide) for p, found in trees)), title=title,
                                 title_align="left", border_style=border))
            else:  # a panel's border and padding cost 4 of 80 columns: a heading rule instead
                out += [Rule(title, align="left", style=border),
                        *(_Deferred(_path_tree, p, found, wide) for p, found in trees)]
        integration_only = [f for f in report.findings if f.fingerprint not in placed]
        if integration_only:
            if wide:
                out.append(_other_findings_table(integration_only))
            else:
                out += _other_findings_blocks(integration_only)
        return out

    @staticmethod
    def _summary(report: Report) -> Text:
        s = report.summary
        text = Text.assemble(
            ("nhiaudit ", "bold"), f"as of {report.as_of}: {s.identities} identities, {s.credentials} credentials, "
            f"{s.integrations} integrations, {s.findings} findings ",
        )
        for sev in reversed(Severity):
            if s.by_severity.get(sev.value):
                text.append(f" {sev.value}={s.by_severity[sev.value]}", style=SEVERITY_STYLE[sev])
        if not report.collection.complete:
            text.append(f"\nINCOMPLETE: {len(report.collection.errors)} collection error(s); results are partial",
                        style="bold red")
            for err in report.collection.errors[:10]:
                line = terminal_safe(f"{err.provider}/{err.account} {err.operation}: {err.message}")
                text.append(f"\n  {line}", style="red")
        count = report.collection.unknown_actions
        if count:
            noun = "action" if count == 1 else "actions"
            text.append(f"\n{count} unknown IAM {noun} ignored, see --format json", style="yellow")
            for w in report.collection.warnings[:MAX_WARNING_LINES]:
                line = terminal_safe(f"{w.where}: {w.element} {w.action}")
                text.append(f"\n  {line}", style="yellow")
            if count > MAX_WARNING_LINES:
                text.append(f"\n  ... and {count - MAX_WARNING_LINES} more", style="yellow")
        return text
