"""Markdown summary: counts, new findings first, one row each, safe escaping, size limit."""

from __future__ import annotations

import re
from pathlib import Path

import report_factory as rf

from nhiaudit.findings import Category, FindingStatus, Severity
from nhiaudit.reporters import OutputFormat, RenderContext, get_reporter
from nhiaudit.reporters.markdown import esc


def render(report, **kwargs) -> str:
    return get_reporter(OutputFormat.MARKDOWN).render(report, RenderContext(**kwargs))


def test_counts_by_severity_and_status():
    text = render(rf.demo_report())
    assert text.startswith("## nhiaudit: 4 open findings\n")
    lines = text.splitlines()
    assert "| Severity | Open | Excepted | Baselined |" in lines
    assert "| critical | 1 | 0 | 0 |" in lines
    assert "| high | 1 | 0 | 0 |" in lines
    assert "| low | 0 | 1 | 0 |" in lines
    assert "| info | 1 | 0 | 0 |" in lines
    assert "| **total** | **4** | **1** | **0** |" in lines


def test_open_findings_first_one_row_each_with_integration_identity_problem_and_fix():
    text = render(rf.demo_report())
    open_at = text.index("### Open findings (4)")
    excepted_at = text.index("Excepted findings (1)")
    assert open_at < excepted_at
    rows = [line for line in text[open_at:excepted_at].splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 4
    assert rows[0].startswith("| **critical** | `scope-drift` | support-copilot |")  # most severe first
    high = rows[1]
    assert f"`arn:aws:iam::{rf.ACCOUNT}:role/support-copilot` key `AKIAEXAMPLE1`" in high
    assert "support-copilot: long-lived-credential violated" in high
    assert high.endswith("| Rotate the key. |")
    assert "| _undeclared_ |" in rows[2]
    assert rows[3].startswith("| info | `stale-policy` | ghost-agent | `integration:ghost-agent` |")
    assert "SMTP appliance; expires 2027-03-31 (it-ops)" in text[excepted_at:]
    assert "<details>" in text and text.count("<details>") == text.count("</details>")


def test_fix_falls_back_to_the_rule_doc_first_paragraph():
    report = rf.report([rf.finding("no-remediation")])
    row = next(line for line in render(report).splitlines() if "`no-remediation`" in line)
    assert row.endswith("| Rotate the key. |")  # from the rule doc, without its code block
    assert "update-access-key" not in row


def test_with_a_baseline_the_wording_is_new_and_baselined_are_folded():
    report = rf.report([
        rf.finding("a", "x"),
        rf.finding("b", "y", status=FindingStatus.BASELINED),
        rf.finding("c", "z", status=FindingStatus.BASELINED),
    ])
    text = render(report, baseline=Path("base.json"))
    assert text.startswith("## nhiaudit: 1 new finding\n")
    assert "compared with baseline `base.json`" in text
    assert text.index("### New findings (1)") < text.index("<summary><b>Baselined findings (2)</b></summary>")


def test_no_findings():
    text = render(rf.report([]))
    assert text.startswith("## nhiaudit: no open findings\n")
    assert "###" not in text


def test_user_content_cannot_inject_markup_or_break_the_table():
    evil = "<img src=x onerror=alert(1)> | **bold** [link](http://x) `tick`\nnext line"
    report = rf.report([rf.finding(message=evil, integration="a|b")])
    text = render(report)
    row = next(line for line in text.splitlines() if "onerror" in line)
    cells = re.split(r"(?<!\\)\|", row)
    assert len(cells) == 6 + 2  # six cells: no pipe from user content splits the row
    assert cells[3].strip() == "a\\|b"
    message = cells[5]
    assert "\\<img" in message and re.search(r"(?<!\\)[<>*\[\]`]", message) is None
    assert "\n" not in esc(evil)
    assert esc("a|b") == "a\\|b"


def test_collection_errors_are_flagged():
    from nhiaudit.inventory.model import CollectionIssue, Provider

    report = rf.report([])
    report.collection.complete = False
    report.collection.errors.append(
        CollectionIssue(provider=Provider.AWS, account="1", operation="iam:ListRoles", message="denied")
    )
    text = render(report)
    assert "> [!WARNING]" in text and "iam:ListRoles: denied" in text


def test_truncated_to_the_byte_budget_with_a_note():
    findings = [rf.finding("r", f"identity-{i:05d}", severity=Severity.MEDIUM, category=Category.SCOPE_DRIFT,
                           message="x" * 300) for i in range(400)]
    findings += [rf.finding("r", f"base-{i}", status=FindingStatus.BASELINED) for i in range(50)]
    context = RenderContext(markdown_max_bytes=20_000)
    text = get_reporter("markdown").render(rf.report(findings), context)
    assert len(text.encode()) <= 20_000
    assert "more findings not shown" in text
    shown = sum(1 for line in text.splitlines() if "role/identity-" in line)
    assert 10 < shown < 400
    assert f"{400 - shown + 50} more findings not shown" in text
    assert context.warnings and "left out" in context.warnings[0]
    assert text.count("<details>") == text.count("</details>")


def test_default_budget_fits_github_step_summary():
    findings = [rf.finding("r", f"identity-{i:05d}", message="y" * 350) for i in range(4000)]
    text = render(rf.report(findings))
    assert len(text.encode()) < 1024 * 1024
    assert "more findings not shown" in text


def test_a_cut_down_remediation_is_completed_from_the_rule_doc_and_names_accompany_opaque_ids():
    hop = "Remove the permission at the hop."
    doc = rf.rule_doc("r", Category.SCOPE_DRIFT, Severity.HIGH,
                      remediation=f"{hop}\nFor a chain, remove the trust.\n\nMore.")
    ident = rf.identity("x").model_copy(update={"id": "0b7e5a52-6d1f", "name": "hr-assistant"})
    finding = rf.finding("r").model_copy(update={"identity": ident, "remediation": hop})
    row = next(line for line in render(rf.report([finding], rules=[doc])).splitlines() if "`r`" in line)
    assert row.endswith("| Remove the permission at the hop. For a chain, remove the trust. |")
    assert "| hr-assistant `0b7e5a52-6d1f` |" in row
    own = rf.finding("r").model_copy(update={"remediation": "Something specific to this finding."})
    row = next(line for line in render(rf.report([own], rules=[doc])).splitlines() if "`r`" in line)
    assert row.endswith("| Something specific to this finding. |")
