"""Service principals -> identities, application credentials -> credentials, sign-in reports -> last
activity and last use (the mapping is in raw.py). Pure functions over raw Graph JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nhiaudit.connectors.azure.transform_common import (
    MICROSOFT_TENANTS,
    AzureDataError,
    arm_id,
    items_of,
    parse_time,
    required,
    str_attributes,
    strings_of,
    text,
    time_field,
)
from nhiaudit.inventory.model import Credential, CredentialType, Identity, IdentityKind, Provider

# servicePrincipalSignInActivity: every variant of "last sign-in"; the latest one is the last activity.
_SP_ACTIVITY_KEYS = ("lastSignInActivity", "delegatedClientSignInActivity", "delegatedResourceSignInActivity",
                     "applicationAuthenticationClientSignInActivity",
                     "applicationAuthenticationResourceSignInActivity")


class SignIns:
    """The sign-in activity reports, indexed: SP activity by appId, credential activity by keyId."""

    def __init__(self, sp_sign_ins: list[Mapping[str, Any]], credential_sign_ins: list[Mapping[str, Any]]) -> None:
        self.by_app: dict[str, datetime] = {}
        self.by_key: dict[str, datetime] = {}
        for index, entry in enumerate(sp_sign_ins):
            try:
                self._add_sp(entry)
            except AzureDataError as exc:
                raise exc.within("sp_sign_ins", index) from None
        for index, entry in enumerate(credential_sign_ins):
            try:
                key, when = text(entry, "keyId"), time_field(entry, "signInDateTime")
            except AzureDataError as exc:
                raise exc.within("credential_sign_ins", index) from None
            if key and when is not None:
                self.by_key[key] = max(when, self.by_key.get(key, when))

    def _add_sp(self, entry: Mapping[str, Any]) -> None:
        app = text(entry, "appId")
        if not app:
            return
        for key in _SP_ACTIVITY_KEYS:
            block = entry.get(key)
            if not isinstance(block, Mapping):
                continue
            try:
                when = parse_time(block.get("lastSignInDateTime"))
            except AzureDataError as exc:
                raise exc.within(key, "lastSignInDateTime") from None
            if when is not None:
                self.by_app[app] = max(when, self.by_app.get(app, when))


def publisher_of(owner_tenant: str | None, tenant_id: str) -> str | None:
    """microsoft (first party), tenant (this tenant's own app) or foreign (a third party's multi-tenant app)."""
    if not owner_tenant:
        return None
    if owner_tenant.lower() in MICROSOFT_TENANTS:
        return "microsoft"
    return "tenant" if owner_tenant.lower() == tenant_id.lower() else "foreign"


def tags_of(sp: Mapping[str, Any]) -> dict[str, str]:
    """Entra tags are plain strings: "k:v" / "k=v" become {k: v}, anything else {tag: ""}."""
    out: dict[str, str] = {}
    try:
        tags = strings_of(sp, "tags")
    except AzureDataError:
        raise AzureDataError("expected a list of strings", ("tags",)) from None
    for tag in tags:
        cut = min((i for i in (tag.find(":"), tag.find("=")) if i > 0), default=-1)
        key, value = (tag[:cut], tag[cut + 1:]) if cut > 0 else (tag, "")
        out[key] = value
    return dict(sorted(out.items()))


def owner_name(owners: list[Mapping[str, Any]]) -> str | None:
    for owner in owners:
        name = owner.get("userPrincipalName") or owner.get("displayName") or owner.get("id")
        if isinstance(name, str) and name:
            return name
    return None


def managed_resource_id(sp: Mapping[str, Any]) -> str | None:
    """A managed identity's ARM resource (the user-assigned identity, or the resource of a system-assigned
    one): the `/subscriptions/...` entry of its alternativeNames. Escalation selects assignable identities by it."""
    names = sp.get("alternativeNames") or []
    if not isinstance(names, list):
        raise AzureDataError("expected a list", ("alternativeNames",))
    for name in names:
        if isinstance(name, str) and name.lower().startswith("/subscriptions/"):
            return arm_id(name)
    return None


def transform_service_principal(sp: Mapping[str, Any], tenant_id: str, app: Mapping[str, Any] | None,
                                owners: list[Mapping[str, Any]], sign_ins: SignIns) -> Identity:
    sp_id = required(sp, "id")
    sp_type = text(sp, "servicePrincipalType")
    app_id = text(sp, "appId")
    owner_tenant = text(sp, "appOwnerOrganizationId")
    enabled = sp.get("accountEnabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise AzureDataError("expected true or false", ("accountEnabled",))
    created = None
    audience = text(sp, "signInAudience")
    if app is not None:
        created = time_field(app, "createdDateTime")
        audience = text(app, "signInAudience") or audience
    attributes = str_attributes([
        ("appId", app_id), ("appOwnerOrganizationId", owner_tenant), ("servicePrincipalType", sp_type),
        ("publisher", publisher_of(owner_tenant, tenant_id)), ("signInAudience", audience),
        ("resourceId", managed_resource_id(sp) if sp_type == "ManagedIdentity" else None),
    ])
    return Identity(
        id=sp_id,
        provider=Provider.AZURE,
        account=tenant_id,
        kind=IdentityKind.MANAGED_IDENTITY if sp_type == "ManagedIdentity" else IdentityKind.SERVICE_PRINCIPAL,
        name=text(sp, "displayName") or sp_id,
        created=created,
        tags=tags_of(sp),
        owner=owner_name(owners),
        last_activity=sign_ins.by_app.get(app_id) if app_id else None,
        disabled=enabled is False,
        attributes=attributes,
    )


def secret_fingerprint(secret: Mapping[str, Any]) -> str | None:
    """One secret added to several apps at once has the same hint and validity (a heuristic, raw.py)."""
    hint = text(secret, "hint")
    if not hint:
        return None
    return f"hint:{hint}:{secret.get('startDateTime') or ''}:{secret.get('endDateTime') or ''}"


def app_credentials(app: Mapping[str, Any], sp_id: str, active: bool, sign_ins: SignIns) -> list[Credential]:
    """The application's client secrets and certificates, on its service principal. Secret values are
    never read: Graph does not return them in lists, and `secretText` / `key` are ignored if present."""
    out: list[Credential] = []
    for field, kind in (("passwordCredentials", CredentialType.CLIENT_SECRET),
                        ("keyCredentials", CredentialType.CERTIFICATE)):
        for index, entry in enumerate(items_of(app, field)):
            try:
                out.append(_credential(entry, kind, sp_id, active, sign_ins))
            except AzureDataError as exc:
                raise exc.within(field, index) from None
    return out


def _credential(entry: Mapping[str, Any], kind: CredentialType, sp_id: str, active: bool,
                sign_ins: SignIns) -> Credential:
    key_id = required(entry, "keyId")
    if kind is CredentialType.CERTIFICATE:
        thumb = text(entry, "customKeyIdentifier")
        fingerprint = f"thumbprint:{thumb}" if thumb else None
    else:
        fingerprint = secret_fingerprint(entry)
    return Credential(
        id=key_id,
        identity_id=sp_id,
        provider=Provider.AZURE,
        type=kind,
        created=time_field(entry, "startDateTime"),
        expires=time_field(entry, "endDateTime"),
        last_used=sign_ins.by_key.get(key_id),
        active=active,
        fingerprint=fingerprint,
    )
