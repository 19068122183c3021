"""An Entra tenant (and its prod / dev subscriptions) with one planted gap per Azure finding category, a
well-configured agent beside them, and the written policy it is judged against. The same tenant is served by
the in-test servers (azure_support.FakeAzure, raw Graph / ARM shapes) and written as the az / Graph / ARM
export files a user would import, so a live scan and an import scan can be compared finding by finding
(tests/test_azure_e2e.py).

Dates are relative to AS_OF, so the findings do not depend on the clock.
"""

from __future__ import annotations

import copy
import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure_support import FakeAzure

AS_OF = "2026-06-01"
_DAY0 = datetime(2026, 6, 1, tzinfo=UTC)
TENANT = "11111111-1111-4111-8111-111111111111"
FOREIGN = "99999999-9999-4999-8999-999999999999"
MS_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
PROD = "22222222-2222-4222-8222-222222222222"
DEV = "33333333-3333-4333-8333-333333333333"
GRAPH_APP = "00000003-0000-0000-c000-000000000000"
MAIL_READ = "810c84a8-4a9e-49e6-bf7d-12d183f40d01"
GITHUB = "https://token.actions.githubusercontent.com"
AOAI = f"/subscriptions/{PROD}/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/aoai-prod"
PROD_DATA = f"/subscriptions/{PROD}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/proddata01"


def ts(days_ago: int) -> str:
    return (_DAY0 - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def oid(n: int) -> str:
    """A service principal's object id."""
    return f"0000{n:04d}-0000-4000-8000-00000000{n:04d}"


def app_id(n: int) -> str:
    return f"0001{n:04d}-0000-4000-8000-00000001{n:04d}"


def app_oid(n: int) -> str:
    """An application registration's object id."""
    return f"0002{n:04d}-0000-4000-8000-00000002{n:04d}"


def key_id(n: int) -> str:
    return f"0004{n:04d}-0000-4000-8000-00000004{n:04d}"


# ---- who is who (SP object ids) ----------------------------------------------------------------------------
GRAPH = oid(100)  # Microsoft Graph (first party): resource of the permissions
AGENT = oid(1)  # well configured: managed identity, OpenAI User on one account, declared by appId
OLD = oid(2)  # client secret older than max_age_days
TEN_YEAR = oid(3)  # a young client secret valid for ten years
SHARED_A, SHARED_B = oid(4), oid(5)  # the same secret added to two apps
MAIL = oid(6)  # Mail.Read application permission; the policy forbids mail
SHADOW = oid(7)  # can call Azure OpenAI, no integration declares it
COPILOT = oid(8)  # third-party multi-tenant app, tenant-wide admin consent to Files.Read.All
OPS = oid(9)  # Owner of the prod subscription
CI_HELPER = oid(10)  # owns the ops-automation application: can add a secret and act as OPS
DEPLOYER = oid(11)  # federated credential admitting any pull request
DEV_RUNNER = oid(12)  # managed identity of a dev VM, reads prod storage
STALE = oid(13)  # no sign-in for 200 days

NAMES = {AGENT: "support-agent", OLD: "batch-scorer", TEN_YEAR: "report-builder", SHARED_A: "shared-a",
         SHARED_B: "shared-b", MAIL: "mail-bot", SHADOW: "shadow-summariser", COPILOT: "ThirdParty Copilot",
         OPS: "ops-automation", CI_HELPER: "ci-helper", DEPLOYER: "gh-deployer", DEV_RUNNER: "dev-runner",
         STALE: "stale-sp"}
MANAGED = (AGENT, DEV_RUNNER)
APPS = (OLD, TEN_YEAR, SHARED_A, SHARED_B, MAIL, SHADOW, OPS, CI_HELPER, DEPLOYER, STALE)  # registered here

# Rule ids expected per identity; every other identity of the tenant must have none.
EXPECTED: dict[str, set[str]] = {
    OLD: {"cred-too-old"},
    TEN_YEAR: {"cred-validity-too-long"},
    SHARED_A: {"cred-shared-secret"},
    SHARED_B: {"cred-shared-secret"},
    MAIL: {"scope-forbidden-system", "azure-graph-broad-permission"},
    SHADOW: {"ai-undeclared"},
    COPILOT: {"azure-third-party-consent", "azure-graph-broad-permission"},
    OPS: {"admin-access"},
    CI_HELPER: {"privesc-via-chain"},
    DEPLOYER: {"trust-federated-unconstrained"},
    DEV_RUNNER: {"env-reaches-production"},
    STALE: {"identity-unused"},
}
CLEAN = (AGENT, GRAPH)


def _n(sp: str) -> int:
    return int(sp.split("-")[0][4:])


# ---- role definitions ------------------------------------------------------------------------------------
ROLES: dict[str, tuple[str, str, list[str], list[str], list[str]]] = {  # name -> guid, type, actions, not, data
    "Owner": ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "BuiltInRole", ["*"], [], []),
    "Cognitive Services OpenAI User": ("5e0bd9bd-7b93-4f28-af87-19fc36ad61bd", "BuiltInRole",
                                       ["Microsoft.CognitiveServices/*/read"], [],
                                       ["Microsoft.CognitiveServices/accounts/OpenAI/*"]),
    "Storage Blob Data Reader": ("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "BuiltInRole",
                                 ["Microsoft.Storage/storageAccounts/blobServices/containers/read"], [],
                                 ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]),
}


