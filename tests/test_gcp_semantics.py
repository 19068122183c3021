"""GCP semantics in the analysis: resource names, scopes and ancestry, binding conditions, basic and admin
roles, risky trust, escalation and static keys.

A planted GCP estate is built from inventory records exactly as the GCP transforms map raw data
(nhiaudit/connectors/gcp/raw.py: one policy per binding, impersonation and federation trusts) and scanned
through the real CLI with a written policy; the helpers of the permissions layer are checked directly.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scan_support import findings, scan_planted, systems_hit

from nhiaudit.inventory.model import (
    Credential,
    CredentialType,
    Identity,
    IdentityKind,
    Policy,
    Provider,
    SourceInfo,
    Statement,
    Trust,
    TrustKind,
)
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.permissions.conditions import evaluate_condition
from nhiaudit.permissions.gcp_names import canonical_resource
from nhiaudit.permissions.patterns import resources_intersect
from nhiaudit.permissions.scopes import ResourceScopes
from nhiaudit.permissions.segglob import seg_covers, seg_intersect, seg_match

AS_OF = "2026-06-01"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PROD, DEV = "acme-ml-prod", "acme-dev"
ANCESTRY = {PROD: ("folders/100", "organizations/1"), DEV: ("organizations/1",)}

ROLES: dict[str, tuple[str, ...]] = {
    "roles/aiplatform.user": ("aiplatform.endpoints.predict", "aiplatform.endpoints.generateContent",
                              "aiplatform.endpoints.streamGenerateContent", "aiplatform.endpoints.get"),
    "roles/storage.objectViewer": ("storage.objects.get", "storage.objects.list"),
    "roles/bigquery.dataViewer": ("bigquery.tables.getData", "bigquery.tables.list", "bigquery.datasets.get"),
    "roles/iam.serviceAccountTokenCreator": ("iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.signJwt",
                                             "iam.serviceAccounts.signBlob", "iam.serviceAccounts.getOpenIdToken",
                                             "iam.serviceAccounts.implicitDelegation"),
    "roles/iam.workloadIdentityUser": ("iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken"),
    "roles/owner": ("resourcemanager.projects.setIamPolicy", "storage.objects.get", "storage.objects.delete",
                    "aiplatform.endpoints.predict", "iam.serviceAccounts.actAs", "bigquery.tables.getData"),
    "roles/editor": ("storage.objects.get", "storage.objects.delete", "aiplatform.endpoints.predict",
                     "compute.instances.create", "iam.serviceAccounts.actAs"),
    "roles/storage.admin": ("storage.buckets.setIamPolicy", "storage.objects.get", "storage.objects.delete"),
    "roles/resourcemanager.projectIamAdmin": ("resourcemanager.projects.setIamPolicy",
                                              "resourcemanager.projects.getIamPolicy"),
}
PII_BUCKET = "//storage.googleapis.com/projects/_/buckets/acme-pii-exports"
HR_DATASET = f"//bigquery.googleapis.com/projects/{PROD}/datasets/hr_records"


def sa(name: str, project: str = PROD) -> str:
    return f"{name}@{project}.iam.gserviceaccount.com"


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


class Estate:
    """Records in the shapes the GCP transforms produce."""

    def __init__(self) -> None:
        self.policies: dict[str, Policy] = {}
        self.members: dict[str, dict[str, str]] = {}  # SA -> policy id -> source
        self.trusts: list[Trust] = []
        self.credentials: list[Credential] = []
        self.identities: list[Identity] = []

    def bind(self, resource: str, role: str, member: str, condition: dict[str, str] | None = None) -> str:
        pid = f"binding:{resource}:{role}" + (f"#{condition['title']}" if condition else "")
        conditions = {"gcp:condition": condition} if condition else {}
        self.policies[pid] = Policy(id=pid, provider=Provider.GCP, name=role, kind="role", statements=(
            Statement(actions=ROLES[role], resources=(canonical_resource(resource),), conditions=conditions),))
        self.members.setdefault(member, {})[pid] = f"binding on {resource}"
        return pid

    def impersonation(self, target: str, principal: str, role: str = "roles/iam.serviceAccountTokenCreator",
                      conditions: dict[str, Any] | None = None) -> None:
        resource = f"projects/{target.split('@')[1].split('.')[0]}/serviceAccounts/{target}"
        if "@" in principal and ":" not in principal:
            self.bind(resource, role, principal)
        self.trusts.append(Trust(identity_id=target, principal=principal, kind=TrustKind.IMPERSONATE,
                                 conditions=conditions or {}, reason=f"IAM policy of {resource}: {role}"))

    def account(self, email: str, *, disabled: bool = False, last: int = 1) -> None:
        project = email.split("@")[1].split(".")[0]
        if email.endswith("developer.gserviceaccount.com"):
            project = PROD
        sources = self.members.get(email, {})
        self.identities.append(Identity(
            id=email, provider=Provider.GCP, account=project, kind=IdentityKind.SERVICE_ACCOUNT,
            name=email.split("@")[0], disabled=disabled, last_activity=ago(last),
            policy_ids=tuple(sorted(sources)), policy_sources=dict(sorted(sources.items()))))

    def key(self, email: str, key_id: str, *, created: int, expires: datetime | None = None,
            system: bool = False, active: bool = True) -> None:
        project = email.split("@")[1].split(".")[0]
        self.credentials.append(Credential(
            id=f"projects/{project}/serviceAccounts/{email}/keys/{key_id}", identity_id=email,
            provider=Provider.GCP, type=CredentialType.SA_KEY, created=ago(created), expires=expires,
            last_used=ago(1), managed_by="system" if system else "user", active=active))

    def snapshot(self) -> Snapshot:
        return Snapshot(
            generated_at=NOW,
            sources=[SourceInfo(provider=Provider.GCP, account=p, method="synthetic", collected_at=NOW,
                                ancestors=a) for p, a in ANCESTRY.items()],
            identities=self.identities, credentials=self.credentials,
            policies=sorted(self.policies.values(), key=lambda p: p.id), trusts=self.trusts)


GITHUB = "https://token.actions.githubusercontent.com"
POOL = "projects/123/locations/global/workloadIdentityPools/github"


def build_estate() -> Snapshot:
    e = Estate()
    project = f"projects/{PROD}"
    # A well-configured agent: Vertex AI on its own project, declared, no key.
    e.bind(project, "roles/aiplatform.user", sa("support-agent"))
    # Shadow AI: the same role, no integration.
    e.bind(project, "roles/aiplatform.user", sa("batch-scorer"))
    # Default compute SA with Editor; an owner SA; who can mint the owner's tokens; IAM and storage admins.
    e.bind(project, "roles/editor", "123456789012-compute@developer.gserviceaccount.com")
    e.bind(project, "roles/owner", sa("ops-owner"))
    e.impersonation(sa("ops-owner"), sa("escalator"))
    e.impersonation(sa("escalator"), sa("ci-runner"), "roles/iam.workloadIdentityUser")  # two hops to owner
    e.bind(project, "roles/resourcemanager.projectIamAdmin", sa("iam-admin"))
    e.bind(project, "roles/storage.admin", sa("storage-admin"))
    # Bucket granted directly (Cloud Asset's name); a project-level grant; an expired grant; a narrowed one.
    e.bind(PII_BUCKET, "roles/storage.objectViewer", sa("reporter"))
    e.bind(project, "roles/storage.objectViewer", sa("analyst"))
    e.bind("projects/_/buckets/acme-pii-exports", "roles/storage.objectViewer", sa("temp-job"),
           {"title": "until-2025", "expression": 'request.time < timestamp("2025-01-01T00:00:00Z")'})
    e.bind(project, "roles/storage.objectViewer", sa("temp-job"),
           {"title": "public-only", "expression": 'resource.name.startsWith("projects/_/buckets/acme-public")'})
    e.bind(project, "roles/storage.objectViewer", sa("narrow-job"),
           {"title": "pii-only", "expression": 'resource.name.startsWith("projects/_/buckets/acme-pii")'})
    # An unevaluated condition: access is possible, the finding is conditional.
    e.bind(HR_DATASET, "roles/bigquery.dataViewer", sa("hr-bot"),
           {"title": "tagged", "expression": 'resource.matchTag("123/env", "prod")'})
    # A folder binding reaches the datasets of the projects below the folder; another folder's does not.
    e.bind("folders/100", "roles/bigquery.dataViewer", sa("dev-tool", DEV))
    e.bind("folders/999", "roles/bigquery.dataViewer", sa("other-tool", DEV))
    # Risky trust: anybody with a Google account; a user outside the organisation's domains; an own user.
    e.impersonation(sa("public-sa"), "allAuthenticatedUsers")
    e.impersonation(sa("batch"), "user:contractor@gmail.com")
    e.impersonation(sa("batch"), "user:alice@acme.com")
    e.impersonation(sa("batch"), "allUsers", conditions={"gcp:condition": {
        "title": "expired", "expression": 'request.time < timestamp("2026-01-01T00:00:00Z")'}})
    # Workload identity federation from GitHub: owner-only (any repository of acme) vs pinned repository.
    for name, condition, member in (
        ("deployer", "assertion.repository_owner == 'acme'", f"principalSet://iam.googleapis.com/{POOL}/*"),
        ("deployer-pinned", "assertion.repository == 'acme/app' && assertion.ref == 'refs/heads/main'",
         f"principalSet://iam.googleapis.com/{POOL}/*"),
        ("deployer-member", "", f"principalSet://iam.googleapis.com/{POOL}/attribute.repository/acme/app"),
    ):
        e.trusts.append(Trust(identity_id=sa(name), principal=GITHUB, kind=TrustKind.FEDERATED, conditions={
            "gcp:attributeCondition": condition, "gcp:member": member, "gcp:provider": f"{POOL}/providers/gh"},
            reason=f"provider {POOL}/providers/gh; IAM policy of {sa(name)}: roles/iam.workloadIdentityUser"))
    # Keys: an old user-managed key without expiry, an old system-managed key, a disabled SA's key.
    e.key(sa("keyed"), "a1", created=200)
    e.key(sa("keyed"), "s1", created=400, system=True)
    e.key(sa("retired"), "r1", created=400)
    for email in (sa("support-agent"), sa("batch-scorer"), "123456789012-compute@developer.gserviceaccount.com",
                  sa("ops-owner"), sa("escalator"), sa("ci-runner"), sa("iam-admin"), sa("storage-admin"),
                  sa("reporter"),
                  sa("analyst"), sa("temp-job"), sa("narrow-job"), sa("hr-bot"), sa("dev-tool", DEV),
                  sa("other-tool", DEV), sa("public-sa"), sa("batch"), sa("deployer"), sa("deployer-pinned"),
                  sa("deployer-member"), sa("keyed")):
        e.account(email)
    e.account(sa("retired"), disabled=True)
    return e.snapshot()


POLICY = f"""
version: 1
defaults:
  credentials: {{max_age_days: 90, require_expiry: true}}
  gcp: {{domains: [acme.com]}}
