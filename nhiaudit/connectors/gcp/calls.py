"""The GCP read calls, one function each: raw REST JSON out (gRPC replies converted), shapes checked.

Names that come back from the APIs and go into a later request's path (folders, pools, deny policies,
locations) are checked against the documented name shape first: estate data must not steer a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nhiaudit.connectors.gcp.clients import GcpClients, RawDataError, to_json

_FOLDER = re.compile(r"^folders/\d{1,32}$")
_ORG = re.compile(r"^organizations/\d{1,32}$")
_PROJECT_NAME = re.compile(r"^projects/\d{1,32}$")
_SA_NAME = re.compile(r"^projects/[^/\s]{1,100}/serviceAccounts/[^/\s]{1,200}$")
_POOL = re.compile(r"^projects/[^/\s]{1,100}/locations/global/workloadIdentityPools/[a-z0-9-]{1,63}$")
_DENY = re.compile(r"^policies/[A-Za-z0-9.%_-]{1,300}/denypolicies/[A-Za-z0-9._-]{1,100}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_ROLE = re.compile(r"^(roles/[A-Za-z0-9_.]{1,200}|(projects|organizations)/[^/\s]{1,100}/roles/[A-Za-z0-9_.]{1,100})$")


# Every IAM permission the collector needs, and nothing else (examples/gcp/nhiaudit-readonly-role.yaml
# lists exactly these; collection issues are named after them).
REQUIRED_PERMISSIONS = (
    "cloudasset.assets.searchAllIamPolicies",
    "cloudfunctions.functions.list",
    "compute.instances.list",
    "iam.denypolicies.get",
    "iam.denypolicies.list",
    "iam.roles.get",
    "iam.roles.list",
    "iam.serviceAccountKeys.list",
    "iam.serviceAccounts.getIamPolicy",
    "iam.serviceAccounts.list",
    "iam.workloadIdentityPoolProviders.list",
    "iam.workloadIdentityPools.list",
    "policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query",
    "policyanalyzer.serviceAccountLastAuthenticationActivities.query",
    "resourcemanager.folders.get",
    "resourcemanager.folders.getIamPolicy",
    "resourcemanager.folders.list",
    "resourcemanager.organizations.get",
    "resourcemanager.organizations.getIamPolicy",
    "resourcemanager.projects.get",
    "resourcemanager.projects.getIamPolicy",
    "resourcemanager.projects.list",
    "run.locations.list",
    "run.services.list",
)


@dataclass
class TypedClients:
    """The typed clients of one run (thread-safe, shared by every project)."""

    iam: Any
    projects: Any
    folders: Any
    policies: Any = None  # iam_v2 PoliciesClient (deny policies), on the IAM admin client's channel


def _str(obj: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise RawDataError(f"{key} is missing or not a valid name", key)
    return value


def is_role_name(name: str) -> bool:
    return bool(_ROLE.match(name))


# --- Resource Manager v3 ---
def get_project(gcp: GcpClients, typed: TypedClients, project_id: str) -> dict[str, Any]:
    """The project (name "projects/NUMBER", parent, projectId, state)."""
    project = to_json(gcp.grpc_call(typed.projects.get_project, name=f"projects/{project_id}"))
    _str(project, "name", _PROJECT_NAME)
    return project


def get_folder(gcp: GcpClients, typed: TypedClients, folder: str) -> dict[str, Any]:
    return to_json(gcp.grpc_call(typed.folders.get_folder, name=folder))


def parent_of(node: dict[str, Any]) -> str | None:
    """A project's or folder's parent (`folders/N` or `organizations/N`), None when it has none."""
    parent = node.get("parent")
    if parent in (None, ""):
        return None
    if not isinstance(parent, str) or not (_FOLDER.match(parent) or _ORG.match(parent)):
        raise RawDataError("parent is not folders/N or organizations/N", "parent")
    return parent


def get_scope_policy(gcp: GcpClients, typed: TypedClients, resource: str) -> dict[str, Any]:
    """The version-3 IAM policy of a project, folder or organization."""
    request = {"resource": resource, "options": {"requested_policy_version": 3}}
    if resource.startswith("projects/"):
        return to_json(gcp.grpc_call(typed.projects.get_iam_policy, request=request))
    if resource.startswith("folders/"):
        return to_json(gcp.grpc_call(typed.folders.get_iam_policy, request=request))
    # Organizations: plain REST (the typed OrganizationsClient would add a client for one call).
    return gcp.rest("CLOUDRESOURCEMANAGER", "POST", f"/v3/{resource}:getIamPolicy",
                    body={"options": {"requestedPolicyVersion": 3}})


def child_projects(gcp: GcpClients, typed: TypedClients, parent: str) -> list[str]:
    """Active project ids directly under a folder or organization."""
    from google.cloud.resourcemanager_v3 import Project

    listed = gcp.grpc_items(typed.projects.list_projects, {"parent": parent}, "projects")
    return sorted(p.project_id for p in listed if p.state == Project.State.ACTIVE)


def child_folders(gcp: GcpClients, typed: TypedClients, parent: str) -> list[str]:
    from google.cloud.resourcemanager_v3 import Folder

    listed = gcp.grpc_items(typed.folders.list_folders, {"parent": parent}, "folders")
    names = [f.name for f in listed if f.state == Folder.State.ACTIVE]
    if not all(_FOLDER.match(n) for n in names):
        raise RawDataError("a folder name is not folders/N", "folders[].name")
    return sorted(names)


# --- IAM admin (gRPC) ---
def list_service_accounts(gcp: GcpClients, typed: TypedClients, project_id: str) -> list[dict[str, Any]]:
    listed = gcp.grpc_items(typed.iam.list_service_accounts, {"name": f"projects/{project_id}", "page_size": 100},
                            "accounts")
    accounts = [to_json(sa) for sa in listed]
    for i, sa in enumerate(accounts):
        for key in ("email", "name"):
            try:
                _str(sa, key, _SA_NAME if key == "name" else None)
            except RawDataError:
                raise RawDataError("a service account without a valid email/name", f"accounts[{i}].{key}") from None
    return accounts


def list_keys(gcp: GcpClients, typed: TypedClients, sa_name: str) -> list[dict[str, Any]]:
    """USER_MANAGED and SYSTEM_MANAGED keys; key material is dropped even if a server sent it."""
    from google.cloud.iam_admin_v1 import ListServiceAccountKeysRequest

    kinds = ListServiceAccountKeysRequest.KeyType
    reply = gcp.grpc_call(typed.iam.list_service_account_keys,
                          request={"name": sa_name, "key_types": [kinds.USER_MANAGED, kinds.SYSTEM_MANAGED]})
    keys = []
    for key in reply.keys:
        data = to_json(key)
        data.pop("privateKeyData", None)  # a secret: never kept
        data.pop("publicKeyData", None)  # not secret, but large and unused
        _str(data, "name")
        keys.append(data)
    return keys


def get_sa_policy(gcp: GcpClients, typed: TypedClients, sa_name: str) -> dict[str, Any]:
    return to_json(gcp.grpc_call(typed.iam.get_iam_policy,
                                 request={"resource": sa_name, "options": {"requested_policy_version": 3}}))


def list_custom_roles(gcp: GcpClients, typed: TypedClients, parent: str) -> list[dict[str, Any]]:
    """Custom roles of a project or organization, with their includedPermissions."""
    from google.cloud.iam_admin_v1 import RoleView

    listed = gcp.grpc_items(typed.iam.list_roles, {"parent": parent, "view": RoleView.FULL, "page_size": 1000},
                            "roles")
    return [to_json(role) for role in listed]


def get_role(gcp: GcpClients, typed: TypedClients, name: str) -> dict[str, Any]:
    if not is_role_name(name):
        raise RawDataError(f"not a role name: {name[:100]!r}")
    return to_json(gcp.grpc_call(typed.iam.get_role, request={"name": name}))


# --- REST-only APIs ---
def search_iam_policies(gcp: GcpClients, project_id: str) -> list[dict[str, Any]]:
    """Cloud Asset: every IAM policy set on a resource in the project (buckets, datasets, secrets...)."""
    return gcp.rest_list("CLOUDASSET", f"/v1/projects/{project_id}:searchAllIamPolicies", "results",
                         {"pageSize": 500})


def query_activities(gcp: GcpClients, project_id: str, activity_type: str) -> list[dict[str, Any]]:
    path = f"/v1/projects/{project_id}/locations/global/activityTypes/{activity_type}/activities:query"
    return gcp.rest_list("POLICYANALYZER", path, "activities", {"pageSize": 1000})


def list_wif_providers(gcp: GcpClients, project_id: str) -> list[dict[str, Any]]:
    """Every provider of every workload identity pool of the project (one list per pool)."""
    pools = gcp.rest_list("IAM", f"/v1/projects/{project_id}/locations/global/workloadIdentityPools",
                          "workloadIdentityPools", {"pageSize": 50})
    providers: list[dict[str, Any]] = []
    for pool in sorted(_str(p, "name", _POOL) for p in pools):
        providers.extend(gcp.rest_list("IAM", f"/v1/{pool}/providers", "workloadIdentityPoolProviders",
                                       {"pageSize": 50}))
    return providers


def attachment_point(scope: str) -> str:
    """The IAM v2 attachment point of a project, folder or organization, URL-encoded as the API wants."""
    return quote(f"cloudresourcemanager.googleapis.com/{scope}", safe="")


def list_deny_policies(gcp: GcpClients, typed: TypedClients, scope: str) -> list[dict[str, Any]]:
    """The deny policies attached to a scope (typed IAM v2 PoliciesClient), each read in full with
    get_policy: ListPolicies returns the policies' metadata without their rules."""
    listed = gcp.grpc_items(typed.policies.list_policies,
                            {"parent": f"policies/{attachment_point(scope)}/denypolicies", "page_size": 1000},
                            "policies")
    names = sorted(_str(to_json(p), "name", _DENY) for p in listed)
    return [to_json(gcp.grpc_call(typed.policies.get_policy, request={"name": name})) for name in names]


