"""A GCP project with one planted gap per finding category, clean identities beside them, and the written
policy it is judged against. The same estate is served by the in-test servers (gcp_support.FakeGcp, raw API
shapes) and written as the gcloud exports (`--format=json`) a user would import, so a live scan and an
import scan can be compared finding by finding (tests/test_gcp_e2e.py).

Dates are relative to AS_OF, so the findings do not depend on the clock.
"""

from __future__ import annotations

import copy
import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gcp_support import NEVER, FakeGcp, binding, key, service_account

AS_OF = "2026-06-01"
_DAY0 = datetime(2026, 6, 1, tzinfo=UTC)
P, NUM = "acme-ml", "314159265358"
FOLDER, ORG = "folders/5100", "organizations/777"
POOL = f"projects/{NUM}/locations/global/workloadIdentityPools/github"
COMPUTE = f"{NUM}-compute@developer.gserviceaccount.com"
BUCKET_PII = "acme-pii-exports"
BUCKET_FEATURES = "acme-prod-features"


def sa(name: str) -> str:
    return f"{name}@{P}.iam.gserviceaccount.com"


def ts(days_ago: int) -> str:
    return (_DAY0 - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_days(days: int) -> str:
    return (_DAY0 + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- who is who ------------------------------------------------------------------------------------------
AGENT = sa("support-agent")  # well configured: declared, Vertex AI only, no user-managed key
SCORER = sa("batch-scorer")  # user-managed key older than max_age_days (it has an expiry, and is in use)
REPORTER = sa("report-builder")  # young user-managed key that never expires
LEGACY = sa("legacy-sync")  # user-managed key unused for five months (its integration allows old keys)
SHADOW = sa("shadow-summariser")  # calls Vertex AI, no integration declares it
TRIAGE = sa("triage-bot")  # reaches the PII bucket only by minting etl-runner's tokens
ETL = sa("etl-runner")  # reads the PII bucket (its own integration may)
SHARED = sa("shared-worker")  # listed by two integrations
NOTEBOOK = sa("notebook-dev")  # dev integration reading a prod bucket
DEPLOYER = sa("gh-deployer")  # GitHub workload identity provider without attribute condition
PUBLIC = sa("public-invoker")  # anybody with a Google account may mint its tokens
IAM_AUTOMATION = sa("iam-automation")  # may set the project's IAM policy
RETIRED = sa("retired-export")  # disabled, with an old never-expiring key: nothing to report

UIDS = {email: str(110_000_000_000_000_000_000 + n) for n, email in enumerate(
    (AGENT, SCORER, REPORTER, LEGACY, SHADOW, TRIAGE, ETL, SHARED, NOTEBOOK, DEPLOYER, PUBLIC, IAM_AUTOMATION,
     RETIRED, COMPUTE))}

# Key ids (40 hex digits, as GCP names them).
K_AGENT_SYSTEM = "a0" * 20
K_SCORER = "b1" * 20
K_REPORTER = "c2" * 20
K_LEGACY = "d3" * 20
K_RETIRED = "e4" * 20

# Rule ids expected per identity; every other identity of the estate must have none.
EXPECTED: dict[str, set[str]] = {
    SCORER: {"cred-too-old"},
    REPORTER: {"cred-no-expiry"},
    LEGACY: {"cred-unused"},
    SHADOW: {"ai-undeclared"},
    TRIAGE: {"scope-forbidden-system", "privesc-single-step"},  # the token minting is itself an escalation
    SHARED: {"identity-reused-across-integrations"},
    NOTEBOOK: {"env-reaches-production"},
    COMPUTE: {"gcp-default-compute-sa-editor"},
    DEPLOYER: {"trust-federated-unconstrained"},
    PUBLIC: {"trust-any-principal"},
    IAM_AUTOMATION: {"privesc-single-step", "gcp-broad-role"},  # Project IAM Admin is an admin role too
}
CLEAN = (AGENT, ETL, RETIRED)

# ---- role definitions (what get_role returns; the same JSON `gcloud iam roles describe` prints) ----------
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "roles/aiplatform.user": ["aiplatform.endpoints.explain", "aiplatform.endpoints.generateContent",
                              "aiplatform.endpoints.get", "aiplatform.endpoints.list",
                              "aiplatform.endpoints.predict", "aiplatform.endpoints.streamGenerateContent",
                              "aiplatform.models.get", "aiplatform.models.list"],
    "roles/storage.objectViewer": ["resourcemanager.projects.get", "storage.folders.get", "storage.folders.list",
                                   "storage.managedFolders.get", "storage.managedFolders.list",
                                   "storage.objects.get", "storage.objects.list"],
    "roles/iam.serviceAccountTokenCreator": ["iam.serviceAccounts.get", "iam.serviceAccounts.getAccessToken",
                                             "iam.serviceAccounts.getOpenIdToken",
                                             "iam.serviceAccounts.implicitDelegation", "iam.serviceAccounts.list",
                                             "iam.serviceAccounts.signBlob", "iam.serviceAccounts.signJwt",
                                             "resourcemanager.projects.get"],
    "roles/iam.workloadIdentityUser": ["iam.serviceAccounts.get", "iam.serviceAccounts.getAccessToken",
                                       "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.list"],
    "roles/resourcemanager.projectIamAdmin": ["iam.policybindings.get", "iam.policybindings.list",
                                              "resourcemanager.projects.get", "resourcemanager.projects.getIamPolicy",
                                              "resourcemanager.projects.setIamPolicy"],
    "roles/editor": ["aiplatform.endpoints.predict", "compute.instances.create", "compute.instances.get",
                     "compute.instances.list", "iam.serviceAccountKeys.create", "iam.serviceAccounts.actAs",
                     "iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.signJwt",
                     "resourcemanager.projects.get", "storage.buckets.get",
                     "storage.buckets.list", "storage.objects.create", "storage.objects.delete",
                     "storage.objects.get", "storage.objects.list"],
    "roles/owner": ["aiplatform.endpoints.predict", "iam.serviceAccounts.actAs",
                    "iam.serviceAccounts.getAccessToken", "resourcemanager.projects.setIamPolicy",
                    "storage.objects.get", "storage.objects.list"],
    "roles/viewer": ["compute.instances.get", "compute.instances.list", "resourcemanager.projects.get",
                     "storage.buckets.list"],
}
ROLE_TITLES = {"roles/aiplatform.user": "Vertex AI User", "roles/storage.objectViewer": "Storage Object Viewer",
               "roles/iam.serviceAccountTokenCreator": "Service Account Token Creator",
               "roles/iam.workloadIdentityUser": "Workload Identity User",
               "roles/resourcemanager.projectIamAdmin": "Project IAM Admin", "roles/editor": "Editor",
               "roles/owner": "Owner", "roles/viewer": "Viewer"}


def roles() -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "title": ROLE_TITLES[name], "description": f"{ROLE_TITLES[name]} role",
                   "includedPermissions": perms, "stage": "GA", "etag": "AA=="}
            for name, perms in sorted(ROLE_PERMISSIONS.items())}