systems:
  vertex:
    kind: ai-model
    resources: ["projects/{PROD}/locations/*/endpoints/*"]
  customer-pii:
    environment: prod
    classification: restricted
    resources: ["//storage.googleapis.com/acme-pii*"]
  ml-data:
    environment: prod
    resources: ["//storage.googleapis.com/projects/{PROD}/buckets/acme-ml-data*"]
  hr:
    environment: prod
    classification: restricted
    resources: ["//bigquery.googleapis.com/projects/{PROD}/datasets/hr*"]
integrations:
  - name: support-agent
    environment: prod
    identities: ["{sa('support-agent')}"]
    may_reach: [vertex]
    must_not_reach: [customer-pii, hr]
  - name: reporting
    identities: ["{sa('reporter')}", "{sa('temp-job')}", "{sa('narrow-job')}", "{sa('analyst')}",
                 "{sa('hr-bot')}"]
    must_not_reach: [customer-pii, ml-data, hr]
  - name: dev-tools
    environment: dev
    identities: ["{sa('dev-tool', DEV)}", "{sa('other-tool', DEV)}"]
    must_not_reach: [hr]
  - name: key-user
    identities: ["{sa('keyed')}", "{sa('retired')}"]
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scan_planted(tmp_path_factory.mktemp("gcp"), build_estate(), POLICY, AS_OF)


