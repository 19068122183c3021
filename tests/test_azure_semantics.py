"""Azure / Entra ID semantics in the analysis: resource ids and scopes (management groups included), AI
capability from data actions, overbroad roles and Graph permissions, escalation through Graph permissions
and ownership, federated credentials, validity periods, identities named by appId.

A planted tenant is built from inventory records exactly as the Azure transforms map raw data
(nhiaudit/connectors/azure/raw.py) and scanned through the real CLI with a written policy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scan_support import findings, scan_planted, systems_hit

from nhiaudit.inventory.model import (
    Credential,
    CredentialType,
    DelegatedGrant,
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
from nhiaudit.permissions.patterns import resources_intersect
from nhiaudit.permissions.scopes import ResourceScopes

AS_OF = "2026-06-01"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TENANT = "11111111-1111-1111-1111-111111111111"
FOREIGN = "99999999-9999-9999-9999-999999999999"
PROD = "aaaaaaaa-0000-0000-0000-000000000001"
DEV = "aaaaaaaa-0000-0000-0000-000000000002"
MG = "/providers/Microsoft.Management/managementGroups/mg-prod"
MG_OTHER = "/providers/Microsoft.Management/managementGroups/mg-sandbox"
AOAI = f"/subscriptions/{PROD}/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/aoai"
HR_ACCOUNT = f"/subscriptions/{PROD}/resourceGroups/hr/providers/Microsoft.Storage/storageAccounts/hrdocs01"
GITHUB = "https://token.actions.githubusercontent.com"

ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # name -> (actions + dataActions, not_actions)
    "Owner": (("*",), ()),
    "Contributor": (("*",), ("Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
                             "Microsoft.Authorization/elevateAccess/Action")),
    "User Access Administrator": (("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"), ()),
    "Cognitive Services OpenAI User": (("Microsoft.CognitiveServices/*/read",
                                        "Microsoft.CognitiveServices/accounts/OpenAI/*"), ()),
    "Storage Blob Data Reader": (("Microsoft.Storage/storageAccounts/blobServices/containers/read",
                                  "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"), ()),
    "Reader": (("*/read",), ()),
}


def oid(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def app_id(n: int) -> str:
    return f"ffffffff-0000-0000-0000-{n:012d}"


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


class Tenant:
    """Records in the shapes the Azure transforms produce."""

    def __init__(self) -> None:
        self.policies: dict[str, Policy] = {}
        self.held: dict[str, list[str]] = {}
        self.identities: list[Identity] = []
        self.credentials: list[Credential] = []
        self.grants: list[DelegatedGrant] = []
        self.trusts: list[Trust] = []

    def assign(self, who: str, role: str, scope: str) -> None:
        pid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{who[-4:]}-{len(self.policies)}"
        actions, not_actions = ROLES[role]
        self.policies[pid] = Policy(id=pid, provider=Provider.AZURE, name=role, kind="role", statements=(
            Statement(actions=actions, not_actions=not_actions, resources=(scope,)),))
        self.held.setdefault(who, []).append(pid)

    def sp(self, n: int, name: str, *, kind: IdentityKind = IdentityKind.SERVICE_PRINCIPAL,
           publisher: str = "tenant", last: int | None = 1, created: int = 400,
           tags: dict[str, str] | None = None) -> str:
        pids = sorted(self.held.get(oid(n), ()))
        self.identities.append(Identity(
            id=oid(n), provider=Provider.AZURE, account=TENANT, kind=kind, name=name, created=ago(created),
            last_activity=ago(last) if last is not None else None, tags=tags or {},
            policy_ids=tuple(pids), policy_sources={p: "role assignment" for p in pids},
            attributes={"appId": app_id(n), "publisher": publisher,
                        "appOwnerOrganizationId": FOREIGN if publisher == "foreign" else TENANT,
                        "servicePrincipalType": "ManagedIdentity" if kind is IdentityKind.MANAGED_IDENTITY
                        else "Application"}))
        return oid(n)

    def app_permission(self, n: int, *scopes: str) -> None:
        self.grants.append(DelegatedGrant(id=f"appRoleAssignment:{n}:{len(self.grants)}", provider=Provider.AZURE,
                                          identity_id=oid(n), resource="Microsoft Graph", scopes=scopes,
                                          consent_type="application"))

    def delegated(self, n: int, consent: str, *scopes: str) -> None:
        self.grants.append(DelegatedGrant(id=f"oauth2:{n}:{len(self.grants)}", provider=Provider.AZURE,
                                          identity_id=oid(n), resource="Microsoft Graph", scopes=scopes,
                                          consent_type=consent))

    def secret(self, n: int, key: str, *, created: int, valid_days: int | None, hint: str = "abc",
               kind: CredentialType = CredentialType.CLIENT_SECRET, managed_by: str = "user") -> None:
        start = ago(created)
        end = start + timedelta(days=valid_days) if valid_days is not None else None
        fingerprint = f"hint:{hint}:{start.isoformat()}:{end.isoformat() if end else ''}"
        self.credentials.append(Credential(id=key, identity_id=oid(n), provider=Provider.AZURE, type=kind,
                                           created=start, expires=end, fingerprint=fingerprint,
                                           managed_by=managed_by))  # type: ignore[arg-type]

    def federated(self, n: int, name: str, **conditions: Any) -> None:
        self.trusts.append(Trust(identity_id=oid(n), principal=GITHUB, kind=TrustKind.FEDERATED,
                                 conditions=conditions, reason=f"federated identity credential {name}"))

    def snapshot(self) -> Snapshot:
        return Snapshot(
            generated_at=NOW,
            sources=[SourceInfo(provider=Provider.AZURE, account=TENANT, method="synthetic", collected_at=NOW),
                     SourceInfo(provider=Provider.AZURE, account=PROD, method="synthetic", collected_at=NOW,
                                ancestors=(MG, f"/providers/Microsoft.Management/managementGroups/{TENANT}")),
                     SourceInfo(provider=Provider.AZURE, account=DEV, method="synthetic", collected_at=NOW,
                                ancestors=(MG_OTHER,))],
            identities=self.identities, credentials=self.credentials, delegated_grants=self.grants,
            policies=sorted(self.policies.values(), key=lambda p: p.id), trusts=self.trusts)


def build_tenant() -> Snapshot:
    t = Tenant()
    # The well-configured agent: a managed identity with OpenAI data actions on one account, declared by appId.
    t.assign(oid(1), "Cognitive Services OpenAI User", AOAI)
    # Shadow AI: the same role on the resource group, undeclared.
    t.assign(oid(2), "Cognitive Services OpenAI User", f"/subscriptions/{PROD}/resourceGroups/ai")
    # Readers: at the prod management group (reaches prod's HR data), at another management group, at dev.
    t.assign(oid(3), "Storage Blob Data Reader", MG)
    t.assign(oid(4), "Storage Blob Data Reader", MG_OTHER)
    t.assign(oid(5), "Storage Blob Data Reader", f"/subscriptions/{DEV}/resourceGroups/hr")
    # Broad roles at subscription / management-group scope; a dev managed identity with Contributor on prod.
    t.assign(oid(6), "Owner", f"/subscriptions/{PROD}")
    t.assign(oid(7), "User Access Administrator", MG)
    t.assign(oid(8), "Contributor", f"/subscriptions/{PROD}")
    t.assign(oid(9), "Contributor", f"/subscriptions/{PROD}/resourceGroups/app")  # resource group: not broad
    t.sp(1, "support-agent", kind=IdentityKind.MANAGED_IDENTITY)
    t.sp(2, "batch-scorer")
    t.sp(3, "mg-reader")
    t.sp(4, "sandbox-reader")
    t.sp(5, "dev-reader")
    t.sp(6, "ops-owner")
    t.sp(7, "access-admin")
    t.sp(8, "dev-vm-identity", kind=IdentityKind.MANAGED_IDENTITY, tags={"environment": "dev"})
    t.sp(9, "app-deployer")
    # Graph application permissions: mail read (forbidden by the policy), escalation, tenant-wide consent.
    t.sp(10, "mail-bot")
    t.app_permission(10, "Mail.Read")
    t.sp(11, "graph-escalator")
    t.app_permission(11, "AppRoleAssignment.ReadWrite.All")
    t.sp(12, "ThirdParty Copilot", publisher="foreign")
    t.delegated(12, "AllPrincipals", "Files.Read.All", "User.Read")
    t.sp(13, "per-user-app", publisher="foreign")
    t.delegated(13, "Principal", "Files.Read.All")
    t.sp(14, "foreign-reader", publisher="foreign")
    t.app_permission(14, "Sites.Read.All")
    t.sp(15, "user-reader")
    t.app_permission(15, "User.Read.All")
    # Ownership: a low-privileged SP owns the Owner SP (owners can add credentials to it).
    t.sp(16, "low-owner")
    t.trusts.append(Trust(identity_id=oid(6), principal=oid(16), kind=TrustKind.OWNER,
                          reason="owner of application ops-owner"))
    # Federated credentials from GitHub.
    for n, name, conditions in (
        (20, "any-pr", {"subject": "repo:acme/app:pull_request", "audiences": ["api://AzureADTokenExchange"]}),
        (21, "env-pinned", {"subject": "repo:acme/app:environment:prod",
                            "audiences": ["api://AzureADTokenExchange"]}),
        (22, "literal-star", {"subject": "*", "audiences": ["api://AzureADTokenExchange"]}),
        (23, "org-wide", {"audiences": ["api://AzureADTokenExchange"], "claimsMatchingExpression": {
            "value": "claims['sub'] matches 'repo:acme/*'", "languageVersion": 1}}),
        (24, "repo-only", {"subject": "repo:acme/app", "audiences": ["api://AzureADTokenExchange"]}),
        (25, "branch-pinned", {"subject": "repo:acme/app:ref:refs/heads/main",
                               "audiences": ["api://AzureADTokenExchange"]}),
    ):
        t.sp(n, name)
        t.federated(n, name, **conditions)
    # Secrets: old; young but valid for ten years; one copied to two apps; a managed identity's platform cert.
    t.sp(30, "old-secret")
    t.secret(30, "k-old", created=200, valid_days=365, hint="o1x")
    t.sp(31, "ten-year-secret")
    t.secret(31, "k-ten", created=1, valid_days=3650, hint="t3n")
    t.sp(32, "shared-a")
    t.sp(33, "shared-b")
    t.secret(32, "k-sa", created=10, valid_days=60, hint="shr")
    t.secret(33, "k-sb", created=10, valid_days=60, hint="shr")
    t.sp(34, "mi-with-cert", kind=IdentityKind.MANAGED_IDENTITY)
    t.secret(34, "k-mi", created=200, valid_days=3650, kind=CredentialType.CERTIFICATE, managed_by="system")
    t.sp(35, "fresh-secret")
    t.secret(35, "k-fresh", created=10, valid_days=60, hint="frs")
    # A delegated grant to the Cognitive Services resource app (user_impersonation): AI-capable too.
    t.sp(36, "doc-summariser")
    t.grants.append(DelegatedGrant(id="oauth2:36", provider=Provider.AZURE, identity_id=oid(36),
                                   resource="Azure Cognitive Services", scopes=("user_impersonation",),
                                   consent_type="AllPrincipals"))
    # Unused for months.
    t.sp(40, "stale-sp", last=200)
    return t.snapshot()


POLICY = f"""
version: 1
defaults:
  credentials: {{max_age_days: 90, require_expiry: true}}