# ---- the estate in raw API shapes ------------------------------------------------------------------------
def _accounts() -> list[dict[str, Any]]:
    described = {AGENT: "Answers support tickets with Gemini", SHADOW: "Summarises contracts (experiment)",
                 TRIAGE: "Routes tickets", ETL: "Nightly PII export", NOTEBOOK: "Data science sandbox"}
    out = []
    for email, uid in UIDS.items():
        name = email.split("@")[0]
        extra: dict[str, Any] = {"description": described[email]} if email in described else {}
        if email == RETIRED:
            extra["disabled"] = True
        if email == COMPUTE:
            item = {"name": f"projects/{P}/serviceAccounts/{email}", "projectId": P, "uniqueId": uid,
                    "email": email, "displayName": "Compute Engine default service account",
                    "etag": "MDEwMjE5MjA=", "oauth2ClientId": uid}
        else:
            item = service_account(P, name, int(uid), **extra)
        out.append(item)
    return sorted(out, key=lambda a: a["email"])


def _keys() -> dict[str, list[dict[str, Any]]]:
    return {
        AGENT: [key(AGENT, K_AGENT_SYSTEM, ts(20), in_days(700), managed="SYSTEM_MANAGED")],
        SCORER: [key(SCORER, K_SCORER, ts(200), in_days(165))],
        REPORTER: [key(REPORTER, K_REPORTER, ts(30), NEVER)],
        LEGACY: [key(LEGACY, K_LEGACY, ts(200), in_days(165))],
        RETIRED: [key(RETIRED, K_RETIRED, ts(900), NEVER)],
    }


def _project_policy() -> dict[str, Any]:
    member = "serviceAccount:"
    return {"version": 3, "etag": "BwYhH3kQ2aE=", "bindings": [
        binding("roles/aiplatform.user", *(member + e for e in sorted((AGENT, SCORER, SHADOW, TRIAGE, SHARED)))),
        binding("roles/editor", member + COMPUTE),
        binding("roles/owner", "user:platform-admin@acme.com"),
        binding("roles/resourcemanager.projectIamAdmin", member + IAM_AUTOMATION),
    ]}


