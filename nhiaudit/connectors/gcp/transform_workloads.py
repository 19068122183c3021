"""Workloads that run as a service account: Compute Engine instances, Cloud Run v2 services and Cloud
Functions v2 functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nhiaudit.connectors.gcp.transform_common import GcpDataError, labels_of
from nhiaudit.inventory.model import Provider, Workload

_COMPUTE = "https://www.googleapis.com/compute/v1/"


def _location(name: str) -> str | None:
    parts = name.split("/")
    return parts[parts.index("locations") + 1] if "locations" in parts[:-1] else None


def _instance(item: Mapping[str, Any], project_id: str) -> Workload | None:
    accounts = item.get("serviceAccounts") or []
    email = accounts[0].get("email") if accounts and isinstance(accounts[0], Mapping) else None
    if not email:
        return None  # runs with no service account
    zone = str(item.get("zone", "")).rsplit("/", 1)[-1] or None
    link = str(item.get("selfLink", ""))
    if link.startswith(_COMPUTE):
        wid = link[len(_COMPUTE):]
    else:
        wid = f"projects/{project_id}/zones/{zone}/instances/{item['name']}"
    return Workload(id=wid, provider=Provider.GCP, account=project_id, kind="gce_instance", name=str(item["name"]),
                    identity_id=str(email), region=zone, tags=labels_of(item))


def _named(item: Mapping[str, Any], project_id: str, kind: str, email: Any) -> Workload | None:
    if not email:
        return None  # the default identity, and the project number to name it is unknown
    name = str(item["name"])
    return Workload(id=name, provider=Provider.GCP, account=project_id, kind=kind, name=name.rsplit("/", 1)[-1],
                    identity_id=str(email), region=_location(name), tags=labels_of(item))


def transform_workloads(
    instances: Sequence[Mapping[str, Any]],
    run_services: Sequence[Mapping[str, Any]],
    functions: Sequence[Mapping[str, Any]],
    project_id: str,
    project_number: str | None = None,
) -> list[Workload]:
    """Cloud Run and Cloud Functions without a service account run as the default compute one."""
    default = f"{project_number}-compute@developer.gserviceaccount.com" if project_number else None
    out: list[Workload | None] = []
    for field, items in (("instances", instances), ("run_services", run_services), ("functions", functions)):
        for index, item in enumerate(items):
            try:
                if field == "instances":
                    out.append(_instance(item, project_id))
                elif field == "run_services":
                    email = (item.get("template") or {}).get("serviceAccount") or default
                    out.append(_named(item, project_id, "cloud_run", email))
                else:
                    email = (item.get("serviceConfig") or {}).get("serviceAccountEmail") or default
                    out.append(_named(item, project_id, "cloud_function", email))
            except GcpDataError as exc:
                raise exc.within(field, index) from None
            except (KeyError, TypeError, AttributeError) as exc:
                raise GcpDataError(f"malformed item ({exc})", (field, index)) from None
    return sorted((w for w in out if w is not None), key=lambda w: w.id)
