"""Facts about entries of the written policy: integration bindings, exceptions, integrations."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nhiaudit.facts.context import FactContext
from nhiaudit.inventory.model import Identity, Provider
from nhiaudit.permissions.patterns import glob_match


def exception_covers(pattern: str, identity: Identity) -> bool:
    """Does an exception's `identity` name this identity? By its id; an Azure service principal also by its
    application's appId (as integrations name it), both GUIDs compared case-insensitively."""
    if identity.provider is not Provider.AZURE:
        return glob_match(pattern, identity.id)
    names = (identity.id, identity.attributes.get("appId", ""))
    return any(glob_match(pattern, name, case_sensitive=False) for name in names if name)


def binding_facts(ctx: FactContext) -> list[dict[str, Any]]:
    """One subject per identity entry of every integration, with how many identities it matched."""
    unmatched = {(i, j) for i, j, _ in ctx.estate.unmatched_bindings}
    out = []
    for i, integration in enumerate(ctx.policy.integrations):
        for j, pattern in enumerate(integration.identities):
            out.append({
                "integration": integration.name, "pattern": pattern,
                "is_glob": any(ch in pattern for ch in "*?["),
                "matched": (i, j) not in unmatched,
                "policy_path": ["integrations", i, "identities", j],
            })
    return out


def integration_facts(ctx: FactContext) -> list[dict[str, Any]]:
    by_integration: dict[str, list[str]] = defaultdict(list)
    for iid, names in ctx.estate.bindings.items():
        for name in names:
            by_integration[name].append(iid)
    out = []
    for i, integration in enumerate(ctx.policy.integrations):
        out.append({
            "name": integration.name, "kind": integration.kind or "", "owner": integration.owner or "",
            "environment": (integration.environment or "").lower(),
            "identities": sorted(by_integration.get(integration.name, [])),
            "may_reach": list(integration.may_reach), "must_not_reach": list(integration.must_not_reach),
            "policy_path": ["integrations", i],
        })
    return out


def exception_facts(ctx: FactContext) -> list[dict[str, Any]]:
    # GCP members that bindings name (`user:contractor@gmail.com`): an exception may name one (findings_builder).
    principals = sorted({p for policy in ctx.estate.snapshot.policies for p in policy.principals})
    # ... and credentials seen in plain text, by the key id or hash they were seen as (facts/sighting.py).
    principals += sorted({s.key_id or s.value_hash or "" for s in ctx.estate.snapshot.credential_sightings} - {""})
    out = []
    for i, exc in enumerate(ctx.policy.exceptions):
        matched = (any(exception_covers(exc.identity, ident) for ident in ctx.estate.identities.values())
                   or any(glob_match(exc.identity, p) for p in principals))
        days_expired = (ctx.as_of - exc.expires).days
        out.append({
            "rule": exc.rule, "identity": exc.identity, "owner": exc.owner, "reason": exc.reason,
            "expires": exc.expires.isoformat(), "expired": days_expired > 0, "days_expired": max(0, days_expired),
            "days_to_expiry": max(0, -days_expired), "matched": matched, "index": i,
            "policy_path": ["exceptions", i],
        })
    return out
