"""Assemble one tenant's snapshot from its raw parts (raw.py documents the mapping). Shared by live
collection and file import, so both give the same inventory for the same estate.

Credentials and federated credentials of an application without a service principal in this tenant are
not in the inventory: without an SP nothing can sign in with them here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiaudit.connectors.azure.audit_diagnostics import transform_diagnostic_settings
from nhiaudit.connectors.azure.raw import WORKLOAD_CALLS, RawSubscription, RawTenant
from nhiaudit.connectors.azure.transform_access import (
    app_role_grants,
    app_role_values,
    arm_fields,
    directory_role_policy,
    index_definitions,
    oauth2_grants,
    rbac_policy,
)
from nhiaudit.connectors.azure.transform_common import AzureDataError, arm_id, required, text
from nhiaudit.connectors.azure.transform_principals import SignIns, app_credentials, transform_service_principal
from nhiaudit.connectors.azure.transform_trusts import federated_trusts, owner_trusts
from nhiaudit.connectors.azure.transform_workloads import transform_workloads
from nhiaudit.inventory.model import (
    CollectionIssue,
    Credential,
    Identity,
    Policy,
    Provider,
    SourceInfo,
    Trust,
    Workload,
)
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.secrets.sightings import sighting_order


def _index(items: list[Mapping[str, Any]], key: str, where: str) -> dict[str, tuple[int, Mapping[str, Any]]]:
    out: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise AzureDataError("expected an object", (where, index))
        try:
            value = text(item, key)
        except AzureDataError as exc:
            raise exc.within(where, index) from None
        if value:
            out.setdefault(value, (index, item))
    return out


def assemble_tenant(raw: RawTenant, source: SourceInfo) -> Snapshot:
    """The tenant's snapshot. Raises AzureDataError (with a path into `raw`) when a raw value is malformed.
    Without the sign-in reports the source records no use (nothing is reported unused)."""
    if source.usage_recorded and not raw.sign_ins_recorded:
        source = source.model_copy(update={"usage_recorded": False})
    if raw.listed and not source.collected and WORKLOAD_CALLS.isdisjoint(i.operation for i in raw.issues):
        source = source.model_copy(update={"collected": tuple(sorted(raw.listed))})
    sps = raw.service_principals or []
    sp_by_id = _index(sps, "id", "service_principals")
    sp_by_app = {str(sp.get("appId")): sp_id for sp_id, (_, sp) in sp_by_id.items() if sp.get("appId")}
    apps_by_app = _index(raw.applications, "appId", "applications")
    sign_ins = SignIns(raw.sp_sign_ins, raw.credential_sign_ins)

    identities: list[Identity] = []
    for sp_id, (index, sp) in sp_by_id.items():
        app_id = text(sp, "appId")
        app = apps_by_app[app_id][1] if app_id in apps_by_app else None
        owners = [*raw.owners.get(sp_id, []), *(raw.owners.get(str(app.get("id")), []) if app else [])]
        try:
            identities.append(transform_service_principal(sp, raw.tenant_id, app, owners, sign_ins))
        except AzureDataError as exc:
            raise exc.within("service_principals", index) from None
    enabled = {i.id: not i.disabled for i in identities}

    credentials: list[Credential] = []
    trusts: list[Trust] = []
    for app_id, (index, app) in sorted(apps_by_app.items()):
        sp_id = sp_by_app.get(app_id)
        if sp_id is None:
            continue
        try:
            credentials.extend(app_credentials(app, sp_id, enabled.get(sp_id, True), sign_ins))
        except AzureDataError as exc:
            raise exc.within("applications", index) from None
        name = text(app, "displayName") or app_id
        object_id = text(app, "id")
        if object_id:
            try:
                trusts.extend(federated_trusts(sp_id, list(raw.federated_credentials.get(object_id, [])), name))
            except AzureDataError as exc:
                raise exc.within("federated_credentials", object_id) from None
            try:
                trusts.extend(owner_trusts(sp_id, list(raw.owners.get(object_id, [])), f"application {name}"))
            except AzureDataError as exc:
                raise exc.within("owners", object_id) from None
    for sp_id, (_, sp) in sp_by_id.items():
        try:
            trusts.extend(owner_trusts(sp_id, list(raw.owners.get(sp_id, [])),
                                       f"service principal {text(sp, 'displayName') or sp_id}"))
        except AzureDataError as exc:
            raise exc.within("owners", sp_id) from None

    sp_names = {sp_id: str(sp.get("displayName") or sp_id) for sp_id, (_, sp) in sp_by_id.items()}
    grants = [*oauth2_grants(raw.oauth2_grants, sp_names),
              *app_role_grants(raw.app_role_assignments, app_role_values(sps), sp_names)]

    policies: dict[str, Policy] = {}
    attached: dict[str, dict[str, str]] = {}
    for index, assignment in enumerate(raw.directory_role_assignments):
        try:
            policy, principal = directory_role_policy(assignment)
        except AzureDataError as exc:
            raise exc.within("directory_role_assignments", index) from None
        if principal in sp_by_id:
            policies[policy.id] = policy
            attached.setdefault(principal, {})[policy.id] = "directory role"
    workloads: list[Workload] = []
    issues: list[CollectionIssue] = []
    every_user_assigned: dict[str, str] = {}  # identity resource id (lower case) -> principal id
    names: dict[str, str] = {}  # principal id -> identity name
    for s_index, sub in enumerate(raw.subscriptions):
        definitions = index_definitions(sub.role_definitions)
        for index, assignment in enumerate(sub.role_assignments or []):
            try:
                policy, principal, known = rbac_policy(assignment, definitions)
            except AzureDataError as exc:
                raise exc.within("subscriptions", s_index, "role_assignments", index) from None
            if principal in sp_by_id or (raw.service_principals is None and _is_sp(assignment)):
                policies[policy.id] = policy
                scope = arm_id(str(arm_fields(assignment)["scope"]))
                attached.setdefault(principal, {})[policy.id] = f"role assignment at {scope}"
                if not known:
                    issues.append(CollectionIssue(
                        provider=Provider.AZURE, account=raw.tenant_id, operation="role definitions",
                        message=f"role assignment {policy.id} names role definition {policy.name}, which was not "
                                "read", missing=f"the permissions of {policy.name}"))
        user_assigned = {}
        for index, identity in enumerate(sub.identities):
            try:
                flat = arm_fields(identity)
                resource_id, principal = arm_id(required(flat, "id")), required(flat, "principalId")
                user_assigned[resource_id.lower()] = principal
                names[principal] = text(flat, "name") or resource_id.rsplit("/", 1)[-1]
            except AzureDataError as exc:
                raise exc.within("subscriptions", s_index, "identities", index) from None
        every_user_assigned.update(user_assigned)
        for index, resource in enumerate(sub.resources):
            try:
                workloads.extend(transform_workloads(resource, user_assigned))
            except AzureDataError as exc:
                raise exc.within("subscriptions", s_index, "resources", index) from None

    trusts.extend(_identity_federated_trusts(raw, every_user_assigned, names, set(sp_by_id)))

    identities = [
        i.model_copy(update={"policy_ids": tuple(sorted(attached[i.id])),
                             "policy_sources": dict(sorted(attached[i.id].items()))})
        if i.id in attached else i
        for i in identities
    ]
    return Snapshot(
        sources=[source, *_subscription_sources(raw, source)],
        identities=sorted(identities, key=lambda i: i.id),
        credentials=sorted(credentials, key=lambda c: (c.identity_id, c.id)),
        policies=sorted(policies.values(), key=lambda p: p.id),
        trusts=sorted(trusts, key=lambda t: (t.identity_id, t.kind.value, t.principal, t.reason)),
        workloads=sorted({(w.id, w.identity_id): w for w in workloads}.values(), key=lambda w: (w.id, w.identity_id)),
        delegated_grants=sorted(grants, key=lambda g: (g.identity_id, g.id)),
        collection_issues=[*raw.issues, *sorted(issues, key=lambda i: i.message)],
        audit_settings=[s for sub in raw.subscriptions
                        for s in transform_diagnostic_settings(sub.subscription_id, sub.diagnostic_settings)],
        credential_sightings=sorted((x for sub in raw.subscriptions for x in sub.credential_sightings),
                                    key=sighting_order),
    )


def _identity_federated_trusts(raw: RawTenant, user_assigned: Mapping[str, str], names: Mapping[str, str],
                               sp_ids: set[str]) -> list[Trust]:
    """Federated credentials of user-assigned managed identities (keyed by resource id or principal id) as
    federated trusts on the identity's service principal; an identity without one here is skipped, as an
    application without a service principal is."""
    out: list[Trust] = []
    for key, credentials in sorted(raw.identity_federated_credentials.items()):
        principal = user_assigned.get(arm_id(key).lower()) if key.startswith("/") else key
        if principal not in sp_ids:
            continue
        name = names.get(principal) or key.rstrip("/").rsplit("/", 1)[-1]
        try:
            out.extend(federated_trusts(principal, list(credentials), name, owner="managed identity"))
        except AzureDataError as exc:
            raise exc.within("identity_federated_credentials", key) from None
    return out


def _is_sp(assignment: Mapping[str, Any]) -> bool:
    return arm_fields(assignment).get("principalType") == "ServicePrincipal"


_MG_PREFIX = "/providers/Microsoft.Management/managementGroups/"


def _inherited_groups(sub: RawSubscription) -> list[str]:
    """Management groups above the subscription, as its own role assignment list shows them: ARM lists the
    assignments a subscription inherits with their management-group scope, so each such scope is an ancestor
    (order unknown; containment does not need it)."""
    found = []
    for assignment in sub.role_assignments or ():
        props = assignment.get("properties", assignment) if isinstance(assignment, Mapping) else {}
        scope = str(props.get("scope", "")) if isinstance(props, Mapping) else ""
        if scope.lower().startswith(_MG_PREFIX.lower()) and scope not in found:
            found.append(scope)
    return found


def _subscription_sources(raw: RawTenant, source: SourceInfo) -> list[SourceInfo]:
    """One source per subscription whose management-group ancestry is known (raw.py, or inherited role
    assignments), so an assignment on a management group reaches the subscriptions beneath it."""
    out = []
    for sub in sorted(raw.subscriptions, key=lambda s: s.subscription_id):
        groups = list(sub.management_groups) + [g for g in _inherited_groups(sub) if g not in sub.management_groups]
        if not groups or not sub.subscription_id:
            continue
        ancestors = tuple(mg if mg.startswith("/") else _MG_PREFIX + mg for mg in groups)
        out.append(SourceInfo(provider=Provider.AZURE, account=sub.subscription_id, method=source.method,
                              collected_at=source.collected_at, detail=sub.display_name, ancestors=ancestors))
    return out
