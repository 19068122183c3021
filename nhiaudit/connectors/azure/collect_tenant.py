"""Collect one Entra tenant and its subscriptions into a RawTenant: a fixed set of GET calls, each failure a
CollectionIssue naming it, never fatal (only ReadOnlyViolation, a bug, and TokenError stop the run).

Call budget: the nested lists (owners, app role assignments, federated credentials) are read through `$expand`
on the paged parent lists, so a tenant of N service principals costs a small multiple of N / page size
requests. Graph returns at most 20 expanded items per object; an object whose expanded list may be cut (20
items or an `@odata.nextLink` beside it) is read again on its own, paged.

Subscriptions are read in parallel (TenantContext.concurrency, --concurrency), each into its own
RawSubscription and issue list, merged in subscription-id order: the result is the same as a serial read.
Each user-assigned managed identity costs one more ARM call (its federated identity credentials).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nhiaudit.connectors.azure.app_settings import APP_SETTINGS_API, MAX_SITES, get_app_settings, site_sightings, sites
from nhiaudit.connectors.azure.audit_diagnostics import MAX_AUDITED_RESOURCES, audited, get_diagnostic_settings
from nhiaudit.connectors.azure.clients import AzureHttp, ReadOnlyViolation, call_failures, describe_error
from nhiaudit.connectors.azure.raw import JsonObject, RawSubscription, RawTenant
from nhiaudit.connectors.azure.transform_workloads import WORKLOAD_KINDS
from nhiaudit.connectors.deadline import DeadlineExceeded
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
    concurrency: int = 1  # subscriptions read at once


GRACE_SECONDS = 5.0  # past the deadline, a subscription still being read is given up


class _Calls:
    """Runs calls, turning each failure into an issue (on the tenant, or a subscription's own list)."""

    def __init__(self, raw: RawTenant, issues: list[CollectionIssue] | None = None) -> None:
        self.raw = raw
        self.issues = raw.issues if issues is None else issues

    def run(self, operation: str, missing: str, fn: Callable[[], T], account: str | None = None) -> T | None:
        try:
            return fn()
        except ReadOnlyViolation:
            raise
        except call_failures() as exc:
            self.issues.append(CollectionIssue(provider=Provider.AZURE, account=account or self.raw.tenant_id,
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


_IDENTITY_ID = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36})/resourceGroups/[A-Za-z0-9._()-]+/providers/"
                          r"Microsoft\.ManagedIdentity/userAssignedIdentities/[A-Za-z0-9_-]+/?$", re.IGNORECASE)


def _identity_id_in(ident: str, sid: str) -> bool:
    match = _IDENTITY_ID.match(ident)
    return bool(match) and match.group(1).lower() == sid.lower() and "/../" not in ident


@dataclass
class _SubscriptionResult:
    sub: RawSubscription
    federated: dict[str, list[JsonObject]] = field(default_factory=dict)  # identity resource id -> FICs
    issues: list[CollectionIssue] = field(default_factory=list)


def _subscription(ctx: TenantContext, raw: RawTenant, sid: str, name: str | None) -> _SubscriptionResult:
    """One subscription, run in a worker thread: it touches only its own result (and the thread-safe
    clients), never `raw` beyond reading the tenant id."""
    arm, base = ctx.arm, f"/subscriptions/{sid}"
    display = name if isinstance(name, str) else None
    out = _SubscriptionResult(RawSubscription(subscription_id=sid, display_name=display))
    sub, calls = out.sub, _Calls(raw, out.issues)
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
    for identity in sorted(sub.identities, key=lambda i: str(i.get("id", "")).lower()):
        ident = identity.get("id")
        if not isinstance(ident, str) or not _identity_id_in(ident, sid):
            # A hostile id must not steer the read elsewhere (another path, query or subscription).
            out.issues.append(CollectionIssue(
                provider=Provider.AZURE, account=sid, operation="arm:GET federatedIdentityCredentials",
                message="a user-assigned identity id is not a managed-identity id of this subscription; not read",
                missing="federated identity credentials of one managed identity"))
            continue
        found = calls.run(
            "arm:GET federatedIdentityCredentials",
            f"federated identity credentials (workload identity federation) of managed identity {ident}",
            lambda ident=ident: arm.list_all(f"{ident.rstrip('/')}/federatedIdentityCredentials",
                                             {"api-version": IDENTITY_API}), account=sid)
        if found:
            out.federated[ident] = found
    resources = calls.run(
        "arm:GET resources", f"resources with managed identities (workloads) of subscription {sid}",
        lambda: arm.list_all(f"{base}/resources", {"api-version": RESOURCES_API}), account=sid) or []
    sub.resources = [r for r in resources if isinstance(r.get("identity"), dict)
                     and str(r["identity"].get("type", "None")) != "None"]
    _read_diagnostics(calls, arm, sid, resources, sub)
    _read_app_settings(calls, arm, sid, resources, sub)
    return out


