"""Import of Azure / Entra ID exports: `az ... --output json` and raw Microsoft Graph / ARM list pages. Files
become the same RawTenant as live collection, so the same transforms apply (raw.py).

Which tenant: `tenantId` of an `az account show` (or `az account list`) file or of `az identity list`
records; else the `appOwnerOrganizationId` of the service principals of the imported applications (an
application lives in its home tenant); else TARGET on the service-principal or application list
(`--import TENANT_ID=sp-list.json`). One import is one tenant.

Which parent a nested list belongs to (federated credentials of an application, owners of an application
or service principal): the page's `@odata.context` (`...#applications('ID')/federatedIdentityCredentials`),
else `--import APP_OR_SP_ID=FILE` (object id or appId; `az ad app federated-credential list --id X`,
`az ad app owner list --id X` and `az ad sp owner list --id X` do not say it).

Federated credentials of a user-assigned managed identity (`az identity federated-credential list
--identity-name N --resource-group G`, or ARM pages of `{identity id}/federatedIdentityCredentials`) name
their identity in their own resource id; `--import PRINCIPAL_ID=FILE` or `--import IDENTITY_ID=FILE` (the
identity's principal id or resource id) says it for records without one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from nhiaudit.connectors.azure import export_shapes as shapes
from nhiaudit.connectors.azure.app_settings import is_site_id
from nhiaudit.connectors.azure.assemble import assemble_tenant
from nhiaudit.connectors.azure.audit_diagnostics import is_audited_id
from nhiaudit.connectors.azure.export_app_diag import (
    app_setting_sightings,
    diagnostic_settings,
    is_empty_export,
    keeps_empty,
)
from nhiaudit.connectors.azure.export_records import Record, detect, is_guid, records
from nhiaudit.connectors.azure.raw import RawSubscription, RawTenant
from nhiaudit.connectors.azure.transform_access import arm_fields
from nhiaudit.connectors.azure.transform_common import AzureDataError
from nhiaudit.connectors.azure.transform_workloads import workload_kind
from nhiaudit.connectors.interface import ExportFile, ExportImporter, import_detail, location_in, shape_error
from nhiaudit.errors import InputError, InputProblem
from nhiaudit.inventory.model import Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot

_SECRET_FIELDS = ("secretText", "key")  # never kept, even if an export carries them


_IDENTITY_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                          r"Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$", re.IGNORECASE)
_FIC_SEGMENT = "/federatedidentitycredentials/"


def check_target(target: str) -> str | None:
    """None when `target` can be an Azure TARGET (a tenant, object or application id: a GUID; or the resource
    id of a user-assigned managed identity, of a web or function app, of a Cognitive Services account or Key
    Vault)."""
    if is_guid(target) or _IDENTITY_ID.match(target) or is_site_id(target) or is_audited_id(target):
        return None
    return f"{target!r} is not an Azure TARGET: expected a GUID or a managed identity's resource id"


def _subscription_of(arm_id: str) -> str | None:
    parts = arm_id.split("/")
    return parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" and parts[2] else None


class AzureExportImporter(ExportImporter):
    formats = {
        shapes.ACCOUNT: "az account show|list --output json (the tenant id)",
        shapes.SERVICE_PRINCIPALS: "az ad sp list --all --output json, or Graph GET /servicePrincipals pages",
        shapes.APPLICATIONS: "az ad app list --all --output json, or Graph GET /applications pages",
        shapes.FEDERATED_CREDENTIALS: "az ad app federated-credential list --id APP, given as --import APP=FILE, "
                                      "or Graph GET /applications/ID/federatedIdentityCredentials pages",
        shapes.IDENTITY_FEDERATED_CREDENTIALS: "az identity federated-credential list --identity-name N "
                                               "--resource-group G, or ARM GET {identity id}"
                                               "/federatedIdentityCredentials pages",
        shapes.OWNERS: "az ad app|sp owner list --id ID, given as --import ID=FILE, or Graph GET .../owners pages",
        shapes.APP_ROLE_ASSIGNMENTS: "Graph GET /servicePrincipals/ID/appRoleAssignments pages",
        shapes.OAUTH2_GRANTS: "az ad app permission list-grants --output json, or Graph GET /oauth2PermissionGrants",
        shapes.DIRECTORY_ROLE_ASSIGNMENTS: "Graph GET /roleManagement/directory/roleAssignments"
                                           "?$expand=roleDefinition pages",
        shapes.ROLE_ASSIGNMENTS: "az role assignment list --all --include-inherited --output json",
        shapes.ROLE_DEFINITIONS: "az role definition list --output json",
        shapes.IDENTITIES: "az identity list --output json",
        shapes.RESOURCES: "az resource list|vm list|webapp list|containerapp list --output json (with identity)",
        shapes.SP_SIGN_INS: "Graph GET /beta/reports/servicePrincipalSignInActivities pages",
        shapes.CREDENTIAL_SIGN_INS: "Graph GET /beta/reports/appCredentialSignInActivities pages",
        shapes.APP_SETTINGS: "az webapp config appsettings list --name N --resource-group G, given as "
                             "--import SITE_ID=FILE (only sightings of leaked credentials are kept)",
        shapes.DIAGNOSTIC_SETTINGS: "az monitor diagnostic-settings list --resource ID, given as "
                                    "--import RESOURCE_ID=FILE (an empty list: no settings)",
    }

    def detect(self, file: ExportFile) -> str | None:
        if file.is_json and keeps_empty(file.target) and is_empty_export(file.data):
            return shapes.DIAGNOSTIC_SETTINGS  # a resource without diagnostic settings: a gap, not nothing
        return detect(file.data) if file.is_json else None

    def build(self, files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
        located = [(kind, file, records(file.data)) for kind, file in files if kind != shapes.EMPTY]
        for kind, file, recs in located:  # every file's shape first: all problems of all files in one run
            found = [replace(p, path=(*r.path, *p.path)) for r in recs for p in shapes.problems(kind, r.item)]
            if found:
                raise shape_error(file, kind, found)
        if not located:
            return []
        builder = _Builder(located)
        raw = builder.raw()
        names = sorted({str(file.path) for _, file, _ in located})
        source = SourceInfo(provider=Provider.AZURE, account=raw.tenant_id, method="import",
                            collected_at=None, detail=_detail(raw, builder.kinds, names))
        try:
            return [assemble_tenant(raw, source)]
        except AzureDataError as exc:
            raise InputError.single(names[0], f"tenant {raw.tenant_id}: {exc}") from None


class _Builder:
    """Routes every record to the RawTenant (and its subscriptions)."""

    def __init__(self, located: list[tuple[str, ExportFile, list[Record]]]) -> None:
        self.located = sorted(located, key=lambda f: str(f[1].path))
        self.kinds = {kind for kind, _, _ in located}

    def of(self, *kinds: str) -> list[tuple[str, ExportFile, Record]]:
        return [(kind, file, r) for kind, file, recs in self.located if kind in kinds for r in recs]

    def tenant_id(self) -> str:
        found: dict[str, tuple[ExportFile, Record | None]] = {}
        for _, file, r in self.of(shapes.ACCOUNT, shapes.IDENTITIES):
            flat = arm_fields(r.item)
            tenant = flat.get("tenantId")
            if isinstance(tenant, str) and tenant:
                found.setdefault(tenant.lower(), (file, r))
        if not found:
            for kind, file, _ in self.located:
                if kind in (shapes.SERVICE_PRINCIPALS, shapes.APPLICATIONS) and file.target:
                    found.setdefault(file.target.lower(), (file, None))
        if not found:
            app_ids = {str(r.item["appId"]) for _, _, r in self.of(shapes.APPLICATIONS)}
            for _, file, r in self.of(shapes.SERVICE_PRINCIPALS):
                owner = r.item.get("appOwnerOrganizationId")
                if r.item.get("appId") in app_ids and isinstance(owner, str) and owner:
                    found.setdefault(owner.lower(), (file, r))
        if len(found) == 1:
            return next(iter(found))
        first = self.located[0][1]
        if not found:
            raise InputError.single(first.path, "cannot tell which Entra tenant this import is: add the output of "
                                                "`az account show`, or give --import TENANT_ID=sp-list.json")
        tenants = ", ".join(sorted(found))
        file, record = found[sorted(found)[1]]
        problem = InputProblem(location_in(file, record.path if record else ()),
                               f"the import holds several tenants ({tenants}): import one tenant at a time")
        raise InputError([problem])

    def raw(self) -> RawTenant:
        raw = RawTenant(tenant_id=self.tenant_id())
        seen_sps: set[str] = set()
        for _, _, r in self.of(shapes.SERVICE_PRINCIPALS):
            if raw.service_principals is None:
                raw.service_principals = []
            if r.item["id"] not in seen_sps:
                seen_sps.add(r.item["id"])
                raw.service_principals.append(r.item)
        if shapes.SERVICE_PRINCIPALS not in self.kinds:
            raw.service_principals = None
        seen_apps: set[str] = set()
        for _, _, r in self.of(shapes.APPLICATIONS):
            if r.item["id"] not in seen_apps:
                seen_apps.add(r.item["id"])
                raw.applications.append(_without_secrets(r.item))
        parents = _Parents(raw)
        for kind, file, r in self.of(shapes.FEDERATED_CREDENTIALS, shapes.OWNERS):
            parent = parents.resolve(kind, file, r)
            target = raw.federated_credentials if kind == shapes.FEDERATED_CREDENTIALS else raw.owners
            target.setdefault(parent, []).append(r.item)
        for _, _, r in self.of(shapes.APP_ROLE_ASSIGNMENTS):
            raw.app_role_assignments.setdefault(str(r.item["principalId"]), []).append(r.item)
        raw.oauth2_grants = [r.item for _, _, r in self.of(shapes.OAUTH2_GRANTS)]
        raw.directory_role_assignments = [r.item for _, _, r in self.of(shapes.DIRECTORY_ROLE_ASSIGNMENTS)]
        raw.sp_sign_ins = [r.item for _, _, r in self.of(shapes.SP_SIGN_INS)]
        raw.credential_sign_ins = [r.item for _, _, r in self.of(shapes.CREDENTIAL_SIGN_INS)]
        # Without both reports, a credential or SP without an entry may be unused or merely unreported.
        raw.sign_ins_recorded = {shapes.SP_SIGN_INS, shapes.CREDENTIAL_SIGN_INS} <= self.kinds
        raw.subscriptions = self._subscriptions()
        raw.listed = {workload_kind(str(r.item.get("type") or ""), r.item.get("kind") if isinstance(
            r.item.get("kind"), str) else None) for _, _, r in self.of(shapes.RESOURCES)}
        self._identity_federated(raw)
        return raw

    def _identity_federated(self, raw: RawTenant) -> None:
        """Managed identities' federated credentials, keyed by the identity's resource id (from the record's
        own id, else TARGET) or principal id (TARGET)."""
        known: set[str] = set()
        for sub in raw.subscriptions:
            for identity in sub.identities:
                flat = arm_fields(identity)
                known.update(str(flat.get(k, "")).lower() for k in ("id", "principalId"))
        for _, file, r in self.of(shapes.IDENTITY_FEDERATED_CREDENTIALS):
            record_id = str(arm_fields(r.item).get("id") or "")
            cut = record_id.lower().find(_FIC_SEGMENT)
            parent = file.target or (record_id[:cut] if cut > 0 else None)
            if not parent:
                raise InputError([InputProblem(location_in(file, r.path),
                                               f"{shapes.IDENTITY_FEDERATED_CREDENTIALS}: the export does not say "
                                               "whose list this is: give it as --import PRINCIPAL_ID=FILE")])
            if known and parent.lower() not in known:  # a typo would silently drop the whole list
                raise InputError([InputProblem(location_in(file, r.path),
                                               f"{shapes.IDENTITY_FEDERATED_CREDENTIALS}: {parent} names no "
                                               "imported user-assigned identity (resource id or principal id)")])
            raw.identity_federated_credentials.setdefault(parent, []).append(r.item)

    def _subscriptions(self) -> list[RawSubscription]:
        subs: dict[str, RawSubscription] = {}

        def sub(sub_id: str) -> RawSubscription:
            return subs.setdefault(sub_id, RawSubscription(subscription_id=sub_id))

        for _, _, r in self.of(shapes.ACCOUNT):
            if isinstance(r.item.get("id"), str) and r.item["id"]:
                sub(r.item["id"].lower()).display_name = r.item.get("name")
        above: list[Mapping[str, Any]] = []  # management-group and root assignments: every subscription
        for _, _, r in self.of(shapes.ROLE_ASSIGNMENTS):
            sub_id = _subscription_of(str(arm_fields(r.item)["scope"]))
            if sub_id is None:
                above.append(r.item)
                continue
            s = sub(sub_id)
            s.role_assignments = [*(s.role_assignments or []), r.item]
        for _, _, r in self.of(shapes.IDENTITIES):
            sub(_subscription_of(str(r.item["id"])) or "").identities.append(r.item)
        for _, _, r in self.of(shapes.RESOURCES):
            sub(_subscription_of(str(r.item["id"])) or "").resources.append(r.item)
        for rid, settings in diagnostic_settings(self.located).items():
            sub(_subscription_of(rid) or "").diagnostic_settings[rid] = settings
        regions = {str(r.item["id"]).lower(): r.item.get("location") if isinstance(r.item.get("location"), str)
                   else None for _, _, r in self.of(shapes.RESOURCES)}
        for seen in app_setting_sightings(self.located, regions):
            sub(seen.account or "").credential_sightings.append(seen)
        if above:
            first = sub(min(subs) if subs else "")
            first.role_assignments = [*(first.role_assignments or []), *above]
        definitions = {str(r.item["id"]): r.item for _, _, r in self.of(shapes.ROLE_DEFINITIONS)}
        for s in subs.values():
            s.role_definitions = definitions  # built-in and custom definitions are matched by GUID (transform)
        return [subs[k] for k in sorted(subs)]


class _Parents:
    """The object a nested list (federated credentials, owners) belongs to: object id from appId or id."""

    def __init__(self, raw: RawTenant) -> None:
        self.apps: dict[str, str] = {}
        for app in raw.applications:
            self.apps[str(app["id"]).lower()] = str(app["id"])
            self.apps[str(app["appId"]).lower()] = str(app["id"])
        self.sps: dict[str, str] = {}
        for sp in raw.service_principals or []:
            self.sps[str(sp["id"]).lower()] = str(sp["id"])
            if isinstance(sp.get("appId"), str):
                self.sps.setdefault(sp["appId"].lower(), str(sp["id"]))

    def resolve(self, kind: str, file: ExportFile, record: Record) -> str:
        parent = shapes.kind_of_context(record.context)[1] if record.context else None
        parent = parent or file.target
        if not parent:
            raise InputError([InputProblem(location_in(file, record.path),
                                           f"{kind}: the export does not say whose list this is: give it as "
                                           "--import APP_OR_SP_ID=FILE")])
        key = parent.lower()
        found = self.apps.get(key) or (self.sps.get(key) if kind == shapes.OWNERS else None)
        if found is not None:
            return found
        if self.apps or (kind == shapes.OWNERS and self.sps):  # a typo would silently drop the whole list
            what = "application or service principal" if kind == shapes.OWNERS else "application"
            raise InputError([InputProblem(location_in(file, record.path),
                                           f"{kind}: {parent} names no imported {what} (object id or appId)")])
        return parent  # the parent's own list was not imported: keep its id as given


def _without_secrets(app: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(app)
    for field in ("passwordCredentials", "keyCredentials"):
        if isinstance(out.get(field), list):
            out[field] = [{k: v for k, v in c.items() if k not in _SECRET_FIELDS} if isinstance(c, Mapping) else c
                          for c in out[field]]
    return out


def _detail(raw: RawTenant, kinds: set[str], files: list[str]) -> str:
    lacking = []
    if raw.service_principals is None:
        lacking.append("service principals (az ad sp list --all)")
    if shapes.APPLICATIONS not in kinds:
        lacking.append("applications and their credentials (az ad app list --all)")
    if not raw.sign_ins_recorded:
        lacking.append("sign-in activity (Graph reports servicePrincipalSignInActivities and "
                       "appCredentialSignInActivities): unused cannot be judged")
    return import_detail(files, lacking)