def list_instances(gcp: GcpClients, project_id: str) -> list[dict[str, Any]]:
    """Compute Engine instances of every zone (aggregatedList; zones without instances carry a warning)."""
    instances: list[dict[str, Any]] = []
    for page in gcp.rest_page_objects("COMPUTE", f"/compute/v1/projects/{project_id}/aggregated/instances",
                                      {"maxResults": 500, "returnPartialSuccess": "true"}):
        items = page.get("items", {})
        if not isinstance(items, dict):
            raise RawDataError("items is not an object", "items")
        for scope in sorted(items):
            found = items[scope].get("instances", []) if isinstance(items[scope], dict) else None
            if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
                raise RawDataError("instances is not a list of objects", f"items.{scope}.instances")
            instances.extend(found)
    return instances


def list_run_locations(gcp: GcpClients, project_id: str) -> list[str]:
    """Cloud Run's locations for the project (v2 lists services per location, no wildcard)."""
    locations = gcp.rest_list("RUN", f"/v1/projects/{project_id}/locations", "locations", {"pageSize": 1000})
    return sorted({_str(loc, "locationId", _LOCATION) for loc in locations})


def list_run_services(gcp: GcpClients, project_id: str, location: str) -> list[dict[str, Any]]:
    return gcp.rest_list("RUN", f"/v2/projects/{project_id}/locations/{location}/services", "services",
                         {"pageSize": 1000})


def list_functions(gcp: GcpClients, project_id: str) -> list[dict[str, Any]]:
    return gcp.rest_list("CLOUDFUNCTIONS", f"/v2/projects/{project_id}/locations/-/functions", "functions",
                         {"pageSize": 1000})
