"""`nhiaudit rules ...` through the real CLI: validate and test a custom rule directory, framework
coverage, rule documentation, the fact reference; and the custom rule example of docs/rules.md works."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scan_support import DEMO_ARGS, run_cli

from nhiaudit.facts.docs import facts_markdown

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "rules.md"
DEMO = DEMO_ARGS
run = run_cli


def doc_example() -> str:
    """The custom rule of docs/rules.md ("A custom rule, end to end")."""
    section = DOC.read_text(encoding="utf-8").split("## A custom rule, end to end", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_docs_example_validates_tests_and_scans(tmp_path):
    rules = tmp_path / "my-rules"
    write(rules, "ai-owner.yaml", doc_example())
    result = run("rules", "validate", str(rules))
    assert result.exit_code == 0 and "ok (1 rules)" in result.output
    result = run("rules", "test", str(rules))
    assert result.exit_code == 0 and "2 passed, 0 failed" in result.stdout
    report = json.loads(run("scan", *DEMO, "--rules", str(rules), "--format", "json", "--fail-on", "none").stdout)
    hits = {f["identity"]["name"] for f in report["findings"] if f["rule_id"] == "ai-identity-without-owner"}
    assert {"batch-scorer", "marketing-gpt"} <= hits


def test_validate_reports_every_problem_with_file_and_line(tmp_path):
    rules = tmp_path / "rules"
    typo = write(rules, "typo.yaml", doc_example().replace("subject.owner ==", "subject.ownr =="))
    broken = write(rules, "broken.yaml", doc_example().replace("id: ai-identity-without-owner", "id: other")
                   .replace('when: subject.can_invoke_ai && subject.owner == "" && !subject.declared',
                            "when: subject.can_invoke_ai &&"))
    bad_category = write(rules, "category.yaml", doc_example().replace("id: ai-identity-without-owner", "id: third")
                         .replace("category: undeclared-ai-identity", "category: shadow-it"))
    result = run("rules", "validate", str(rules))
    assert result.exit_code == 2
    err = result.output
    assert f"{typo}:6:1: when: unknown fact subject.ownr for subject 'identity'" in err
    assert f"{broken}:6:1: when: CEL does not compile" in err
    assert f"{bad_category}:3:1: category:" in err


def test_rules_test_fails_on_a_wrong_expectation(tmp_path):
    rules = tmp_path / "rules"
    write(rules, "wrong.yaml", doc_example().replace("owner: ml@acme.example}", 'owner: ""}'))
    result = run("rules", "test", str(rules))
    assert result.exit_code == 1
    assert "FAIL ai-identity-without-owner / owned" in result.stdout and "1 failed" in result.stdout


def test_shipped_rules_all_pass_their_cases():
    result = run("rules", "test")
    assert result.exit_code == 0 and ", 0 failed" in result.stdout


def test_framework_coverage_lists_every_owasp_item_with_rules():
    result = run("rules", "list", "--framework", "owasp-nhi", "--format", "json")
    assert result.exit_code == 0
    items = {i["item"]: i for i in json.loads(result.stdout)}
    assert list(items) == [f"NHI{n}:2025" for n in range(1, 11)]
    assert all(i["rules"] for i in items.values())
    assert items["NHI10:2025"]["title"] == "Human Use of NHI"
    table = run("rules", "list", "--framework", "owasp-nhi").stdout
    assert "10/10 items have rules" in table and "Environment Isolation" in table
    csf = {i["item"]: i["rules"]
           for i in json.loads(run("rules", "list", "--framework", "nist-csf", "--format", "json").stdout)}
    assert csf["PR.AA-05"] and csf["PR.AA-01"] and not any(k.startswith("PR.AC") for k in csf)
    assert run("rules", "list", "--framework", "iso").exit_code == 2


def test_show_renders_what_why_fix_example_references_frameworks():
    out = run("rules", "show", "privesc-single-step").stdout
    for heading in ("What it does", "Why is this bad", "How to fix", "Example", "References", "Frameworks"):
        assert heading in out
    assert "aws iam put-role-permissions-boundary" in out and "NHI5:2025" in out and "PR.AA-05" in out
    assert run("rules", "show", "no-such-rule").exit_code == 2


def test_facts_markdown_is_the_generated_reference():
    result = run("rules", "facts", "--format", "markdown")
    assert result.exit_code == 0 and result.stdout == facts_markdown()
    assert "`subject.escalation_path`" in result.stdout and "`subject.external_trusts`" in result.stdout
