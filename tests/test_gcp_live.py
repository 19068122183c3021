"""Live GCP collection through the real clients (google-cloud-iam's IAMClient over gRPC, Resource Manager v3's
REST client, AuthorizedSession for the REST-only APIs) against in-test servers on 127.0.0.1 (gcp_support)."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from gcp_support import FakeGcp, GcpServers, big_estate, small_estate
from rich.console import Console
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.gcp.clients import (
    CallSettings,
    Deadline,
    GcpClients,
    ReadOnlyViolation,
    RequestCounter,
    is_read_method,
    rest_method_allowed,
)
from nhiaudit.connectors.gcp.endpoints import endpoints_from_env
from nhiaudit.connectors.gcp.live import collect_gcp
from nhiaudit.connectors.options import GcpOptions
from nhiaudit.errors import UsageError
from nhiaudit.inventory.snapshot import Snapshot

PROJECT = "acme-ml-prod"
AGENT = f"agent@{PROJECT}.iam.gserviceaccount.com"
BATCH = f"batch@{PROJECT}.iam.gserviceaccount.com"
FAST = CallSettings(backoff_initial=0.01, backoff_maximum=0.05)


def collect(
    servers: GcpServers, *projects: str, counter: RequestCounter | None = None, settings: CallSettings = FAST,
    **opts: object
) -> list[Snapshot]:
    options = GcpOptions(enabled=True, projects=projects, **opts)  # type: ignore[arg-type]
    return collect_gcp(options, 4, Console(stderr=True, quiet=True), counter=counter, settings=settings,
                       env=servers.env)


def is_read(entry: str) -> bool:
    method, _, path = entry.partition(" ")
    if method == "grpc":
        return is_read_method(path)
    return rest_method_allowed(method, "http://h" + path)


@pytest.fixture
def fake() -> FakeGcp:
    return small_estate(PROJECT)


@pytest.fixture
def servers(fake: FakeGcp):
    with GcpServers(fake) as running:
        yield running


def test_collects_every_part_of_a_project(servers, fake):
    [snapshot] = collect(servers, PROJECT)
    assert snapshot.collection_issues == []
    assert [i.id for i in snapshot.identities] == [AGENT, BATCH, f"old@{PROJECT}.iam.gserviceaccount.com"]
    keys = {c.id.rsplit("/", 1)[-1]: c for c in snapshot.credentials}
    assert sorted(keys) == ["k1", "k2", "k3"]
    assert keys["k2"].managed_by == "system" and keys["k1"].managed_by == "user" and keys["k1"].expires is None
    assert {w.kind for w in snapshot.workloads} == {"gce_instance", "cloud_run", "cloud_function"}
    policy_ids = {p.id for p in snapshot.policies}
    assert "binding:organizations/100:roles/owner" in policy_ids  # inherited from the organization
    assert "binding:folders/200:roles/viewer" in policy_ids
    assert any(p.startswith("binding://storage.googleapis.com/projects/_/buckets/acme-pii:") for p in policy_ids)
    assert any(t.identity_id == AGENT and t.principal == BATCH for t in snapshot.trusts)  # SA-level TokenCreator
    agent = next(i for i in snapshot.identities if i.id == AGENT)
    assert agent.last_activity is not None  # Policy Analyzer
    assert any(s.effect == "Deny" for p in snapshot.policies for s in p.statements)  # v2 deny policy
    text = snapshot.model_dump_json()
    assert "privateKeyData" not in text
    assert "anonymously" in (snapshot.sources[0].detail or "")
    assert all(is_read(e) for e in fake.received), [e for e in fake.received if not is_read(e)]


def test_every_page_is_followed(servers, fake):
    [whole] = collect(servers, PROJECT)
    fake.page_limit = 1
    fake.received.clear()
    [paged] = collect(servers, PROJECT)
    got = Counter(fake.received)
    assert got["grpc ListServiceAccounts"] == 3  # three SAs, one per page
    assert got[f"GET /v1/projects/{PROJECT}:searchAllIamPolicies"] == 2
    assert got[f"GET /v1/projects/{PROJECT}/locations"] == 2  # Cloud Run locations
    strip = {"sources", "generated_at"}
    assert paged.model_dump(exclude=strip) == whole.model_dump(exclude=strip)


def test_a_403_on_one_api_is_an_issue_and_keeps_everything_else(servers, fake):
    fake.deny_routes.add("searchAllIamPolicies")
    [snapshot] = collect(servers, PROJECT)
    [issue] = snapshot.collection_issues
    assert issue.operation == "cloudasset.assets.searchAllIamPolicies"
    assert issue.message.startswith("403 PERMISSION_DENIED") and "Cloud Asset" in (issue.missing or "")
    assert len(snapshot.identities) == 3 and len(snapshot.credentials) == 3 and len(snapshot.workloads) == 3
    assert not any("storage.googleapis.com" in p.id for p in snapshot.policies)


def test_denied_activities_leave_key_use_unknown_not_unused(servers, fake):
    [complete] = collect(servers, PROJECT)
    assert complete.sources[0].usage_recorded is True
    fake.deny_routes.add("activities.query")
    [snapshot] = collect(servers, PROJECT)
    assert sorted(i.operation for i in snapshot.collection_issues) == [
        "policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query",
        "policyanalyzer.serviceAccountLastAuthenticationActivities.query"]
    assert snapshot.sources[0].usage_recorded is False  # so no key of the project is reported unused
    assert all(c.last_used is None for c in snapshot.credentials)


def test_a_denied_grpc_call_per_service_account_is_one_issue_naming_them(servers, fake):
    fake.deny_routes.add("ListServiceAccountKeys")
    [snapshot] = collect(servers, PROJECT)
    [issue] = snapshot.collection_issues
    assert issue.operation == "iam.serviceAccountKeys.list" and "3 of 3 calls" in issue.message
    assert snapshot.credentials == [] and len(snapshot.identities) == 3


def test_429_and_503_are_retried_with_backoff(servers, fake):
    fake.faults = {"ListServiceAccounts": [429, 503], "searchAllIamPolicies": [429], "projects.get": [503]}
    counter = RequestCounter()
    [snapshot] = collect(servers, PROJECT, counter=counter)
    assert snapshot.collection_issues == []
    got = Counter(fake.received)
    assert got["grpc ListServiceAccounts"] == 3 and got[f"GET /v1/projects/{PROJECT}:searchAllIamPolicies"] == 2
    assert got[f"GET /v3/projects/{PROJECT}"] == 2
    assert counter.snapshot()["/google.iam.admin.v1.IAM/ListServiceAccounts"] == 3  # retries are counted


def test_the_guard_refuses_writes_before_they_are_sent(servers, fake):
    gcp = GcpClients(endpoints_from_env(servers.env), None, Deadline(30), FAST)
    iam = gcp.iam()
    with pytest.raises(ReadOnlyViolation):
        iam.create_service_account_key(request={"name": f"projects/{PROJECT}/serviceAccounts/{AGENT}"})
    with pytest.raises(ReadOnlyViolation):
        iam.set_iam_policy(request={"resource": f"projects/{PROJECT}/serviceAccounts/{AGENT}"})
    with pytest.raises(ReadOnlyViolation):
        gcp.resource_manager("projects").set_iam_policy(request={"resource": f"projects/{PROJECT}"})
    with pytest.raises(ReadOnlyViolation):
        gcp.rest("IAM", "PATCH", f"/v1/projects/{PROJECT}/locations/global/workloadIdentityPools/github")
    with pytest.raises(ReadOnlyViolation):
        gcp.rest("CLOUDRESOURCEMANAGER", "POST", f"/v3/projects/{PROJECT}:setIamPolicy", body={})
    assert fake.received == []


@pytest.mark.parametrize(("method", "allowed"), [
    ("ListServiceAccounts", True), ("GetIamPolicy", True), ("getIamPolicy", True), ("searchAllIamPolicies", True),
    ("query", True), ("TestIamPermissions", True), ("aggregatedList", True), ("QueryGrantableRoles", True),
    ("SetIamPolicy", False), ("CreateServiceAccountKey", False), ("SignJwt", False), ("SignBlob", False),
    ("DeleteRole", False), ("UndeleteServiceAccount", False), ("Getaway", False), ("listen", False),
])
def test_read_methods(method, allowed):
    assert is_read_method(method) is allowed


@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("GET", "https://x.googleapis.com/v1/projects/p/locations", True),
    ("GET", "https://x.googleapis.com/v1/projects/p:searchAllIamPolicies", True),
    ("POST", "https://x.googleapis.com/v3/projects/p:getIamPolicy", True),
    ("POST", "https://x.googleapis.com/v3/projects/p:testIamPermissions", True),
    ("POST", "https://x.googleapis.com/v3/projects/p:setIamPolicy", False),
    ("POST", "https://x.googleapis.com/v1/projects/p/serviceAccounts", False),
    ("GET", "https://x.googleapis.com/v1/projects/p:undelete", False),
    ("DELETE", "https://x.googleapis.com/v1/projects/p", False),
    ("PATCH", "https://x.googleapis.com/v1/projects/p", False),
])
def test_rest_reads(method, url, allowed):
    assert rest_method_allowed(method, url) is allowed


def test_endpoint_contract():
    env = {"NHIAUDIT_GCP_ENDPOINT_IAM": "127.0.0.1:9000", "NHIAUDIT_GCP_ENDPOINT_RUN": "http://localhost:1/"}
    endpoints = endpoints_from_env(env)
    assert endpoints.grpc_target() == ("127.0.0.1:9000", True)
    assert endpoints.rest_base("IAM") == "http://127.0.0.1:9000"
    assert endpoints.rest_base("RUN") == "http://localhost:1"
    assert endpoints.rest_base("COMPUTE") == "https://compute.googleapis.com"
    assert endpoints_from_env({"NHIAUDIT_GCP_ENDPOINT_IAM": "iam.example:443"}).grpc_target() == (
        "iam.example:443", False)
    for bad in ({"NHIAUDIT_GCP_ENDPOINT_IAMX": "127.0.0.1:1"}, {"NHIAUDIT_GCP_ENDPOINT_RUN": "http://10.0.0.1:80"},
                {"NHIAUDIT_GCP_ENDPOINT_IAM": "http://127.0.0.1:1"}, {"NHIAUDIT_GCP_ENDPOINT_RUN": "ftp://x"}):
        with pytest.raises(UsageError):
            endpoints_from_env(bad)


def test_request_budget_does_not_grow_with_bindings():
    """200 SAs: 1 list page per 100 SAs, one keys list and one policy per SA, one get_role per distinct role,
    and a fixed number of project calls; 300 or 3,000 bindings make no difference."""
    counts = []
    for bindings in (300, 3000):
        fake = big_estate(200, bindings)
        with GcpServers(fake) as servers:
            counter = RequestCounter()
            [snapshot] = collect(servers, "acme-big-prod", counter=counter)
            assert snapshot.collection_issues == []
            counts.append(counter.total)
    roles = 8  # the distinct predefined roles the bindings name
    fixed = {  # see docs/gcp-connector.md, "Request budget"; the project's parent is the organization
        "projects.get": 1, "organizations.get": 1, "getIamPolicy (project, organization)": 2,
        "denypolicies.list": 2, "roles.list": 2,
        "searchAllIamPolicies": 1, "activities.query": 2, "workloadIdentityPools.list": 1,
        "instances.aggregatedList": 1, "functions.list": 1, "run locations + services in 2 locations": 3,
    }
    assert counts == [sum(fixed.values()) + 2 + 2 * 200 + roles] * 2


def test_projects_below_an_organization_are_enumerated(servers, fake):
    fake.folders["folders/201"] = "folders/200"
    fake.projects["acme-ml-dev"] = {"number": "222", "parent": "folders/201"}
    fake.projects["acme-other"] = {"number": "333", "parent": "organizations/999"}
    snapshots = collect_gcp(GcpOptions(enabled=True, organization="100"), 2, Console(stderr=True, quiet=True),
                            settings=FAST, env=servers.env)
    assert [s.sources[0].account for s in snapshots] == ["acme-ml-dev", PROJECT]
    dev = snapshots[0]
    assert dev.collection_issues == []  # an empty project is not a failure
    # Folder and organization data are read once per run, however many projects lie below them.
    assert Counter(fake.received)["POST /v3/organizations/100:getIamPolicy"] == 1


POLICY = """\
    version: 1
    systems:
      vertex:
        kind: ai-model
        resources: ["projects/acme-ml-prod"]
      pii:
        kind: data
        classification: restricted
        resources: ["//storage.googleapis.com/projects/_/buckets/acme-pii*"]
    integrations:
      - name: support-agent
        kind: agent
        owner: support@acme.example
        purpose: answers support tickets
        identities: ["agent@acme-ml-prod.iam.gserviceaccount.com"]
        may_reach: [vertex]
        must_not_reach: [pii]