# --- 1. resource names, scopes, ancestry ------------------------------------------------------------------

def test_bucket_written_as_cloud_asset_name_matches_a_bucket_grant(report):
    assert systems_hit(report, sa("reporter")) == {"customer-pii"}


def test_project_grant_reaches_buckets_only_with_a_stated_project(report):
    # A bucket named with `_` lies beneath no known project; one written with its project does.
    assert systems_hit(report, sa("analyst")) == {"ml-data"}


def test_folder_binding_reaches_datasets_of_projects_below_it(report):
    assert systems_hit(report, sa("dev-tool", DEV)) == {"hr"}
    assert systems_hit(report, sa("other-tool", DEV)) == set()


def test_canonical_names_written_either_way():
    forms = ["//storage.googleapis.com/projects/_/buckets/acme-pii*", "projects/_/buckets/acme-pii*",
             "//storage.googleapis.com/acme-pii*", "//storage.googleapis.com/b/acme-pii*"]
    assert {canonical_resource(f) for f in forms} == {"//storage.googleapis.com/projects/_/buckets/acme-pii*"}
    assert canonical_resource("//cloudresourcemanager.googleapis.com/projects/p") == "projects/p"
    scopes = ResourceScopes({"projects/acme-prod": ("folders/7", "organizations/1")})
    grant = "//storage.googleapis.com/projects/_/buckets/acme-pii-2024"
    for form in forms:
        assert scopes.overlaps(grant, form)
    assert scopes.overlaps("projects/acme-prod", "//bigquery.googleapis.com/projects/acme-prod/datasets/hr*")
    assert scopes.overlaps("organizations/1", "//bigquery.googleapis.com/projects/acme-prod/datasets/hr")
    assert scopes.overlaps("folders/7", "projects/acme-prod")
    assert not scopes.overlaps("folders/8", "projects/acme-prod")
    assert not scopes.overlaps("projects/acme-prod", "projects/acme-prod-2")
    # A system written as a whole project is reached by grants on what lies in it.
    assert scopes.overlaps("//bigquery.googleapis.com/projects/acme-prod/datasets/x", "projects/acme-prod")
    assert scopes.covers("organizations/1", "//bigquery.googleapis.com/projects/acme-prod/datasets/x")
    assert not scopes.covers("organizations/2", "//bigquery.googleapis.com/projects/acme-prod/datasets/x")


