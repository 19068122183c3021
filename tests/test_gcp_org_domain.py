"""The organisation's own domain (Resource Manager's Organization: live `organizations.get`, imported
`gcloud organizations describe` and Cloud Asset Organization assets) as an inside domain of the analysis, and
exceptions that match a finding about a GCP member (no identity) by the member. Through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gcp_support import FakeGcp, GcpServers, binding, predefined_roles, service_account
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.gcp.organization import organization_domain
from nhiaudit.connectors.gcp.transform_common import GcpDataError
from nhiaudit.inventory.model import SourceInfo

P, NUMBER, ORG = "acme-genai", "246813579024", "organizations/480011223344"
AGENT = f"agent@{P}.iam.gserviceaccount.com"
AS_OF = "2026-11-28"
GMAIL, OWN = "user:contractor@gmail.com", "user:ml@acme.com"
# `gcloud organizations describe 480011223344 --format=json` (Resource Manager v1, as gcloud prints it)
DESCRIBED = {"creationTime": "2019-04-02T09:12:44.201Z", "displayName": "acme.com", "lifecycleState": "ACTIVE",
             "name": ORG, "owner": {"directoryCustomerId": "C03k8x2pq"}}
PROJECT_POLICY = {"version": 3, "etag": "BwYhH3kTn1s=", "bindings": [
    {"role": "roles/aiplatform.user", "members": [GMAIL, OWN, f"serviceAccount:{AGENT}"]}]}


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(build_app(), list(args), env=env, catch_exceptions=False)


def _write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return str(path)


def _project_files(tmp: Path) -> list[str]:
    sas = [{"email": AGENT, "name": f"projects/{P}/serviceAccounts/{AGENT}", "projectId": P,
            "uniqueId": "1049182736455", "displayName": "Agent", "etag": "MDEwMjE5MjA=",
            "oauth2ClientId": "1049182736455"}]
    policy = _write(tmp / "project.json", PROJECT_POLICY)
    return ["--import", _write(tmp / "sas.json", sas), "--import", f"{P}={policy}"]


def _scan(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = run("scan", *args, "--as-of", AS_OF, "--format", "json", "--fail-on", "none", env=env)
    assert result.exit_code in (0, 3), result.output
    return result.exit_code, json.loads(result.stdout)


def outside_ai(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["message"].split(" ", 1)[0]: f for f in report["findings"] if f["rule_id"] == "trust-outside-ai-use"}


# --- imports ----------------------------------------------------------------------------------------------

def test_without_the_organisation_no_domain_is_known(tmp_path):
    _, report = _scan(*_project_files(tmp_path))
    assert outside_ai(report) == {}
    assert report["collection"]["sources"][0].get("organization_domain") is None


def test_imported_organization_describe_makes_its_domain_inside(tmp_path):
    org = _write(tmp_path / "org.json", DESCRIBED)
    code, report = _scan(*_project_files(tmp_path), "--import", org)
    assert code == 0
    ai = outside_ai(report)
    assert list(ai) == [GMAIL]  # the org's own user is inside; no --gcp-domain, no policy domain
    assert ai[GMAIL]["identity"] is None and "outside the organisation's domains" in ai[GMAIL]["message"]
    [source] = report["collection"]["sources"]
    assert source["organization_domain"] == "acme.com"
    assert ORG in source["ancestors"]  # an import is one estate: the projects lie below the organisation


def test_policy_and_cli_domains_add_to_the_organisation_domain(tmp_path):
    org = _write(tmp_path / "org.json", DESCRIBED)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ndefaults:\n  gcp:\n    domains: [gmail.com]\n", encoding="utf-8")
    _, by_policy = _scan(*_project_files(tmp_path), "--import", org, "--policy", str(policy))
    _, by_option = _scan(*_project_files(tmp_path), "--import", org, "--gcp-domain", "gmail.com")
    assert outside_ai(by_policy) == outside_ai(by_option) == {}  # a union: neither user is outside


def test_organization_list_in_the_v3_envelope_is_read(tmp_path):
    v3 = {"organizations": [{"name": ORG, "displayName": "ACME.com", "directoryCustomerId": "C03k8x2pq",
                             "state": "ACTIVE", "createTime": "2019-04-02T09:12:44.201Z", "etag": "BwX="}]}
    _, report = _scan(*_project_files(tmp_path), "--import", _write(tmp_path / "orgs.json", v3))
    assert list(outside_ai(report)) == [GMAIL]
    assert report["collection"]["sources"][0]["organization_domain"] == "acme.com"


def test_cloud_asset_resource_export_carries_the_organization(tmp_path):
    ancestors = [f"projects/{NUMBER}", ORG]
    lines = [
        {"name": f"//cloudresourcemanager.googleapis.com/{ORG}",
         "assetType": "cloudresourcemanager.googleapis.com/Organization", "ancestors": [ORG],
         "updateTime": "2025-11-30T10:00:00Z",
         "resource": {"version": "v1", "discoveryName": "Organization", "parent": "",
                      "discoveryDocumentUri": "https://cloudresourcemanager.googleapis.com/$discovery/rest",
                      "data": DESCRIBED}},
        {"name": f"//cloudresourcemanager.googleapis.com/projects/{NUMBER}",
         "assetType": "cloudresourcemanager.googleapis.com/Project", "ancestors": ancestors,
         "updateTime": "2025-11-30T10:00:00Z",
         "resource": {"version": "v1", "discoveryName": "Project",
                      "parent": f"//cloudresourcemanager.googleapis.com/{ORG}",
                      "data": {"projectId": P, "projectNumber": NUMBER, "lifecycleState": "ACTIVE",
                               "name": P, "parent": {"type": "organization", "id": ORG.split("/")[1]}}}},
    ]
    export = tmp_path / "assets.json"
    export.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    _, report = _scan(*_project_files(tmp_path), "--import", str(export))
    assert list(outside_ai(report)) == [GMAIL]
    [source] = report["collection"]["sources"]
    assert source["organization_domain"] == "acme.com" and source["ancestors"] == [ORG]


def test_a_malformed_organization_is_refused_with_its_location(tmp_path):
    bad = _write(tmp_path / "org.json", {**DESCRIBED, "owner": {"directoryCustomerId": 7}})
    result = run("scan", *_project_files(tmp_path), "--import", bad, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "org.json:" in result.output and "directoryCustomerId" in result.output


def test_an_organization_without_a_project_is_refused(tmp_path):
    result = run("scan", "--import", _write(tmp_path / "org.json", DESCRIBED), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "import at least one of them" in result.output


@pytest.mark.parametrize(("display", "domain"), [
    ("acme.com", "acme.com"), ("Acme.COM.", "acme.com"), ("Acme Corporation", None),
    ("evil.com\u001b[31m", None), ("", None)])
def test_only_a_domain_name_is_a_domain(display, domain):
    assert organization_domain({"name": ORG, "displayName": display}) == domain


def test_organization_shape_errors_have_a_path():
    with pytest.raises(GcpDataError) as err:
        organization_domain({"name": "folders/1", "displayName": "acme.com"})
    assert err.value.path == ("name",)


def test_old_snapshots_load_without_the_field():
    source = SourceInfo.model_validate({"provider": "gcp", "account": P, "method": "import"})
    assert source.organization_domain is None


# --- live -------------------------------------------------------------------------------------------------

def _fake() -> FakeGcp:
    fake = FakeGcp(roles=predefined_roles())
    fake.projects = {P: {"number": NUMBER, "parent": ORG}}
    fake.service_accounts = {P: [service_account(P, "agent", 1001)]}
    fake.scope_policies = {f"projects/{P}": {"version": 3, "etag": "BwY=", "bindings": [
        binding("roles/aiplatform.user", GMAIL, OWN, f"serviceAccount:{AGENT}")]}}
    fake.organizations = {ORG: {"name": ORG, "displayName": "acme.com", "directoryCustomerId": "C03k8x2pq",
                                "state": "ACTIVE", "createTime": "2019-04-02T09:12:44.201Z", "etag": "BwX="}}
    return fake


def test_live_collection_reads_the_organization_once_and_uses_its_domain():
    fake = _fake()
    with GcpServers(fake) as servers:
        code, report = _scan("--gcp", "--gcp-project", P, env=servers.env)
    assert code == 0, report["collection"]
    assert list(outside_ai(report)) == [GMAIL]
    assert report["collection"]["sources"][0]["organization_domain"] == "acme.com"
    assert fake.received.count(f"GET /v3/{ORG}") == 1


def test_live_and_import_of_the_same_organization_agree(tmp_path):
    with GcpServers(_fake()) as servers:
        _, live = _scan("--gcp", "--gcp-project", P, env=servers.env)
    _, imported = _scan(*_project_files(tmp_path), "--import", _write(tmp_path / "org.json", DESCRIBED))
    assert ({k: f["fingerprint"] for k, f in outside_ai(live).items()}
            == {k: f["fingerprint"] for k, f in outside_ai(imported).items()})


def test_a_denied_organizations_get_is_a_collection_issue():
    fake = _fake()
    fake.deny_routes.add("organizations.get")
    with GcpServers(fake) as servers:
        code, report = _scan("--gcp", "--gcp-project", P, env=servers.env)
        _, with_domain = _scan("--gcp", "--gcp-project", P, "--gcp-domain", "acme.com", env=servers.env)
    assert code == 3
    issues = report["collection"]["errors"]
    assert [i["operation"] for i in issues] == ["resourcemanager.organizations.get"]
    assert "domain" in issues[0]["missing"]
    assert outside_ai(report) == {}  # no domain known: the gmail user cannot be told outside
    assert list(outside_ai(with_domain)) == [GMAIL]  # --gcp-domain still works


# --- exceptions for findings about a member --------------------------------------------------------------

def _policy(tmp: Path, identity: str, expires: str = "2027-03-31") -> str:
    path = tmp / "policy.yaml"
    path.write_text(f"""version: 1
