"""`nhiaudit scan` end to end through the real CLI: exit statuses, outputs, as-of, custom rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.model import CollectionIssue, Provider
from nhiaudit.inventory.snapshot import load_snapshot

DEMO_SNAPSHOT = "examples/demo/snapshot.json"
DEMO_POLICY = "examples/demo/policy.yaml"
BASE = ["scan", "--snapshot", DEMO_SNAPSHOT, "--policy", DEMO_POLICY, "--as-of", "2026-11-28"]


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args))


@pytest.fixture(scope="module")
def demo_report() -> dict:
    result = run(*BASE, "--format", "json")
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_demo_fails_with_findings_and_table(tmp_path):
    result = run(*BASE)
    assert result.exit_code == 1
    assert "support-copilot" in result.stdout and "customer-pii" in result.stdout
    assert "undeclared AI access" in result.stdout


def test_json_report_matches_its_schema(demo_report):
    schema = json.loads(Path("docs/report.schema.json").read_text())
    jsonschema.validate(demo_report, schema)
    assert demo_report["schema_version"] == 1
    finding = demo_report["findings"][0]
    for key in ("rule_id", "category", "severity", "identity", "message", "evidence", "frameworks",
                "fingerprint", "status"):
        assert key in finding


def test_chain_finding_carries_the_path(demo_report):
    drift = [f for f in demo_report["findings"] if f["rule_id"] == "scope-forbidden-system"
             and f["integration"] == "support-copilot"]
    assert len(drift) == 1
    path = drift[0]["evidence"]["path"]
    assert len(path) == 2 and "analytics-reader" in path[0] and "customer-pii" in path[1]
    assert drift[0]["policy_location"]["line"] == Path(DEMO_POLICY).read_text().splitlines().index(
        "  - name: support-copilot") + 1


def test_exceptions_mark_findings_excepted_until_they_expire(demo_report):
    smtp = [f for f in demo_report["findings"] if f["identity"] and f["identity"]["name"] == "legacy-smtp"]
    assert smtp and all(f["status"] == "excepted" for f in smtp)
    later = json.loads(run(*BASE[:-1], "2027-04-01", "--format", "json").stdout)
    smtp_later = [f for f in later["findings"] if f["identity"] and f["identity"]["name"] == "legacy-smtp"]
    assert smtp_later and all(f["status"] == "open" for f in smtp_later)
    expired = [f for f in later["findings"] if f["rule_id"] == "policy-expired-exception"]
    assert len(expired) == 2


def test_fail_on_thresholds():
    assert run(*BASE, "--fail-on", "none", "--format", "json").exit_code == 0
    assert run(*BASE, "--fail-on", "critical", "--format", "json").exit_code == 1
    assert run(*BASE, "--fail-on", "bogus").exit_code == 2


def test_output_file_and_several_formats(tmp_path):
    out, sarif, md = tmp_path / "r.json", tmp_path / "r.sarif", tmp_path / "r.md"
    result = run(*BASE, "--format", "json", "--output", str(out), "--output-sarif", str(sarif),
                 "--output-markdown", str(md))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(out.read_text())["findings"]
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert "nhiaudit" in md.read_text()


def test_incomplete_collection_exits_3_unless_findings(tmp_path):
    snap = load_snapshot(Path(DEMO_SNAPSHOT))
    issue = CollectionIssue(provider=Provider.AWS, account="111122223333", operation="GenerateCredentialReport",
                            message="AccessDenied", missing="credential ages")
    path = tmp_path / "partial.json"
    snap.model_copy(update={"collection_issues": [issue]}).write(path)
    args = ["scan", "--snapshot", str(path), "--policy", DEMO_POLICY, "--as-of", "2026-11-28"]
    assert run(*args).exit_code == 1  # findings win over incomplete
    result = run(*args, "--fail-on", "none", "--format", "json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["collection"]["complete"] is False
    assert report["collection"]["errors"][0]["operation"] == "GenerateCredentialReport"


@pytest.mark.parametrize("args, message", [
    (["scan", "--policy", DEMO_POLICY], "no input"),
    (["scan", "--snapshot", "missing.json"], "missing.json"),
    (["scan", "--snapshot", DEMO_SNAPSHOT, "--as-of", "28/11/2026"], "--as-of"),
    (["scan", "--snapshot", DEMO_SNAPSHOT, "--policy", "missing.yaml"], "missing.yaml"),
])
def test_user_mistakes_exit_2_without_traceback(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_bad_policy_is_reported_with_location(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("version: 1\nintegrations:\n  - name: x\n    may_reach: [nope]\n")
    result = run("scan", "--snapshot", DEMO_SNAPSHOT, "--policy", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:4:" in result.stderr


def test_custom_rule_directory(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "gcp-keys.yaml").write_text(
        "id: org-no-gcp-keys\ntitle: No GCP keys\ncategory: long-lived-credential\nseverity: low\n"
        "subject: credential\nwhen: subject.type == 'sa_key' && subject.active && subject.static\n"
        "message: 'GCP key {subject.id}'\ndescription: d\nrationale: r\nremediation: f\n"
        "frameworks: {owasp_nhi: ['NHI7:2025'], nist_csf: ['PR.AA-01']}\n"
        "tests:\n  - {name: f, expect: fail, subject: {type: sa_key}}\n  - {name: p, expect: pass, subject: {}}\n")
    report = json.loads(run(*BASE, "--rules", str(rules), "--format", "json").stdout)
    custom = [f for f in report["findings"] if f["rule_id"] == "org-no-gcp-keys"]
    assert len(custom) == 1 and custom[0]["identity"]["provider"] == "gcp"


def test_as_a_real_process_with_timings():
    """The real process ends without freeing its analysis (gc_pause.keep_until_exit): its exit status, its
    whole report on stdout and its last words on stderr are still there."""
    proc = subprocess.run([sys.executable, "-m", "nhiaudit", *BASE, "--format", "json", "--timings"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["summary"]["findings"] > 0
    assert "timings: " in proc.stderr and proc.stderr.rstrip().endswith("open finding(s) at or above high")
    proc = subprocess.run([sys.executable, "-m", "nhiaudit", *BASE, "--fail-on", "none", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "support-copilot" in proc.stdout and proc.stdout.endswith("\n")


def test_sarif_of_the_real_demo_scan_is_accepted(tmp_path):
    """The demo estate's SARIF, from the real CLI, passes the SARIF 2.1.0 schema and GitHub's rules."""
    import sarif_checks

    sarif_path = tmp_path / "demo.sarif"
    result = run(*BASE, "--format", "sarif", "--output", str(sarif_path), "--sarif-root", ".")
    assert result.exit_code == 1
    sarif = json.loads(sarif_path.read_text())
    assert sarif_checks.schema_errors(sarif) == []
    assert sarif_checks.github_problems(sarif) == []
    results = sarif["runs"][0]["results"]
    policy_lines = Path(DEMO_POLICY).read_text().splitlines()
    drift = next(r for r in results if r["ruleId"] == "scope-forbidden-system"
                 and "support-copilot" in r["message"]["text"])
    location = drift["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == DEMO_POLICY
    assert policy_lines[location["region"]["startLine"] - 1] == "  - name: support-copilot"
    assert any(r.get("suppressions") for r in results)  # the excepted legacy-smtp key
