"""Audit facts of an AI access path: which of its model calls, secret reads and data access the cloud records,
against what the written policy requires (`audit:` in defaults and per integration).

An identity is an AI access path when an integration lists it or it can call AI models; an undeclared one is
held to `defaults.audit`, a declared one to the strictest of its integrations (`required` wins). Only what is
required becomes a gap (`audit_gaps`); explain shows every kind (`assess`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nhiaudit.facts.audit_aws import assess_aws
from nhiaudit.facts.audit_azure import assess_azure
from nhiaudit.facts.audit_gcp import assess_gcp
from nhiaudit.facts.audit_index import Assessment
from nhiaudit.facts.context import FactContext
from nhiaudit.facts.memo import memo
from nhiaudit.inventory.model import Identity, Provider
from nhiaudit.policy.model import AuditRules, Integration, WrittenPolicy

AUDIT_KINDS = ("model_invocations", "secret_access", "data_access")


def audit_rules_for(policy: WrittenPolicy, integrations: Sequence[Integration]) -> AuditRules:
    """The strictest audit requirements across the integrations (the policy defaults when there is none)."""
    layers = [policy.effective_audit(i) for i in integrations] or [policy.effective_audit(None)]
    return AuditRules(**{k: "required" if any(getattr(x, k) == "required" for x in layers) else "optional"
                         for k in AUDIT_KINDS})


def assess(ctx: FactContext, identity: Identity, kinds: set[str], reach: Sequence[dict[str, Any]]) -> list[Assessment]:
    """Every requested kind of access of the identity, assessed."""
    if identity.provider is Provider.GCP:
        return assess_gcp(ctx, identity, kinds, reach)
    if identity.provider is Provider.AZURE:
        return assess_azure(ctx, identity, kinds, reach)
    return assess_aws(ctx, identity, kinds, reach)


def _required(rules: AuditRules) -> set[str]:
    return {k for k in AUDIT_KINDS if getattr(rules, k) == "required"}


def audit_gaps(ctx: FactContext, identity: Identity, integrations: Sequence[Integration], can_invoke_ai: bool,
               reach: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `audit_gaps` fact: required kinds of access that are known not to be recorded."""
    if identity.disabled or not (integrations or can_invoke_ai):
        return []
    # Few combinations of integrations: the requirements of each are worked out once.
    names = "\x1f".join(i.name for i in integrations)
    required = memo(ctx, f"audit_required:{names}", lambda: _required(audit_rules_for(ctx.policy, integrations)))
    if not required:
        return []
    out = []
    for a in assess(ctx, identity, required, reach):
        if a.verdict is not False:
            continue
        out.append({
            "kind": a.kind, "requirement": "required", "account": a.account, "system": a.system,
            "detail": a.detail, "missing": list(a.missing), "recorded_by": list(a.where), "checked": list(a.checked),
            "classification": (ctx.policy.systems[a.system].classification or "") if a.system else "",
            "integrations": [i.name for i in integrations],
            "key": f"{a.kind}/{a.system or a.account}",
        })
    return out
