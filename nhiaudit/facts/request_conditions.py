"""Fact `unconditioned_grants`: grants that let an integration's identity reach one of its may_reach systems
without the request-time condition the integration's `require_conditions` asks for.

The grant is the allowing statement behind the reach (SystemGrant): the identity's own, or that of the
identity at the end of its shortest act-as chain. Each allowing statement counts on its own: one statement
without a narrowing condition is enough to reach the system unconditionally. Delegated grants (OAuth scopes)
cannot carry conditions and are not judged.

An AWS permissions boundary narrows too: when every Allow statement of the holder's boundary that can reach the
system's resources carries a narrowing condition, every request that reaches it does (a boundary only lets
through what one of its Allow statements allows), whatever the identity policy's statement says.
"""

from __future__ import annotations

from typing import Any

from nhiaudit.facts.context import FactContext
from nhiaudit.facts.memo import memo
from nhiaudit.facts.system_grants import system_grant
from nhiaudit.inventory.model import Identity, Policy
from nhiaudit.permissions.patterns import resources_intersect
from nhiaudit.policy.model import Integration
from nhiaudit.policy.request_conditions import condition_summary, expand, narrowing_keys

MAX_ITEMS = 50  # per identity: bounded evidence on a hostile estate


def _policies(ctx: FactContext) -> dict[str, Policy]:
    return memo(ctx, "policies_by_id", lambda: {p.id: p for p in ctx.estate.snapshot.policies})


def _boundary_narrows(ctx: FactContext, holder: str, system: str, wanted: dict[str, tuple[str, ...]]) -> bool:
    identity = ctx.estate.identities.get(holder)
    boundary = _policies(ctx).get(identity.boundary_policy_id or "") if identity is not None else None
    spec = ctx.policy.systems.get(system)
    if boundary is None or spec is None:
        return False
    allows = [st for st in boundary.statements if st.effect == "Allow" and (
        st.not_resources or any(resources_intersect(r, p) for r in st.resources for p in spec.resources))]
    return bool(allows) and all(narrowing_keys(st.conditions, wanted) for st in allows)


def unconditioned_grants(ctx: FactContext, identity: Identity, integrations: list[Integration]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for integration in integrations:
        required = integration.require_conditions
        if required is None:
            continue
        wanted = expand(required.any_of)
        systems = required.systems or integration.may_reach
        for system in sorted(set(systems) & set(integration.may_reach)):
            grant = system_grant(ctx, identity.id, system)
            if grant is None or _boundary_narrows(ctx, grant.holder, system, wanted):
                continue
            for statement in grant.statements:
                policy = _policies(ctx).get(statement.policy_id)
                raw = policy.statements[statement.statement_index].conditions if policy and \
                    statement.statement_index < len(policy.statements) else {}
                if narrowing_keys(raw, wanted):
                    continue
                out.append({
                    "integration": integration.name, "system": system, "access": grant.access,
                    "statement": statement.reason, "policy_id": statement.policy_id,
                    "statement_index": statement.statement_index,
                    "conditions": condition_summary(raw), "required": list(required.any_of),
                    "holder": grant.holder, "path": list(grant.path),
                    "key": f"{integration.name}/{system}/{statement.policy_id}#{statement.statement_index}",
                })
                if len(out) >= MAX_ITEMS:
                    return out
    return out
