"""Live Azure collection through the real code path: a real azure-identity EnvironmentCredential gets its
tokens from an in-test HTTPS authority; real httpx reads the Graph and ARM fakes (tests/azure_support.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from azure_support import AzureServers, FakeAzure
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.azure.clients import AzureHttp, CallSettings, ReadOnlyViolation, RequestCounter
from nhiaudit.connectors.azure.collect_tenant import TenantContext, collect_tenant
from nhiaudit.connectors.azure.endpoints import endpoints_for
from nhiaudit.connectors.azure.live import collect_azure
from nhiaudit.connectors.deadline import Deadline
from nhiaudit.connectors.options import AzureOptions
from nhiaudit.errors import UsageError

TENANT = "11111111-1111-4111-8111-111111111111"
SUB = "22222222-2222-4222-8222-222222222222"
GRAPH_APP = "00000003-0000-0000-c000-000000000000"
MS_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
MAIL_READ = "810c84a8-4a9e-49e6-bf7d-12d183f40d01"
FAST = CallSettings(backoff_initial=0.0, max_retry_after=0.0)


def _sp(oid: str, app_id: str, name: str, kind: str = "Application", owner_org: str = TENANT) -> dict:
    return {"id": oid, "appId": app_id, "displayName": name, "servicePrincipalType": kind, "accountEnabled": True,
            "appOwnerOrganizationId": owner_org, "tags": [], "appRoles": [], "alternativeNames": []}


def estate(extra_sps: int = 0) -> FakeAzure:
    graph = _sp("00000100-0000-4000-8000-000000000100", GRAPH_APP, "Microsoft Graph", owner_org=MS_TENANT)
    graph["appRoles"] = [{"id": MAIL_READ, "value": "Mail.Read", "allowedMemberTypes": ["Application"],
                          "isEnabled": True, "displayName": "Read mail"}]
    bot = _sp("00000102-0000-4000-8000-000000000102", "00000301-0000-4000-8000-000000000301", "hr-bot")
    mi = _sp("00000104-0000-4000-8000-000000000104", "00000312-0000-4000-8000-000000000312", "dev-runner",
             kind="ManagedIdentity")
    sps = [graph, bot, mi] + [_sp(f"00009{i:03d}-0000-4000-8000-000000000000", f"00008{i:03d}-0000-4000-8000-0000"
                                  "00000000", f"filler-{i}") for i in range(extra_sps)]
    app = {"id": "00000201-0000-4000-8000-000000000201", "appId": bot["appId"], "displayName": "hr-bot",
           "createdDateTime": "2023-01-10T09:00:00Z", "signInAudience": "AzureADMyOrg", "keyCredentials": [],
           "requiredResourceAccess": [],
           "passwordCredentials": [{"keyId": "00000401-0000-4000-8000-000000000401", "hint": "Xy7",
                                    "displayName": "old", "customKeyIdentifier": None,
                                    "startDateTime": "2023-01-10T09:00:00Z", "endDateTime": "2033-01-10T09:00:00Z",
                                    "secretText": "PLANTED-SECRET-VALUE"}]}
    role_def = (f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
                "b24988ac-6180-42a0-ab88-20f7382dd24c")
    return FakeAzure(
        tenant_id=TENANT, service_principals=sps, applications=[app],
        owners={bot["id"]: [{"@odata.type": "#microsoft.graph.user", "id": "00000601-0000-4000-8000-000000000601",
                             "displayName": "Ada", "userPrincipalName": "ada@contoso.com"}]},
        app_role_assignments={bot["id"]: [{"id": "ara-1", "appRoleId": MAIL_READ, "principalId": bot["id"],
                                           "principalType": "ServicePrincipal", "resourceId": graph["id"],
                                           "resourceDisplayName": "Microsoft Graph", "principalDisplayName": "hr-bot",
                                           "createdDateTime": "2024-01-01T00:00:00Z"}]},
        sp_sign_ins=[{"id": "s1", "appId": bot["appId"],
                      "lastSignInActivity": {"lastSignInDateTime": "2026-01-20T08:00:00Z"}}],
        subscriptions={SUB: {
            "displayName": "prod",
            "roleAssignments": [{"id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/ra1",
                                 "name": "ra1", "type": "Microsoft.Authorization/roleAssignments",
                                 "properties": {"principalId": mi["id"], "principalType": "ServicePrincipal",
                                                "roleDefinitionId": role_def, "scope": f"/subscriptions/{SUB}"}}],
            "roleDefinitions": [{"id": role_def, "name": "b24988ac-6180-42a0-ab88-20f7382dd24c",
                                 "type": "Microsoft.Authorization/roleDefinitions",
                                 "properties": {"roleName": "Contributor", "type": "BuiltInRole",
                                                "permissions": [{"actions": ["*"], "notActions": [],
                                                                 "dataActions": [], "notDataActions": []}],
                                                "assignableScopes": ["/"]}}],
            "resources": [{"id": f"/subscriptions/{SUB}/resourceGroups/dev/providers/Microsoft.Compute/"
                                 "virtualMachines/runner", "name": "runner",
                           "type": "Microsoft.Compute/virtualMachines", "location": "westeurope",
                           "identity": {"type": "SystemAssigned", "principalId": mi["id"], "tenantId": TENANT}},
                          {"id": f"/subscriptions/{SUB}/resourceGroups/dev/providers/Microsoft.Storage/"
                                 "storageAccounts/plain", "name": "plain",
                           "type": "Microsoft.Storage/storageAccounts"}],
        }},
    )


@pytest.fixture
def fake() -> FakeAzure:
    return estate()


@pytest.fixture
def servers(fake, tmp_path, monkeypatch):
    running = AzureServers(fake, tmp_path)
    for name, value in running.env.items():
        monkeypatch.setenv(name, value)
    yield running
    running.close()


def _surfaces(counter: RequestCounter) -> tuple[AzureHttp, AzureHttp]:
    from azure.identity import EnvironmentCredential

    endpoints = endpoints_for("public")
    credential = EnvironmentCredential(disable_instance_discovery=True)
    deadline = Deadline(60)
    return (AzureHttp("graph", endpoints.graph, endpoints.graph_scope, credential, deadline, FAST, (counter,)),
            AzureHttp("arm", endpoints.arm, endpoints.arm_scope, credential, deadline, FAST, (counter,)))


def test_collects_the_tenant_with_real_tokens_and_only_gets(servers, fake):
    counter = RequestCounter()
    [snapshot] = collect_azure(AzureOptions(enabled=True, timeout=60), counter=counter, settings=FAST)
    assert fake.bad_tokens == 0
    # Tokens were minted for the real scopes, wherever the overrides send them.
    assert {s.split()[0] for s in servers.issued} == {"https://graph.microsoft.com/.default",
                                                      "https://management.azure.com/.default"}
    assert {m for _, m, _ in fake.requests} == {"GET"}
    assert snapshot.sources[0].account == TENANT
    ids = {i.id for i in snapshot.identities}
    assert {"00000102-0000-4000-8000-000000000102", "00000104-0000-4000-8000-000000000104"} <= ids
    assert any(c.id == "00000401-0000-4000-8000-000000000401" for c in snapshot.credentials)
    assert "PLANTED-SECRET-VALUE" not in snapshot.model_dump_json()
    assert any(w.identity_id == "00000104-0000-4000-8000-000000000104" for w in snapshot.workloads)
    assert counter.total == len(fake.requests)


def test_sign_in_report_denied_is_an_issue_and_usage_unknown(servers, fake):
    fake.faults["spSignIns"] = 403
    [snapshot] = collect_azure(AzureOptions(enabled=True, timeout=60), settings=FAST)
    [issue] = [i for i in snapshot.collection_issues if "servicePrincipalSignInActivities" in i.operation]
    assert "cannot be judged" in (issue.missing or "")
    assert "403" in issue.message
    assert snapshot.sources[0].usage_recorded is False


def test_paging_and_request_count_is_a_small_multiple_of_pages(servers, monkeypatch):
    big = estate(extra_sps=497)  # 500 SPs, 5 pages of 100
    servers.fake.__dict__.update({k: v for k, v in big.__dict__.items() if k not in ("requests", "_lock")})
    counter = RequestCounter()
    graph, arm = _surfaces(counter)
    raw = collect_tenant(TenantContext(graph, arm, TENANT))
    assert raw.service_principals is not None and len(raw.service_principals) == 500
    graph_requests = sum(n for k, n in counter.snapshot().items() if k.startswith("graph "))
    # 2 SP lists x 5 pages, applications 2 x 1, grants, directory roles, two reports: no per-SP call.
    assert graph_requests == 2 * 5 + 2 + 4
    assert not any("/owners" in k or "/appRoleAssignments" in k for k in counter.snapshot())


def test_expanded_list_cut_at_20_is_read_on_its_own(servers, fake):
    bot = "00000102-0000-4000-8000-000000000102"
    fake.owners[bot] = [{"id": f"0000{i:04d}-0000-4000-8000-000000000000", "displayName": f"o{i}"} for i in range(25)]
    counter = RequestCounter()
    graph, arm = _surfaces(counter)
    raw = collect_tenant(TenantContext(graph, arm, TENANT))
    assert len(raw.owners[bot]) == 25
    assert counter.snapshot()[f"graph GET /v1.0/servicePrincipals/{bot}/owners"] == 1


def test_429_with_retry_after_is_retried(servers, fake):
    fake.throttle["servicePrincipals"] = 2
    fake.throttle["roleAssignments"] = 1
    counter = RequestCounter()
    graph, arm = _surfaces(counter)
    raw = collect_tenant(TenantContext(graph, arm, TENANT))
    assert raw.issues == []
    assert raw.service_principals is not None and len(raw.service_principals) == 3
    assert raw.subscriptions[0].role_assignments and len(raw.subscriptions[0].role_assignments) == 1


def test_denied_arm_call_is_an_issue_and_the_rest_is_kept(servers, fake):
    fake.faults["roleAssignments"] = 403
    counter = RequestCounter()
    graph, arm = _surfaces(counter)
    raw = collect_tenant(TenantContext(graph, arm, TENANT))
    [issue] = raw.issues
    assert issue.operation == "arm:GET roleAssignments" and issue.account == SUB
    assert raw.subscriptions[0].role_assignments is None
    assert len(raw.subscriptions[0].resources) == 1  # only the resource with an identity
    assert raw.sign_ins_recorded


def test_guard_refuses_a_non_get_before_it_is_sent(servers, fake):
    graph, _ = _surfaces(RequestCounter())
    with pytest.raises(ReadOnlyViolation):
        graph.client().post(graph.base + "/v1.0/servicePrincipals", json={"displayName": "x"})
    assert not any(m != "GET" for _, m, _ in fake.requests)


def test_next_link_leaving_the_endpoint_is_refused(servers, fake):
    graph, _ = _surfaces(RequestCounter())
    fake.page_size = 1
    link_base = servers.env["NHIAUDIT_AZURE_GRAPH_ENDPOINT"]
    graph.base = link_base.replace("127.0.0.1", "localhost")  # the fake's links name 127.0.0.1: another origin
    with pytest.raises(ValueError, match="leaves the endpoint"):
        graph.list_all("/v1.0/servicePrincipals")


def test_endpoint_overrides_are_checked():
    with pytest.raises(UsageError):
        endpoints_for("public", {"NHIAUDIT_AZURE_GRAPH_ENDPOINT": "http://graph.example.com"})
    with pytest.raises(UsageError):
        endpoints_for("mars", {})
    gov = endpoints_for("usgov", {})
    assert gov.graph == "https://graph.microsoft.us" and gov.arm_scope == "https://management.usgovcloudapi.net/.default"
    assert endpoints_for("public", {"AZURE_AUTHORITY_HOST": "https://127.0.0.1:1"}).disable_instance_discovery
    assert not endpoints_for("public", {"AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com"}) \
        .disable_instance_discovery


POLICY = """\
    version: 1
    integrations:
      - name: hr-bot
        kind: agent
        owner: hr@contoso.com
        purpose: answers HR questions
        identities: ["00000102-0000-4000-8000-000000000102"]