systems:
  aoai:
    kind: ai-model
    resources: ["/subscriptions/*/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/*"]
  hr:
    environment: prod
    classification: restricted
    resources: ["/SUBSCRIPTIONS/{PROD}/resourcegroups/HR/providers/Microsoft.Storage/storageAccounts/hrdocs*"]
  mail:
    classification: restricted
    resources: ["delegated:Microsoft Graph/Mail.*"]
integrations:
  - name: support-agent
    environment: prod
    identities: ["{app_id(1)}"]
    may_reach: [aoai]
    must_not_reach: [hr, mail]
  - name: reporting
    identities: ["{oid(3)}", "{oid(4)}", "{oid(5)}"]
    must_not_reach: [hr]
  - name: mail-bot
    identities: ["{oid(10)}"]
    must_not_reach: [mail]
  - name: secrets
    identities: ["{oid(30)}", "{oid(31)}", "{oid(32)}", "{oid(33)}", "{oid(34)}", "{oid(35)}"]
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scan_planted(tmp_path_factory.mktemp("azure"), build_tenant(), POLICY, AS_OF)


# --- 1. resource ids and scopes ---------------------------------------------------------------------------

def test_azure_ids_star_stays_in_one_segment_and_case_folds():
    assert not resources_intersect(f"/subscriptions/{DEV}/*", HR_ACCOUNT)
    assert not resources_intersect(f"/subscriptions/{DEV}/**", HR_ACCOUNT)
    assert not resources_intersect("/subscriptions/*/resourceGroups/dev*", HR_ACCOUNT)
    assert resources_intersect("/subscriptions/*/resourceGroups/hr/**", HR_ACCOUNT)
    assert resources_intersect(HR_ACCOUNT.upper(), HR_ACCOUNT)
    scopes = ResourceScopes(azure={PROD: (MG,)})
    assert scopes.overlaps(f"/subscriptions/{PROD}", HR_ACCOUNT)
    assert scopes.overlaps(f"/subscriptions/{PROD}/resourcegroups/HR", HR_ACCOUNT)
    assert not scopes.overlaps(f"/subscriptions/{DEV}", HR_ACCOUNT)
    assert not scopes.overlaps(f"/subscriptions/{PROD}/resourceGroups/hr-2", HR_ACCOUNT)
    assert scopes.overlaps(MG.lower(), HR_ACCOUNT) and scopes.covers(MG, HR_ACCOUNT)
    assert not scopes.overlaps(MG_OTHER, HR_ACCOUNT) and not scopes.covers(MG_OTHER, HR_ACCOUNT)
    assert not ResourceScopes().overlaps(MG, HR_ACCOUNT)  # unknown ancestry: beneath nothing


