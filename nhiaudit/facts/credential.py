"""Facts about credentials: one credential (the subject of credential rules), and an identity's active static
credentials grouped by type (several of one type: a rotation that never finished, or a second consumer)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nhiaudit.facts.context import FactContext, days_between
from nhiaudit.inventory.model import STATIC_CREDENTIAL_TYPES, Credential, Identity


def is_static(cred: Credential) -> bool:
    """A long-lived secret a workload stores: provider-managed keys (GCP SYSTEM_MANAGED) are not."""
    return cred.type in STATIC_CREDENTIAL_TYPES and cred.managed_by == "user"


def is_active(cred: Credential, identity: Identity | None) -> bool:
    """A key of a disabled identity authenticates nothing until the identity is enabled again."""
    return cred.active and not (identity is not None and identity.disabled)


def shared_fingerprints(ctx: FactContext) -> dict[str, list[str]]:
    """Fingerprint -> identities holding a credential with it (one secret copied to several identities)."""
    holders: dict[str, set[str]] = defaultdict(set)
    for cred in ctx.estate.snapshot.credentials:
        if cred.fingerprint:
            holders[cred.fingerprint].add(cred.identity_id)
    return {fp: sorted(ids) for fp, ids in holders.items() if len(ids) > 1}


def credential_facts(ctx: FactContext, cred: Credential, identity: Identity | None,
                     shared: dict[str, list[str]]) -> dict[str, Any]:
    now = ctx.now
    age = days_between(now, cred.created)
    since_use = days_between(now, cred.last_used)
    days_to_expiry = (cred.expires - now).days if cred.expires else 0
    integrations = ctx.integrations_of(identity) if identity else []
    rules = ctx.credential_rules_for(identity) if identity else ctx.policy.effective_credentials(None)
    shared_with = [i for i in shared.get(cred.fingerprint or "", ()) if i != cred.identity_id] if shared else []
    return {
        "id": cred.id, "type": cred.type.value, "static": is_static(cred),
        "active": is_active(cred, identity), "managed_by": cred.managed_by,
        "age_days": age or 0, "age_known": age is not None,
        "never_used": cred.last_used is None,
        # Without any record of use for the account (e.g. GCP without Policy Analyzer), "never used" is unknown.
        "usage_known": cred.last_used is not None or (
            cred.provider.value, identity.account if identity else "") not in ctx.usage_unrecorded,
        "days_unused": since_use if since_use is not None else (age or 0),
        "last_used_service": cred.last_used_service or "",
        "has_expiry": cred.expires is not None,
        "expires": cred.expires.date().isoformat() if cred.expires else "",
        "days_to_expiry": days_to_expiry,
        # A secret created yesterday that is valid for ten years is long-lived too (Entra client secrets).
        "validity_days": (cred.expires - cred.created).days if cred.expires and cred.created else 0,
        "shared_with": shared_with,
        "shared_with_names": [ctx.estate.identities[i].name if i in ctx.estate.identities else i for i in shared_with],
        "identity": {
            "id": cred.identity_id,
            "name": identity.name if identity else cred.identity_id,
            "kind": identity.kind.value if identity else "",
            "provider": cred.provider.value,
            "account": identity.account if identity else "",
            "declared": bool(integrations),
            "integrations": [i.name for i in integrations],
            "exists": identity is not None,
        },
        "policy": rules.model_dump(),
    }


MAX_LISTED_KEYS = 10  # keys listed per group (the count is exact)


def static_key_groups(ctx: FactContext, identity: Identity, credentials: list[Credential]) -> list[dict[str, Any]]:
    """Active static credentials by type, oldest first. Types are kept apart: an access key next to a signing
    certificate is two mechanisms, not a rotation; two client secrets (or two SA keys) are."""
    by_type: dict[str, list[Credential]] = defaultdict(list)
    for cred in credentials:
        if is_static(cred) and is_active(cred, identity):
            by_type[cred.type.value].append(cred)
    groups = []
    for kind, creds in sorted(by_type.items()):
        creds.sort(key=lambda c: (c.created is None, c.created or ctx.now, c.id))
        ages = [days_between(ctx.now, c.created) for c in creds]
        keys = [{"id": c.id, "age_days": age if age is not None else -1,
                 "last_used": c.last_used.date().isoformat() if c.last_used else "never",
                 "last_used_service": c.last_used_service or ""} for c, age in zip(creds, ages, strict=True)]
        groups.append({
            "type": kind, "count": len(creds),
            # The youngest key's age: a rotation in progress has a new key; unknown (-1) when any date is.
            "newest_age_days": -1 if None in ages else min(a for a in ages if a is not None),
            "keys": keys[:MAX_LISTED_KEYS], "key": kind,
        })
    return groups