def test_star_stays_in_one_segment_in_gcp_and_azure_names_but_not_in_arns():
    assert not resources_intersect("projects/p/*", "projects/p/datasets/d")
    assert resources_intersect("projects/p/**", "projects/p/datasets/d")
    assert resources_intersect("projects/*/datasets/d", "projects/p/datasets/d")
    assert not resources_intersect("/subscriptions/s/*", "/subscriptions/s/resourceGroups/rg")
    assert resources_intersect("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b")
    assert seg_match("a/**/c", "a/b/x/c") and not seg_match("a/*/c", "a/b/x/c")
    assert seg_intersect("a/*", "*/b") and not seg_intersect("a/*", "a/b/c")
    assert seg_covers("a/**", "a/*/c") and not seg_covers("a/*", "a/**")


def test_path_globs_stay_fast_on_hostile_patterns():
    evil = "projects/" + "*a" * 2000 + "/x"
    value = "projects/" + "a" * 5000 + "/y"
    start = time.perf_counter()
    assert not seg_match(evil, value)
    assert not seg_intersect(evil, "projects/" + "*b" * 2000 + "/x")
    assert not seg_covers(evil, "projects/" + "?*" * 2000)
    assert time.perf_counter() - start < 2.0


# --- 2. conditions ----------------------------------------------------------------------------------------

def test_expired_condition_grants_nothing_and_prefix_narrows(report):
    assert systems_hit(report, sa("temp-job")) == set()  # expired bucket grant; project grant narrowed away
    assert systems_hit(report, sa("narrow-job")) == {"customer-pii"}  # narrowed to the pii buckets


def test_unevaluated_condition_makes_the_finding_conditional(report):
    (hit,) = findings(report, "scope-forbidden-system", sa("hr-bot"))
    assert hit["evidence"]["conditional"] is True
    assert hit["severity"] == "high"  # lowered from critical
    (reporter,) = findings(report, "scope-forbidden-system", sa("reporter"))
    assert reporter["evidence"]["conditional"] is False and reporter["severity"] == "critical"