def role_definition(sub: str, name: str) -> dict[str, Any]:
    guid, kind, actions, not_actions, data = ROLES[name]
    return {"id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}", "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": name, "type": kind, "description": f"{name} role",
                           "permissions": [{"actions": actions, "notActions": not_actions, "dataActions": data,
                                            "notDataActions": []}], "assignableScopes": ["/"]}}


def role_assignment(sub: str, n: int, who: str, role: str, scope: str) -> dict[str, Any]:
    name = f"aaaa{n:04d}-0000-4000-8000-0000000a{n:04d}"
    return {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"principalId": who, "principalType": "ServicePrincipal", "scope": scope,
                           "roleDefinitionId": role_definition(sub, role)["id"],
                           "createdOn": ts(300), "updatedOn": ts(300)}}


# ---- the tenant in raw Graph / ARM shapes ----------------------------------------------------------------
def _sp(sp: str) -> dict[str, Any]:
    managed = sp in MANAGED
    n = _n(sp)
    return {"id": sp, "appId": app_id(n), "displayName": NAMES[sp], "accountEnabled": True,
            "servicePrincipalType": "ManagedIdentity" if managed else "Application",
            "appOwnerOrganizationId": FOREIGN if sp == COPILOT else None if managed else TENANT,
            "tags": [] if managed else ["WindowsAzureActiveDirectoryIntegratedApp"], "appRoles": [],
            "alternativeNames": ["isExplicit=False", f"/subscriptions/{DEV}/resourceGroups/dev/providers/"
                                 "Microsoft.Compute/virtualMachines/runner"] if sp == DEV_RUNNER else []}


def service_principals() -> list[dict[str, Any]]:
    graph = {"id": GRAPH, "appId": GRAPH_APP, "displayName": "Microsoft Graph", "accountEnabled": True,
             "servicePrincipalType": "Application", "appOwnerOrganizationId": MS_TENANT, "tags": [],
             "alternativeNames": [],
             "appRoles": [{"id": MAIL_READ, "value": "Mail.Read", "allowedMemberTypes": ["Application"],
                           "isEnabled": True, "displayName": "Read mail in all mailboxes",
                           "description": "Read mail"}]}
    return sorted([graph, *(_sp(s) for s in NAMES)], key=lambda s: s["id"])


