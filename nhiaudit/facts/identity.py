"""Facts about one identity: the subject of identity rules (documented in docs/rules.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nhiaudit.facts.audit_coverage import audit_gaps
from nhiaudit.facts.azure_facts import azure_broad_roles, graph_permissions
from nhiaudit.facts.classification import Classification, TagRules, classify
from nhiaudit.facts.context import FactContext, days_between
from nhiaudit.facts.credential import is_active, is_static, static_key_groups
from nhiaudit.facts.escalation import (
    ai_vendor_grants,
    escalation_path,
    estate_analysis,
    estate_profiles,
    wildcard_only,
)
from nhiaudit.facts.gcp_facts import broad_role_policy, broad_roles, is_default_compute_sa
from nhiaudit.facts.memo import memo
from nhiaudit.facts.request_conditions import unconditioned_grants
from nhiaudit.facts.reuse import (
    add_crossing,
    environment_crossing,
    environment_sources,
    served_integrations,
    workload_integration,
)
from nhiaudit.facts.trust_facts import trust_facts
from nhiaudit.graph.build import identity_matcher
from nhiaudit.graph.reach import SystemReach
from nhiaudit.graph.trust import trust_in_force
from nhiaudit.inventory.model import Identity, IdentityKind, Trust
from nhiaudit.policy.model import Integration


class _ClassificationInputs:
    """What classification reads beyond one identity, built once per scan: trusts by identity, the
    identities the policy's `humans:` list matches, and the tag rules."""

    def __init__(self, ctx: FactContext) -> None:
        self.trusts: dict[str, list[Trust]] = defaultdict(list)
        for trust in ctx.estate.snapshot.trusts:
            if trust_in_force(trust, ctx.evaluator.now):
                self.trusts[trust.identity_id].append(trust)
        policy = ctx.policy
        # `humans:` entries name identities exactly as an integration's `identities` do.
        match = identity_matcher(ctx.estate.identities)
        self.humans: dict[str, list[str]] = defaultdict(list)
        for entry in dict.fromkeys(policy.humans):
            for iid in match(entry):
                self.humans[iid].append(entry)
        self.tag_rules = TagRules.from_policy(policy)


def classification_of(ctx: FactContext, identity: Identity) -> Classification:
    """Human, nhi or unknown, and why (nhiaudit/facts/classification.py)."""
    inputs: _ClassificationInputs = memo(ctx, "classification_inputs", lambda: _ClassificationInputs(ctx))
    return classify(identity, ctx.credentials_by_identity.get(identity.id, []), inputs.trusts.get(identity.id, []),
                    ctx.workloads_by_identity.get(identity.id, []), ctx.estate.bindings.get(identity.id, []),
                    inputs.tag_rules, ctx.now, inputs.humans.get(identity.id, []))


def ai_access(ctx: FactContext, identity: Identity) -> list[dict[str, Any]]:
    """How the identity can call AI models: allowing statements and AI vendor grants."""
    found: list[dict[str, Any]] = []
    for ev in estate_profiles(ctx).get(identity).ai:
        found.append({
            "via": "permission", "reason": ev.reason, "policy_id": ev.policy_id,
            "actions": list(ev.actions), "conditional": bool(ev.conditions),
            # AI use only through a full `*`, or a GCP Owner / Editor / `*.admin` role, is overbroad
            # access (reported as such), not a declared choice to call models.
            "wildcard_only": wildcard_only(ev) or broad_role_policy(ctx, ev.policy_id),
        })
    for grant in ai_vendor_grants(ctx).get(identity.id, ()):
        found.append({"via": "delegated_grant", "reason": f"grant {grant.id} to {grant.resource}: "
                      f"{' '.join(grant.scopes)}", "wildcard_only": False})
    return found


def _conditional(ctx: FactContext, sr: SystemReach) -> bool:
    """Some hop of the path rests on a condition nhiaudit did not evaluate (a trust condition, or only
    conditional statements on the last hop): access is possible, not certain."""
    last = sr.hops[-1]
    if (last.source, sr.system) in ctx.estate.conditional_reach:
        return True
    return any(bool(ctx.reach.act_as_edge(h.source, h.target)[2]) for h in sr.hops[:-1])


def reach_facts(ctx: FactContext, identity: Identity, integrations: list[Integration],
                environments: list[str]) -> tuple[list, list, list]:
    """Reachable systems with the policy verdict; the out-of-scope subset; the environment crossings."""
    reach: list[dict[str, Any]] = []
    out_of_scope: list[dict[str, Any]] = []
    crossings: dict[str, dict[str, Any]] = {}
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
            "kind": system.kind or "", "hops": len(sr.hops), "conditional": _conditional(ctx, sr),
            "verdict": verdicts[0][1] if verdicts else ("allowed" if integrations else "undeclared"),
        }
        reach.append(entry)
        for integration_name, verdict in verdicts:
            out_of_scope.append({**entry, "integration": integration_name, "verdict": verdict,
                                 "key": f"{integration_name}/{sr.system}", "path": sr.path_text()})
        if environment_crossing(entry, environments):
            add_crossing(crossings, entry, sr)
    return reach, out_of_scope, tuple(crossings.values())


