"""The pure Azure transforms (nhiaudit/connectors/azure/transform_*.py, assemble.py) on the recorded
fixtures (fixtures/azure): each mapping rule of raw.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhiaudit.connectors.azure.assemble import assemble_tenant
from nhiaudit.connectors.azure.raw import RawSubscription, RawTenant
from nhiaudit.connectors.azure.transform_common import AzureDataError, parse_time
from nhiaudit.connectors.azure.transform_principals import publisher_of, tags_of
from nhiaudit.connectors.azure.transform_workloads import workload_kind
from nhiaudit.inventory.model import Provider, SourceInfo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
TENANT = "11111111-1111-4111-8111-111111111111"
PROD = "22222222-2222-4222-8222-222222222222"
DEV = "33333333-3333-4333-8333-333333333333"
SOURCE = SourceInfo(provider=Provider.AZURE, account=TENANT, method="synthetic")


def g(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


SP_GRAPH, SP_HR, SP_COPILOT, SP_MI_DEV, SP_MI_AGENT, SP_REPORTS, SP_DEPLOY, SP_STALE = (
    g(i) for i in range(0x101, 0x109))
APP_REPORTS, APP_DEPLOY = g(0x202), g(0x203)


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def fixture_raw() -> RawTenant:
    """The fixtures as live collection stores them (raw.py): Graph objects and ARM resources."""
    pages = load("graph-approleassignments-hr-bot.json")
    assignments = {SP_HR: [a for p in pages for a in p["value"]],
                   SP_COPILOT: load("graph-approleassignments-copilot.json")["value"]}
    definitions = {d["id"]: d for d in load("role-definitions.json")}
    assignments_by_sub: dict[str, list] = {}
    for a in load("role-assignments.json"):
        assignments_by_sub.setdefault(a["scope"].split("/")[2], []).append(a)
    identities = load("identity-list.json")
    resources = load("resource-list.json")
    subs = [RawSubscription(subscription_id=s, role_assignments=assignments_by_sub.get(s, []),
                            role_definitions=definitions,
                            identities=[i for i in identities if f"/subscriptions/{s}/" in i["id"]],
                            resources=[r for r in resources if f"/subscriptions/{s}/" in r["id"]])
            for s in (PROD, DEV)]
    return RawTenant(
        tenant_id=TENANT,
        service_principals=load("sp-list.json"),
        applications=load("app-list.json"),
        federated_credentials={APP_DEPLOY: load("fic-deploy-pipeline.json"),
                               APP_REPORTS: load("graph-fic-reports-sync.json")["value"]},
        owners={APP_DEPLOY: load("owners-deploy-pipeline.json")},
        app_role_assignments=assignments,
        oauth2_grants=load("oauth2-grants.json"),
        directory_role_assignments=load("graph-directory-role-assignments.json")["value"],
        sp_sign_ins=load("graph-sp-signins.json")["value"],
        credential_sign_ins=load("graph-credential-signins.json")["value"],
        sign_ins_recorded=True,
        subscriptions=subs,
    )


@pytest.fixture(scope="module")
def snap():
    return assemble_tenant(fixture_raw(), SOURCE)


def ident(snap, id_):
    return next(i for i in snap.identities if i.id == id_)


def test_service_principals_become_identities(snap):
    assert [i.id for i in snap.identities] == sorted(i["id"] for i in load("sp-list.json"))
    hr = ident(snap, SP_HR)
    assert (hr.provider, hr.account, hr.kind, hr.name, hr.disabled) == ("azure", TENANT, "service_principal",
                                                                        "hr-bot", False)
    assert hr.tags == {"WindowsAzureActiveDirectoryIntegratedApp": "", "team": "hr"}
    assert hr.attributes["publisher"] == "tenant" and hr.attributes["appId"] == g(0x301)
    assert hr.created == parse_time("2023-01-10T09:00:00Z")  # the application's creation
    assert ident(snap, SP_MI_DEV).kind == "managed_identity"
    assert ident(snap, SP_GRAPH).attributes["publisher"] == "microsoft"
    assert ident(snap, SP_COPILOT).attributes["publisher"] == "foreign"


def test_publisher_and_tags():
    assert publisher_of("72F988BF-86F1-41AF-91AB-2D7CD011DB47", TENANT) == "microsoft"
    assert publisher_of(None, TENANT) is None
    assert tags_of({"tags": ["env=prod", "a:b:c", "plain"]}) == {"a": "b:c", "env": "prod", "plain": ""}


def test_sign_in_activity_is_the_latest_variant(snap):
    assert ident(snap, SP_HR).last_activity == parse_time("2026-11-25T08:00:00.123456Z")
    assert ident(snap, SP_REPORTS).last_activity is None
    (used,) = [c for c in snap.credentials if c.last_used]
    assert used.id == g(0x402) and used.last_used == parse_time("2026-11-25T08:00:00Z")


def test_application_credentials_attach_to_the_sp_by_app_id(snap):
    by_id = {c.id: c for c in snap.credentials}
    ten_years = by_id[g(0x402)]
    assert (ten_years.identity_id, ten_years.type) == (SP_HR, "client_secret")
    assert (ten_years.expires - ten_years.created).days > 3600
    cert = by_id[g(0x405)]
    assert cert.type == "certificate" and cert.fingerprint == "thumbprint:A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
    shared = [c for c in snap.credentials if c.fingerprint and c.fingerprint.startswith("hint:sh4:")]
    assert sorted(c.identity_id for c in shared) == [SP_REPORTS, SP_DEPLOY]  # one secret added to two apps
    assert not any(c.identity_id in (SP_MI_DEV, SP_MI_AGENT) for c in snap.credentials)


def test_app_without_sp_has_no_credentials_and_secret_text_is_never_kept():
    raw = RawTenant(tenant_id=TENANT, service_principals=[], applications=[
        {"id": "o", "appId": "a", "passwordCredentials": [{"keyId": "k", "secretText": "s3cr3t"}]}])
    snap = assemble_tenant(raw, SOURCE)
    assert snap.credentials == [] and "s3cr3t" not in snap.to_json()


def test_delegated_grants_and_app_role_assignments(snap):
    by_id = {d.id: d for d in snap.delegated_grants}
    assert by_id["ara-hr-mail"].scopes == ("Mail.Read",)  # appRoleId resolved through Graph's appRoles
    assert by_id["ara-hr-mail"].consent_type == "application" and by_id["ara-hr-mail"].resource == "Microsoft Graph"
    grant = by_id["grant-copilot"]
    assert (grant.identity_id, grant.resource, grant.consent_type) == (SP_COPILOT, "Microsoft Graph", "AllPrincipals")
    assert grant.scopes == ("Files.Read.All", "User.Read", "offline_access")


def test_unknown_app_role_stays_its_id():
    raw = RawTenant(tenant_id=TENANT, service_principals=[{"id": "sp", "appId": "a"}],
                    app_role_assignments={"sp": [{"id": "x", "appRoleId": "ABC", "resourceId": "r",
                                                  "principalId": "sp"}]})
    (grant,) = assemble_tenant(raw, SOURCE).delegated_grants
    assert grant.scopes == ("abc",) and grant.resource == "r"


def test_rbac_assignments_become_policies_on_their_scope(snap):
    dev = ident(snap, SP_MI_DEV)
    (policy_id,) = dev.policy_ids
    policy = next(p for p in snap.policies if p.id == policy_id)
    assert policy.name == "Contributor" and policy.kind == "role"
    (st,) = policy.statements
    assert st.actions == ("*",) and st.resources == (f"/subscriptions/{PROD}",)
    assert "Microsoft.Authorization/*/Write" in st.not_actions
    agent = next(p for p in snap.policies if p.id in ident(snap, SP_MI_AGENT).policy_ids)
    chat = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
    assert chat in agent.statements[0].actions
    deploy = ident(snap, SP_DEPLOY)
    reader = next(p for p in snap.policies if p.id in deploy.policy_ids and p.name == "Reader")
    assert reader.statements[0].conditions["azure:condition"].startswith("@Resource[")
    user_assignment = f"/subscriptions/{PROD}/providers/Microsoft.Authorization/roleAssignments/{g(0x604)}"
    assert user_assignment not in {p.id for p in snap.policies}  # a user's assignment is not in the inventory


def test_directory_role_assignment(snap):
    deploy = ident(snap, SP_DEPLOY)
    assert deploy.policy_sources["directoryRole:dra-deploy-appadmin"] == "directory role"
    policy = next(p for p in snap.policies if p.id == "directoryRole:dra-deploy-appadmin")
    assert policy.name == "Application Administrator" and policy.statements[0].resources == ("/",)
    assert "microsoft.directory/applications/credentials/update" in policy.statements[0].actions


def test_owner_and_federated_trusts(snap):
    (owner,) = [t for t in snap.trusts if t.kind == "owner"]
    assert (owner.identity_id, owner.principal) == (SP_DEPLOY, SP_STALE)
    assert owner.reason == "owner of application deploy-pipeline"
    assert ident(snap, SP_DEPLOY).owner == "legacy-export"
    feds = {t.conditions["subject"]: t for t in snap.trusts if t.kind == "federated"}
    assert set(feds) == {"repo:contoso/deploy:pull_request", "repo:contoso/deploy:environment:prod",
                         "repo:contoso/reports:ref:refs/heads/main"}
    pr = feds["repo:contoso/deploy:pull_request"]
    assert pr.identity_id == SP_DEPLOY and pr.principal == "https://token.actions.githubusercontent.com"
    assert pr.conditions["audiences"] == ["api://AzureADTokenExchange"] and "gh-pr" in pr.reason


def test_flexible_federated_credential_keeps_its_expression():
    raw = RawTenant(tenant_id=TENANT, service_principals=[{"id": "sp", "appId": "a"}],
                    applications=[{"id": "o", "appId": "a"}],
                    federated_credentials={"o": [{"issuer": "https://token.actions.githubusercontent.com",
                                                  "audiences": ["api://AzureADTokenExchange"],
                                                  "claimsMatchingExpression": {"value": "claims['sub'] matches "
                                                                               "'repo:org/*'",
                                                                               "languageVersion": 1}}]})
    (trust,) = assemble_tenant(raw, SOURCE).trusts
    assert "subject" not in trust.conditions and trust.conditions["claimsMatchingExpression"]["languageVersion"] == 1


def test_resources_with_identities_become_workloads(snap):
    by_kind = {w.kind: w for w in snap.workloads}
    assert by_kind["azure_vm"].identity_id == SP_MI_DEV and by_kind["azure_vm"].account == DEV
    agent = by_kind["container_app"]  # userAssignedIdentities entry without principalId: from az identity list
    assert agent.identity_id == SP_MI_AGENT and agent.account == PROD
    assert workload_kind("Microsoft.Web/sites", "functionapp,linux") == "function_app"
    assert workload_kind("Microsoft.Web/sites", "app,linux") == "app_service"


def test_without_sign_in_reports_usage_is_not_recorded():
    raw = fixture_raw()
    raw.sign_ins_recorded = False
    assert assemble_tenant(raw, SOURCE).sources[0].usage_recorded is False
    assert assemble_tenant(fixture_raw(), SOURCE).sources[0].usage_recorded is True


def test_output_is_deterministic():
    a = assemble_tenant(fixture_raw(), SOURCE)
    raw = fixture_raw()
    raw.service_principals = list(reversed(raw.service_principals or []))
    raw.applications.reverse()
    b = assemble_tenant(raw, SOURCE)
    dump = lambda s: s.model_dump(exclude={"generated_at"})  # noqa: E731
    assert dump(a) == dump(b)


def test_malformed_raw_data_carries_a_path():
    raw = fixture_raw()
    raw.applications[1]["passwordCredentials"][0]["endDateTime"] = "next year"
    with pytest.raises(AzureDataError) as exc:
        assemble_tenant(raw, SOURCE)
    assert exc.value.path == ("applications", 1, "passwordCredentials", 0, "endDateTime")


def test_subscriptions_with_management_groups_get_a_source():
    raw = fixture_raw()
    raw.subscriptions[0].management_groups = ["ml", "/providers/Microsoft.Management/managementGroups/root"]
    tenant, prod = assemble_tenant(raw, SOURCE).sources
    assert tenant.account == TENANT and prod.account == PROD
    assert prod.ancestors == ("/providers/Microsoft.Management/managementGroups/ml",
                              "/providers/Microsoft.Management/managementGroups/root")
