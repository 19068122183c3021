"""Credential-shaped values in Azure App Service application settings (web apps and function apps).

Live: the sites of the subscription's resource listing (`Microsoft.Web/sites`, already read for workloads;
bounded), then `POST {site id}/config/appsettings/list` per site (the one POST the read-only guard allows:
readonly_post.py). Import: `az webapp config appsettings list --name N --resource-group G` (a list of
{name, value, slotSetting}) given as `--import SITE_ID=FILE`, or the ARM reply itself
({"id", "properties": {NAME: value}}). Both go through `site_sightings`: the values go no further than the
detector; only sightings (site id + setting name, key id or hash prefix) are kept. A Key Vault reference
(`@Microsoft.KeyVault(...)`) is a pointer to a secret, not a value: it is never scanned."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nhiaudit.connectors.azure.readonly_post import APP_SETTINGS_LIST
from nhiaudit.inventory.model import CredentialSighting, Provider
from nhiaudit.secrets.sightings import mapping_sightings

APP_SETTINGS_API = "2023-12-01"
MAX_SITES = 500  # per subscription; beyond, a "truncated" collection issue
LOCATION_KIND = "app_service_settings"
_SITE_ID = re.compile(APP_SETTINGS_LIST.pattern.replace("/config/appsettings/list$", "$"), re.IGNORECASE)
_KEY_VAULT_REFERENCE = re.compile(r"^\s*@Microsoft\.KeyVault\(", re.IGNORECASE)


def is_site_id(value: str) -> bool:
    return bool(_SITE_ID.match(value)) and "/../" not in value


SITE_TYPES = ("microsoft.web/sites", "microsoft.web/sites/slots")  # apps and their deployment slots


def sites(resources: Iterable[Mapping[str, Any]], subscription: str) -> tuple[list[tuple[str, str | None]], int]:
    """(site id, region) of the web and function apps (and slots) of the subscription's listing, sorted, and
    how many site ids were refused: a hostile id (another subscription, a path or query) is never read."""
    out: dict[str, str | None] = {}
    refused = 0
    for r in resources:
        if str(r.get("type", "")).lower() not in SITE_TYPES:
            continue
        rid = r.get("id")
        if not isinstance(rid, str) or not is_site_id(rid) or rid.split("/")[2].lower() != subscription.lower():
            refused += 1
            continue
        out[rid] = r["location"] if isinstance(r.get("location"), str) else None
    return sorted(out.items(), key=lambda x: x[0].lower()), refused


def get_app_settings(post: Callable[[str], Mapping[str, Any]], site_id: str) -> dict[str, Any]:
    """The site's settings, name -> value, from the ARM reply ({"properties": {NAME: value}})."""
    reply = post(f"{site_id}/config/appsettings/list")
    props = reply.get("properties")
    if not isinstance(props, Mapping):
        raise ValueError("malformed reply: properties is not an object")
    return dict(props)


def export_pairs(records: Iterable[Any]) -> list[tuple[str, object]]:
    """Name/value pairs of an `az webapp config appsettings list` export (a list of {name, value, slotSetting})."""
    return [(str(r["name"]), r.get("value")) for r in records if isinstance(r, Mapping) and isinstance(r.get("name"),
                                                                                                       str)]


def site_sightings(settings: Mapping[str, object] | Iterable[tuple[str, object]], site_id: str,
                   region: str | None) -> list[CredentialSighting]:
    """Sightings in one site's settings; Key Vault references are skipped (they are not values)."""
    pairs = settings.items() if isinstance(settings, Mapping) else settings
    values = [(name, value) for name, value in pairs
              if not (isinstance(value, str) and _KEY_VAULT_REFERENCE.match(value))]
    return mapping_sightings(values, location_kind=LOCATION_KIND, location=site_id, provider=Provider.AZURE,
                             account=site_id.split("/")[2].lower(), region=region)
