"""The demo estate shows every finding category, through the real CLI with --format json, and keeps the
gaps planted for the core rules; the new gaps carry the evidence a security engineer needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.findings import Category

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["scan", "--snapshot", str(ROOT / "examples/demo/snapshot.json"),
        "--policy", str(ROOT / "examples/demo/policy.yaml"), "--as-of", "2026-11-28", "--format", "json"]

PLANTED = {  # (rule, identity name or None for policy entries)
    # core gaps
    ("scope-forbidden-system", "support-copilot"), ("scope-forbidden-system", "hr-assistant"),
    ("scope-not-allowed-system", "report-bot"), ("static-key-forbidden", "report-bot"),
    ("admin-access", "ci-deployer"), ("cred-too-old", "ci-deployer"), ("cred-unused", "ci-deployer"),
    ("policy-expired-exception", "ci-deployer"), ("cred-too-old", "vertex-summariser"),
    ("cred-no-expiry", "hr-assistant"), ("ai-undeclared", "data-science-notebook"),
    ("ai-undeclared", "batch-scorer"), ("ai-undeclared", "marketing-gpt"), ("policy-unknown-identity", None),
    # catalogue gaps
    ("privesc-single-step", "deploy-helper"), ("privesc-via-chain", "code-review-bot"),
    ("trust-any-principal", "partner-upload"), ("trust-federated-unconstrained", "github-deploy"),
    ("trust-foreign-account-no-external-id", "vendor-analytics"), ("human-use-of-nhi", "bi-dashboard-bot"),
    ("identity-reused-across-integrations", "genai-worker"), ("cred-shared-secret", "hr-assistant"),
    ("env-multiple-environments", "genai-worker"), ("env-reaches-production", "code-review-bot"),
    ("ai-undeclared-via-chain", "ticket-exporter"), ("ai-identity-wildcard", "genai-worker"),
    ("identity-unused", "old-etl"), ("policy-exception-unmatched", None),
    ("secret-leaked-credential", "report-bot"),
    # audit coverage
    ("audit-model-calls-not-logged", "support-copilot"), ("audit-data-access-not-logged", "support-copilot"),
}
CLEAN = {"alice", "analytics-reader", "vertex-summariser"}  # nothing new may fire on these


@pytest.fixture(scope="module")
def findings() -> list[dict]:
    result = CliRunner().invoke(build_app(), ARGS)
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)["findings"]


def by_rule(findings: list[dict], rule: str) -> dict[str | None, dict]:
    return {(f["identity"] or {}).get("name"): f for f in findings if f["rule_id"] == rule}


def test_every_category_is_open_at_least_once(findings):
    open_categories = {f["category"] for f in findings if f["status"] == "open"}
    assert open_categories == {c.value for c in Category}


def test_planted_gaps_are_all_found(findings):
    found = {(f["rule_id"], (f["identity"] or {}).get("name")) for f in findings}
    assert found >= PLANTED, sorted(PLANTED - found)
    excepted = [f for f in findings if f["status"] == "excepted"]
    assert [(f["rule_id"], f["identity"]["name"]) for f in excepted] == [("cred-too-old", "legacy-smtp")]


def test_clean_identities_only_have_their_known_findings(findings):
    noisy = {(f["rule_id"], f["identity"]["name"]) for f in findings
             if f["identity"] and f["identity"]["name"] in CLEAN}
    assert noisy == {("cred-too-old", "vertex-summariser")}


def test_escalation_evidence_shows_statements_targets_and_path(findings):
    single = by_rule(findings, "privesc-single-step")["deploy-helper"]
    assert single["severity"] == "critical"
    assert single["evidence"]["technique"] == "aws-passrole-lambda"
    assert single["evidence"]["targets"][0].endswith(":role/ops-admin") and single["evidence"]["admin_targets"] == 1
    assert any('"PassAnyRole" allows iam:PassRole' in s for s in single["evidence"]["statements"])
    chain = by_rule(findings, "privesc-via-chain")["code-review-bot"]
    assert chain["severity"] == "critical" and chain["integration"] == "code-review-bot"
    assert chain["evidence"]["target"].endswith(":role/deploy-admin")
    hop = chain["evidence"]["path"][0]
    assert "-[can_assume]->" in hop and '"DeployToProd" allows sts:AssumeRole' in hop
    assert "is administrator" in chain["evidence"]["why_target_is_admin"]


def test_frameworks_policy_locations_and_environment_evidence(findings):
    for f in findings:
        assert f["frameworks"]["owasp_nhi"] and f["frameworks"]["nist_csf"], f["rule_id"]
    human = by_rule(findings, "human-use-of-nhi")["bi-dashboard-bot"]
    assert human["integration"] == "bi-insights" and human["policy_location"]["entry"] == "integration:bi-insights"
    crossing = by_rule(findings, "env-reaches-production")["code-review-bot"]
    assert crossing["evidence"]["systems"] == ["finance-ledger", "support-tickets"]
    assert crossing["evidence"]["path"][0].startswith("identity:arn:aws:iam::444455556666:role/code-review-bot")
