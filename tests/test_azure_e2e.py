"""The planted Entra tenant (azure_planted) end to end through the real CLI: collected live (real
azure-identity tokens from the in-test HTTPS authority, real httpx against the Graph and ARM fakes) and
imported from the az / Graph / ARM exports of the same tenant. Every planted gap is found with exactly the
expected rules, the well-configured agent has nothing, and both sources give identical findings and
fingerprints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure_planted as planted
import pytest
from azure_support import AzureServers
from scan_support import keyed, one, rules_by_identity
from typer.testing import CliRunner

from nhiaudit.cli import build_app


def scan(tmp: Path, *source: str, env: dict[str, str] | None = None, name: str = "report") -> tuple[int, dict, str]:
    out = tmp / f"{name}.json"
    result = CliRunner().invoke(build_app(), ["scan", *source, "--policy", str(planted.write_policy(tmp)),
                                              "--format", "json", "--as-of", planted.AS_OF, "-o", str(out),
                                              "--quiet"], env=env)
    assert out.exists(), result.output
    return result.exit_code, json.loads(out.read_text(encoding="utf-8")), result.output


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("azure-live")
    fake = planted.planted_fake()
    servers = AzureServers(fake, tmp)
    try:
        code, report, output = scan(tmp, "--azure", env=servers.env)
    finally:
        servers.close()
    return {"code": code, "report": report, "output": output, "requests": list(fake.requests),
            "bad_tokens": fake.bad_tokens}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("azure-import")
    code, report, output = scan(tmp, *planted.write_exports(tmp / "exports"))
    return {"code": code, "report": report, "output": output}








def test_live_scan_finds_exactly_the_planted_gaps(live):
    report = live["report"]
    assert live["code"] == 1, live["output"]  # high and critical findings, default --fail-on high
    assert report["collection"]["complete"] and report["collection"]["errors"] == []
    assert rules_by_identity(report) == planted.EXPECTED  # no other identity, no identity-less finding
    assert not set(planted.CLEAN) & set(rules_by_identity(report))


def test_live_collection_only_reads_with_real_tokens(live):
    assert live["bad_tokens"] == 0
    assert {method for _, method, _ in live["requests"]} == {"GET"}
    surfaces = {surface for surface, _, _ in live["requests"]}
    assert surfaces == {"graph", "arm"}


def test_each_category_has_its_evidence(live):
    report = live["report"]
    assert one(report, "cred-too-old", planted.OLD)["credential_id"] == planted.key_id(2)
    ten = one(report, "cred-validity-too-long", planted.TEN_YEAR)
    assert ten["credential_id"] == planted.key_id(3) and ten["evidence"]["validity_days"] == 3650
    assert {one(report, "cred-shared-secret", who)["credential_id"] for who in (planted.SHARED_A, planted.SHARED_B)} \
        == {planted.key_id(4), planted.key_id(5)}
    assert one(report, "scope-forbidden-system", planted.MAIL)["evidence"]["system"] == "mail"
    assert one(report, "azure-graph-broad-permission", planted.MAIL)["evidence"]["permission"] == "Mail.Read"
    assert "OpenAI" in json.dumps(one(report, "ai-undeclared", planted.SHADOW)["evidence"])
    assert one(report, "azure-third-party-consent", planted.COPILOT)["evidence"]["permission"] == "Files.Read.All"
    chain = one(report, "privesc-via-chain", planted.CI_HELPER)
    assert chain["evidence"]["target"] == planted.OPS
    assert "ops-automation" in json.dumps(chain["evidence"]["path"])
    federated = one(report, "trust-federated-unconstrained", planted.DEPLOYER)
    assert "pull_request" in json.dumps(federated)
    crossing = one(report, "env-reaches-production", planted.DEV_RUNNER)["evidence"]
    assert crossing["systems"] == ["prod-data"] and crossing["environment"] == "prod"
    assert "200" in one(report, "identity-unused", planted.STALE)["message"]


def test_no_secret_value_reaches_the_report(live, imported):
    for report in (live["report"], imported["report"]):
        text = json.dumps(report)
        assert "secretText" not in text and "client-secret-for-tests" not in text


def test_import_of_the_exports_gives_the_same_findings(live, imported):
    report = imported["report"]
    assert imported["code"] == 1, imported["output"]
    assert report["collection"]["complete"], report["collection"]
    [source] = [s for s in report["collection"]["sources"] if s["account"] == planted.TENANT]
    assert source["method"] == "import" and "not imported" not in source["detail"]
    assert rules_by_identity(report) == planted.EXPECTED
    assert keyed(report) == keyed(live["report"])

    def content(r: dict[str, Any]) -> list[str]:  # severity, message, evidence: all the same
        return sorted(json.dumps({k: v for k, v in f.items() if k != "policy_location"}, sort_keys=True)
                      for f in r["findings"])

    assert content(report) == content(live["report"])


@pytest.mark.parametrize(("actions", "technique"), [
    (["microsoft.directory/applications/credentials/update",
      "microsoft.directory/servicePrincipals/credentials/update"], "azure-entra-app-credentials"),
    (["microsoft.directory/roleAssignments/allProperties/allTasks"], "azure-entra-role-assignment"),
])
def test_owner_of_an_sp_holding_an_entra_directory_role_escalates(tmp_path, actions, technique):
    """ops-automation holds Application Administrator / Privileged Role Administrator instead of Owner: its
    owner ci-helper still escalates through it."""
    fake = planted.planted_fake()
    sub = fake.subscriptions[planted.PROD]
    sub["roleAssignments"] = [a for a in sub["roleAssignments"] if a["properties"]["principalId"] != planted.OPS]
    role = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
    fake.directory_roles = [{"id": "dra-ops", "directoryScopeId": "/", "principalId": planted.OPS,
                             "roleDefinitionId": role, "roleDefinition": {
                                 "id": role, "displayName": "Directory role", "isBuiltIn": True,
                                 "rolePermissions": [{"allowedResourceActions": actions, "condition": None}]}}]
    _, report, _ = scan(tmp_path, *planted.write_exports(tmp_path / "exports", fake))
    assert one(report, "privesc-single-step", planted.OPS)["evidence"]["technique"] == technique
    assert one(report, "privesc-via-chain", planted.CI_HELPER)["evidence"]["target"] == planted.OPS


def test_an_sp_holding_global_administrator_is_an_administrator_and_its_owner_escalates(tmp_path):
    fake = planted.planted_fake()
    sub = fake.subscriptions[planted.PROD]
    sub["roleAssignments"] = [a for a in sub["roleAssignments"] if a["properties"]["principalId"] != planted.OPS]
    role = "62e90394-69f5-4237-9190-012177145e10"  # Global Administrator's template id
    fake.directory_roles = [{"id": "dra-ops", "directoryScopeId": "/", "principalId": planted.OPS,
                             "roleDefinitionId": role, "roleDefinition": {
                                 "id": role, "displayName": "Global Administrator", "isBuiltIn": True,
                                 "rolePermissions": [{"allowedResourceActions": [
                                     "microsoft.directory/allEntities/allProperties/allTasks"], "condition": None}]}}]
    _, report, _ = scan(tmp_path, *planted.write_exports(tmp_path / "exports", fake))
    one(report, "admin-access", planted.OPS)
    assert one(report, "privesc-via-chain", planted.CI_HELPER)["evidence"]["target"] == planted.OPS


def test_a_management_group_assignment_inherited_by_a_prod_subscription_reaches_its_systems(tmp_path):
    """dev-runner's reader role sits on a management group above the prod subscription. ARM lists it among the
    subscription's (inherited) assignments, which is how the subscription's ancestry becomes known."""
    fake = planted.planted_fake()
    group = "/providers/Microsoft.Management/managementGroups/acme-prod"
    sub = fake.subscriptions[planted.PROD]
    sub["roleAssignments"] = [a for a in sub["roleAssignments"] if a["properties"]["principalId"] != planted.DEV_RUNNER]
    sub["roleAssignments"].append(planted.role_assignment(planted.PROD, 12, planted.DEV_RUNNER,
                                                          "Storage Blob Data Reader", group))
    _, report, _ = scan(tmp_path, *planted.write_exports(tmp_path / "exports", fake))
    one(report, "env-reaches-production", planted.DEV_RUNNER)
