"""SARIF: schema-valid, accepted by GitHub's ingestion rules, stable fingerprints, suppressions, caps."""

from __future__ import annotations

import json
from pathlib import Path

import report_factory as rf
import sarif_checks

from nhiaudit.findings import Category, FindingStatus, Severity
from nhiaudit.reporters import OutputFormat, RenderContext, get_reporter
from nhiaudit.reporters.interface import GITHUB_MAX_RESULTS_PER_RUN
from nhiaudit.reporters.sarif import SECURITY_SEVERITY, build_sarif


def render(report, tmp_path: Path, **kwargs) -> dict:
    kwargs.setdefault("sarif_root", tmp_path)
    text = get_reporter(OutputFormat.SARIF).render(report, RenderContext(**kwargs))
    return json.loads(text)


def results(sarif: dict) -> list[dict]:
    return sarif["runs"][0]["results"]


def first_uri(sarif: dict) -> str:
    return results(sarif)[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_demo_report_is_valid_sarif_and_github_accepts_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sarif = render(rf.demo_report(), tmp_path)
    assert sarif_checks.schema_errors(sarif) == []
    assert sarif_checks.github_problems(sarif) == []
    assert len(results(sarif)) == 5


def test_the_schema_check_can_fail():
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"message": {}}]}]}
    assert sarif_checks.schema_errors(broken)
    assert sarif_checks.github_problems(broken)


def test_physical_location_is_the_policy_line_relative_to_the_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    policy = tmp_path / "security" / "ai policy.yaml"
    report = rf.report([rf.finding(line=7, policy_file=str(policy))])
    loc = results(render(report, tmp_path))[0]["locations"][0]
    assert loc["physicalLocation"] == {
        "artifactLocation": {"uri": "security/ai%20policy.yaml"},
        "region": {"startLine": 7},
    }
    assert loc["logicalLocations"] == [
        {"name": "support-copilot", "fullyQualifiedName": f"arn:aws:iam::{rf.ACCOUNT}:role/support-copilot",
         "kind": "resource"}
    ]


def test_relative_policy_paths_resolve_from_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo" / "sub")
    report = rf.report([rf.finding(policy_file="policy.yaml")])
    sarif = render(report, tmp_path, sarif_root=tmp_path / "repo")
    assert first_uri(sarif) == "sub/policy.yaml"


def test_default_root_is_the_git_work_tree(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    report = rf.report([rf.finding(policy_file=str(tmp_path / "policy.yaml"))])
    sarif = json.loads(get_reporter("sarif").render(report, RenderContext()))
    assert first_uri(sarif) == "policy.yaml"


def test_policy_outside_the_root_warns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "root").mkdir()
    context = RenderContext(sarif_root=tmp_path / "root")
    sarif = build_sarif(rf.report([rf.finding(policy_file=str(tmp_path / "policy.yaml"))]), context)
    assert first_uri(sarif) == "../policy.yaml"
    assert any("outside the SARIF root" in w for w in context.warnings)


