"""Azure resources that run code as a managed identity -> workloads (raw.py). Pure functions over ARM JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiaudit.connectors.azure.transform_common import AzureDataError, arm_id, required, text
from nhiaudit.inventory.model import Provider, Workload

_KINDS = {
    "microsoft.compute/virtualmachines": "azure_vm",
    "microsoft.compute/virtualmachinescalesets": "azure_vmss",
    "microsoft.web/sites": "app_service",
    "microsoft.app/containerapps": "container_app",
    "microsoft.containerservice/managedclusters": "aks",
    "microsoft.machinelearningservices/workspaces": "azure_ml",
    "microsoft.logic/workflows": "logic_app",
}


# Every kind `workload_kind` gives (SourceInfo.collected of a live tenant: one listing covers them all).
WORKLOAD_KINDS = frozenset({*_KINDS.values(), "function_app", "azure_resource"})


def workload_kind(resource_type: str, kind: str | None) -> str:
    lowered = resource_type.lower()
    if lowered == "microsoft.web/sites" and kind and "functionapp" in kind.lower():
        return "function_app"
    return _KINDS.get(lowered, "azure_resource")


def subscription_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    return parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


def transform_workloads(resource: Mapping[str, Any], identity_principals: Mapping[str, str]) -> list[Workload]:
    """One workload per identity the resource runs as. `identity_principals`: user-assigned identity
    resource id (lower case) -> principal id, for `userAssignedIdentities` entries that do not carry it."""
    identity = resource.get("identity")
    if identity is None:
        return []
    if not isinstance(identity, Mapping):
        raise AzureDataError("expected an object", ("identity",))
    resource_id = arm_id(required(resource, "id"))
    kind = workload_kind(text(resource, "type") or "", text(resource, "kind"))
    tags = resource.get("tags") or {}
    if not isinstance(tags, Mapping):
        raise AzureDataError("expected an object", ("tags",))
    principals: list[str] = []
    system = text(identity, "principalId")
    if system:
        principals.append(system)
    users = identity.get("userAssignedIdentities") or {}
    if not isinstance(users, Mapping):
        raise AzureDataError("expected an object", ("identity", "userAssignedIdentities"))
    for ua_id, entry in sorted(users.items()):
        principal = entry.get("principalId") if isinstance(entry, Mapping) else None
        principal = principal or identity_principals.get(arm_id(ua_id).lower())
        if isinstance(principal, str) and principal:
            principals.append(principal)
    return [Workload(id=resource_id, provider=Provider.AZURE, account=subscription_of(resource_id), kind=kind,
                     name=text(resource, "name") or resource_id.rsplit("/", 1)[-1], identity_id=principal,
                     region=text(resource, "location"),
                     tags={str(k): str(v) for k, v in sorted(tags.items())})
            for principal in sorted(set(principals))]