"""


def _cli(tmp_path: Path, servers: AzureServers, *args: str) -> tuple[int, dict, str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    out = tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), ["scan", *args, "--policy", str(policy), "--format", "json",
                                              "-o", str(out), "--quiet", "--as-of", "2026-02-01"], env=servers.env)
    report = json.loads(out.read_text()) if out.exists() else {}
    return result.exit_code, report, result.output


def test_scan_through_the_cli(tmp_path, servers, fake):
    code, report, output = _cli(tmp_path, servers, "--azure", "--azure-subscription", SUB, "--fail-on", "none")
    assert code == 0, output
    assert report["collection"]["complete"], report["collection"]
    assert "PLANTED-SECRET-VALUE" not in json.dumps(report)


def test_scan_exits_3_when_the_sign_in_report_is_denied(tmp_path, servers, fake):
    fake.faults["credSignIns"] = 403
    code, report, output = _cli(tmp_path, servers, "--azure", "--fail-on", "none")
    assert code == 3, output
    assert [e["operation"] for e in report["collection"]["errors"]] == [
        "graph:GET /beta/reports/appCredentialSignInActivities"]
    assert not any("unused" in f.get("rule", {}).get("id", "") for f in report["findings"])


def test_bad_options_are_usage_errors():
    with pytest.raises(UsageError):
        collect_azure(AzureOptions(enabled=True, subscriptions=("not-a-guid",)))
    with pytest.raises(UsageError):
        collect_azure(AzureOptions(enabled=True, tenant="bad tenant!"))


# --- subscriptions in parallel; federated credentials of user-assigned managed identities -------------------

AKS_MI, GH_MI = "00000105-0000-4000-8000-000000000105", "00000106-0000-4000-8000-000000000106"
AKS_ISSUER = "https://westeurope.oic.prod-aks.azure.com/11111111-1111-4111-8111-111111111111/aaaa-bbbb/"


def _uami(sub: str, name: str, principal: str) -> dict:
    return {"id": f"/subscriptions/{sub}/resourcegroups/apps/providers/Microsoft.ManagedIdentity/"
                  f"userAssignedIdentities/{name}", "name": name, "location": "westeurope",
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "properties": {"principalId": principal, "clientId": principal, "tenantId": TENANT}}


def _fic(identity: dict, name: str, issuer: str, subject: str) -> dict:
    return {"id": f"{identity['id']}/federatedIdentityCredentials/{name}", "name": name,
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
            "properties": {"issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}}


def with_workload_identities(fake: FakeAzure) -> FakeAzure:
    """An AKS workload identity pinned to one service account, and a GitHub trust admitting any pull request."""
    fake.service_principals += [_sp(AKS_MI, "00000315-0000-4000-8000-000000000315", "aks-mi", kind="ManagedIdentity"),
                                _sp(GH_MI, "00000316-0000-4000-8000-000000000316", "gh-mi", kind="ManagedIdentity")]
    aks, gh = _uami(SUB, "aks-mi", AKS_MI), _uami(SUB, "gh-mi", GH_MI)
    fake.subscriptions[SUB]["identities"] = [aks, gh]
    fake.subscriptions[SUB]["federated"] = {
        aks["id"]: [_fic(aks, "chat-api", AKS_ISSUER, "system:serviceaccount:ai:chat-api")],
        gh["id"]: [_fic(gh, "any-pr", "https://token.actions.githubusercontent.com", "repo:acme/app:pull_request")]}
    return fake


def _many_subscriptions(fake: FakeAzure, n: int) -> list[str]:
    base = fake.subscriptions[SUB]
    ids = [f"{i:08d}-2222-4222-8222-222222222222" for i in range(n, 0, -1)]  # listed out of order
    for sid in ids:
        fake.subscriptions[sid] = json.loads(json.dumps(base).replace(SUB, sid))
    return sorted([*ids, SUB])


def test_subscriptions_in_parallel_equal_the_serial_read(servers, fake):
    with_workload_identities(fake)
    subs = _many_subscriptions(fake, 6)
    fake.faults["resources"] = 403  # every subscription fails one call: the issues must come in a stable order
    raws = []
    for concurrency in (1, 4, 4, 16):
        graph, arm = _surfaces(RequestCounter())
        raws.append(collect_tenant(TenantContext(graph, arm, TENANT, concurrency=concurrency)))
    serial = raws[0]
    assert [s.subscription_id for s in serial.subscriptions] == subs
    assert [i.account for i in serial.issues if i.operation == "arm:GET resources"] == subs
    assert len(serial.identity_federated_credentials) == 2 * len(subs)
    for parallel in raws[1:]:
        assert parallel == serial


def test_parallel_collection_through_the_cli_is_deterministic(tmp_path, servers, fake):
    _many_subscriptions(fake, 3)
    reports = []
    for concurrency in ("1", "8"):
        code, report, output = _cli(tmp_path, servers, "--azure", "--concurrency", concurrency, "--fail-on", "none")
        assert code == 0, output
        reports.append([(f["rule_id"], f["fingerprint"]) for f in report["findings"]])
    assert reports[0] == reports[1] and reports[0]


def test_managed_identity_federated_credentials_are_trusts(servers, fake):
    with_workload_identities(fake)
    counter = RequestCounter()
    [snapshot] = collect_azure(AzureOptions(enabled=True, timeout=60), counter=counter, settings=FAST)
    federated = {(t.identity_id, t.principal, t.conditions["subject"]) for t in snapshot.trusts
                 if t.kind.value == "federated"}
    assert federated == {(AKS_MI, AKS_ISSUER, "system:serviceaccount:ai:chat-api"),
                         (GH_MI, "https://token.actions.githubusercontent.com", "repo:acme/app:pull_request")}
    assert any("of managed identity aks-mi" in t.reason for t in snapshot.trusts)
    assert sum(n for k, n in counter.snapshot().items() if k.endswith("/federatedIdentityCredentials")) == 2
    assert snapshot.complete


def test_github_pull_request_on_a_managed_identity_is_reported_aks_pinned_is_not(tmp_path, servers, fake):
    with_workload_identities(fake)
    code, report, output = _cli(tmp_path, servers, "--azure", "--fail-on", "none")
    assert code == 0, output
    risky = {f["identity"]["id"] for f in report["findings"] if f["rule_id"] == "trust-federated-unconstrained"}
    assert risky == {GH_MI}


def test_hostile_identity_id_is_not_followed(servers, fake):
    hostile = _uami(SUB, "x", AKS_MI)
    hostile["id"] = f"/subscriptions/{SUB}/resourceGroups/../../../v1.0/providers/Microsoft.ManagedIdentity/" \
                    "userAssignedIdentities/x"
    fake.subscriptions[SUB]["identities"] = [hostile]
    graph, arm = _surfaces(RequestCounter())
    raw = collect_tenant(TenantContext(graph, arm, TENANT))
    [issue] = raw.issues
    assert issue.operation == "arm:GET federatedIdentityCredentials" and "not read" in issue.message
    assert not any("federatedIdentityCredentials" in p for s, _, p in fake.requests if s == "arm")
