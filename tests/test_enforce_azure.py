"""`nhiaudit enforce` on the planted Entra tenant and subscriptions (azure_planted, served by the in-test
Graph, ARM and token servers, collected through the real clients): role assignments narrowed in scope with an
ABAC condition on blob containers, Graph permissions to remove, their verification by re-analysis, then the
loop a user runs: apply them to the servers, collect again, scan, and find what the verification predicted."""

from __future__ import annotations

from pathlib import Path

import azure_planted as planted
import pytest
from azure_support import AzureServers
from enforce_cloud_support import access, checks, cli, enforce_json, findings, of_kind, scan, validate_schema, write

AS_OF, PROD = planted.AS_OF, planted.PROD
ASSIGNMENT, GRAPH = "azure-role-assignment", "azure-graph-permission-removal"
ACCOUNT = f"/subscriptions/{PROD}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/proddata01"

POLICY = f"""\
    version: 1
    systems:
      aoai:
        kind: ai-model
        resources: ["/subscriptions/*/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/*"]
      reports:
        kind: data
        resources: ["{ACCOUNT}/blobServices/default/containers/reports"]
      archive:
        kind: data
        classification: restricted
        resources: ["/subscriptions/{PROD}/resourceGroups/archive/providers/Microsoft.Storage/storageAccounts/*"]
      mail:
        kind: data
        classification: restricted
        resources: ["delegated:Microsoft Graph/Mail.*"]
    integrations:
      - name: support-agent
        identities: ["{planted.AGENT}"]
        may_reach: [aoai]
        must_not_reach: [mail]
      - name: report-reader
        identities: ["{planted.DEV_RUNNER}"]
        may_reach: [reports]
        must_not_reach: [archive]
      - name: mail-triage
        identities: ["{planted.MAIL}"]
        must_not_reach: [mail]
    """


def collect(tmp: Path, env: dict[str, str], name: str) -> Path:
    out = tmp / name
    result = cli("collect", "--azure", "-o", str(out), env=env)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("enforce-azure")
    fake = planted.planted_fake()
    servers = AzureServers(fake, tmp)
    try:
        before = collect(tmp, servers.env, "before.json")
        policy = write(tmp / "policy.yaml", POLICY)
        code, data, output = enforce_json(before, policy, AS_OF)
        yield {"tmp": tmp, "fake": fake, "env": servers.env, "before": before, "policy": policy, "code": code,
               "data": data, "output": output}
    finally:
        servers.close()


def test_subscription_wide_assignment_is_narrowed_to_the_container_with_an_abac_condition(estate):
    data = estate["data"]
    (g,) = of_kind(data, ASSIGNMENT).values()
    assert g["integrations"] == ["report-reader"]
    assert g["document"]["replaces"]["scope"] == f"/subscriptions/{PROD}"
    (new,) = g["document"]["assignments"]
    assert new["scope"] == ACCOUNT and new["roleDefinitionName"] == "Storage Blob Data Reader"
    assert new["principalId"] == planted.DEV_RUNNER and new["conditionVersion"] == "2.0"
    assert new["condition"].endswith("OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] "
                                     "StringEquals 'reports'))")
    read = "!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})"
    assert read in new["condition"]
    assert any(n.startswith("apply: az role assignment delete --ids ") for n in g["notes"])
    # The agent's assignment is on its one OpenAI account already: nothing to narrow, nothing generated.
    assert not [x for x in data["guardrails"].values() if planted.AGENT in {t["identity"] for t in x["targets"]}]
    assert validate_schema(data) == []


def test_graph_application_permission_outside_the_policy_is_listed_with_its_removal(estate):
    (g,) = of_kind(estate["data"], GRAPH).values()
    assert g["document"]["remove"] == [{
        "identity": planted.MAIL, "grant": "ara-mail-bot", "type": "appRoleAssignment", "resource": "Microsoft Graph",
        "remove": ["Mail.Read"], "keep": [],
        "command": "az rest --method DELETE --url https://graph.microsoft.com/v1.0/servicePrincipals/"
                   f"{planted.MAIL}/appRoleAssignments/ara-mail-bot"}]


def test_verification_closes_the_drift_and_keeps_may_reach(estate):
    found = checks(estate["data"])
    (narrowed,) = [c for n, c in found.items() if n.startswith("nhiaudit-assignment-report-reader")]
    assert narrowed["holds"] and not narrowed["lost"]
    assert any(c.startswith("scope-forbidden-system: report-reader") for c in narrowed["closed"])
    assert {(c["system"], c["after"]) for c in narrowed["removed"]} == {("archive", None)}
    mail = found["nhiaudit-graph-mail-triage"]
    assert mail["holds"] and mail["closed"] == ["scope-forbidden-system: mail-triage (mail-bot) can reach forbidden "
                                                "system mail with read access"]
    assert estate["code"] == 0 and estate["data"]["verification"]["verified"]


def _apply(fake, data) -> None:
    """What a user's pipeline does with the JSON output: swap the role assignments, remove the Graph grants."""
    for g in of_kind(data, ASSIGNMENT).values():
        sub = fake.subscriptions[PROD]
        old = g["document"]["replaces"]
        sub["roleAssignments"] = [a for a in sub["roleAssignments"] if a["id"] != old["id"]]
        for n, a in enumerate(g["document"]["assignments"]):
            item = planted.role_assignment(PROD, 90 + n, a["principalId"], a["roleDefinitionName"], a["scope"])
            item["properties"] |= {"condition": a["condition"], "conditionVersion": a["conditionVersion"]} \
                if a.get("condition") else {}
            sub["roleAssignments"].append(item)
    for g in of_kind(data, GRAPH).values():
        for r in g["document"]["remove"]:
            held = fake.app_role_assignments.get(r["identity"], [])
            fake.app_role_assignments[r["identity"]] = [a for a in held if a["id"] != r["grant"]]


def test_applied_and_collected_again_the_scan_finds_what_verification_predicted(estate):
    data, tmp = estate["data"], estate["tmp"]
    before = scan(estate["before"], estate["policy"], AS_OF, tmp / "report-before.json")
    _apply(estate["fake"], data)
    after_file = collect(tmp, estate["env"], "after.json")
    after = scan(after_file, estate["policy"], AS_OF, tmp / "report-after.json")
    for identity in (planted.DEV_RUNNER, planted.MAIL):
        assert "scope-forbidden-system" in findings(before, identity)
        assert "scope-forbidden-system" not in findings(after, identity)
    assert access(after, planted.DEV_RUNNER).get("reports") == access(before, planted.DEV_RUNNER)["reports"]
    predicted = {(c["identity"], c["system"]): c["after"] for check in data["verification"]["checks"]
                 for c in check["removed"] + check["lost"]}
    assert predicted
    for (identity, system), level in predicted.items():
        assert access(after, identity).get(system) == level, (identity, system)
