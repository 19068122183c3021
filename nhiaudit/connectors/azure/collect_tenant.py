"""Collect one Entra tenant and its subscriptions into a RawTenant: a fixed set of GET calls, each failure a
CollectionIssue naming it, never fatal (only ReadOnlyViolation, a bug, and TokenError stop the run).

Call budget: the nested lists (owners, app role assignments, federated credentials) are read through `$expand`
on the paged parent lists, so a tenant of N service principals costs a small multiple of N / page size
requests. Graph returns at most 20 expanded items per object; an object whose expanded list may be cut (20
items or an `@odata.nextLink` beside it) is read again on its own, paged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nhiaudit.connectors.azure.clients import AzureHttp, ReadOnlyViolation, call_failures, describe_error
from nhiaudit.connectors.azure.raw import RawSubscription, RawTenant
from nhiaudit.inventory.model import CollectionIssue, Provider

T = TypeVar("T")

SP_FIELDS = ("id,appId,displayName,servicePrincipalType,accountEnabled,appOwnerOrganizationId,tags,appRoles,"
             "alternativeNames")
APP_FIELDS = ("id,appId,displayName,createdDateTime,signInAudience,passwordCredentials,keyCredentials,"
              "requiredResourceAccess")
OWNER_FIELDS = "id,displayName,userPrincipalName,appId,servicePrincipalType"
FIC_FIELDS = "id,name,issuer,subject,audiences,description"
EXPAND_CAP = 20  # Graph's most expanded items per object
ROLE_API = "2022-04-01"
IDENTITY_API = "2023-01-31"
RESOURCES_API = "2021-04-01"
SUBSCRIPTIONS_API = "2022-12-01"
_SECRET_FIELDS = ("secretText", "key", "value")  # never returned by list calls; dropped all the same

MISSING_SIGN_INS = "sign-in activity (Entra ID P1/P2 reports): unused identities and credentials cannot be judged"


@dataclass
class TenantContext:
    graph: AzureHttp
    arm: AzureHttp
    tenant_id: str
    subscriptions: tuple[str, ...] = ()  # empty: every subscription the caller can read


class _Calls:
    """Runs calls, turning each failure into an issue on the tenant."""

    def __init__(self, raw: RawTenant) -> None:
        self.raw = raw

    def run(self, operation: str, missing: str, fn: Callable[[], T], account: str | None = None) -> T | None:
        try:
            return fn()
        except ReadOnlyViolation:
            raise
        except call_failures() as exc:
            self.raw.issues.append(CollectionIssue(provider=Provider.AZURE, account=account or self.raw.tenant_id,
                                                   operation=operation, message=describe_error(exc),
                                                   missing=missing))
            return None


def _clean_credentials(app: dict[str, Any]) -> dict[str, Any]:
    """The application without any secret material in its credentials (defence in depth)."""
    for key in ("passwordCredentials", "keyCredentials"):
        creds = app.get(key)
        if isinstance(creds, list):
            app[key] = [{k: v for k, v in c.items() if k not in _SECRET_FIELDS} if isinstance(c, dict) else c
                        for c in creds]
    return app


def _nested(graph: AzureHttp, calls: _Calls, obj: dict[str, Any], relation: str, path: str, select: str,
            what: str) -> list[dict[str, Any]]:
    """The expanded `relation` of `obj` (removed from it), read again on its own when it may be cut."""
    expanded = obj.pop(relation, None)
    cut = obj.pop(f"{relation}@odata.nextLink", None) is not None
    if isinstance(expanded, list) and not cut and len(expanded) < EXPAND_CAP:
        return [e for e in expanded if isinstance(e, dict)]
    oid = str(obj.get("id", ""))
    found = calls.run(f"graph:{path.format(oid)}", f"{what} of {oid}",
                      lambda: graph.list_all(path.format(oid), {"$select": select} if select else None))
    return found or []


def _graph(ctx: TenantContext, raw: RawTenant, calls: _Calls) -> None:
    g, top = ctx.graph, str(ctx.graph.settings.page_size)
    sps = calls.run("graph:GET /v1.0/servicePrincipals", "service principals (and so their grants and owners)",
                    lambda: g.list_all("/v1.0/servicePrincipals", {"$select": SP_FIELDS, "$top": top,
                                                                  "$expand": f"owners($select={OWNER_FIELDS})"}))
    if sps is not None:
        for sp in sps:
            raw.owners[str(sp.get("id"))] = _nested(g, calls, sp, "owners", "/v1.0/servicePrincipals/{}/owners",
                                                    OWNER_FIELDS, "owners")
        raw.service_principals = sps
        assigned = calls.run("graph:GET /v1.0/servicePrincipals?$expand=appRoleAssignments",
                             "application permissions (app role assignments) of service principals",
                             lambda: g.list_all("/v1.0/servicePrincipals",
                                                {"$select": "id", "$top": top, "$expand": "appRoleAssignments"}))
        for sp in assigned or []:
            raw.app_role_assignments[str(sp.get("id"))] = _nested(
                g, calls, sp, "appRoleAssignments", "/v1.0/servicePrincipals/{}/appRoleAssignments", "",
                "app role assignments")
    apps = calls.run("graph:GET /v1.0/applications", "application registrations (client secrets, certificates)",
                     lambda: g.list_all("/v1.0/applications", {"$select": APP_FIELDS, "$top": top,
                                                               "$expand": f"owners($select={OWNER_FIELDS})"}))
    for app in apps or []:
        raw.owners[str(app.get("id"))] = _nested(g, calls, app, "owners", "/v1.0/applications/{}/owners",
                                                 OWNER_FIELDS, "owners")
        raw.applications.append(_clean_credentials(app))
    if apps is not None:
        feds = calls.run("graph:GET /v1.0/applications?$expand=federatedIdentityCredentials",
                         "federated identity credentials (workload identity federation trusts)",
                         lambda: g.list_all("/v1.0/applications", {"$select": "id", "$top": top,
                                                                   "$expand": "federatedIdentityCredentials"}))
        for app in feds or []:
            found = _nested(g, calls, app, "federatedIdentityCredentials",
                            "/v1.0/applications/{}/federatedIdentityCredentials", FIC_FIELDS,
                            "federated identity credentials")
            if found:
                raw.federated_credentials[str(app.get("id"))] = found
    raw.oauth2_grants = calls.run("graph:GET /v1.0/oauth2PermissionGrants", "delegated permission grants",
                                  lambda: g.list_all("/v1.0/oauth2PermissionGrants", {"$top": top})) or []
    raw.directory_role_assignments = calls.run(
        "graph:GET /v1.0/roleManagement/directory/roleAssignments", "directory (Entra) role assignments",
        lambda: g.list_all("/v1.0/roleManagement/directory/roleAssignments", {"$expand": "roleDefinition"})) or []
    sp_sign_ins = calls.run("graph:GET /beta/reports/servicePrincipalSignInActivities", MISSING_SIGN_INS,
                            lambda: g.list_all("/beta/reports/servicePrincipalSignInActivities"))
    cred_sign_ins = calls.run("graph:GET /beta/reports/appCredentialSignInActivities", MISSING_SIGN_INS,
                              lambda: g.list_all("/beta/reports/appCredentialSignInActivities"))
    raw.sp_sign_ins, raw.credential_sign_ins = sp_sign_ins or [], cred_sign_ins or []
    # Unused is judged only when both reports were read: a missing entry then means no sign-in.
    raw.sign_ins_recorded = sp_sign_ins is not None and cred_sign_ins is not None


def _subscription_ids(ctx: TenantContext, calls: _Calls) -> list[tuple[str, str | None]]:
    if ctx.subscriptions:
        return [(s, None) for s in sorted(set(ctx.subscriptions))]
    found = calls.run("arm:GET /subscriptions", "every subscription (no role assignments or workloads)",
                      lambda: ctx.arm.list_all("/subscriptions", {"api-version": SUBSCRIPTIONS_API}))
    subs = {str(s["subscriptionId"]): s.get("displayName") for s in found or []
            if isinstance(s.get("subscriptionId"), str) and s.get("state") != "Disabled"}
    return sorted(subs.items())


def _subscription(ctx: TenantContext, calls: _Calls, sid: str, name: str | None) -> RawSubscription:
    arm, base = ctx.arm, f"/subscriptions/{sid}"
    sub = RawSubscription(subscription_id=sid, display_name=name if isinstance(name, str) else None)
    sub.role_assignments = calls.run(
        "arm:GET roleAssignments", f"role assignments of subscription {sid}",
        lambda: arm.list_all(f"{base}/providers/Microsoft.Authorization/roleAssignments", {"api-version": ROLE_API}),
        account=sid)
    definitions = calls.run(
        "arm:GET roleDefinitions", f"role definitions of subscription {sid} (assignments kept without permissions)",
        lambda: arm.list_all(f"{base}/providers/Microsoft.Authorization/roleDefinitions", {"api-version": ROLE_API}),
        account=sid)
    sub.role_definitions = {str(d.get("id")): d for d in definitions or []}
    sub.identities = calls.run(
        "arm:GET userAssignedIdentities", f"user-assigned managed identities of subscription {sid}",
        lambda: arm.list_all(f"{base}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                             {"api-version": IDENTITY_API}), account=sid) or []
    resources = calls.run(
        "arm:GET resources", f"resources with managed identities (workloads) of subscription {sid}",
        lambda: arm.list_all(f"{base}/resources", {"api-version": RESOURCES_API}), account=sid) or []
    sub.resources = [r for r in resources if isinstance(r.get("identity"), dict)
                     and str(r["identity"].get("type", "None")) != "None"]
    return sub


def collect_tenant(ctx: TenantContext) -> RawTenant:
    """The tenant's raw data; every failed call is an issue on it and the rest is kept."""
    raw = RawTenant(tenant_id=ctx.tenant_id)
    calls = _Calls(raw)
    _graph(ctx, raw, calls)
    raw.subscriptions = [_subscription(ctx, calls, sid, name) for sid, name in _subscription_ids(ctx, calls)]
    return raw
