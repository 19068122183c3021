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


def scan(tmp_path: Path, fake, monkeypatch, policy: str = POLICY) -> tuple[int, dict]:
    running = AzureServers(fake, tmp_path)
    try:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        (tmp_path / "policy.yaml").write_text(textwrap.dedent(policy))
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


def collect_live(tmp_path: Path, fake, monkeypatch) -> dict:
    running = AzureServers(fake, tmp_path)
    try:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        out = tmp_path / "live.json"
        result = CliRunner().invoke(build_app(), ["collect", "--azure", "--azure-subscription", SUB, "-o", str(out)],
                                    env=running.env)
        assert result.exit_code == 0, result.output
        return json.loads(out.read_text())
    finally:
        running.close()


def import_estate(tmp_path: Path, fake, diagnostics: object, target: str | None = ACCOUNT) -> tuple[int, dict, str]:
    """The estate as `az` exports; `diagnostics` is `az monitor diagnostic-settings list --resource ACCOUNT`."""
    files = {"account.json": {"tenantId": fake.tenant_id, "id": SUB, "name": "prod", "environmentName": "AzureCloud"},
             "sps.json": fake.service_principals, "apps.json": fake.applications,
             "resources.json": [{**r, "identity": r.get("identity")} for r in fake.subscriptions[SUB]["resources"]],
             "roles.json": fake.subscriptions[SUB]["roleAssignments"],
             "definitions.json": fake.subscriptions[SUB]["roleDefinitions"], "diagnostics.json": diagnostics}
    args = []
    for name, data in files.items():
        (tmp_path / name).write_text(json.dumps(data))
        args += ["--import", f"{target}={tmp_path / name}" if name == "diagnostics.json" and target
                 else str(tmp_path / name)]
    out = tmp_path / "imported.json"
    result = CliRunner().invoke(build_app(), ["collect", *args, "-o", str(out)])
    return result.exit_code, json.loads(out.read_text()) if out.exists() else {}, result.output


def az_flat(settings: list) -> list:
    """`az monitor diagnostic-settings list` prints each setting with its properties flattened."""
    return [{**{k: v for k, v in s.items() if k != "properties"}, **s.get("properties", {}),
             "type": "Microsoft.Insights/diagnosticSettings"} for s in settings]


@pytest.mark.parametrize("settings", [[], [setting(categoryGroup="audit")], [setting(category="Trace")]])
@pytest.mark.parametrize("paged", [False, True])  # the CLI prints a list, or {"value": [...]} (older versions)
def test_import_gives_the_live_records(tmp_path, monkeypatch, settings, paged):
    fake = audited_estate(settings)
    live = collect_live(tmp_path, fake, monkeypatch)
    listed = az_flat(settings)
    code, imported, output = import_estate(tmp_path, fake, {"value": listed} if paged else listed)
    assert code == 0, output
    assert imported["audit_settings"] == live["audit_settings"]
    assert [s["logging"] for s in imported["audit_settings"]] == [bool(settings) and settings[0]["properties"][
        "logs"][0].get("categoryGroup") == "audit"]


def test_imported_gap_is_reported(tmp_path):
    code, imported, output = import_estate(tmp_path, audited_estate([]), [])
    assert code == 0, output
    (tmp_path / "s.json").write_text(json.dumps(imported))
    (tmp_path / "policy.yaml").write_text(textwrap.dedent(POLICY))
    result = CliRunner().invoke(build_app(), ["scan", "--snapshot", str(tmp_path / "s.json"), "--policy",
                                              str(tmp_path / "policy.yaml"), "--format", "json", "--as-of",
                                              "2026-02-01", "--fail-on", "none"])
    (gap,) = gaps(json.loads(result.output))
    assert gap["evidence"]["missing"] == [ACCOUNT]


def test_settings_name_their_resource_without_target(tmp_path):
    code, imported, output = import_estate(tmp_path, audited_estate([]), az_flat([setting(category="Audit")]),
                                           target=None)
    assert code == 0, output
    assert [(s["resource_id"], s["logging"]) for s in imported["audit_settings"]] == [(ACCOUNT, True)]


def test_empty_page_without_its_resource_is_nothing(tmp_path):
    code, imported, _ = import_estate(tmp_path, audited_estate([]), {"value": []}, target=None)
    assert code == 0 and not imported.get("audit_settings")  # it does not say whose it is: as before


def test_other_empty_exports_with_a_target_are_still_nothing(tmp_path):
    """Only a diagnostic-settings TARGET keeps an empty file: an empty federated-credential list of an
    application (TARGET a GUID) or an empty settings list of a site is still skipped."""
    fake = audited_estate(None)
    (tmp_path / "empty.json").write_text("[]")
    site = f"/subscriptions/{SUB}/resourceGroups/web/providers/Microsoft.Web/sites/hr-portal"
    code, imported, _ = import_estate(tmp_path, fake, [])  # the diagnostics file itself is kept: a gap
    assert code == 0 and len(imported["audit_settings"]) == 1
    for target in ("00000201-0000-4000-8000-000000000201", site):
        empty = f"{target}={tmp_path / 'empty.json'}"
        result = CliRunner().invoke(build_app(), ["collect", "--import", str(tmp_path / "account.json"), "--import",
                                                  empty, "-o", str(tmp_path / "o.json")])
        assert result.exit_code == 0, result.output
        assert not json.loads((tmp_path / "o.json").read_text()).get("audit_settings")