def _ai_via_chain(ctx: FactContext, identity: Identity) -> dict[str, Any]:
    analysis = estate_analysis(ctx)
    found = analysis.ai_chains.path(identity.id) if identity.id not in analysis.ai_sources else None
    if found is None:
        return {}
    target_id, hops = found
    target = ctx.estate.identities[target_id]
    how = next((a["reason"] for a in ai_access(ctx, target) if not a["wildcard_only"]), "")
    names = ctx.estate.bindings.get(target_id, ())
    return {"target": target_id, "target_name": target.name, "target_declared": bool(names),
            "target_integrations": tuple(names), "how": how, "hops": hops, "length": len(hops)}


def session_seconds(identity: Identity) -> int | None:
    """An AWS role's MaxSessionDuration in seconds (the AWS connector's `max_session_seconds`), when known."""
    text = identity.attributes.get("max_session_seconds")
    if identity.kind != IdentityKind.ROLE or text is None or not text.isdigit():
        return None
    return int(text)


def _session_minutes(identity: Identity) -> int | None:
    """An AWS role's MaxSessionDuration in minutes, rounded up."""
    seconds = session_seconds(identity)
    return None if seconds is None else -(-seconds // 60)


def identity_facts(ctx: FactContext, identity: Identity) -> dict[str, Any]:
    now = ctx.now
    analysis = estate_analysis(ctx)
    profile = analysis.profile(identity)
    integrations = ctx.integrations_of(identity)
    credentials = ctx.credentials_by_identity.get(identity.id, [])
    workloads = ctx.workloads_by_identity.get(identity.id, [])
    env_sources = environment_sources(identity, integrations, workloads)
    environments = sorted({e["environment"] for e in env_sources})
    reach, out_of_scope, crossings = reach_facts(ctx, identity, integrations, environments)
    ai = ai_access(ctx, identity)
    days_inactive = days_between(now, identity.last_activity or identity.created)
    human = identity.human_use
    admin = profile.admin
    creds = [{"id": c.id, "type": c.type.value, "static": is_static(c),
              "active": is_active(c, identity), "age_days": days_between(now, c.created) or 0} for c in credentials]
    active_static = sum(1 for c in creds if c["static"] and c["active"])
    classification = classification_of(ctx, identity)
    wildcard_actions, wildcard_evidence = analysis.profiles.wildcards(identity)
    trusts = trust_facts(ctx, identity)
    return {
        "id": identity.id, "name": identity.name, "provider": identity.provider.value,
        "account": identity.account, "kind": identity.kind.value, "tags": dict(identity.tags),
        "owner": identity.owner or identity.tags.get("owner", ""),
        "age_days": days_between(now, identity.created) or 0,
        "never_used": identity.last_activity is None,
        # Without any record of activity for the account (no sign-in reports, no Policy Analyzer), "never
        # used" is unknown, not a fact.
        "activity_known": identity.last_activity is not None
        or (identity.provider.value, identity.account) not in ctx.usage_unrecorded,
        "days_inactive": days_inactive if days_inactive is not None else 0,
        "disabled": identity.disabled,
        "declared": bool(integrations),
        "integrations": [i.name for i in integrations],
        "served_integrations": served_integrations(integrations, workloads),
        "environments": environments,
        "environment_sources": env_sources,
        "env_crossings": crossings,
        "workloads": [{"id": w.id, "kind": w.kind, "name": w.name,
                       "integration": workload_integration(w)} for w in workloads],
        "credentials": creds,
        "active_static_credentials": active_static,
        "can_invoke_ai": bool(ai),
        "ai_explicit": any(not a["wildcard_only"] for a in ai),
        "ai_access": ai,
        "ai_via_chain": _ai_via_chain(ctx, identity),
        "reach": reach,
        "out_of_scope": out_of_scope,
        "unconditioned_grants": unconditioned_grants(ctx, identity, integrations),
        "is_admin": admin is not None,
        "admin_evidence": admin.reason if admin is not None else "",
        "broad_roles": broad_roles(ctx, identity),
        "default_compute_sa": is_default_compute_sa(identity),
        "azure_broad_roles": azure_broad_roles(ctx, identity),
        "graph_permissions": graph_permissions(ctx, identity),
        "publisher": identity.attributes.get("publisher", ""),
        "wildcard_actions": wildcard_actions,
        "wildcard_evidence": wildcard_evidence,
        "escalations": analysis.escalations.get(identity.id, ()),
        "escalation_path": escalation_path(ctx, analysis, identity) if admin is None else {},
        "latent_escalations": analysis.latent_escalations.get(identity.id, ()),
        "static_key_groups": static_key_groups(ctx, identity, credentials),
        "trusts": trusts,
        "external_trusts": tuple(t for t in trusts if t["external"]),
        "classification": classification.as_fact(),
        "looks_human": classification.cls == "human",
        "human_use": {
            "console_password": bool(human and human.console_password),
            "password_days_since_use": days_between(now, human.password_last_used) if human and
            human.password_last_used else -1,
            "interactive_sign_in": bool(human and human.interactive_sign_in),
            "mfa_active": bool(human and human.mfa_active),
        },
        "max_session_minutes": _session_minutes(identity),
        "policy": ctx.credential_rules_fact(identity),
        "audit_gaps": audit_gaps(ctx, identity, integrations, bool(ai), reach),
    }