def _sa_policies() -> dict[str, dict[str, Any]]:
    return {
        ETL: {"version": 1, "etag": "BwYhH3kRAbc=", "bindings": [
            binding("roles/iam.serviceAccountTokenCreator", f"serviceAccount:{TRIAGE}")]},
        DEPLOYER: {"version": 1, "etag": "BwYhH3kRXyz=", "bindings": [
            binding("roles/iam.workloadIdentityUser", f"principalSet://iam.googleapis.com/{POOL}/*")]},
        PUBLIC: {"version": 1, "etag": "BwYhH3kRQrs=", "bindings": [
            binding("roles/iam.serviceAccountTokenCreator", "allAuthenticatedUsers")]},
    }


SCOPE_POLICIES = {
    FOLDER: {"version": 1, "etag": "BwZ=", "bindings": [binding("roles/viewer", "group:ml-leads@acme.com")]},
    ORG: {"version": 1, "etag": "BwA=", "bindings": [binding("roles/owner", "group:gcp-admins@acme.com")]},
}


def _asset_results() -> list[dict[str, Any]]:
    """`searchAllIamPolicies` in the project: the two buckets, and the project itself (which live
    collection reads directly and skips here; an import merges it with the project's own policy)."""
    common = {"folders": [FOLDER], "organization": ORG, "project": f"projects/{NUM}"}
    return [
        {"resource": f"//storage.googleapis.com/{BUCKET_PII}", "assetType": "storage.googleapis.com/Bucket",
         **common, "policy": {"bindings": [binding("roles/storage.objectViewer", f"serviceAccount:{ETL}")]}},
        {"resource": f"//storage.googleapis.com/{BUCKET_FEATURES}", "assetType": "storage.googleapis.com/Bucket",
         **common, "policy": {"bindings": [binding("roles/storage.objectViewer", f"serviceAccount:{NOTEBOOK}")]}},
        {"resource": f"//cloudresourcemanager.googleapis.com/projects/{NUM}",
         "assetType": "cloudresourcemanager.googleapis.com/Project", **common,
         "policy": {"bindings": _project_policy()["bindings"]}},
    ]


def _sa_activity(email: str, days_ago: int) -> dict[str, Any]:
    return {"activityType": "serviceAccountLastAuthentication",
            "fullResourceName": f"//iam.googleapis.com/projects/{P}/serviceAccounts/{UIDS[email]}",
            "observationPeriod": {"startTime": ts(days_ago), "endTime": ts(days_ago - 1)},
            "activity": {"lastAuthenticatedTime": ts(days_ago), "serviceAccount": {
                "fullResourceName": f"//iam.googleapis.com/projects/{P}/serviceAccounts/{email}",
                "projectNumber": NUM, "serviceAccountId": UIDS[email]}}}


def _key_activity(email: str, kid: str, days_ago: int) -> dict[str, Any]:
    return {"activityType": "serviceAccountKeyLastAuthentication",
            "fullResourceName": f"//iam.googleapis.com/projects/{P}/serviceAccounts/{UIDS[email]}/keys/{kid}",
            "observationPeriod": {"startTime": ts(days_ago), "endTime": ts(days_ago - 1)},
            "activity": {"lastAuthenticatedTime": ts(days_ago), "serviceAccountKey": {
                "fullResourceName": f"//iam.googleapis.com/projects/{P}/serviceAccounts/{email}/keys/{kid}",
                "projectNumber": NUM, "serviceAccountId": UIDS[email]}}}


def _activities() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    accounts = [_sa_activity(e, 1 if e != LEGACY else 150) for e in sorted(UIDS) if e != RETIRED]
    keys = [_key_activity(SCORER, K_SCORER, 1), _key_activity(REPORTER, K_REPORTER, 2),
            _key_activity(LEGACY, K_LEGACY, 150)]
    return accounts, keys


PROVIDER = {"name": f"{POOL}/providers/github-actions", "displayName": "GitHub Actions", "state": "ACTIVE",
            "attributeMapping": {"attribute.repository": "assertion.repository", "google.subject": "assertion.sub"},
            "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"}}

