"""Facts about one identity: the subject of identity rules (documented in docs/rules.md)."""

from __future__ import annotations

from typing import Any

from nhiaudit.facts.context import FactContext, days_between
from nhiaudit.inventory.model import STATIC_CREDENTIAL_TYPES, Identity


def ai_access(ctx: FactContext, identity: Identity) -> list[dict[str, Any]]:
    """How the identity can call AI models: allowing statements and AI vendor grants."""
    data = ctx.ai_capability.get(identity.provider.value, {})
    found: list[dict[str, Any]] = []
    actions = data.get("actions", [])
    if actions:
        for ev in ctx.evaluator.allowed_actions(identity, actions):
            found.append({
                "via": "permission", "reason": ev.reason, "policy_id": ev.policy_id,
                "actions": list(ev.actions), "conditional": bool(ev.conditions),
                "wildcard_only": ev.not_action or all(a == "*" for a in ev.statement_actions),
            })
    vendors = {v.lower() for v in data.get("delegated_resources", [])}
    for grant in ctx.estate.snapshot.delegated_grants:
        if grant.identity_id == identity.id and grant.resource.lower() in vendors:
            found.append({"via": "delegated_grant", "reason": f"grant {grant.id} to {grant.resource}: "
                          f"{' '.join(grant.scopes)}", "wildcard_only": False})
    return found


def reach_facts(ctx: FactContext, identity: Identity, integrations: list) -> tuple[list, list]:
    """Reachable systems with path and the policy verdict; and the out-of-scope subset."""
    reach: list[dict[str, Any]] = []
    out_of_scope: list[dict[str, Any]] = []
    systems = ctx.policy.systems
    for sr in ctx.reach.systems_for(identity.id):
        system = systems[sr.system]
        verdicts = []
        for integration in integrations:
            if sr.system in integration.must_not_reach:
                verdicts.append((integration.name, "must_not_reach"))
            elif sr.system not in integration.may_reach:
                verdicts.append((integration.name, "not_in_may_reach"))
        entry = {
            "system": sr.system, "access": sr.access.value, "via_chain": sr.via_chain,
            "environment": (system.environment or "").lower(), "classification": system.classification or "",
            "kind": system.kind or "", "hops": len(sr.hops),
            "verdict": verdicts[0][1] if verdicts else ("allowed" if integrations else "undeclared"),
        }
        reach.append(entry)
        for integration_name, verdict in verdicts:
            out_of_scope.append({**entry, "integration": integration_name, "verdict": verdict,
                                 "key": f"{integration_name}/{sr.system}", "path": sr.path_text()})
    return reach, out_of_scope


def identity_facts(ctx: FactContext, identity: Identity) -> dict[str, Any]:
    now = ctx.now
    integrations = ctx.integrations_of(identity)
    credentials = ctx.credentials_by_identity.get(identity.id, [])
    workloads = ctx.workloads_by_identity.get(identity.id, [])
    reach, out_of_scope = reach_facts(ctx, identity, integrations)
    ai = ai_access(ctx, identity)
    days_inactive = days_between(now, identity.last_activity or identity.created)
    human = identity.human_use
    admin = ctx.evaluator.is_admin(identity)
    rules = ctx.credential_rules_for(identity)
    return {
        "id": identity.id, "name": identity.name, "provider": identity.provider.value,
        "account": identity.account, "kind": identity.kind.value, "tags": dict(identity.tags),
        "owner": identity.owner or identity.tags.get("owner", ""),
        "age_days": days_between(now, identity.created) or 0,
        "never_used": identity.last_activity is None,
        "days_inactive": days_inactive if days_inactive is not None else 0,
        "disabled": identity.disabled,
        "declared": bool(integrations),
        "integrations": [i.name for i in integrations],
        "environments": ctx.environments_of(identity),
        "workloads": [{"id": w.id, "kind": w.kind, "name": w.name,
                       "integration": w.tags.get("integration", "")} for w in workloads],
        "credentials": [{"id": c.id, "type": c.type.value, "static": c.type in STATIC_CREDENTIAL_TYPES,
                         "active": c.active, "age_days": days_between(now, c.created) or 0} for c in credentials],
        "can_invoke_ai": bool(ai),
        "ai_explicit": any(not a["wildcard_only"] for a in ai),
        "ai_access": ai,
        "reach": reach,
        "out_of_scope": out_of_scope,
        "is_admin": admin is not None,
        "admin_evidence": admin.reason if admin is not None else "",
        "human_use": {
            "console_password": bool(human and human.console_password),
            "password_days_since_use": days_between(now, human.password_last_used) if human and
            human.password_last_used else -1,
            "interactive_sign_in": bool(human and human.interactive_sign_in),
            "mfa_active": bool(human and human.mfa_active),
        },
        "policy": rules.model_dump(),
    }
