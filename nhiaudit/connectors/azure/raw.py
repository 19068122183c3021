"""One Entra tenant's raw data (and its Azure subscriptions), as Microsoft Graph and ARM return it, between
collection (live or import) and the transforms.

Every value is the JSON of the API: Graph v1.0 objects (camelCase, as `az ad ... list` prints them or a raw
`{"value": [...]}` page holds them) and ARM resources (as `az role assignment list` / `az identity list` print
them). Live collection stores exactly what the APIs return, so live and import share one transform and give
the same snapshot.

How the raw shapes map onto the provider-neutral inventory (nhiaudit/inventory/model.py):

- Identity: one per service principal. id = the SP's object id; account = the tenant id; kind =
  managed_identity when servicePrincipalType is "ManagedIdentity", else service_principal; name =
  displayName; disabled = not accountEnabled; tags: the SP's `tags` strings as {tag: ""} (or {k: v} for
  "k:v" / "k=v" tags); owner = the first owner's userPrincipalName/displayName; attributes: appId,
  appOwnerOrganizationId, servicePrincipalType, publisher ("microsoft" for Microsoft's first-party tenant
  f8cdef31-a31e-4b4a-93e4-5f571e91255a and 72f988bf-86f1-41af-91ab-2d7cd011db47, "tenant" for this tenant,
  "foreign" for any other), signInAudience of its application when known, resourceId of a managed identity
  (the `/subscriptions/...` entry of alternativeNames: the user-assigned identity or the resource);
  created = createdDateTime of the application (SPs carry none) when known; last_activity from
  servicePrincipalSignInActivities (lastSignInActivity.lastSignInDateTime, the latest of its variants).
- Credential: one per application passwordCredential (type client_secret) and keyCredential (type
  certificate), attached to the application's service principal in this tenant (by appId). id = keyId;
  created = startDateTime; expires = endDateTime; fingerprint = "thumbprint:" + customKeyIdentifier for
  certificates (one certificate uploaded to several apps is shared); for secrets "hint:" + hint + ":" +
  startDateTime + ":" + endDateTime (the same secret added to several apps at once; a heuristic, documented);
  last_used from appCredentialSignInActivities (keyId). Federated identity credentials are Trusts, not
  credentials. Managed identities have no static credential.
- DelegatedGrant: one per OAuth2 permission grant (resource = the resource SP's displayName, scopes split
  on spaces, consent_type = consentType, principal_id) and one per app role assignment held by the SP
  (application permissions: resource = resourceDisplayName, scopes = the appRole's `value` resolved through
  the resource SP's appRoles, consent_type = "application").
- Policy (Azure RBAC): one per role assignment: id = the assignment id; name = the role definition's
  roleName; kind = "role"; statements: one Allow per permission block with actions = actions + dataActions,
  not_actions = notActions + notDataActions, resources = (the assignment's scope,), conditions =
  {"azure:condition": condition} when the assignment has one; attached to the identity whose object id is
  principalId. Directory role assignments (Global Administrator, Privileged Role Administrator, ...): id =
  "directoryRole:" + assignment id, actions = the role definition's rolePermissions allowedResourceActions,
  resources = ("/" if directoryScopeId == "/" else directoryScopeId,).
- Trust (kind owner): each owner of the application or the SP may act as the SP (owners can add
  credentials): principal = the owner's object id. Trust (kind federated): one per federated identity
  credential of the application: principal = issuer; conditions = {"subject": subject, "audiences": [...],
  and "claimsMatchingExpression": {...} when present}; reason names the credential. Federated identity
  credentials of a user-assigned managed identity (AKS workload identity, GitHub Actions, any OIDC issuer;
  ARM `{identity id}/federatedIdentityCredentials`) are the same federated Trusts on the identity's service
  principal (its principalId), with the same conditions keys.
- Workload: a resource with a system-assigned identity (identity.principalId) or user-assigned identities
  (identity.userAssignedIdentities.*.principalId): kind azure_vm / app_service / function_app /
  container_app / aks (workload identity), id = the resource id, identity_id = the principal id.
- SourceInfo: one for the tenant (account = tenant id), plus one per subscription whose management-group
  ancestry is known (account = subscription id; ancestors = the management group ids,
  `/providers/Microsoft.Management/managementGroups/NAME`, nearest first), so an assignment on a management
  group reaches the subscriptions beneath it (nhiaudit/permissions/scopes.py).
- Policies and identities are named by the policy's `integrations[].identities` by SP object id or appId
  (attributes["appId"]; nhiaudit/graph/build.py).
- CollectionIssue: every call that failed or was denied (e.g. sign-in activity reports without an Entra ID
  P1/P2 licence: "unused cannot be judged", never a guess).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.inventory.model import CollectionIssue, CredentialSighting

JsonObject = Mapping[str, Any]


@dataclass
class RawSubscription:
    """One subscription's ARM data."""

    subscription_id: str
    display_name: str | None = None
    management_groups: list[str] = field(default_factory=list)  # ancestry, nearest first, when readable
    role_assignments: list[JsonObject] | None = None  # None: the list call failed
    role_definitions: dict[str, JsonObject] = field(default_factory=dict)  # role definition id -> definition
    identities: list[JsonObject] = field(default_factory=list)  # user-assigned managed identities
    resources: list[JsonObject] = field(default_factory=list)  # resources with an `identity` block
    # Cognitive Services accounts and Key Vaults read: resource id -> its diagnostic settings (audit_diagnostics.py)
    diagnostic_settings: dict[str, list[JsonObject]] = field(default_factory=dict)
    # App Service settings: only their sightings, never a value (app_settings.py)
    credential_sightings: list[CredentialSighting] = field(default_factory=list)


@dataclass
class RawTenant:
    """Everything collected (or imported) for one tenant, still in raw Graph / ARM shapes."""

    tenant_id: str
    service_principals: list[JsonObject] | None = None  # None: the list call failed (see issues)
    applications: list[JsonObject] = field(default_factory=list)  # with passwordCredentials, keyCredentials
    federated_credentials: dict[str, list[JsonObject]] = field(default_factory=dict)  # app object id -> FICs
    owners: dict[str, list[JsonObject]] = field(default_factory=dict)  # app or SP object id -> owner objects
    app_role_assignments: dict[str, list[JsonObject]] = field(default_factory=dict)  # SP id -> assignments
    oauth2_grants: list[JsonObject] = field(default_factory=list)
    directory_role_assignments: list[JsonObject] = field(default_factory=list)  # with roleDefinition expanded
    sp_sign_ins: list[JsonObject] = field(default_factory=list)  # servicePrincipalSignInActivities
    credential_sign_ins: list[JsonObject] = field(default_factory=list)  # appCredentialSignInActivities
    sign_ins_recorded: bool = False  # the sign-in reports were read: an SP or key without an entry is unused
    subscriptions: list[RawSubscription] = field(default_factory=list)
    # user-assigned identity resource id (or its principal id) -> its federated identity credentials (ARM)
    identity_federated_credentials: dict[str, list[JsonObject]] = field(default_factory=dict)
    issues: list[CollectionIssue] = field(default_factory=list)
    # Workload kinds whose listing was read (live: every kind, when every subscription's resources were listed;
    # import: the kinds of the imported resources). SourceInfo.collected of the tenant, unless a listing failed.
    listed: set[str] = field(default_factory=set)


# The calls whose failure leaves the tenant's workloads incompletely listed.
WORKLOAD_CALLS = frozenset({"arm:GET /subscriptions", "arm:GET resources", "nhiaudit:collect"})