def test_findings_without_a_policy_line_point_at_line_1_of_the_policy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = rf.report([rf.finding("undeclared-ai-identity", "shadow-bot", integration=None, line=None)])
    physical = results(render(report, tmp_path))[0]["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "policy.yaml"}, "region": {"startLine": 1}}


def test_without_any_policy_the_fallback_artifact_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = rf.report([rf.finding(line=None)], policy_file=None)
    sarif = render(report, tmp_path, fallback_artifact=tmp_path / "snapshots" / "estate.json")
    physical = results(sarif)[0]["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "snapshots/estate.json"}, "region": {"startLine": 1}}
    assert sarif_checks.github_problems(sarif) == []


def test_fingerprints_are_identical_across_renders_and_ignore_policy_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def fingerprints(shift: int) -> dict[tuple[str, str], str]:
        report = rf.report([
            rf.finding("long-lived-credential", "a", line=10 + shift, credential_id="AKIA1"),
            rf.finding("scope-drift", "a", line=12 + shift, category=Category.SCOPE_DRIFT),
            rf.finding("scope-drift", "b", line=20 + shift, category=Category.SCOPE_DRIFT),
        ])
        sarif = render(report, tmp_path)
        return {
            (r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]):
                r["partialFingerprints"]["primaryLocationLineHash"]
            for r in results(sarif)
        }

    first, second, moved = fingerprints(0), fingerprints(0), fingerprints(5)
    assert first == second == moved
    assert len(set(first.values())) == 3  # distinct per rule + identity


def test_two_renders_are_byte_identical(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = rf.demo_report()
    reporter = get_reporter(OutputFormat.SARIF)
    assert reporter.render(report, RenderContext(sarif_root=tmp_path)) == reporter.render(
        report, RenderContext(sarif_root=tmp_path)
    )


def test_rules_carry_help_tags_and_security_severity_in_github_bands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sarif = render(rf.demo_report(), tmp_path)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {
        "long-lived-credential", "scope-drift", "undeclared-ai-identity", "unused-credential", "stale-policy"
    }
    for rule_id, severity in (("scope-drift", "critical"), ("long-lived-credential", "high"),
                              ("undeclared-ai-identity", "medium"), ("unused-credential", "low"),
                              ("stale-policy", "info")):
        rule = rules[rule_id]
        low, high = sarif_checks.BANDS[severity]
        assert low <= float(rule["properties"]["security-severity"]) <= high, rule_id
        assert rule["properties"]["tags"][0] == "security"
        assert {"NHI7:2025", "PR.AA-01"} <= set(rule["properties"]["tags"])
        help_md = rule["help"]["markdown"]
        assert "How to fix" in help_md and "aws iam update-access-key" in help_md
        assert "OWASP Non-Human Identities Top 10 (2025): NHI7:2025" in rule["help"]["text"]
        assert rule["helpUri"].startswith("https://")
    assert rules["scope-drift"]["defaultConfiguration"]["level"] == "error"
    assert rules["undeclared-ai-identity"]["defaultConfiguration"]["level"] == "warning"
    assert rules["stale-policy"]["defaultConfiguration"]["level"] == "note"
    assert set(SECURITY_SEVERITY) == set(Severity)


def test_rule_docs_from_the_context_override_the_report_and_undocumented_rules_get_a_stub(tmp_path):
    report = rf.report([rf.finding("custom-rule"), rf.finding("other")], rules=[])
    context = RenderContext(sarif_root=tmp_path, rules={
        "custom-rule": rf.rule_doc("custom-rule", Category.RISKY_TRUST, Severity.CRITICAL,
                                   help_uri="https://example.org/custom",
                                   frameworks={"owasp_nhi": ["NHI5:2025"]})
    })
    sarif = build_sarif(report, context)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["custom-rule"]["helpUri"] == "https://example.org/custom"
    assert rules["custom-rule"]["properties"]["tags"] == ["security", "risky-trust", "NHI5:2025"]
    assert rules["other"]["shortDescription"]["text"] == "Title of other"
    assert sarif_checks.github_problems(sarif) == []


def test_tags_are_capped_to_what_github_shows(tmp_path):
    many = {
        "owasp_nhi": [f"NHI{i}:2025" for i in range(1, 11)],
        "nist_csf": [f"PR.AA-0{i}" for i in range(1, 6)],
    }
    doc = rf.rule_doc("long-lived-credential", Category.LONG_LIVED_CREDENTIAL, Severity.HIGH, frameworks=many)
    report = rf.report([rf.finding()], rules=[doc])
    rule = build_sarif(report, RenderContext(sarif_root=tmp_path))["runs"][0]["tool"]["driver"]["rules"][0]
    assert len(rule["properties"]["tags"]) == 10
    assert rule["properties"]["frameworks"] == many  # nothing lost: the full mapping stays in the properties


def test_excepted_findings_are_suppressed_with_the_justification(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sarif = render(rf.demo_report(), tmp_path)
    by_rule = {r["ruleId"]: r for r in results(sarif)}
    assert by_rule["unused-credential"]["suppressions"] == [
        {"kind": "external", "status": "accepted",
         "justification": "SMTP appliance; expires 2027-03-31 (it-ops)"}
    ]
    assert "suppressions" not in by_rule["scope-drift"]
    assert all("baselineState" not in r for r in results(sarif))  # no baseline: no baseline state


def test_baseline_state_new_and_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = rf.report([
        rf.finding("a", "x"),
        rf.finding("b", "x", status=FindingStatus.BASELINED, status_reason="present in baseline old.json"),
        rf.finding("c", "x", status=FindingStatus.EXCEPTED, status_reason="ok"),
    ])
    sarif = render(report, tmp_path, baseline=tmp_path / "old.json")
    states = {r["ruleId"]: r.get("baselineState") for r in results(sarif)}
    assert states == {"a": "new", "b": "unchanged", "c": None}
    assert sarif_checks.schema_errors(sarif) == []


def test_automation_details_category_per_account(tmp_path):
    def category(**kwargs) -> str:
        sarif = build_sarif(rf.report([rf.finding()], **kwargs), RenderContext(sarif_root=tmp_path))
        return sarif["runs"][0]["automationDetails"]["id"]

    assert category() == f"nhiaudit/aws/{rf.ACCOUNT}/"
    assert category(sources=[("aws", rf.ACCOUNT), ("gcp", "acme-prod")]) == "nhiaudit/multi/"
    assert category(sources=[]) == f"nhiaudit/aws/{rf.ACCOUNT}/"  # from the findings' identities
    override = build_sarif(rf.report([]), RenderContext(sarif_root=tmp_path, sarif_category="nightly/org"))
    assert override["runs"][0]["automationDetails"]["id"] == "nightly/org/"


def test_results_are_capped_with_a_warning_keeping_the_most_severe_open_ones(tmp_path):
    findings = [rf.finding("r", f"low-{i}", severity=Severity.LOW) for i in range(8)]
    findings += [rf.finding("r", f"crit-{i}", severity=Severity.CRITICAL) for i in range(3)]
    findings += [rf.finding("r", f"exc-{i}", severity=Severity.CRITICAL, status=FindingStatus.EXCEPTED)
                 for i in range(3)]
    context = RenderContext(sarif_root=tmp_path, max_sarif_results=5)
    sarif = build_sarif(rf.report(findings), context)
    kept = [r["properties"]["identity"]["name"] for r in results(sarif)]
    assert kept[:3] == ["crit-0", "crit-1", "crit-2"] and len(kept) == 5
    assert all(name.startswith("low-") for name in kept[3:])
    assert any("25" not in w and "exceed GitHub's limit of 5" in w for w in context.warnings)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("capped at 5 of 14" in n["message"]["text"] for n in notes)
    assert GITHUB_MAX_RESULTS_PER_RUN == 25_000


def test_collection_errors_become_tool_notifications(tmp_path):
    from nhiaudit.inventory.model import CollectionIssue, Provider

    report = rf.report([rf.finding()])
    report.collection.complete = False
    report.collection.errors.append(CollectionIssue(provider=Provider.AWS, account=rf.ACCOUNT,
                                                    operation="iam:ListUsers", message="AccessDenied"))
    sarif = build_sarif(report, RenderContext(sarif_root=tmp_path))
    assert sarif_checks.schema_errors(sarif) == []
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "iam:ListUsers: AccessDenied" in notes[0]["message"]["text"]
    assert sarif["runs"][0]["properties"]["collectionComplete"] is False
