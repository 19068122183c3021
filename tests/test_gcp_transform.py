"""GCP transforms: RawProject (raw REST JSON, as in fixtures/gcp) -> inventory, one rule of raw.py at a time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nhiaudit.connectors.gcp.assemble import assemble_project
from nhiaudit.connectors.gcp.raw import RawPolicy, RawProject
from nhiaudit.connectors.gcp.transform_common import GcpDataError, parse_time
from nhiaudit.connectors.gcp.transform_deny import deny_permission
from nhiaudit.inventory.model import Provider, SourceInfo, TrustKind

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gcp"
P, NUM = "acme-ml-prod", "123456789012"
D = f"@{P}.iam.gserviceaccount.com"
SUMMARISER, SCORER, LEGACY, DEPLOYER = (n + D for n in ("vertex-summariser", "batch-scorer", "legacy-etl",
                                                         "github-deployer"))
COMPUTE = f"{NUM}-compute@developer.gserviceaccount.com"
ALL_SAS = {SUMMARISER, SCORER, LEGACY, DEPLOYER, COMPUTE}


def load(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_raw() -> RawProject:
    """The fixture project as live collection would hand it over (raw REST JSON per API)."""
    keys: dict[str, list] = {}
    for name in ("keys-vertex-summariser.json", "keys-batch-scorer.json", "keys-legacy-etl.json"):
        for key in load(name):
            keys.setdefault(key["name"].split("/")[3], []).append(key)
    assets = load("asset-iam-policies.json")
    return RawProject(
        project_id=P,
        project_number=NUM,
        ancestors=["folders/445566778899", "organizations/987654321098"],
        service_accounts=load("service-accounts.json"),
        keys=keys,
        policies=[RawPolicy(f"projects/{P}", load("targeted/project-iam-policy.json")),
                  RawPolicy(f"projects/{P}/serviceAccounts/{SCORER}", load("targeted/sa-iam-policy-batch-scorer.json")),
                  RawPolicy(f"projects/{P}/serviceAccounts/{DEPLOYER}",
                            load("targeted/sa-iam-policy-github-deployer.json")),
                  *(RawPolicy(a["resource"], a["policy"]) for a in assets)],
        roles={f"projects/{P}/roles/modelDeployer": load("role-model-deployer.json")},
        wif_providers=load("wif-providers.json"),
        activities=load("activity-sa.json") + load("activity-keys.json"),
        instances=load("compute-instances.json"),
        run_services=[{"name": f"projects/{P}/locations/europe-west4/services/summariser", "labels": {"env": "prod"},
                       "template": {"serviceAccount": SUMMARISER}}],
        functions=load("functions.json"),
    )


SOURCE = SourceInfo(provider=Provider.GCP, account=P, method="live", collected_at=datetime(2025, 12, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def snap():
    return assemble_project(fixture_raw(), SOURCE)


def ident(snap, email):
    return next(i for i in snap.identities if i.id == email)


def policy(snap, pid):
    return next(p for p in snap.policies if p.id == pid)


def trusts(snap, email, kind=None):
    return [t for t in snap.trusts if t.identity_id == email and (kind is None or t.kind is kind)]


def test_service_accounts_become_identities(snap):
    assert {i.id for i in snap.identities} == ALL_SAS
    summariser = ident(snap, SUMMARISER)
    assert (summariser.account, summariser.kind, summariser.name) == (P, "service_account", "vertex-summariser")
    assert summariser.attributes["uniqueId"] == "104918273645501234567"
    assert summariser.attributes["displayName"] == "Vertex summariser"
    assert summariser.created is None
    assert summariser.last_activity == datetime(2025, 11, 28, 7, tzinfo=UTC)  # serviceAccountLastAuthentication
    assert ident(snap, LEGACY).disabled and not ident(snap, SUMMARISER).disabled
    assert ident(snap, DEPLOYER).last_activity is None  # no activity: unknown, never guessed


def test_keys_expiry_system_managed_disabled_sa_and_last_use(snap):
    keys = {c.id.rsplit("/", 1)[-1][:6]: c for c in snap.credentials}
    user_key, system_key = keys["3f1e9c"], keys["a9c7e5"]
    assert user_key.expires is None  # year 9999: never expires
    assert user_key.managed_by == "user" and user_key.active
    assert user_key.last_used == datetime(2025, 11, 28, 7, tzinfo=UTC)  # serviceAccountKeyLastAuthentication
    assert user_key.created == datetime(2025, 6, 1, 9, 12, 44, tzinfo=UTC)
    assert system_key.managed_by == "system" and system_key.expires == datetime(2027, 11, 3, tzinfo=UTC)
    assert not keys["7d9f1b"].active  # key of the disabled legacy-etl
    scorer = keys["5b7d9f"]
    assert scorer.created == datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)  # nanoseconds trimmed
    assert scorer.expires == datetime(2026, 3, 1, 10, tzinfo=UTC) and scorer.last_used is None
    assert all(c.type == "sa_key" and c.fingerprint is None for c in snap.credentials)
    key_id = load("keys-vertex-summariser.json")[0]["name"].rsplit("/", 1)[-1]
    assert user_key.id == f"projects/{P}/serviceAccounts/{SUMMARISER}/keys/{key_id}"


def test_bindings_become_role_policies_on_canonical_resources(snap):
    ai = policy(snap, f"binding:projects/{P}:roles/aiplatform.user")
    (statement,) = ai.statements
    assert ai.kind == "role" and ai.name == "roles/aiplatform.user" and statement.effect == "Allow"
    assert "aiplatform.endpoints.predict" in statement.actions and statement.resources == (f"projects/{P}",)
    bucket = "//storage.googleapis.com/projects/_/buckets/acme-contracts-eu"  # Cloud Asset's name, canonical
    viewer = policy(snap, f"binding:{bucket}:roles/storage.objectViewer")
    assert viewer.statements[0].resources == (bucket,) and "storage.objects.get" in viewer.statements[0].actions
    summariser = ident(snap, SUMMARISER)
    assert summariser.policy_sources[viewer.id] == f"binding on {bucket}"
    assert ai.id in summariser.policy_ids
    custom = policy(snap, f"binding:projects/{P}:projects/{P}/roles/modelDeployer")
    assert custom.statements[0].actions == ("aiplatform.endpoints.deploy", "aiplatform.endpoints.get",
                                            "aiplatform.models.upload", "iam.serviceAccounts.actAs")


def test_editor_and_owner_keep_their_breadth(snap):
    (editor,) = policy(snap, f"binding:projects/{P}:roles/editor").statements
    assert editor.actions == ("*",) and "*.setIamPolicy" in editor.not_actions
    assert policy(snap, f"binding:projects/{P}:roles/owner").statements[0].actions == ("*",)
    assert ident(snap, COMPUTE).policy_ids == (f"binding:projects/{P}:roles/editor",)


def test_conditional_binding_keeps_its_condition(snap):
    pid = f"binding:projects/{P}:roles/bigquery.dataViewer#until-2025"
    (statement,) = policy(snap, pid).statements
    assert statement.conditions == {"gcp:condition": {
        "expression": 'request.time < timestamp("2025-01-01T00:00:00Z")', "title": "until-2025"}}
    assert pid in ident(snap, SCORER).policy_ids


def test_untitled_condition_gets_a_hash_suffix():
    raw = RawProject(project_id=P, service_accounts=[{"email": SCORER}], policies=[RawPolicy(f"projects/{P}", {
        "bindings": [{"role": "roles/viewer", "members": [f"serviceAccount:{SCORER}"],
                      "condition": {"expression": "resource.name.startsWith('projects/_/buckets/x')"}},
                     {"role": "roles/viewer", "members": [f"serviceAccount:{SCORER}"]}]})])
    ids = ident(assemble_project(raw, SOURCE), SCORER).policy_ids
    assert len(ids) == 2 and f"binding:projects/{P}:roles/viewer" in ids
    assert any(i.startswith(f"binding:projects/{P}:roles/viewer#") and len(i.rsplit("#", 1)[1]) == 12 for i in ids)


def test_public_member_is_kept_but_attached_to_nobody(snap):
    bucket = "//storage.googleapis.com/projects/_/buckets/acme-public-models"
    pid = f"binding:{bucket}:roles/storage.objectViewer"
    assert policy(snap, pid)
    assert not any(pid in i.policy_ids for i in snap.identities)


def test_unknown_role_is_an_issue_and_its_binding_is_kept_without_actions():
    raw = RawProject(project_id=P, service_accounts=[{"email": SCORER}], policies=[RawPolicy(f"projects/{P}", {
        "bindings": [{"role": "roles/ml.developer", "members": [f"serviceAccount:{SCORER}"]},
                     {"role": "roles/ml.developer", "members": ["allUsers"]}]})])
    snap = assemble_project(raw, SOURCE)
    (issue,) = snap.collection_issues
    assert "roles/ml.developer" in issue.message and issue.account == P and not snap.complete
    (statement,) = policy(snap, f"binding:projects/{P}:roles/ml.developer").statements
    assert statement.actions == () and statement.not_actions == ()
    assert ident(snap, SCORER).policy_ids == (f"binding:projects/{P}:roles/ml.developer",)


def test_estate_role_definitions_override_the_shipped_ones():
    raw = RawProject(project_id=P, service_accounts=[{"email": SCORER}],
                     roles={"roles/aiplatform.user": {"name": "roles/aiplatform.user",
                                                      "includedPermissions": ["aiplatform.endpoints.predict"]},
                            "roles/viewer": {"name": "roles/viewer", "title": "Viewer"}},  # BASIC view: no perms
                     policies=[RawPolicy(f"projects/{P}", {"bindings": [
                         {"role": "roles/aiplatform.user", "members": [f"serviceAccount:{SCORER}"]},
                         {"role": "roles/viewer", "members": [f"serviceAccount:{SCORER}"]}]})])
    snap = assemble_project(raw, SOURCE)
    assert policy(snap, f"binding:projects/{P}:roles/aiplatform.user").statements[0].actions == (
        "aiplatform.endpoints.predict",)
    assert policy(snap, f"binding:projects/{P}:roles/viewer").statements[0].actions == ("*.get", "*.list")
    assert snap.complete


def test_sa_level_token_creator_is_an_impersonation_trust(snap):
    (trust,) = [t for t in trusts(snap, SCORER, TrustKind.IMPERSONATE) if t.principal == SUMMARISER]
    assert trust.reason == f"IAM policy of projects/{P}/serviceAccounts/{SCORER}: roles/iam.serviceAccountTokenCreator"
    assert not [t for t in trusts(snap, SUMMARISER) if t.principal == SCORER]  # one direction only


def test_project_level_service_account_user_trusts_every_sa_of_the_project(snap):
    group = "group:ml-engineers@acme.example"
    assert {t.identity_id for t in snap.trusts if t.principal == group} == ALL_SAS
    # Editor includes actAs: the default compute SA can act as every other SA of the project.
    assert {t.identity_id for t in snap.trusts if t.principal == COMPUTE} == ALL_SAS - {COMPUTE}
    # A custom role with actAs counts as well.
    assert {t.identity_id for t in snap.trusts if t.principal == DEPLOYER} == ALL_SAS - {DEPLOYER}


def test_organisation_binding_reaches_every_sa(snap):
    sre = [t for t in snap.trusts if t.principal == "group:sre@acme.example"]
    assert {t.identity_id for t in sre} == ALL_SAS
    assert sre[0].reason == "IAM policy of organizations/987654321098: roles/iam.serviceAccountTokenCreator"


def test_cloud_asset_sa_name_by_unique_id_and_all_authenticated_users(snap):
    (trust,) = [t for t in trusts(snap, LEGACY) if t.principal == "allAuthenticatedUsers"]
    assert trust.kind is TrustKind.IMPERSONATE
    assert f"projects/{P}/serviceAccounts/{LEGACY}" in trust.reason


def test_workload_identity_provider_and_principal_set_become_federated_trusts(snap):
    federated = {t.principal: t for t in trusts(snap, DEPLOYER, TrustKind.FEDERATED)}
    assert set(federated) == {"https://token.actions.githubusercontent.com", "https://gitlab.com"}
    github = federated["https://token.actions.githubusercontent.com"]
    assert "gcp:attributeCondition" not in github.conditions  # unscoped provider: nothing pins the caller
    assert github.conditions["gcp:member"].endswith("/workloadIdentityPools/github/attribute.repository/acme/infra")
    assert github.conditions["gcp:provider"].endswith("/providers/github-actions")
    assert github.conditions["gcp:attributeMapping"]["google.subject"] == "assertion.sub"
    gitlab = federated["https://gitlab.com"]
    assert gitlab.conditions["gcp:attributeCondition"] == "assertion.project_path == 'acme/ml-pipelines'"
    assert "roles/iam.workloadIdentityUser" in gitlab.reason


def test_pool_without_known_providers_keeps_the_member():
    member = f"principal://iam.googleapis.com/projects/{NUM}/locations/global/workloadIdentityPools/aws/subject/x"
    raw = RawProject(project_id=P, project_number=NUM, service_accounts=[{"email": SCORER}],
                     policies=[RawPolicy(f"projects/{P}/serviceAccounts/{SCORER}", {"bindings": [
                         {"role": "roles/iam.workloadIdentityUser", "members": [member]}]})])
    (trust,) = assemble_project(raw, SOURCE).trusts
    assert (trust.kind, trust.principal, trust.conditions) == (TrustKind.FEDERATED, member, {"gcp:member": member})


def test_conditional_impersonation_keeps_the_condition_on_the_trust():
    cond = {"expression": 'request.time < timestamp("2026-01-01T00:00:00Z")', "title": "temp"}
    raw = RawProject(project_id=P, service_accounts=[{"email": SCORER}], policies=[RawPolicy(
        f"projects/{P}/serviceAccounts/{SCORER}", {"bindings": [
            {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:a@acme.example", "deleted:user:b@x"],
             "condition": cond}]})])
    (trust,) = assemble_project(raw, SOURCE).trusts  # the deleted member cannot act
    assert trust.principal == "user:a@acme.example" and trust.conditions == {"gcp:condition": cond}


def test_deny_policies_attach_deny_statements():
    deny = {"name": f"policies/cloudresourcemanager.googleapis.com%2Fprojects%2F{P}/denypolicies/no-iam",
            "rules": [
                {"denyRule": {"deniedPrincipals": ["principalSet://goog/public:all"],
                              "exceptionPrincipals": [f"principal://iam.googleapis.com/projects/-/serviceAccounts/{SCORER}"],
                              "deniedPermissions": ["iam.googleapis.com/roles.create",
                                                    "cloudresourcemanager.googleapis.com/projects.setIamPolicy"]}},
                {"denyRule": {"deniedPrincipals": [f"principal://iam.googleapis.com/projects/-/serviceAccounts/{SCORER}"],
                              "deniedPermissions": ["storage.googleapis.com/buckets.delete"],
                              "denialCondition": {"title": "prod", "expression": "resource.matchTag('env', 'prod')"}}},
            ]}
    raw = RawProject(project_id=P, service_accounts=[{"email": SCORER}, {"email": SUMMARISER}],
                     deny_policies=[RawPolicy(f"projects/{P}", deny)])
    snap = assemble_project(raw, SOURCE)
    first, second = (f"deny:{deny['name']}#0", f"deny:{deny['name']}#1")
    assert ident(snap, SUMMARISER).policy_ids == (first,)
    assert ident(snap, SCORER).policy_ids == (second,)
    (statement,) = policy(snap, first).statements
    assert statement.effect == "Deny" and statement.resources == (f"projects/{P}",)
    assert statement.actions == ("cloudresourcemanager.projects.setIamPolicy", "iam.roles.create")
    assert policy(snap, second).statements[0].conditions == {
        "gcp:denialCondition": {"expression": "resource.matchTag('env', 'prod')", "title": "prod"}}
    assert deny_permission("storage.googleapis.com/buckets.delete") == "storage.buckets.delete"


def test_workloads(snap):
    got = {w.kind: w for w in snap.workloads}
    assert got["gce_instance"].identity_id == COMPUTE and got["gce_instance"].region == "europe-west4-a"
    assert got["gce_instance"].id == f"projects/{P}/zones/europe-west4-a/instances/scorer-vm"
    assert got["cloud_run"].identity_id == SUMMARISER and got["cloud_run"].region == "europe-west4"
    assert got["cloud_function"].identity_id == SCORER and got["cloud_function"].name == "score-batch"
    assert got["cloud_function"].tags == {"env": "prod"}


def test_cloud_run_without_a_service_account_runs_as_the_default_compute_sa():
    raw = RawProject(project_id=P, project_number=NUM, run_services=[
        {"name": f"projects/{P}/locations/us-central1/services/x", "template": {}}])
    (workload,) = assemble_project(raw, SOURCE).workloads
    assert workload.identity_id == COMPUTE


def test_output_is_deterministic():
    def dump():
        snap = assemble_project(fixture_raw(), SOURCE)
        return snap.model_dump_json(exclude={"generated_at"})

    assert dump() == dump()
    raw = fixture_raw()
    raw.policies.reverse()
    raw.service_accounts = list(reversed(raw.service_accounts or []))
    assert assemble_project(raw, SOURCE).model_dump_json(exclude={"generated_at"}) == dump()


def test_no_secret_material_is_stored():
    raw = fixture_raw()
    raw.keys[SUMMARISER] = [dict(raw.keys[SUMMARISER][0], privateKeyData="c2VjcmV0LWtleQ==",
                                 publicKeyData="cHVibGlj")]
    text = assemble_project(raw, SOURCE).to_json()
    assert "c2VjcmV0LWtleQ==" not in text and "cHVibGlj" not in text


@pytest.mark.parametrize(("raw", "path"), [
    (RawProject(project_id=P, service_accounts=[{"displayName": "no e-mail"}]), ("service_accounts", 0, "email")),
    (RawProject(project_id=P, keys={SCORER: [{"name": "x/keys/1", "validAfterTime": "yesterday"}]}),
     ("keys", SCORER, 0, "validAfterTime")),
    (RawProject(project_id=P, policies=[RawPolicy(f"projects/{P}", {"bindings": [{"members": []}]})]),
     ("policies", 0, "bindings", 0)),
])
def test_malformed_raw_data_is_a_typed_error_with_a_path(raw, path):
    with pytest.raises(GcpDataError) as caught:
        assemble_project(raw, SOURCE)
    assert caught.value.path == path


def test_parse_time_forms():
    assert parse_time("2025-01-02T03:04:05.123456789Z") == datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert parse_time("2025-01-02T03:04:05+01:00") == datetime(2025, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert parse_time(None) is None
    with pytest.raises(GcpDataError):
        parse_time("2025-13-01T00:00:00Z")


# --- speed: no per-binding pass over every service account where a binding cannot target them all ---------

def _scaled_raw(n: int) -> RawProject:
    """n SAs; 3n project-level act-as bindings confined by their condition to buckets (they target no SA);
    n bindings on single SAs; n/10 confined to an SA name prefix; 2 unconditional project-level grants."""
    emails = [f"sa-{i:05d}{D}" for i in range(n)]
    bindings: list[dict] = [
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [f"serviceAccount:{emails[i % n]}"],
         "condition": {"title": f"c{i}", "expression": f'resource.name.startsWith("projects/_/buckets/b{i}")'}}
        for i in range(3 * n)]
    bindings += [{"role": "roles/iam.serviceAccountUser", "members": [f"user:dev{i}@acme.example"],
                  "condition": {"title": f"one{i}", "expression":
                                f'resource.name.startsWith("projects/-/serviceAccounts/sa-{i:05d}@")'}}
                 for i in range(0, n, 10)]
    bindings += [{"role": "roles/iam.serviceAccountUser", "members": [f"group:ops{i}@acme.example"]} for i in range(2)]
    policies = [RawPolicy(f"projects/{P}", {"version": 3, "bindings": bindings})]
    policies += [RawPolicy(f"projects/{P}/serviceAccounts/{e}", {"bindings": [
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:owner@acme.example"]}]}) for e in emails]
    return RawProject(project_id=P, project_number=NUM, service_accounts=[{"email": e} for e in emails],
                      policies=policies)


def test_assemble_work_grows_linearly_with_bindings_and_accounts(monkeypatch):
    import nhiaudit.connectors.gcp.assemble as assemble_module
    from nhiaudit.connectors.gcp.transform_trusts import SaTargets

    made: list[SaTargets] = []

    class Counting(SaTargets):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(assemble_module, "SaTargets", Counting)
    visited = {}
    for n in (50, 200):
        snap = assemble_project(_scaled_raw(n), SOURCE)
        visited[n] = made[-1].visited
        # one target per SA-level binding and per prefix-confined binding, n for the unconditional grant
        # (its two bindings merge into one grant; two members: 2n trusts, the output itself)
        assert visited[n] == n + n // 10 + n
        assert len(snap.trusts) == n + n // 10 + 2 * n
    assert visited[200] == 4 * visited[50]


def test_condition_confining_a_scope_grant_to_other_resources_targets_no_service_account():
    bucket_only = 'resource.name.startsWith("projects/_/buckets/models")'
    raw = RawProject(project_id=P, project_number=NUM, service_accounts=[{"email": SCORER, "uniqueId": "1001"},
                                                                         {"email": DEPLOYER, "uniqueId": "1002"}],
                     policies=[RawPolicy(f"projects/{P}", {"bindings": [
                         {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:a@acme.example"],
                          "condition": {"title": "bucket", "expression": bucket_only}},
                         {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:b@acme.example"],
                          "condition": {"title": "storage", "expression":
                                        'resource.service == "storage.googleapis.com"'}},
                         {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:c@acme.example"],
                          "condition": {"title": "by-id", "expression":
                                        'resource.name == "projects/-/serviceAccounts/1002"'}},
                         {"role": "roles/iam.serviceAccountUser", "members": ["user:d@acme.example"],
                          "condition": {"title": "expiry", "expression":
                                        'request.time < timestamp("2020-01-01T00:00:00Z")'}},
                         {"role": "roles/iam.serviceAccountUser", "members": ["user:e@acme.example"],
                          "condition": {"title": "project", "expression":
                                        f'resource.name.startsWith("projects/{P}/")'}},
                     ]})])
    snap = assemble_project(raw, SOURCE)
    got = sorted((t.principal, t.identity_id) for t in snap.trusts)
    assert got == [("user:c@acme.example", DEPLOYER),
                   # time clauses are left to analysis (--as-of): no clock in the transform
                   ("user:d@acme.example", SCORER), ("user:d@acme.example", DEPLOYER),
                   ("user:e@acme.example", SCORER), ("user:e@acme.example", DEPLOYER)]
    # the confined grants still give their bucket permissions
    assert policy(snap, f"binding:projects/{P}:roles/iam.serviceAccountTokenCreator#bucket").statements
