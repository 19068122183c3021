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
    servers: GcpServers, *projects: str, counter: RequestCounter | None = None, **opts: object
) -> list[Snapshot]:
    options = GcpOptions(enabled=True, projects=projects, **opts)  # type: ignore[arg-type]
    return collect_gcp(options, 4, Console(stderr=True, quiet=True), counter=counter, settings=FAST,
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
        "projects.get": 1, "getIamPolicy (project, organization)": 2, "denypolicies.list": 2, "roles.list": 2,
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
                             "workloadIdentityPools.list", "denypolicies.list", "instances.aggregatedList",
                             "run.locations.list", "functions.list", "ListServiceAccounts", "ListRoles"})
    [snapshot] = collect(servers, PROJECT)
    operations = {i.operation for i in snapshot.collection_issues}
    assert len(operations) >= 10 and operations <= set(REQUIRED_PERMISSIONS), operations
