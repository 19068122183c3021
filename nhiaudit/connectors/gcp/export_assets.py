"""Cloud Asset Inventory exports and IAM deny policies, as imported files.

`gcloud asset export --content-type=iam-policy|resource` (newline-delimited JSON, or a JSON list; the REST
`assets.list` reply too) gives one asset a line: {"name", "assetType", "iamPolicy" | "resource": {"data"},
"ancestors": ["projects/NUM", "folders/N", ..., "organizations/N"]}. Allow policies become the project's (or
a folder's / the organisation's) policies; resources of the types the transforms read become the records
the matching gcloud list would print; `ancestors` fills the project's ancestry and ties its number to its id.
Other asset types are ignored (they grant nothing to a service account).

`gcloud iam policies get|list --kind=denypolicies --attachment-point=ATTACHMENT --format=json`: the policy's
name carries its attachment point (`policies/cloudresourcemanager.googleapis.com%2Fprojects%2FP/denypolicies/ID`);
`--import TARGET=FILE` says it where the name does not. `list` prints policies without their rules: such a
policy is kept as a collection issue (its denials are unknown), never read as "denies nothing".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from nhiaudit.connectors.gcp import export_shapes as shapes
from nhiaudit.connectors.gcp.raw import RawPolicy
from nhiaudit.connectors.gcp.transform_common import GcpDataError
from nhiaudit.inventory.model import CollectionIssue, Provider
from nhiaudit.permissions.gcp_names import canonical_resource, is_scope

# asset type -> the export whose item its `resource.data` is
RESOURCE_KINDS = {
    "iam.googleapis.com/ServiceAccount": shapes.SERVICE_ACCOUNTS,
    "iam.googleapis.com/ServiceAccountKey": shapes.KEYS,
    "iam.googleapis.com/Role": shapes.ROLES,
    "iam.googleapis.com/WorkloadIdentityPoolProvider": shapes.WIF_PROVIDERS,
    "compute.googleapis.com/Instance": shapes.INSTANCES,
    "run.googleapis.com/Service": shapes.RUN_SERVICES,
    "cloudfunctions.googleapis.com/Function": shapes.FUNCTIONS,
    "cloudresourcemanager.googleapis.com/Organization": shapes.ORGANIZATIONS,
}
PROJECT_TYPE = "cloudresourcemanager.googleapis.com/Project"
_CRM = "cloudresourcemanager.googleapis.com/"

AddItem = Callable[[str, Mapping[str, Any], str | None], None]  # (kind, item, project id or None)


def is_asset(item: Mapping[str, Any]) -> bool:
    return isinstance(item.get("name"), str) and "assetType" in item and ("iamPolicy" in item or "resource" in item)


def is_deny_policy(item: Mapping[str, Any]) -> bool:
    name = item.get("name")
    return item.get("kind") == "DenyPolicy" or (isinstance(name, str) and "/denypolicies/" in name)


def project_number(asset: Mapping[str, Any]) -> str | None:
    """NUM of the first `projects/NUM` in the asset's ancestors (the asset's project), else None."""
    for ancestor in asset.get("ancestors") or ():
        if str(ancestor).startswith("projects/"):
            return str(ancestor).removeprefix("projects/")
    return None


def ancestry(asset: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in asset.get("ancestors") or () if str(a).startswith(("folders/", "organizations/"))]


def project_id_named(asset: Mapping[str, Any], project_in_name: Callable[[str], str | None]) -> str | None:
    """The project id the asset itself names (its name, or a Project's data), never a number."""
    data = (asset.get("resource") or {}).get("data") or {}
    if asset.get("assetType") == PROJECT_TYPE and isinstance(data, Mapping) and data.get("projectId"):
        return str(data["projectId"])
    named = project_in_name(str(asset.get("name", "")))
    return named if named and not named.isdigit() else None


def deny_attachment(policy: Mapping[str, Any]) -> str | None:
    """`projects/P`, `folders/N` or `organizations/N` from a deny policy's name, None when it says none."""
    parts = str(policy.get("name", "")).split("/")
    if len(parts) < 4 or parts[0] != "policies" or parts[-2] != "denypolicies":
        return None
    point = unquote("/".join(parts[1:-2])).removeprefix("//").removeprefix(_CRM)
    return point if is_scope(point) else None


def rules_unknown(policy: Mapping[str, Any], project_id: str) -> CollectionIssue | None:
    if "rules" in policy:
        return None
    name = str(policy.get("name", "(unnamed)"))
    return CollectionIssue(
        provider=Provider.GCP, account=project_id, operation="iam.policies.get",
        message=f"deny policy {name} was imported without its rules (`gcloud iam policies list` omits them)",
        missing=f"what {name} denies (import `gcloud iam policies get ... --kind=denypolicies --format=json`)",
    )


def asset_items(asset: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any], tuple[str, ...]]]:
    """(export kind, record, path of the record in the asset) for the asset's resource, if read."""
    kind = RESOURCE_KINDS.get(str(asset.get("assetType", "")))
    resource = asset.get("resource")
    if kind is None or not isinstance(resource, Mapping):
        return []
    data = resource.get("data")
    if not isinstance(data, Mapping):
        raise GcpDataError("expected the resource's data object", ("resource", "data"))
    found = shapes.problems(kind, data)
    if found:
        raise GcpDataError(found[0].message, ("resource", "data", *found[0].path))
    return [(kind, data, ("resource", "data"))]


def asset_policy(asset: Mapping[str, Any]) -> RawPolicy | None:
    policy = asset.get("iamPolicy")
    if not isinstance(policy, Mapping):
        return None
    return RawPolicy(canonical_resource(str(asset["name"])), policy)
