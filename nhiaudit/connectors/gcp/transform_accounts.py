"""Service accounts -> identities, their keys -> credentials, Policy Analyzer activities -> last use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from nhiaudit.connectors.gcp.transform_common import (
    GcpDataError,
    expiry_time,
    parse_time,
    str_attributes,
)
from nhiaudit.inventory.model import Credential, CredentialType, Identity, IdentityKind, Provider

SA_ACTIVITY = "serviceAccountLastAuthentication"
KEY_ACTIVITY = "serviceAccountKeyLastAuthentication"


def _last_segment(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


class LastUse:
    """Last authentication per service account and per key, from both activity types. A service account
    or key is found by e-mail or unique id (Policy Analyzer names accounts by unique id at the top level
    and by e-mail inside `activity`)."""

    def __init__(self, activities: Iterable[Mapping[str, Any]]) -> None:
        self.accounts: dict[str, datetime] = {}
        self.keys: dict[str, datetime] = {}  # key id -> time
        for index, item in enumerate(activities):
            try:
                self._add(item)
            except GcpDataError as exc:
                raise exc.within("activities", index) from None

    def _add(self, item: Mapping[str, Any]) -> None:
        kind = item.get("activityType")
        activity = item.get("activity") or {}
        when = parse_time(activity.get("lastAuthenticatedTime"))
        if when is None:
            return
        if kind == SA_ACTIVITY:
            subject = activity.get("serviceAccount") or {}
            names = {_last_segment(str(n)) for n in (item.get("fullResourceName"), subject.get("fullResourceName"))
                     if n}
            if subject.get("serviceAccountId"):
                names.add(str(subject["serviceAccountId"]))
            for name in names:
                self.accounts[name] = max(when, self.accounts.get(name, when))
        elif kind == KEY_ACTIVITY:
            subject = activity.get("serviceAccountKey") or {}
            for full in (item.get("fullResourceName"), subject.get("fullResourceName")):
                if full:
                    key = _last_segment(str(full))
                    self.keys[key] = max(when, self.keys.get(key, when))

    def of_account(self, sa: Mapping[str, Any]) -> datetime | None:
        found = [self.accounts[n] for n in (sa.get("email"), sa.get("uniqueId")) if n in self.accounts]
        return max(found) if found else None


def transform_service_account(sa: Mapping[str, Any], project_id: str, last_use: LastUse) -> Identity:
    email = sa.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise GcpDataError("a service account needs its e-mail", ("email",))
    return Identity(
        id=email,
        provider=Provider.GCP,
        account=project_id,
        kind=IdentityKind.SERVICE_ACCOUNT,
        name=email.split("@", 1)[0],
        disabled=bool(sa.get("disabled", False)),
        last_activity=last_use.of_account(sa),
        last_activity_detail="serviceAccountLastAuthentication" if last_use.of_account(sa) else None,
        attributes=str_attributes(
            (k, sa.get(k)) for k in ("uniqueId", "displayName", "description", "oauth2ClientId")
        ),
    )


def transform_key(key: Mapping[str, Any], email: str, sa_disabled: bool, last_use: LastUse) -> Credential:
    """One key. Never reads privateKeyData / publicKeyData: only the name and its metadata."""
    name = key.get("name")
    if not isinstance(name, str) or "/keys/" not in name:
        raise GcpDataError("a key needs its name (projects/P/serviceAccounts/E/keys/K)", ("name",))
    try:
        created = parse_time(key.get("validAfterTime"))
    except GcpDataError as exc:
        raise exc.within("validAfterTime") from None
    try:
        expires = expiry_time(key.get("validBeforeTime"))
    except GcpDataError as exc:
        raise exc.within("validBeforeTime") from None
    system = key.get("keyType") == "SYSTEM_MANAGED"
    return Credential(
        id=name,
        identity_id=email,
        provider=Provider.GCP,
        type=CredentialType.SA_KEY,
        created=created,
        expires=expires,
        last_used=last_use.keys.get(_last_segment(name)),
        active=not key.get("disabled", False) and not sa_disabled,
        managed_by="system" if system else "user",
    )
