"""Build the enforce plan: analyse the estate, generate each provider's guardrails, verify them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from nhiaudit.analysis import analyse
from nhiaudit.enforce.aws_boundary import BoundaryBuilder, boundary_groups
from nhiaudit.enforce.aws_scp import scp_guardrail, tag_assignments
from nhiaudit.enforce.model import EnforcePlan
from nhiaudit.enforce.verify import ScpVerifier, verify
from nhiaudit.findings import Finding
from nhiaudit.inventory.model import Provider
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.policy.model import WrittenPolicy
from nhiaudit.rules_engine.loader import CompiledRule

MAX_LISTED_SHADOW = 20


def _meant_to_stop(findings: list[Finding]) -> tuple[str, ...]:
    """The undeclared AI identities the SCP is meant to stop: named, not claimed (SCPs are not evaluated)."""
    ids = sorted({f.identity.id for f in findings if f.category.value == "undeclared-ai-identity" and f.identity
                  and f.identity.provider == Provider.AWS.value})
    if not ids:
        return ()
    more = f" (+{len(ids) - MAX_LISTED_SHADOW} more)" if len(ids) > MAX_LISTED_SHADOW else ""
    return (f"meant to stop {len(ids)} undeclared AI identit{'y' if len(ids) == 1 else 'ies'} (not verified): "
            + ", ".join(ids[:MAX_LISTED_SHADOW]) + more,)


def build_plan(snapshot: Snapshot, policy: WrittenPolicy, as_of: date, rules: list[CompiledRule],
               scp_verifier: ScpVerifier | None = None) -> EnforcePlan:
    before = analyse(snapshot, policy, as_of, rules)
    ctx = before.context
    bindings = before.estate.bindings
    groups, skipped = boundary_groups(bindings, before.estate.identities)
    builder = BoundaryBuilder(policy, ctx.evaluator, {p.id: p for p in snapshot.policies})
    guardrails = [builder.build(names, members) for names, members in sorted(groups.items())]
    bound = {name for names in groups for name in names}
    skipped.extend(f"integration {i.name}: no AWS role or user of the estate matches its identities"
                   for i in policy.integrations if i.name not in bound and not any(
                       i.name in names for names in bindings.values()))
    has_aws = any(i.provider is Provider.AWS for i in snapshot.identities)
    tags = tag_assignments(policy, bindings, before.estate.identities) if has_aws else []
    if has_aws:
        scp = scp_guardrail(policy, ctx.ai_capability.get("aws", {}).get("actions", []))
        guardrails.append(replace(scp, notes=(*scp.notes, *_meant_to_stop(before.findings))))
    checks = verify(snapshot, policy, as_of, rules, before, guardrails, scp_verifier)
    return EnforcePlan(policy_file=policy.source_file, guardrails=tuple(guardrails), tags=tuple(tags),
                       checks=tuple(checks), skipped=tuple(sorted(skipped)))