def test_role_at_a_scope_reaches_systems_at_or_below_it(report):
    assert systems_hit(report, oid(3)) == {"hr"}  # management group above the prod subscription
    assert systems_hit(report, oid(4)) == set()  # another management group
    assert systems_hit(report, oid(5)) == set()  # a dev resource group of the same name


# --- 2. AI capability ---------------------------------------------------------------------------------------

def test_openai_data_actions_make_an_identity_ai_capable(report):
    (hit,) = findings(report, "ai-undeclared", oid(2))
    assert "OpenAI" in json.dumps(hit["evidence"])
    assert not findings(report, "ai-undeclared", oid(1))
    (grant,) = findings(report, "ai-undeclared", oid(36))
    assert "Azure Cognitive Services" in json.dumps(grant["evidence"])
    for broad in (oid(6), oid(8)):  # Owner / Contributor `*`: admin or broad role, not shadow AI
        assert not findings(report, "ai-undeclared", broad)


# --- 3. overbroad -------------------------------------------------------------------------------------------

def test_owner_contributor_access_admin_at_subscription_or_management_group(report):
    hit = {f["identity"]["id"]: f for f in findings(report, "azure-broad-role")}
    assert set(hit) == {oid(7), oid(8)}  # not the resource-group Contributor
    assert findings(report, "admin-access", oid(6))  # Owner on a subscription is administrator there
    assert hit[oid(7)]["severity"] == "critical" and hit[oid(8)]["severity"] == "high"
    assert "User Access Administrator" in hit[oid(7)]["message"]
    assert hit[oid(8)]["evidence"]["scope"] == f"/subscriptions/{PROD}"