def _secret(n: int, hint: str, created: int, valid_days: int) -> dict[str, Any]:
    start = _DAY0 - timedelta(days=created)
    return {"keyId": key_id(n), "hint": hint, "displayName": f"secret-{n}", "customKeyIdentifier": None,
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": (start + timedelta(days=valid_days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "secretText": None}


SECRETS: dict[str, list[dict[str, Any]]] = {
    OLD: [_secret(2, "o1d", 200, 365)],
    TEN_YEAR: [_secret(3, "t3n", 1, 3650)],
    SHARED_A: [_secret(4, "shr", 10, 60)],
    SHARED_B: [_secret(5, "shr", 10, 60)],
    MAIL: [_secret(6, "m4l", 20, 60)],
    SHADOW: [_secret(7, "sh4", 20, 60)],
    OPS: [_secret(9, "0ps", 20, 60)],
    CI_HELPER: [_secret(10, "c1h", 20, 60)],
}


def applications() -> list[dict[str, Any]]:
    out = []
    for sp in APPS:
        n = _n(sp)
        out.append({"id": app_oid(n), "appId": app_id(n), "displayName": NAMES[sp], "createdDateTime": ts(400),
                    "signInAudience": "AzureADMyOrg", "keyCredentials": [], "requiredResourceAccess": [],
                    "passwordCredentials": copy.deepcopy(SECRETS.get(sp, []))})
    return sorted(out, key=lambda a: a["id"])


def owners() -> dict[str, list[dict[str, Any]]]:
    helper = {"@odata.type": "#microsoft.graph.servicePrincipal", "id": CI_HELPER, "displayName": NAMES[CI_HELPER],
              "appId": app_id(_n(CI_HELPER)), "servicePrincipalType": "Application"}
    ada = {"@odata.type": "#microsoft.graph.user", "id": "00000601-0000-4000-8000-000000000601",
           "displayName": "Ada", "userPrincipalName": "ada@contoso.com"}
    return {app_oid(_n(OPS)): [helper], app_oid(_n(OLD)): [ada]}


def federated() -> dict[str, list[dict[str, Any]]]:
    return {app_oid(_n(DEPLOYER)): [{"id": "00000501-0000-4000-8000-000000000501", "name": "any-pr",
                                     "issuer": GITHUB, "subject": "repo:acme/app:pull_request",
                                     "audiences": ["api://AzureADTokenExchange"], "description": "PR builds"}]}


def app_role_assignments() -> dict[str, list[dict[str, Any]]]:
    return {MAIL: [{"id": "ara-mail-bot", "appRoleId": MAIL_READ, "principalId": MAIL,
                    "principalType": "ServicePrincipal", "principalDisplayName": NAMES[MAIL], "resourceId": GRAPH,
                    "resourceDisplayName": "Microsoft Graph", "createdDateTime": ts(100)}]}


GRANTS = [{"id": "grant-copilot", "clientId": COPILOT, "consentType": "AllPrincipals", "principalId": None,
           "resourceId": GRAPH, "scope": "Files.Read.All User.Read"}]


def sp_sign_ins() -> list[dict[str, Any]]:
    out = []
    for sp in sorted(NAMES):
        days = 200 if sp == STALE else 1
        out.append({"id": f"signin-{_n(sp)}", "appId": app_id(_n(sp)),
                    "lastSignInActivity": {"lastSignInDateTime": ts(days)}})
    return out


def credential_sign_ins() -> list[dict[str, Any]]:
    return [{"id": f"cred-{s['keyId']}", "keyId": s["keyId"], "appId": app_id(_n(sp)), "keyType": "clientSecret",
             "keyUsage": "verify", "credentialOrigin": "application", "signInDateTime": ts(1)}
            for sp, secrets in sorted(SECRETS.items()) for s in secrets]


def _subscriptions() -> dict[str, dict[str, Any]]:
    prod_assignments = [
        role_assignment(PROD, 1, AGENT, "Cognitive Services OpenAI User", AOAI),
        role_assignment(PROD, 7, SHADOW, "Cognitive Services OpenAI User", f"/subscriptions/{PROD}/resourceGroups/ai"),
        role_assignment(PROD, 9, OPS, "Owner", f"/subscriptions/{PROD}"),
        role_assignment(PROD, 12, DEV_RUNNER, "Storage Blob Data Reader", f"/subscriptions/{PROD}"),
    ]
    agent_app = {"id": f"/subscriptions/{PROD}/resourceGroups/ai/providers/Microsoft.App/containerApps/support-chat",
                 "name": "support-chat", "type": "Microsoft.App/containerApps", "location": "westeurope",
                 "tags": {"env": "prod"},
                 "identity": {"type": "SystemAssigned", "principalId": AGENT, "tenantId": TENANT}}
    runner = {"id": f"/subscriptions/{DEV}/resourceGroups/dev/providers/Microsoft.Compute/virtualMachines/runner",
              "name": "runner", "type": "Microsoft.Compute/virtualMachines", "location": "westeurope",
              "tags": {"env": "dev"},
              "identity": {"type": "SystemAssigned", "principalId": DEV_RUNNER, "tenantId": TENANT}}
    return {
        PROD: {"displayName": "prod", "roleAssignments": prod_assignments,
               "roleDefinitions": [role_definition(PROD, r) for r in sorted(ROLES)], "identities": [],
               "resources": [agent_app]},
        DEV: {"displayName": "dev", "roleAssignments": [],
              "roleDefinitions": [role_definition(DEV, r) for r in sorted(ROLES)], "identities": [],
              "resources": [runner]},
    }


def planted_fake() -> FakeAzure:
    """The tenant as the in-test servers serve it."""
    return FakeAzure(tenant_id=TENANT, service_principals=service_principals(), applications=applications(),
                     owners=owners(), app_role_assignments=app_role_assignments(), federated=federated(),
                     grants=copy.deepcopy(GRANTS), sp_sign_ins=sp_sign_ins(), cred_sign_ins=credential_sign_ins(),
                     subscriptions=_subscriptions())


# ---- the same tenant as export files ---------------------------------------------------------------------
_GRAPH = "https://graph.microsoft.com/v1.0/$metadata#"
_BETA = "https://graph.microsoft.com/beta/$metadata#"


def _page(context: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"@odata.context": context, "value": items}


def write_exports(folder: Path, fake: FakeAzure | None = None) -> list[str]:
    """The tenant as a user exports it: `az` lists for ARM and the tenant, Graph pages for Entra. Returns the
    `--import` arguments."""
    fake = fake or planted_fake()
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {
        "account.json": {"environmentName": "AzureCloud", "homeTenantId": fake.tenant_id, "id": PROD,
                         "isDefault": True, "managedByTenants": [], "name": "prod", "state": "Enabled",
                         "tenantId": fake.tenant_id, "user": {"name": "auditor@contoso.com", "type": "user"}},
        "sp-list.json": fake.service_principals,  # az ad sp list --all
        "app-list.json": fake.applications,  # az ad app list --all
        "oauth2-grants.json": fake.grants,  # az ad app permission list-grants
        "graph-directory-role-assignments.json": _page(
            f"{_GRAPH}roleManagement/directory/roleAssignments(roleDefinition())", fake.directory_roles),
        "graph-sp-signins.json": _page(f"{_BETA}reports/servicePrincipalSignInActivities", fake.sp_sign_ins),
        "graph-credential-signins.json": _page(f"{_BETA}reports/appCredentialSignInActivities",
                                               fake.cred_sign_ins),
    }
    for parent, found in sorted(fake.owners.items()):
        relation = "applications" if any(a["id"] == parent for a in fake.applications) else "servicePrincipals"
        files[f"graph-owners-{parent}.json"] = _page(f"{_GRAPH}{relation}('{parent}')/owners", found)
    for parent, found in sorted(fake.federated.items()):
        files[f"graph-fic-{parent}.json"] = _page(f"{_GRAPH}applications('{parent}')/federatedIdentityCredentials",
                                                  found)
    for parent, found in sorted(fake.app_role_assignments.items()):
        files[f"graph-approleassignments-{parent}.json"] = _page(
            f"{_GRAPH}servicePrincipals('{parent}')/appRoleAssignments", found)
    for sid, sub in sorted(fake.subscriptions.items()):  # raw ARM list pages, one set per subscription
        files[f"arm-role-assignments-{sid}.json"] = {"value": sub["roleAssignments"]}
        files[f"arm-role-definitions-{sid}.json"] = {"value": sub["roleDefinitions"]}
        if sub["resources"]:
            files[f"arm-resources-{sid}.json"] = {"value": sub["resources"]}
    for name, data in files.items():
        if isinstance(data, (list, dict)) and data in ([], {}):
            continue
        (folder / name).write_text(json.dumps(data, indent=2), encoding="utf-8")
    return ["--import", str(folder)]


# ---- the written policy ----------------------------------------------------------------------------------
POLICY = f"""\
version: 1
defaults:
  credentials: {{max_age_days: 90, max_unused_days: 60, require_expiry: true}}
systems:
  aoai:
    kind: ai-model
    resources: ["/subscriptions/*/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/*"]
  prod-data:
    kind: data
    environment: prod
    classification: restricted
    resources: ["/subscriptions/{PROD}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/*"]
  mail:
    kind: data
    classification: restricted
    resources: ["delegated:Microsoft Graph/Mail.*"]
integrations:
  - name: support-agent
    kind: agent
    environment: prod
    owner: support@acme.com
    identities: ["{app_id(_n(AGENT))}"]
    may_reach: [aoai]
    must_not_reach: [prod-data, mail]
  - name: batch-scoring
    kind: pipeline
    environment: prod
    identities: ["{OLD}", "{TEN_YEAR}"]
  - name: mail-triage
    kind: integration
    identities: ["{MAIL}"]
    must_not_reach: [mail]
  - name: dev-runner
    kind: pipeline
    environment: dev
    identities: ["{DEV_RUNNER}"]
    may_reach: [prod-data]
"""


def write_policy(folder: Path) -> Path:
    path = folder / "planted-policy.yaml"
    path.write_text(textwrap.dedent(POLICY), encoding="utf-8")
    return path