def test_condition_shapes():
    verdict = evaluate_condition('request.time < timestamp("2026-01-01T00:00:00Z") && '
                                 'resource.type == "storage.googleapis.com/Bucket"', NOW)
    assert not verdict.in_force
    verdict = evaluate_condition('(request.time >= timestamp("2026-01-01T00:00:00Z")) && '
                                 'resource.name.startsWith("projects/_/buckets/x") && request.auth.x == "y"', NOW)
    assert verdict.in_force and verdict.resources == ("//storage.googleapis.com/projects/_/buckets/x**",)
    assert verdict.rest == 'request.auth.x == "y"'
    assert evaluate_condition('resource.type == "storage.googleapis.com/Object"', NOW).services == ("storage.",)
    assert evaluate_condition("a || (b", NOW).rest == "a || (b"  # unbalanced: kept whole, never dropped


# --- 3. AI capability and basic / admin roles ---------------------------------------------------------------

def test_shadow_ai_from_permissions(report):
    assert findings(report, "ai-undeclared", sa("batch-scorer"))
    for admin in ("123456789012-compute@developer.gserviceaccount.com", sa("ops-owner")):
        assert not findings(report, "ai-undeclared", admin)


def test_owner_is_admin_and_default_compute_sa_with_editor_is_reported_as_such(report):
    assert findings(report, "admin-access", sa("ops-owner"))
    compute = "123456789012-compute@developer.gserviceaccount.com"
    (hit,) = findings(report, "gcp-default-compute-sa-editor", compute)
    assert "default Compute Engine service account" in hit["message"]
    assert not findings(report, "admin-access", compute)


def test_admin_roles_are_overbroad(report):
    (hit,) = findings(report, "gcp-broad-role", sa("storage-admin"))
    assert "roles/storage.admin" in hit["message"]
    assert not findings(report, "gcp-broad-role", sa("analyst"))


# --- 4. risky trust -----------------------------------------------------------------------------------------

def test_anybody_and_foreign_domains_may_not_impersonate(report):
    assert findings(report, "trust-any-principal", sa("public-sa"))
    outside = findings(report, "trust-outside-domain", sa("batch"))
    assert [f["evidence"]["principal"] for f in outside] == ["user:contractor@gmail.com"]
    assert not findings(report, "trust-any-principal", sa("batch"))  # its allUsers binding has expired


def test_workload_identity_provider_must_pin_the_repository(report):
    assert findings(report, "trust-federated-unconstrained", sa("deployer"))
    assert not findings(report, "trust-federated-unconstrained", sa("deployer-pinned"))
    assert not findings(report, "trust-federated-unconstrained", sa("deployer-member"))


# --- 5. escalation ------------------------------------------------------------------------------------------

def test_token_creator_on_an_owner_sa_and_set_iam_policy_escalate(report):
    # One step: the escalator mints the owner's tokens (critical: the target is administrator).
    single = [f for f in findings(report, "privesc-single-step", sa("escalator"))
              if f["evidence"]["technique"] == "gcp-get-access-token"]
    assert single and single[0]["severity"] == "critical"
    assert sa("ops-owner") in single[0]["evidence"]["targets"]
    # Chain: ci-runner impersonates the escalator, who can make itself owner.
    (chain,) = findings(report, "privesc-via-chain", sa("ci-runner"))
    assert chain["evidence"]["target"] == sa("escalator")
    assert "can_impersonate" in chain["evidence"]["path"][0]
    iam = {f["evidence"]["technique"] for f in findings(report, "privesc-single-step", sa("iam-admin"))}
    assert iam == {"gcp-set-project-iam-policy"}


# --- 6. keys ------------------------------------------------------------------------------------------------

def test_only_user_managed_keys_of_enabled_accounts_are_static_credentials(report):
    key = f"projects/{PROD}/serviceAccounts/{sa('keyed')}/keys/"
    assert {f["credential_id"] for f in findings(report, "cred-too-old")} == {key + "a1"}
    assert {f["credential_id"] for f in findings(report, "cred-no-expiry")} == {key + "a1"}
    assert not findings(report, None, sa("retired"))


# --- 7. the well-configured agent ---------------------------------------------------------------------------

def test_well_configured_agent_has_no_finding(report):
    assert findings(report, None, sa("support-agent")) == []


def test_snapshot_round_trips_ancestry(tmp_path: Path):
    build_estate().write(tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["sources"][0]["ancestors"] == ["folders/100", "organizations/1"]