def test_graph_application_permissions_that_read_all_are_overbroad(report):
    broad = {(f["identity"]["id"], f["evidence"]["permission"])
             for f in findings(report, "azure-graph-broad-permission")}
    assert (oid(10), "Mail.Read") in broad and (oid(14), "Sites.Read.All") in broad
    assert (oid(12), "Files.Read.All") in broad  # tenant-wide admin consent
    assert not any(who in (oid(13), oid(15)) for who, _ in broad)  # per-user consent; User.Read.All
    assert not any(who == oid(11) for who, _ in broad)  # escalation: privesc-single-step reports it


def test_mail_read_reaches_the_forbidden_mail_system(report):
    assert systems_hit(report, oid(10)) == {"mail"}


def test_tenant_wide_consent_to_a_third_party_app(report):
    (hit,) = findings(report, "azure-third-party-consent", oid(12))
    assert hit["evidence"]["permission"] == "Files.Read.All"
    assert findings(report, "azure-third-party-consent", oid(14))  # foreign app, application permission
    assert not findings(report, "azure-third-party-consent", oid(13))


# --- 4. escalation ------------------------------------------------------------------------------------------

def test_graph_permissions_and_role_assignment_write_escalate(report):
    graph = [f for f in findings(report, "privesc-single-step", oid(11))]
    assert {f["evidence"]["technique"] for f in graph} == {"azure-graph-app-role-assignment"}
    uaa = {f["evidence"]["technique"] for f in findings(report, "privesc-single-step", oid(7))}
    assert "azure-role-assignment-write" in uaa


def test_owner_of_a_more_privileged_sp_escalates(report):
    (chain,) = findings(report, "privesc-via-chain", oid(16))
    assert chain["evidence"]["target"] == oid(6)


# --- 5. federated credentials -------------------------------------------------------------------------------

def test_federated_subjects_that_admit_too_much(report):
    risky = {f["identity"]["id"] for f in findings(report, "trust-federated-unconstrained")}
    assert risky == {oid(20), oid(23), oid(24)}


# --- 6. long-lived secrets ----------------------------------------------------------------------------------

def test_old_and_long_valid_secrets(report):
    old = {f["credential_id"] for f in findings(report, "cred-too-old")}
    assert old == {"k-old"}
    (ten,) = findings(report, "cred-validity-too-long")  # created yesterday, valid for ten years
    assert ten["credential_id"] == "k-ten" and ten["evidence"]["validity_days"] == 3650
    assert ten["severity"] == "critical"
    assert not findings(report, None, oid(34))  # platform-managed certificate of a managed identity
    assert not findings(report, None, oid(35))


def test_secret_copied_to_two_apps(report):
    assert {f["identity"]["id"] for f in findings(report, "cred-shared-secret")} == {oid(32), oid(33)}


def test_unused_sp(report):
    assert findings(report, "identity-unused", oid(40))


# --- 7. identities by appId and the well-configured agent -------------------------------------------------

def test_appid_in_the_policy_declares_the_sp_and_agent_is_clean(report):
    assert not findings(report, "policy-unknown-identity")
    assert findings(report, None, oid(1)) == []
