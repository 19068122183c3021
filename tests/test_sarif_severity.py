"""GitHub shows each finding's own severity: GitHub code scanning reads `security-severity` only from the rule
descriptor (docs.github.com, "SARIF support for code scanning", reportingDescriptor object), so a finding whose
severity differs from its rule's gets a descriptor of its own (`rule/severity`).

The bands are GitHub's documented ones: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low;
0.0 or a value outside them is no security severity. nhiaudit's `info` has no band of its own and is `low`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import report_factory as rf
import sarif_checks
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.findings import Category, FindingStatus, Severity
from nhiaudit.reporters import RenderContext
from nhiaudit.reporters.sarif import build_sarif

DEMO = ["scan", "--snapshot", "examples/demo/snapshot.json", "--policy", "examples/demo/policy.yaml",
        "--as-of", "2026-11-28"]
GITHUB_LEVEL = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "low"}
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def github_severity(score: str) -> str | None:
    """What GitHub shows for a `security-severity` string, by its documented rules."""
    value = float(score)
    if 9.0 < value <= 10.0:
        return "critical"
    for name, low, high in (("high", 7.0, 8.9), ("medium", 4.0, 6.9), ("low", 0.1, 3.9)):
        if low <= value <= high:
            return name
    return None


def shown(sarif: dict) -> list[tuple[dict, dict]]:
    """(result, the descriptor GitHub takes its severity from) for every result; the ruleIndex must point
    at the descriptor named by the ruleId."""
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    pairs = []
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        pairs.append((result, rule))
    return pairs


def demo_sarif(tmp_path: Path) -> dict:
    out = tmp_path / "demo.sarif"
    result = CliRunner().invoke(build_app(), [*DEMO, "--format", "sarif", "-o", str(out), "--sarif-root", "."])
    assert result.exit_code == 1, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_demo_result_shows_its_own_severity_on_github(tmp_path):
    sarif = demo_sarif(tmp_path)
    assert sarif_checks.schema_errors(sarif) == [] and sarif_checks.github_problems(sarif) == []
    pairs = shown(sarif)
    for result, rule in pairs:
        severity = result["properties"]["severity"]
        assert github_severity(rule["properties"]["security-severity"]) == GITHUB_LEVEL[severity], result["ruleId"]
        assert result["level"] == SARIF_LEVEL[severity]
    shown_as = Counter(github_severity(rule["properties"]["security-severity"]) for result, rule in pairs
                       if "suppressions" not in result)
    report = json.loads(CliRunner().invoke(build_app(), [*DEMO, "--format", "json"]).stdout)
    expected = Counter(GITHUB_LEVEL[f["severity"]] for f in report["findings"] if f["status"] != "excepted")
    assert shown_as == expected
    # The raised ones from the issue: admin-access (high by default) and the privilege escalations.
    ids = {r["ruleId"] for r, _ in pairs}
    assert {"admin-access/critical", "privesc-single-step/critical", "ai-undeclared-via-chain/high"} <= ids


def test_a_rule_keeps_its_id_at_its_documented_severity_and_variants_follow_it(tmp_path):
    findings = [
        rf.finding("long-lived-credential", "a", severity=Severity.HIGH),
        rf.finding("long-lived-credential", "b", severity=Severity.CRITICAL),
        rf.finding("long-lived-credential", "c", severity=Severity.LOW),
        rf.finding("scope-drift", "a", severity=Severity.MEDIUM, category=Category.SCOPE_DRIFT),
    ]
    rules = [rf.rule_doc("long-lived-credential", Category.LONG_LIVED_CREDENTIAL, Severity.HIGH),
             rf.rule_doc("scope-drift", Category.SCOPE_DRIFT, Severity.CRITICAL)]
    sarif = build_sarif(rf.report(findings, rules=rules), RenderContext(sarif_root=tmp_path))
    assert sarif_checks.schema_errors(sarif) == [] and sarif_checks.github_problems(sarif) == []
    descriptors = sarif["runs"][0]["tool"]["driver"]["rules"]
    # Documented severity first under the rule's own id, then variants from most to least severe; a rule with
    # no finding at its documented severity still has its descriptor.
    assert [d["id"] for d in descriptors] == ["long-lived-credential", "long-lived-credential/critical",
                                              "long-lived-credential/low", "scope-drift", "scope-drift/medium"]
    by_id = {d["id"]: d for d in descriptors}
    variant, base = by_id["long-lived-credential/critical"], by_id["long-lived-credential"]
    assert variant["properties"]["rule"] == "long-lived-credential" and "rule" not in base["properties"]
    assert variant["properties"]["severity"] == "critical"
    assert variant["defaultConfiguration"]["level"] == "error" and by_id["long-lived-credential/low"][
        "defaultConfiguration"]["level"] == "note"
    assert variant["help"] == base["help"] and variant["shortDescription"] == base["shortDescription"]
    for result, rule in shown(sarif):
        assert result["properties"]["rule"] == result["ruleId"].split("/")[0]
        assert github_severity(rule["properties"]["security-severity"]) == GITHUB_LEVEL[
            result["properties"]["severity"]]


def test_fingerprints_do_not_depend_on_the_severity(tmp_path):
    def fingerprints(severity: Severity) -> dict[str, str]:
        report = rf.report([rf.finding("long-lived-credential", "a", severity=severity)],
                           rules=[rf.rule_doc("long-lived-credential", Category.LONG_LIVED_CREDENTIAL, Severity.HIGH)])
        result = build_sarif(report, RenderContext(sarif_root=tmp_path))["runs"][0]["results"][0]
        return result["partialFingerprints"]

    assert fingerprints(Severity.HIGH) == fingerprints(Severity.CRITICAL)


def test_capped_results_only_get_the_variants_they_use(tmp_path):
    findings = [rf.finding("r", f"low-{i}", severity=Severity.LOW) for i in range(3)]
    findings.append(rf.finding("r", "crit", severity=Severity.CRITICAL, status=FindingStatus.EXCEPTED))
    report = rf.report(findings, rules=[rf.rule_doc("r", Category.LONG_LIVED_CREDENTIAL, Severity.HIGH)])
    sarif = build_sarif(report, RenderContext(sarif_root=tmp_path, max_sarif_results=3))
    assert [d["id"] for d in sarif["runs"][0]["tool"]["driver"]["rules"]] == ["r", "r/low"]
    assert sarif_checks.github_problems(sarif) == []
