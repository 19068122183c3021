"""Identity facts beside facts/identity.py: latent escalations, and active static credentials grouped by type
(several active keys of one type: a rotation that never finished, or a key handed to a second consumer)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nhiaudit.facts.context import FactContext, days_between
from nhiaudit.facts.credential import is_active, is_static
from nhiaudit.facts.escalation import EstateAnalysis
from nhiaudit.inventory.model import Credential, Identity

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


def more_identity_facts(ctx: FactContext, analysis: EstateAnalysis, identity: Identity,
                        credentials: list[Credential]) -> dict[str, Any]:
    return {
        "latent_escalations": analysis.latent_escalations.get(identity.id, ()),
        "static_key_groups": static_key_groups(ctx, identity, credentials),
    }
