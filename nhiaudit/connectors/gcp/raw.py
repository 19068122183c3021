"""One GCP project's raw data, as the APIs return it, between collection (live or import) and the transforms.

Every value is the JSON of the REST API (camelCase, the shape `gcloud ... --format=json` prints); live gRPC
replies are converted to that JSON (`type(msg).to_dict(msg)` / `MessageToDict` with camelCase field names)
before they are stored here, so live collection and import share one transform and give the same snapshot.

How the raw shapes map onto the provider-neutral inventory (nhiaudit/inventory/model.py):

- Identity: one per service account. id = the SA e-mail; account = project id; kind = service_account;
  name = the e-mail's local part; disabled; created = None (the IAM API does not say); attributes:
  uniqueId, displayName, description, oauth2ClientId where present. last_activity from Policy Analyzer's
  serviceAccountLastAuthentication (activity.lastAuthenticatedTime).
- Credential: one per key. id = the key's full name (projects/P/serviceAccounts/E/keys/K); type = sa_key;
  created = validAfterTime; expires = validBeforeTime, except the year-9999 "never expires" value, which is
  None; managed_by = "system" for keyType SYSTEM_MANAGED, else "user"; active = not key.disabled and not
  SA.disabled; last_used from serviceAccountKeyLastAuthentication.
- Policy: one per (binding resource, role, condition): id = f"binding:{resource}:{role}" plus
  f"#{condition title or a short hash of the expression}" when conditioned; name = the role name; kind =
  "role"; one Allow statement: actions = the role's includedPermissions, resources = (the binding's resource
  name in canonical form, see nhiaudit/permissions/gcp_names.py), conditions = {"gcp:condition":
  {"expression": ..., "title": ...}} when the binding has a condition. Every service account named as a
  member (serviceAccount:E) gets the policy id in policy_ids and policy_sources[id] = "binding on RESOURCE";
  the other members (user:, group:, domain:, allUsers, allAuthenticatedUsers, principal://, principalSet://;
  not deleted:) are kept, sorted, in the policy's `principals`.
  A deny policy rule becomes a Deny statement (actions = deniedPermissions; a rule with
  exceptionPermissions or a denialCondition is kept with them in the statement's conditions, so the Deny is
  not taken as certain) attached to the service accounts its deniedPrincipals name
  (principal://iam.googleapis.com/projects/-/serviceAccounts/E) or to all of them (principalSet://goog/public:all).
- Trust (kind impersonate): for every binding of a role that grants iam.serviceAccounts.getAccessToken,
  actAs, signJwt, signBlob, getOpenIdToken, implicitDelegation or iam.serviceAccountKeys.create, on the
  service account itself or on an ancestor (project, folder, organization): one Trust per (SA, member) with
  identity_id = the SA e-mail, principal = the member normalised: "serviceAccount:E" -> "E", "allUsers" and
  "allAuthenticatedUsers" as they are, any other member as written ("user:a@x", "group:g@x", "domain:x",
  "principalSet://..."), reason = "IAM policy of RESOURCE: ROLE", conditions = {"gcp:condition": {...}}.
- Trust (kind federated): a workload identity pool provider whose principals are granted
  roles/iam.workloadIdentityUser (or getAccessToken) on a service account: principal = the provider's issuer
  (oidc.issuerUri, or "aws:ACCOUNT" / "saml"), reason names the provider and the binding, conditions =
  {"gcp:attributeCondition": provider.attributeCondition (may be absent), "gcp:member": the principalSet,
  "gcp:provider": the provider name, "gcp:attributeMapping": ...}.
- Workload: gce_instance (compute instances' serviceAccounts[].email), cloud_run (template.serviceAccount),
  cloud_function (serviceConfig.serviceAccountEmail); id = the resource name, region = zone/location.
- SourceInfo.organization_domain: the primary domain of the project's organisation (its Organization's
  displayName, lower case; None when unknown or not a domain name), see organization.py.
- CollectionIssue: every call that failed or was denied, and every role referenced by a binding whose
  definition is unknown (kept, never silently empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.inventory.model import CollectionIssue

JsonObject = Mapping[str, Any]


@dataclass
class RawPolicy:
    """An IAM policy (version 3, bindings with conditions) and the resource it is set on."""

    resource: str  # "projects/P", "folders/N", "organizations/N", "projects/P/serviceAccounts/E", or a
    # Cloud Asset full resource name ("//storage.googleapis.com/projects/_/buckets/B")
    policy: JsonObject  # {"version": 3, "bindings": [{"role", "members", "condition"?}], "etag"}


@dataclass
class RawProject:
    """Everything collected (or imported) for one project, still in raw GCP JSON shapes."""

    project_id: str
    project_number: str | None = None
    ancestors: list[str] = field(default_factory=list)  # ["folders/N", ..., "organizations/N"], nearest first
    service_accounts: list[JsonObject] | None = None  # None: the list call failed (see issues)
    keys: dict[str, list[JsonObject]] = field(default_factory=dict)  # SA e-mail -> its keys
    policies: list[RawPolicy] = field(default_factory=list)  # project, ancestors, SAs, resources
    roles: dict[str, JsonObject] = field(default_factory=dict)  # role name -> Role (includedPermissions)
    deny_policies: list[RawPolicy] = field(default_factory=list)  # iam v2 Policy JSON with its attachment point
    wif_providers: list[JsonObject] = field(default_factory=list)  # workload identity pool providers
    activities: list[JsonObject] = field(default_factory=list)  # Policy Analyzer activities (both types)
    # Key-use activities were read (live: the query succeeded; import: an activities export for the project):
    # without them a key with no activity is of unknown use, not unused.
    usage_recorded: bool = False
    instances: list[JsonObject] = field(default_factory=list)  # compute instances (aggregated list items)
    run_services: list[JsonObject] = field(default_factory=list)  # Cloud Run v2 services
    functions: list[JsonObject] = field(default_factory=list)  # Cloud Functions v2 functions
    organization: JsonObject | None = None  # the Organization above the project (organizations.get), if read
    issues: list[CollectionIssue] = field(default_factory=list)
    # Workload kinds whose listing was read (live: called; import: items of the project were imported). A kind
    # whose call failed (an issue for its operation) is left out of SourceInfo.collected.
    listed: set[str] = field(default_factory=set)


# Workload kind -> the call that lists it.
WORKLOAD_LISTINGS = {"gce_instance": "compute.instances.list", "cloud_run": "run.services.list",
                     "cloud_function": "cloudfunctions.functions.list"}