def _read_app_settings(calls: _Calls, arm: AzureHttp, sid: str, resources: list[JsonObject],
                       sub: RawSubscription) -> None:
    """Sightings in the application settings of the subscription's web and function apps (the values are
    scanned here and dropped)."""
    found, refused = sites(resources, sid)
    if refused:
        calls.issues.append(CollectionIssue(
            provider=Provider.AZURE, account=sid, operation="arm:POST config/appsettings/list",
            message=f"{refused} site ids are not App Service site ids of this subscription; not read",
            missing="application settings of some App Service sites (leaked credentials)"))
    if len(found) > MAX_SITES:
        calls.issues.append(CollectionIssue(
            provider=Provider.AZURE, account=sid, operation="arm:POST config/appsettings/list",
            message=f"truncated: {len(found) - MAX_SITES} sites beyond the first {MAX_SITES} were not read",
            missing="application settings of some App Service sites (leaked credentials)"))
    for site_id, region in found[:MAX_SITES]:
        settings = calls.run(
            "arm:POST config/appsettings/list", f"application settings of {site_id} (leaked credentials)",
            lambda site_id=site_id: get_app_settings(
                lambda path: arm.get(arm.base + path, {"api-version": APP_SETTINGS_API}, method="POST"), site_id),
            account=sid)
        if settings is not None:
            sub.credential_sightings.extend(site_sightings(settings, site_id, region))


def _read_diagnostics(calls: _Calls, arm: AzureHttp, sid: str, resources: list[JsonObject],
                      sub: RawSubscription) -> None:
    """Diagnostic settings of the subscription's Cognitive Services accounts and Key Vaults (audit coverage)."""
    ids = audited(resources, sid)
    if len(ids) > MAX_AUDITED_RESOURCES:
        calls.issues.append(CollectionIssue(
            provider=Provider.AZURE, account=sid, operation="arm:GET diagnosticSettings",
            message=f"truncated: {len(ids) - MAX_AUDITED_RESOURCES} resources beyond the first "
            f"{MAX_AUDITED_RESOURCES} were not read", missing="diagnostic settings of some AI accounts and Key Vaults"))
    for rid in ids[:MAX_AUDITED_RESOURCES]:
        found = calls.run("arm:GET diagnosticSettings", f"diagnostic settings of {rid}",
                          lambda rid=rid: get_diagnostic_settings(arm.list_all, rid), account=sid)
        if found is not None:
            sub.diagnostic_settings[rid] = found


def _cut_off(raw: RawTenant, sid: str, name: str | None, future: Future[_SubscriptionResult],
             seconds: float) -> _SubscriptionResult:
    state = "was not started" if future.cancel() else "was still being read"
    issue = CollectionIssue(provider=Provider.AZURE, account=sid, operation="nhiaudit:collect",
                            message=f"{DeadlineExceeded(seconds)}: the subscription {state}",
                            missing=f"everything in subscription {sid}")
    return _SubscriptionResult(RawSubscription(subscription_id=sid, display_name=name), issues=[issue])


def _subscriptions(ctx: TenantContext, raw: RawTenant, subs: list[tuple[str, str | None]]) -> None:
    """Every subscription, `ctx.concurrency` at once, merged in the (sorted) order of `subs`."""
    results: dict[str, _SubscriptionResult] = {}
    deadline = ctx.arm.deadline
    # Not a `with` block: its exit would wait for a subscription stuck past the deadline.
    pool = ThreadPoolExecutor(max(1, min(ctx.concurrency, len(subs) or 1)), thread_name_prefix="nhiaudit-azure")
    try:
        futures = {pool.submit(_subscription, ctx, raw, sid, name): (sid, name) for sid, name in subs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=deadline.remaining() + GRACE_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                results[futures[future][0]] = future.result()  # ReadOnlyViolation (a bug) propagates
            if not done:
                for future in pending:
                    sid, name = futures[future]
                    results[sid] = _cut_off(raw, sid, name, future, deadline.seconds)
                pending = set()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for sid, _ in subs:
        result = results[sid]
        raw.subscriptions.append(result.sub)
        raw.issues.extend(result.issues)
        for ident, credentials in sorted(result.federated.items()):
            raw.identity_federated_credentials[ident] = credentials


def collect_tenant(ctx: TenantContext) -> RawTenant:
    """The tenant's raw data; every failed call is an issue on it and the rest is kept."""
    raw = RawTenant(tenant_id=ctx.tenant_id)
    calls = _Calls(raw)
    _graph(ctx, raw, calls)
    _subscriptions(ctx, raw, _subscription_ids(ctx, calls))
    raw.listed = set(WORKLOAD_KINDS)  # a failed listing is an issue (WORKLOAD_CALLS): assemble drops them all
    return raw
