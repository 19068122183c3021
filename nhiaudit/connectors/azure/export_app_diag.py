"""Import of the two per-resource Azure exports that do not fit the tenant's lists: App Service application
settings (`az webapp config appsettings list`, `--import SITE_ID=FILE`) become sightings (app_settings.py;
no value is kept), and diagnostic settings (`az monitor diagnostic-settings list --resource ID`, a list or
`{"value": [...]}` by CLI version, `--import RESOURCE_ID=FILE`) become the same raw settings live collection
reads (audit_diagnostics.py). An empty diagnostic-settings file with its TARGET means "no settings": a gap,
kept, where other empty exports are nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiaudit.connectors.azure import export_shapes as shapes
from nhiaudit.connectors.azure.app_settings import export_pairs, is_site_id, site_sightings
from nhiaudit.connectors.azure.audit_diagnostics import is_audited_id
from nhiaudit.connectors.azure.export_records import Record
from nhiaudit.connectors.interface import ExportFile, location_in
from nhiaudit.errors import InputError, InputProblem
from nhiaudit.inventory.model import CredentialSighting

Located = list[tuple[str, ExportFile, list[Record]]]


def is_empty_export(data: Any) -> bool:
    return data == [] or (isinstance(data, Mapping) and data.get("value") == [] and set(data) <= {"value",
                                                                                                   "nextLink"})


def keeps_empty(target: str | None) -> bool:
    """An empty export given with this TARGET still says something (no diagnostic settings)."""
    return target is not None and is_audited_id(target)


def _problem(file: ExportFile, record: Record | None, message: str) -> InputError:
    return InputError([InputProblem(location_in(file, record.path if record else ()), message)])


def _parent(file: ExportFile, record: Record | None, kind: str) -> str:
    """The resource a per-resource export is about: TARGET, else the record's own id."""
    rid = str(record.item.get("id") or "") if record is not None else ""
    if kind == shapes.DIAGNOSTIC_SETTINGS:
        cut = rid.lower().find(shapes.DIAGNOSTIC_SEGMENT)
        parent = file.target or (rid[:cut] if cut > 0 else "")
        if not parent or not is_audited_id(parent):
            raise _problem(file, record, f"{kind}: give it as --import RESOURCE_ID=FILE with the resource id of a "
                                         "Cognitive Services account or Key Vault")
        return parent
    cut = rid.lower().rfind("/config/appsettings")
    parent = file.target or (rid[:cut] if cut > 0 else "")
    if not parent or not is_site_id(parent):
        raise _problem(file, record, f"{kind}: give it as --import SITE_ID=FILE with the resource id of the web "
                                     "or function app")
    return parent


def diagnostic_settings(located: Located) -> dict[str, list[Mapping[str, Any]]]:
    """Resource id -> its diagnostic settings (an empty file: none)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for kind, file, recs in located:
        if kind != shapes.DIAGNOSTIC_SETTINGS:
            continue
        if not recs:
            out.setdefault(_parent(file, None, kind), [])
        for r in recs:
            out.setdefault(_parent(file, r, kind), []).append(r.item)
    return out


def app_setting_sightings(located: Located, regions: Mapping[str, str | None]) -> list[CredentialSighting]:
    """Sightings of every imported site's settings; `regions`: site id (lower case) -> its location, when the
    site's resource was imported too."""
    by_site: dict[str, dict[str, object]] = {}  # a setting name is unique in its site: several exports merge
    for kind, file, recs in located:
        if kind != shapes.APP_SETTINGS:
            continue
        for r in recs:
            site = _parent(file, r, kind)
            props = r.item.get("properties")
            pairs = [(str(k), v) for k, v in props.items()] if isinstance(props, Mapping) else export_pairs([r.item])
            by_site.setdefault(site, {}).update(pairs)
    return [s for site, pairs in sorted(by_site.items())
            for s in site_sightings(pairs, site, regions.get(site.lower()))]