_ZONE = "europe-west4-a"
INSTANCE = {"id": "4587261029384756123", "kind": "compute#instance", "name": "feature-builder",
            "machineType": f"https://www.googleapis.com/compute/v1/projects/{P}/zones/{_ZONE}/machineTypes/e2-small",
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/{P}/zones/{_ZONE}/instances/feature-builder",
            "serviceAccounts": [{"email": COMPUTE, "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}],
            "status": "RUNNING", "zone": f"https://www.googleapis.com/compute/v1/projects/{P}/zones/{_ZONE}"}
_RUN = [("support-chat", "europe-west4", AGENT, {"env": "prod"}),
        ("notebook-proxy", "europe-west4", NOTEBOOK, {"env": "dev"})]


def _run_v2(name: str, location: str, email: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": f"projects/{P}/locations/{location}/services/{name}", "labels": labels,
            "template": {"serviceAccount": email, "containers": [{"image": f"europe-docker.pkg.dev/{P}/apps/{name}"}]}}


def planted_fake() -> FakeGcp:
    """The estate as the in-test servers serve it."""
    fake = FakeGcp(roles=roles())
    fake.folders = {FOLDER: ORG}
    fake.projects = {P: {"number": NUM, "parent": FOLDER}}
    fake.service_accounts = {P: _accounts()}
    fake.keys = _keys()
    fake.sa_policies = _sa_policies()
    fake.scope_policies = {f"projects/{P}": _project_policy(), **copy.deepcopy(SCOPE_POLICIES)}
    fake.asset_results = {P: _asset_results()}
    accounts, keys = _activities()
    fake.activities = {(P, "serviceAccountLastAuthentication"): accounts,
                       (P, "serviceAccountKeyLastAuthentication"): keys}
    fake.pools = {P: {POOL: [copy.deepcopy(PROVIDER)]}}
    fake.instances = {P: {_ZONE: [copy.deepcopy(INSTANCE)]}}
    fake.run_locations = ["europe-west4"]
    fake.run_services = {(P, "europe-west4"): [_run_v2(*r) for r in _RUN]}
    return fake


# ---- the same estate as gcloud exports ---------------------------------------------------------------------
_EMPTY_POLICY = {"version": 1, "etag": "BwAAAA=="}  # what getIamPolicy returns for a policy without bindings


def _knative(service: dict[str, Any], number: str) -> dict[str, Any]:
    """A Cloud Run v2 service as `gcloud run services list --format=json` prints it: the Knative v1 shape."""
    _, _, _, location, _, name = service["name"].split("/")
    spec: dict[str, Any] = {"containers": service["template"].get("containers", [])}
    if service["template"].get("serviceAccount"):
        spec["serviceAccountName"] = service["template"]["serviceAccount"]
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": number,
                         "labels": {"cloud.googleapis.com/location": location, **service.get("labels", {})},
                         "annotations": {"run.googleapis.com/ingress": "all"},
                         "selfLink": f"/apis/serving.knative.dev/v1/namespaces/{number}/services/{name}"},
            "spec": {"template": {"spec": spec}}}


def write_exports(folder: Path, fake: FakeGcp | None = None) -> list[str]:
    """Write what the servers of `fake` (default: the planted estate) serve as the gcloud exports of each
    project: self-describing files in `folder`, policies that do not say whose they are in `folder/targeted`.
    Returns the `--import` arguments that read them all."""
    fake = fake or planted_fake()
    targeted = folder / "targeted"
    targeted.mkdir(parents=True, exist_ok=True)

    def write(path: Path, data: Any) -> Path:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return path

    args = ["--import", str(folder)]
    policies: dict[str, Any] = {}  # get-iam-policy of each project, ancestor and SA with bindings
    for project, info in sorted(fake.projects.items()):
        accounts = fake.service_accounts.get(project, [])
        write(folder / f"service-accounts-{project}.json", accounts)  # gcloud iam service-accounts list
        for account in accounts:  # gcloud iam service-accounts keys list --iam-account=E
            email = account["email"]
            if fake.keys.get(email):
                write(folder / f"keys-{email.split('@')[0]}-{project}.json", fake.keys[email])
            if fake.sa_policies.get(email, {}).get("bindings"):
                policies[email] = fake.sa_policies[email]
        policies[project] = fake.scope_policies.get(f"projects/{project}", _EMPTY_POLICY)
        if fake.asset_results.get(project):  # gcloud asset search-all-iam-policies --scope=projects/P
            write(folder / f"asset-iam-policies-{project}.json", fake.asset_results[project])
        providers = [p for items in fake.pools.get(project, {}).values() for p in items]
        if providers:  # gcloud iam workload-identity-pools providers list --workload-identity-pool=...
            write(folder / f"wif-providers-{project}.json", providers)
        for kind in ("serviceAccountLastAuthentication", "serviceAccountKeyLastAuthentication"):
            if fake.activities.get((project, kind)):  # gcloud policy-intelligence query-activity
                write(folder / f"activity-{kind}-{project}.json", fake.activities[(project, kind)])
        instances = [i for _, items in sorted(fake.instances.get(project, {}).items()) for i in items]
        if instances:  # gcloud compute instances list
            write(folder / f"compute-instances-{project}.json", instances)
        services = [_knative(s, info["number"]) for (p, _), items in sorted(fake.run_services.items())
                    if p == project for s in items]
        if services:  # gcloud run services list
            write(folder / f"run-services-{project}.json", services)
        if fake.functions.get(project):  # gcloud functions list --v2
            write(folder / f"functions-{project}.json", fake.functions[project])
    custom = [role for _, items in sorted(fake.custom_roles.items()) for role in items]
    for role in [*custom, *(r for _, r in sorted(fake.roles.items()))]:  # gcloud iam roles describe ROLE
        write(folder / f"role-{role['name'].replace('/', '-')}.json", role)
    policies.update({scope: policy for scope, policy in fake.scope_policies.items()
                     if scope.startswith(("folders/", "organizations/"))})
    for target, policy in sorted(policies.items()):
        path = write(targeted / f"{target.replace('/', '-')}-iam-policy.json", policy)
        args += ["--import", f"{target}={path}"]
    return args


