"""Audit coverage on Azure (issue 15, part 1), live through the real CLI against the ARM fake: an Azure OpenAI
account without diagnostic settings gives the model-call gap; an `audit` category group (or RequestResponse)
gives none; a denied diagnostic-settings read is exit 3 and no finding."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from azure_support import AzureServers
from test_azure_live import SUB, estate
from typer.testing import CliRunner

from nhiaudit.cli import build_app

MI = "00000104-0000-4000-8000-000000000104"  # dev-runner: Contributor on the subscription
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/acme-openai"
POLICY = f"""\
version: 1
defaults:
  audit: {{model_invocations: required}}
systems:
  azure-openai:
    kind: ai-model
    resources: ["/subscriptions/*/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/*"]
integrations:
  - name: runner
    identities: ["{MI}"]
    may_reach: [azure-openai]
"""


def audited_estate(settings: list | None):
    fake = estate()
    sub = fake.subscriptions[SUB]
    sub["resources"].append({"id": ACCOUNT, "name": "acme-openai", "type": "Microsoft.CognitiveServices/accounts",
                             "kind": "OpenAI", "location": "swedencentral"})
    if settings is not None:
        sub["diagnostics"] = {ACCOUNT: settings}
    return fake


def scan(tmp_path: Path, fake, monkeypatch) -> tuple[int, dict]:
    running = AzureServers(fake, tmp_path)
    try:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        (tmp_path / "policy.yaml").write_text(textwrap.dedent(POLICY))
        out = tmp_path / "report.json"
        result = CliRunner().invoke(build_app(), [
            "scan", "--azure", "--azure-subscription", SUB, "--policy", str(tmp_path / "policy.yaml"), "--format",
            "json", "-o", str(out), "--quiet", "--as-of", "2026-02-01", "--fail-on", "none"], env=running.env)
        assert out.exists(), result.output
        return result.exit_code, json.loads(out.read_text())
    finally:
        running.close()


def gaps(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["category"] == "audit-gap" and f["identity"]["id"] == MI]


def setting(**log: object) -> dict:
    return {"id": f"{ACCOUNT}/providers/microsoft.insights/diagnosticSettings/to-sentinel", "name": "to-sentinel",
            "properties": {"workspaceId": f"/subscriptions/{SUB}/resourceGroups/sec/providers/"
                                          "Microsoft.OperationalInsights/workspaces/sentinel",
                           "logs": [{**log, "enabled": True}]}}


@pytest.mark.parametrize("settings", [[], [{"name": "metrics-only", "properties": {
    "logs": [{"category": "RequestResponse", "enabled": False}], "metrics": [{"category": "AllMetrics",
                                                                               "enabled": True}]}}]])
def test_openai_account_without_audit_logs_is_a_gap(tmp_path, monkeypatch, settings):
    code, report = scan(tmp_path, audited_estate(settings), monkeypatch)
    assert code == 0 and report["collection"]["complete"]
    (gap,) = gaps(report)
    assert gap["rule_id"] == "audit-model-calls-not-logged" and gap["evidence"]["missing"] == [ACCOUNT]


@pytest.mark.parametrize("log", [{"categoryGroup": "audit"}, {"category": "RequestResponse"},
                                 {"categoryGroup": "allLogs"}])
def test_compliant_twin_has_no_gap(tmp_path, monkeypatch, log):
    code, report = scan(tmp_path, audited_estate([setting(**log)]), monkeypatch)
    assert code == 0 and gaps(report) == []


def test_denied_read_is_incomplete_and_no_gap(tmp_path, monkeypatch):
    fake = audited_estate([])
    fake.faults["diagnosticSettings"] = 403
    code, report = scan(tmp_path, fake, monkeypatch)
    assert code == 3 and gaps(report) == []