exceptions:
  - rule: trust-outside-ai-use
    identity: "{identity}"
    reason: contractor evaluates the summariser until the contract ends
    owner: ml-platform@acme.com
    expires: {expires}
""", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("identity", [GMAIL, "user:*@gmail.com"])
def test_an_exception_matches_a_member_finding_by_the_member(tmp_path, identity):
    org = _write(tmp_path / "org.json", DESCRIBED)
    _, report = _scan(*_project_files(tmp_path), "--import", org, "--policy", _policy(tmp_path, identity))
    finding = outside_ai(report)[GMAIL]
    assert finding["status"] == "excepted"
    assert "owner ml-platform@acme.com" in finding["status_reason"]
    assert not [f for f in report["findings"] if f["rule_id"] == "policy-exception-unmatched"]
    strict = run("scan", *_project_files(tmp_path), "--import", org, "--policy", _policy(tmp_path, identity),
                 "--as-of", AS_OF, "--fail-on", "high")
    # Two high findings, of which only the agent's undeclared AI use is open: the excepted one does not count.
    assert strict.exit_code == 1 and "1 open finding(s) at or above high" in strict.output, strict.output


def test_an_exception_for_another_member_or_expired_does_not_apply(tmp_path):
    org = _write(tmp_path / "org.json", DESCRIBED)
    _, other = _scan(*_project_files(tmp_path), "--import", org,
                     "--policy", _policy(tmp_path, "user:someone-else@gmail.com"))
    assert outside_ai(other)[GMAIL]["status"] == "open"
    assert [f["rule_id"] for f in other["findings"] if f["rule_id"] == "policy-exception-unmatched"] == [
        "policy-exception-unmatched"]
    _, expired = _scan(*_project_files(tmp_path), "--import", org,
                       "--policy", _policy(tmp_path, GMAIL, expires="2026-01-01"))
    assert outside_ai(expired)[GMAIL]["status"] == "open"
