"""GCP and Azure `enforce` semantics on small synthetic estates, through the real CLI: a forbidden whole
project, a delegated grant that keeps part of its scopes, a basic role that takes no condition."""

from __future__ import annotations

import json
import shlex

import pytest
from enforce_cloud_support import checks, enforce_json, write

from nhiaudit.inventory.model import DelegatedGrant, Identity, IdentityKind, Policy, Provider, Statement
from nhiaudit.inventory.snapshot import Snapshot

AS_OF = "2026-06-01"
SA = "bot@home.iam.gserviceaccount.com"


def _sa(*bindings: Policy) -> Snapshot:
    sa = Identity(id=SA, provider=Provider.GCP, account="home", kind=IdentityKind.SERVICE_ACCOUNT, name="bot",
                  policy_ids=tuple(b.id for b in bindings))
    return Snapshot(identities=[sa], policies=list(bindings))


def _binding(scope: str, role: str, *permissions: str) -> Policy:
    return Policy(id=f"binding:{scope}:{role}", provider=Provider.GCP, name=role, kind="role",
                  statements=(Statement(actions=permissions, resources=(scope,)),))


@pytest.fixture
def files(tmp_path):
    def make(snapshot: Snapshot, policy: str):
        path = tmp_path / "snap.json"
        path.write_text(snapshot.model_dump_json())
        return path, write(tmp_path / "policy.yaml", policy)
    return make


def test_a_forbidden_project_is_denied_the_permissions_held_there_today(files):
    snapshot, policy = files(_sa(_binding("projects/finance", "roles/storage.objectViewer", "storage.objects.get",
                                          "storage.objects.list")), f"""\
        version: 1
        systems:
          finance: {{classification: restricted, resources: ["projects/finance"]}}
        integrations:
          - {{name: bot, identities: ["{SA}"], must_not_reach: [finance]}}
        """)
    code, data, _ = enforce_json(snapshot, policy, AS_OF)
    g = data["guardrails"]["nhiaudit-gcp-deny-bot"]
    assert g["attachment"] == "projects/finance"
    assert g["document"]["rules"][0]["denyRule"]["deniedPermissions"] == [
        "storage.googleapis.com/objects.get", "storage.googleapis.com/objects.list"]  # never a bare `*`
    check = checks(data)["nhiaudit-gcp-deny-bot"]
    assert code == 0 and check["holds"] and any("finance" in c for c in check["closed"])


def test_a_basic_role_is_listed_not_rewritten(files):
    snapshot, policy = files(_sa(_binding("projects/home", "roles/editor", "storage.objects.get")), f"""\
        version: 1
        systems:
          lake: {{resources: ["//storage.googleapis.com/projects/home/buckets/lake"]}}
        integrations:
          - {{name: bot, identities: ["{SA}"], may_reach: [lake]}}
        """)
    _, data, _ = enforce_json(snapshot, policy, AS_OF)
    assert data["guardrails"] == {}
    assert any("roles/editor on projects/home" in s and "basic role takes no IAM condition" in s
               for s in data["skipped"])


def test_a_delegated_grant_keeps_the_scopes_the_policy_allows(files):
    sp = Identity(id="5d1e0f3a-0000-4000-8000-000000000001", provider=Provider.AZURE, account="t",
                  kind=IdentityKind.SERVICE_PRINCIPAL, name="drafter")
    grant = DelegatedGrant(id="Zm9vYmFy-grant_1", provider=Provider.AZURE, identity_id=sp.id,
                           resource="Microsoft Graph", scopes=("Mail.Read", "User.Read"), consent_type="AllPrincipals")
    snapshot, policy = files(Snapshot(identities=[sp], delegated_grants=[grant]), f"""\
        version: 1
        systems:
          profile: {{resources: ["delegated:Microsoft Graph/User.Read"]}}
          mail: {{classification: restricted, resources: ["delegated:Microsoft Graph/Mail.*"]}}
        integrations:
          - {{name: drafter, identities: ["{sp.id}"], may_reach: [profile], must_not_reach: [mail]}}
        """)
    code, data, _ = enforce_json(snapshot, policy, AS_OF)
    (removal,) = data["guardrails"]["nhiaudit-graph-drafter"]["document"]["remove"]
    assert removal["remove"] == ["Mail.Read"] and removal["keep"] == ["User.Read"]
    words = shlex.split(removal["command"])
    assert words[:4] == ["az", "rest", "--method", "PATCH"]
    assert words[5] == f"https://graph.microsoft.com/v1.0/oauth2PermissionGrants/{grant.id}"
    assert json.loads(words[words.index("--body") + 1]) == {"scope": "User.Read"}
    check = checks(data)["nhiaudit-graph-drafter"]
    assert code == 0 and check["holds"] and not check["lost"]  # User.Read (profile) is kept
    assert check["closed"] and check["removed"][0]["system"] == "mail"


def test_a_condition_iam_would_refuse_is_not_written(files):
    buckets = ", ".join(f'"//storage.googleapis.com/projects/home/buckets/b{n:02d}"' for n in range(10))
    snapshot, policy = files(_sa(_binding("projects/home", "roles/storage.objectViewer", "storage.objects.get")), f"""\
        version: 1
        systems:
          lake: {{resources: [{buckets}]}}
        integrations:
          - {{name: bot, identities: ["{SA}"], may_reach: [lake]}}
        """)
    _, data, _ = enforce_json(snapshot, policy, AS_OF)
    assert data["guardrails"] == {}  # ten exact names: 19 operators, more than IAM's 12
    assert any("needs 19 logical operators, IAM conditions allow 12" in s for s in data["skipped"])


def test_an_account_wide_blob_role_gets_a_condition_at_the_same_scope(files):
    account = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
    reader = Policy(id=f"{account}/providers/Microsoft.Authorization/roleAssignments/r1", provider=Provider.AZURE,
                    name="Storage Blob Data Reader", kind="role", statements=(Statement(
                        actions=("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",),
                        resources=(account,)),))
    sp = Identity(id="5d1e0f3a-0000-4000-8000-000000000002", provider=Provider.AZURE, account="t",
                  kind=IdentityKind.MANAGED_IDENTITY, name="reader", policy_ids=(reader.id,))
    snapshot, policy = files(Snapshot(identities=[sp], policies=[reader]), f"""\
        version: 1
        systems:
          reports: {{resources: ["{account}/blobServices/default/containers/reports"]}}
          hr: {{classification: restricted, resources: ["{account}/blobServices/default/containers/hr"]}}
        integrations:
          - {{name: reader, identities: ["{sp.id}"], may_reach: [reports], must_not_reach: [hr]}}
        """)
    code, data, _ = enforce_json(snapshot, policy, AS_OF)
    (g,) = data["guardrails"].values()
    (new,) = g["document"]["assignments"]
    assert new["scope"] == account and new["condition"].endswith("StringEquals 'reports'))")
    # The evaluator records an ABAC condition without evaluating it: the forbidden container stays reachable
    # in its eyes, and the verification says so instead of claiming the condition works.
    check = checks(data)[g["name"]]
    assert code == 1 and not check["holds"] and any("hr" in r for r in check["remaining"])