# ---- the written policy ------------------------------------------------------------------------------------
POLICY = f"""\
version: 1
defaults:
  credentials: {{max_age_days: 90, max_unused_days: 60, require_expiry: true}}
  gcp: {{domains: [acme.com]}}
systems:
  vertex:
    kind: ai-model
    resources: ["//aiplatform.googleapis.com/projects/{P}/locations/*/endpoints/*"]
  customer-pii:
    kind: data
    environment: prod
    classification: restricted
    resources: ["//storage.googleapis.com/projects/_/buckets/acme-pii*"]
  prod-features:
    kind: data
    environment: prod
    resources: ["//storage.googleapis.com/{BUCKET_FEATURES}"]
integrations:
  - name: support-agent
    kind: agent
    environment: prod
    owner: support@acme.com
    identities: ["{AGENT}"]
    may_reach: [vertex]
    must_not_reach: [customer-pii]
  - name: batch-scoring
    kind: pipeline
    environment: prod
    identities: ["{SCORER}"]
    may_reach: [vertex]
  - name: reporting
    kind: integration
    identities: ["{REPORTER}"]
  - name: legacy-sync
    kind: integration
    identities: ["{LEGACY}"]
    credentials: {{max_age_days: 365}}
  - name: ticket-triage
    kind: agent
    environment: prod
    identities: ["{TRIAGE}"]
    may_reach: [vertex]
    must_not_reach: [customer-pii]
  - name: pii-export
    kind: pipeline
    environment: prod
    identities: ["{ETL}"]
    may_reach: [customer-pii]
  - name: faq-bot
    kind: agent
    identities: ["{SHARED}"]
    may_reach: [vertex]
  - name: email-drafter
    kind: copilot
    identities: ["{SHARED}"]
    may_reach: [vertex]
  - name: ml-sandbox
    kind: integration
    environment: dev
    identities: ["{NOTEBOOK}"]
    may_reach: [prod-features]
"""


def write_policy(folder: Path) -> Path:
    path = folder / "planted-policy.yaml"
    path.write_text(textwrap.dedent(POLICY), encoding="utf-8")
    return path


# ---- a variant: the dev service account lives in its own project ------------------------------------------
DEV_PROJECT, DEV_NUM = "acme-ml-dev", "271828182845"
DEV_NOTEBOOK = f"notebook-dev@{DEV_PROJECT}.iam.gserviceaccount.com"


def cross_project_fake() -> tuple[FakeGcp, str]:
    """The planted estate with notebook-dev moved to a dev project (below the same folder): the prod
    bucket's binding names a member of another project. Returns the estate and its written policy."""
    fake = planted_fake()
    fake.projects[DEV_PROJECT] = {"number": DEV_NUM, "parent": FOLDER}
    moved = service_account(DEV_PROJECT, "notebook-dev", int(UIDS[NOTEBOOK]))
    fake.service_accounts[DEV_PROJECT] = [moved]
    fake.service_accounts[P] = [a for a in fake.service_accounts[P] if a["email"] != NOTEBOOK]
    for result in fake.asset_results[P]:
        if result["resource"].endswith(BUCKET_FEATURES):
            result["policy"] = {"bindings": [binding("roles/storage.objectViewer", f"serviceAccount:{DEV_NOTEBOOK}")]}
    fake.run_services = {where: [s for s in services if s["template"]["serviceAccount"] != NOTEBOOK]
                         for where, services in fake.run_services.items()}
    return fake, POLICY.replace(NOTEBOOK, DEV_NOTEBOOK)