"""


def run_cli(tmp_path: Path, servers: GcpServers, *args: str) -> tuple[int, dict, str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    out = tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), ["scan", *args, "--policy", str(policy), "--format", "json",
                                              "-o", str(out), "--quiet"], env=servers.env)
    report = json.loads(out.read_text()) if out.exists() else {}
    return result.exit_code, report, result.output


def test_scan_through_the_cli(tmp_path, servers, fake):
    code, report, output = run_cli(tmp_path, servers, "--gcp", "--gcp-project", PROJECT, "--fail-on", "none")
    assert code == 0, output
    assert report["collection"]["complete"]
    assert report["findings"], "the planted estate has findings"
    assert {f["identity"]["id"] for f in report["findings"] if f.get("identity")} & {AGENT, BATCH}


def test_scan_exits_3_when_one_api_is_denied(tmp_path, servers, fake):
    fake.deny_routes.add("activities.query")
    code, report, output = run_cli(tmp_path, servers, "--gcp-project", PROJECT, "--fail-on", "none")
    assert code == 3, output
    errors = report["collection"]["errors"]
    assert {e["operation"] for e in errors} == {
        "policyanalyzer.serviceAccountLastAuthenticationActivities.query",
        "policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query"}


@pytest.mark.parametrize(("args", "message"), [
    (["--gcp-project", "Not_A_Project"], "not a project id"),
    (["--gcp-organization", "acme"], "--gcp-organization"),
    (["--gcp-project", PROJECT, "--gcp-impersonate", "not an email"], "--gcp-impersonate"),
])
def test_bad_options_are_usage_errors(tmp_path, servers, args, message):
    code, _, output = run_cli(tmp_path, servers, *args)
    assert code == 2 and message in output


def test_an_unknown_endpoint_variable_is_a_usage_error(tmp_path, servers):
    servers.env = servers.env | {"NHIAUDIT_GCP_ENDPOINT_STORAGE": "http://127.0.0.1:1"}
    code, _, output = run_cli(tmp_path, servers, "--gcp-project", PROJECT)
    assert code == 2 and "unknown service" in output


def test_no_credentials_is_exit_3(tmp_path, servers, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    env = {k: v for k, v in servers.env.items() if not k.endswith("_COMPUTE")}  # one service needs ADC
    servers.env = env | {"NO_GCE_CHECK": "True", "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
                         "GOOGLE_CLOUD_PROJECT": ""}
    code, _, output = run_cli(tmp_path, servers, "--gcp-project", PROJECT)
    assert code == 3 and "no GCP credentials found" in output


ROOT = Path(__file__).resolve().parent.parent


def test_the_custom_role_and_the_docs_list_exactly_the_permissions_used(servers, fake):
    import yaml

    from nhiaudit.connectors.gcp.calls import REQUIRED_PERMISSIONS

    role = yaml.safe_load((ROOT / "examples" / "gcp" / "nhiaudit-readonly-role.yaml").read_text())
    assert sorted(role["includedPermissions"]) == sorted(REQUIRED_PERMISSIONS)
    doc = (ROOT / "docs" / "gcp-connector.md").read_text()
    assert [p for p in REQUIRED_PERMISSIONS if f"`{p}`" not in doc] == []
    # Every call is named after the permission it needs: deny everything, every issue names one.
    fake.deny_routes.update({"projects.get", "getIamPolicy", "searchAllIamPolicies", "activities.query",
                             "workloadIdentityPools.list", "ListPolicies", "instances.aggregatedList",
                             "run.locations.list", "functions.list", "ListServiceAccounts", "ListRoles"})
    [snapshot] = collect(servers, PROJECT)
    operations = {i.operation for i in snapshot.collection_issues}
    assert len(operations) >= 10 and operations <= set(REQUIRED_PERMISSIONS), operations


# ---- deny policies through the typed IAM v2 PoliciesClient ------------------------------------------------

def test_deny_policies_come_from_the_typed_policies_client(servers, fake):
    second = dict(fake.deny[f"projects/{PROJECT}"][0], displayName="second")
    second["name"] = second["name"].replace("no-keys", "no-tokens")
    second["rules"] = [{"denyRule": {"deniedPrincipals": [f"principal://iam.googleapis.com/projects/-/"
                                                          f"serviceAccounts/{AGENT}"],
                                     "deniedPermissions": ["iam.googleapis.com/serviceAccounts.getAccessToken"]}}]
    fake.deny[f"projects/{PROJECT}"].append(second)
    fake.page_limit = 1  # two policies: two ListPolicies pages for the project
    [snapshot] = collect(servers, PROJECT)
    assert snapshot.collection_issues == []
    got = Counter(fake.received)
    # project (2 pages), folder 200 and organization 100 listed; each policy read in full (the list has no rules)
    assert got["grpc ListPolicies"] == 4 and got["grpc GetPolicy"] == 2
    assert not [e for e in fake.received if "denypolicies" in e and not e.startswith("grpc")]  # no REST left
    denied = {a for p in snapshot.policies for st in p.statements if st.effect == "Deny" for a in st.actions}
    assert {"iam.serviceAccountKeys.create", "iam.serviceAccounts.getAccessToken"} <= denied
    agent = next(i for i in snapshot.identities if i.id == AGENT)
    assert sum("denypolicies/" in p for p in agent.policy_ids) == 2


def test_the_policies_client_is_guarded_and_a_denied_listing_is_an_issue(servers, fake):
    gcp = GcpClients(endpoints_from_env(servers.env), None, Deadline(30), FAST)
    policies = gcp.policies()
    parent = "policies/cloudresourcemanager.googleapis.com%2Fprojects%2Facme-ml-prod/denypolicies"
    with pytest.raises(ReadOnlyViolation):
        policies.create_policy(request={"parent": parent, "policy_id": "x"})
    with pytest.raises(ReadOnlyViolation):
        policies.delete_policy(request={"name": f"{parent}/no-keys"})
    assert fake.received == []
    fake.deny_routes.add("ListPolicies")
    [snapshot] = collect(servers, PROJECT)
    assert {(i.operation, i.missing) for i in snapshot.collection_issues} == {
        ("iam.denypolicies.list", f"deny policies on {s}")
        for s in (f"projects/{PROJECT}", "folders/200", "organizations/100")}
    assert not any(s.effect == "Deny" for p in snapshot.policies for s in p.statements)


# ---- enumeration below an organization or folder ----------------------------------------------------------

def _tree(fake: FakeGcp) -> None:
    """organizations/100 -> folders/200 -> acme-ml-prod; organizations/100 -> acme-top;
    organizations/100 -> folders/201 -> folders/202 -> acme-ml-dev (folders/201 cannot be listed)."""
    fake.projects["acme-top"] = {"number": "444", "parent": "organizations/100"}
    fake.folders |= {"folders/201": "organizations/100", "folders/202": "folders/201"}
    fake.projects["acme-ml-dev"] = {"number": "222", "parent": "folders/202"}
    fake.deny_parents.add("folders/201")


def test_a_folder_that_cannot_be_listed_is_an_issue_and_the_other_projects_are_collected(servers, fake):
    _tree(fake)
    snapshots = collect_gcp(GcpOptions(enabled=True, organization="100"), 2, Console(stderr=True, quiet=True),
                            settings=FAST, env=servers.env)
    *projects, listing = snapshots
    assert [s.sources[0].account for s in projects] == [PROJECT, "acme-top"]
    assert all(s.collection_issues == [] for s in projects)
    assert listing.sources == []
    assert sorted((i.account, i.operation) for i in listing.collection_issues) == [
        ("folders/201", "resourcemanager.folders.list"), ("folders/201", "resourcemanager.projects.list")]
    assert all("403" in i.message and "folders/201" in (i.missing or "") for i in listing.collection_issues)


def test_a_denied_sub_folder_through_the_cli_is_exit_3_with_the_findings_of_the_rest(tmp_path, servers, fake):
    _tree(fake)
    code, report, output = run_cli(tmp_path, servers, "--gcp-organization", "organizations/100",
                                   "--fail-on", "none")
    assert code == 3, output
    assert {e["account"] for e in report["collection"]["errors"]} == {"folders/201"}
    assert report["findings"]  # acme-ml-prod was still collected and analysed


def test_an_organization_that_cannot_be_listed_at_all_stops_the_run(tmp_path, servers, fake):
    fake.deny_parents.add("organizations/100")
    code, report, output = run_cli(tmp_path, servers, "--gcp-organization", "100")
    assert code == 3 and "listing the projects under organizations/100 failed" in output
    assert report == {}


# ---- bounded replies --------------------------------------------------------------------------------------

SMALL = CallSettings(backoff_initial=0.01, backoff_maximum=0.05, max_reply_bytes=64 * 1024)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "read-until-close"])
def test_an_oversized_rest_reply_is_an_issue_for_that_call_only(servers, fake, declared):
    fake.padding["searchAllIamPolicies"] = 1024 * 1024
    fake.hide_length = not declared
    [snapshot] = collect(servers, PROJECT, settings=SMALL)
    [issue] = snapshot.collection_issues
    assert issue.operation == "cloudasset.assets.searchAllIamPolicies"
    assert "65536-byte limit" in issue.message
    assert len(snapshot.identities) == 3 and len(snapshot.credentials) == 3 and len(snapshot.workloads) == 3
    assert Counter(fake.received)[f"GET /v1/projects/{PROJECT}:searchAllIamPolicies"] == 1  # never retried


def test_an_oversized_grpc_reply_is_an_issue_and_is_not_retried(servers, fake):
    fake.padding["ListServiceAccounts"] = 1024 * 1024
    [snapshot] = collect(servers, PROJECT, settings=SMALL)
    [issue] = snapshot.collection_issues
    assert issue.operation == "iam.serviceAccounts.list" and "reply larger than the size limit" in issue.message
    assert Counter(fake.received)["grpc ListServiceAccounts"] == 1
    assert snapshot.identities == [] and len(snapshot.workloads) == 3


def test_the_default_limits_leave_ordinary_replies_alone(servers, fake):
    fake.padding = {"searchAllIamPolicies": 1024 * 1024, "ListServiceAccounts": 1024 * 1024}
    [snapshot] = collect(servers, PROJECT)  # 64 MiB by default
    assert snapshot.collection_issues == []


# ---- --gcp-impersonate ------------------------------------------------------------------------------------

SOURCE = "ci-runner@acme-audit.iam.gserviceaccount.com"
TARGET = "nhiaudit@acme-audit.iam.gserviceaccount.com"


@pytest.fixture
def source_credentials(tmp_path, servers, fake, monkeypatch):
    """ADC = a service-account key file whose token endpoint is the in-test server; the IAM Credentials
    API (generateAccessToken) is the in-test server through NHIAUDIT_GCP_ENDPOINT_IAMCREDENTIALS."""
    from gcp_support import service_account_key_file

    key_file = service_account_key_file(tmp_path / "source.json", SOURCE, f"{servers.http_base}/token")
    fake.tokens = {f"jwt:{SOURCE}": "source-token", f"sa:{TARGET}": "impersonated-token"}
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "NO_GCE_CHECK": "True",
           "NHIAUDIT_GCP_ENDPOINT_IAMCREDENTIALS": servers.http_base}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_impersonation_mints_the_target_token_through_the_iam_credentials_api(servers, fake, source_credentials):
    from nhiaudit.connectors.gcp.live import _credentials

    endpoints = endpoints_from_env({k: v for k, v in servers.env.items() if not k.endswith("_COMPUTE")}
                                   | source_credentials)
    credentials, project = _credentials(GcpOptions(enabled=True, impersonate=TARGET), endpoints)
    assert project == "acme-audit" and credentials.token == "impersonated-token"
    assert fake.received == ["POST /token", f"POST /v1/projects/-/serviceAccounts/{TARGET}:generateAccessToken"]
    # The source identity signed its own grant; the impersonation call carried the source's token, not more.
    assert fake.bodies["oauth2.token"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert fake.authorization == [(fake.received[1], "Bearer source-token")]
    assert fake.bodies["generateAccessToken"] == {
        "delegates": None, "scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s"}
    # A data service that is not overridden is called with the minted token (its guarded session, sent here
    # to the in-test server instead of compute.googleapis.com); an overridden one stays anonymous.
    gcp = GcpClients(endpoints, credentials, Deadline(30), FAST)
    assert gcp.credentials_for("COMPUTE") is credentials
    assert type(gcp.credentials_for("IAM")).__name__ == "AnonymousCredentials"
    path = f"/compute/v1/projects/{PROJECT}/aggregated/instances"
    assert gcp._session("COMPUTE").get(servers.http_base + path).status_code == 200
    assert fake.authorization[-1] == (f"GET {path}", "Bearer impersonated-token")


def test_a_denied_impersonation_stops_the_run_with_one_line(tmp_path, servers, fake, source_credentials):
    fake.tokens.pop(f"sa:{TARGET}")
    servers.env = {k: v for k, v in servers.env.items() if not k.endswith("_COMPUTE")} | source_credentials
    code, report, output = run_cli(tmp_path, servers, "--gcp-project", PROJECT, "--gcp-impersonate", TARGET)
    assert code == 3, output
    assert f"impersonating {TARGET} failed" in output and "serviceAccountTokenCreator" in output
    assert "source-token" not in output and "PRIVATE KEY" not in output
    # Nothing was read: the failure is found before any data call.
    assert [e for e in fake.received if "/token" not in e and "generateAccessToken" not in e] == []
    assert report == {}


def test_the_iam_credentials_endpoint_is_part_of_the_contract():
    endpoints = endpoints_from_env({"NHIAUDIT_GCP_ENDPOINT_IAMCREDENTIALS": "http://127.0.0.1:9/"})
    assert endpoints.iam_credentials_url(TARGET) == (
        f"http://127.0.0.1:9/v1/projects/-/serviceAccounts/{TARGET}:generateAccessToken")
    assert endpoints_from_env({}).iam_credentials_url(TARGET) is None  # google-auth's own default
    assert not endpoints.any_overridden or not endpoints.all_overridden  # not a data service
    with pytest.raises(UsageError):
        endpoints_from_env({"NHIAUDIT_GCP_ENDPOINT_IAMCREDENTIALS": "http://10.0.0.1:80"})
