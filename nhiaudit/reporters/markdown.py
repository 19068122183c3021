"""Markdown summary for pull-request comments and $GITHUB_STEP_SUMMARY.

Counts by severity, then the new (open) findings, one table row each: integration, identity,
what is wrong, how to fix. Baselined and excepted findings follow, folded. The output stays under
`context.markdown_max_bytes` (GitHub's step summary takes at most 1 MiB per step).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from nhiaudit.findings import Category, Finding, FindingStatus, Severity
from nhiaudit.report import Report
from nhiaudit.reporters.interface import RenderContext, Reporter, RuleDoc, rule_docs
from nhiaudit.textsafe import md_code, md_text, utf8_safe

MAX_CELL_CHARS = 400
_SEVERITIES = sorted(Severity, key=lambda s: -s.rank)


class MarkdownReporter(Reporter):
    def render(self, report: Report, context: RenderContext) -> str:
        return render_markdown(report, context)


def esc(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """One line of plain text, safe inside a table cell (no HTML, no markup, no link, no pipes)."""
    return md_text(text, limit)


def code(text: str, table: bool = True) -> str:
    """A code span on one line (pipes escaped for a table cell unless `table=False`)."""
    return md_code(text, table=table)


def sort_key(finding: Finding) -> tuple:
    ident = finding.identity.id if finding.identity else ""
    return (-finding.severity.rank, finding.integration or "", ident, finding.rule_id, finding.fingerprint)


@dataclass
class _Budget:
    remaining: int

    def take(self, line: str) -> bool:
        size = len(line.encode()) + 1
        if size > self.remaining:
            return False
        self.remaining -= size
        return True


def render_markdown(report: Report, context: RenderContext) -> str:
    docs = rule_docs(report, context)
    by_status: dict[FindingStatus, list[Finding]] = {s: [] for s in FindingStatus}
    for finding in report.findings:
        by_status[finding.status].append(finding)
    for items in by_status.values():
        items.sort(key=sort_key)

    lines = _header(report, context, by_status)
    # Reserve room for the truncation note and closing tags so the result never exceeds the budget.
    budget = _Budget(context.markdown_max_bytes - sum(len(x.encode()) + 1 for x in lines) - 400)
    omitted = 0
    new_title = "New findings" if context.baseline is not None else "Open findings"
    sections = [
        (new_title, False, by_status[FindingStatus.OPEN], _finding_row),
        ("Baselined findings", True, by_status[FindingStatus.BASELINED], _finding_row),
        ("Excepted findings", True, by_status[FindingStatus.EXCEPTED], _excepted_row),
    ]
    for title, folded, findings, row in sections:
        if not findings:
            continue
        head = ["", f"### {title} ({len(findings)})", ""]
        if folded:
            head = ["", f"<details><summary><b>{title} ({len(findings)})</b></summary>", ""]
        head += _table_head(row is _excepted_row)
        tail = ["", "</details>"] if folded else []
        if omitted or not all(budget.take(x) for x in head + tail):
            omitted += len(findings)
            continue
        lines += head
        for i, finding in enumerate(findings):
            text = row(finding, docs)
            if not budget.take(text):
                omitted += len(findings) - i
                break
            lines.append(text)
        lines += tail
    if omitted:
        lines += ["", f"_{omitted} more findings not shown: the summary is truncated to stay under "
                  f"{context.markdown_max_bytes:,} bytes (GitHub's step-summary limit is 1 MiB). "
                  "The JSON and SARIF reports have every finding._"]
        limit = context.markdown_max_bytes
        context.warn(f"Markdown: {omitted} findings left out (size limit {limit:,} bytes)")
    return utf8_safe("\n".join(lines) + "\n")


_ByStatus = dict[FindingStatus, list[Finding]]


def _header(report: Report, context: RenderContext, by_status: _ByStatus) -> list[str]:
    open_count = len(by_status[FindingStatus.OPEN])
    word = "new" if context.baseline is not None else "open"
    noun = "finding" if open_count == 1 else "findings"
    title = f"## nhiaudit: {open_count} {word} {noun}" if open_count else f"## nhiaudit: no {word} findings"
    facts = [f"as of **{report.as_of.isoformat()}**"]
    if report.policy_file:
        facts.append(f"policy {code(Path(report.policy_file).name, table=False)}")
    summary = report.summary
    facts.append(f"{summary.identities} identities, {summary.integrations} integrations")
    if context.baseline is not None:
        facts.append(f"compared with baseline {code(context.baseline.name, table=False)}")
    lines = [title, "", " · ".join(facts), ""]
    if not report.collection.complete or report.collection.errors:
        lines += ["> [!WARNING]", "> Collection incomplete: the results are partial."]
        lines += [
            f"> - {esc(f'{issue.provider} {issue.account}: {issue.operation}: {issue.message}', 300)}"
            for issue in report.collection.errors[:20]
        ]
        if len(report.collection.errors) > 20:
            lines.append(f"> - … and {len(report.collection.errors) - 20} more")
        lines.append("")
    lines += _unknown_actions(report)
    counts = Counter((f.severity, f.status) for f in report.findings)
    statuses = list(FindingStatus)
    lines += [
        "| Severity | " + " | ".join(s.capitalize() for s in statuses) + " |",
        "|---|" + "---:|" * len(statuses),
    ]
    for severity in _SEVERITIES:
        cells = [str(counts[(severity, s)]) for s in statuses]
        lines.append(f"| {severity} | " + " | ".join(cells) + " |")
    totals = [str(len(by_status[s])) for s in statuses]
    lines.append("| **total** | " + " | ".join(f"**{t}**" for t in totals) + " |")
    return lines


def _unknown_actions(report: Report) -> list[str]:
    """A note naming the first unknown IAM actions (they grant no access level; the JSON report lists them)."""
    count = report.collection.unknown_actions
    if not count:
        return []
    noun = "action" if count == 1 else "actions"
    lines = ["> [!NOTE]", f"> {count} unknown IAM {noun} ignored (they grant no access level):"]
    lines += [f"> - {code(w.action, table=False)} in {esc(w.where, 300)}" for w in report.collection.warnings[:10]]
    if count > 10:
        lines.append(f"> - … and {count - 10} more (JSON report: `collection.warnings`)")
    return [*lines, ""]


def _table_head(excepted: bool) -> list[str]:
    if excepted:
        return ["| Severity | Rule | Integration | Identity | Excepted because |", "|---|---|---|---|---|"]
    return [
        "| Severity | Rule | Integration | Identity | What is wrong | How to fix |",
        "|---|---|---|---|---|---|",
    ]


def _severity_cell(severity: Severity) -> str:
    return f"**{severity}**" if severity.rank >= Severity.HIGH.rank else str(severity)


def _identity_cell(finding: Finding) -> str:
    if finding.identity is None:
        return code(finding.policy_location.entry) if finding.policy_location else "—"
    ident = finding.identity
    # Object ids and emails do not say what the identity is: show its name too.
    cell = code(ident.id) if ident.name in ident.id else f"{esc(ident.name, 80)} {code(ident.id)}"
    if finding.credential_id:
        cell += f" key {code(finding.credential_id)}"
    return cell


def _integration_cell(finding: Finding) -> str:
    if finding.integration:
        return esc(finding.integration)
    return "_undeclared_" if finding.category == Category.UNDECLARED_AI_IDENTITY else "—"


def _fix(finding: Finding, doc: RuleDoc | None) -> str:
    text = (finding.remediation or "").strip()
    full = doc.remediation.strip() if doc else ""
    if full and (not text or full.startswith(text)):
        text = full  # the finding carries a cut-down copy of the rule's text: use the whole paragraph
    first = text.split("\n\n", 1)[0]  # the first paragraph, on one line
    return esc(first) if first else "—"


def _finding_row(finding: Finding, docs: dict[str, RuleDoc]) -> str:
    cells = [
        _severity_cell(finding.severity),
        code(finding.rule_id),
        _integration_cell(finding),
        _identity_cell(finding),
        esc(finding.message),
        _fix(finding, docs.get(finding.rule_id)),
    ]
    return "| " + " | ".join(cells) + " |"


def _excepted_row(finding: Finding, docs: dict[str, RuleDoc]) -> str:
    cells = [
        _severity_cell(finding.severity),
        code(finding.rule_id),
        _integration_cell(finding),
        _identity_cell(finding),
        esc(finding.status_reason or "excepted in the written policy"),
    ]
    return "| " + " | ".join(cells) + " |"
