"""Credential-shaped values in GCP configuration its readers see: Cloud Run services' container environment
(`template.containers[].env[]`, v2 shape; `valueSource` entries are Secret Manager references, not values) and
Cloud Functions' environment (`serviceConfig.environmentVariables`). Pure transform of what the workload
listings already return; only sightings reach the snapshot, never a value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.inventory.model import CredentialSighting, Provider
from nhiaudit.secrets.sightings import mapping_sightings


def _region(name: str) -> str | None:
    parts = name.split("/")
    return parts[parts.index("locations") + 1] if "locations" in parts[:-1] else None


def gcp_sightings(run_services: Iterable[Mapping[str, Any]], functions: Iterable[Mapping[str, Any]],
                  project_id: str) -> list[CredentialSighting]:
    out: list[CredentialSighting] = []
    for service in run_services:
        name = str(service.get("name") or "")
        containers = (service.get("template") or {}).get("containers") if isinstance(service.get("template"),
                                                                                    dict) else None
        for index, container in enumerate(containers if isinstance(containers, list) else []):
            if not isinstance(container, dict) or not isinstance(container.get("env"), list):
                continue
            pairs = [(str(e.get("name")), e.get("value")) for e in container["env"] if isinstance(e, dict)]
            out.extend(mapping_sightings(pairs, location_kind="cloud_run_environment", location=name,
                                         provider=Provider.GCP, account=project_id, region=_region(name),
                                         prefix=f"{container.get('name') or index}/"))
    for function in functions:
        name = str(function.get("name") or "")
        config = function.get("serviceConfig")
        variables = config.get("environmentVariables") if isinstance(config, dict) else None
        if isinstance(variables, dict):
            out.extend(mapping_sightings(variables, location_kind="cloud_function_environment", location=name,
                                         provider=Provider.GCP, account=project_id, region=_region(name)))
    return out
