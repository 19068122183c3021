"""Verification by re-analysis: the estate with the guardrails applied, analysed again by the same rules
(GCP and Azure guardrails are applied by apply_cloud.py, the same way their connectors record them).

The copy of the snapshot holds each generated boundary as a policy and names it as the permissions boundary
of each target identity, replacing any boundary it has: AWS gives a principal one boundary, and the generated
one allows only what the identity can do today inside may_reach, so it is never wider than the one it replaces.
Per guardrail the check says which findings of the checked categories close and which remain, what access
to systems outside may_reach goes away, and what access to may_reach systems is lowered or lost (through a
role chain, for instance: a boundary also limits sts:AssumeRole). A remaining finding and a lost may_reach
access both fail the check: the guardrail must enforce the written scope and take nothing it allows.

The SCP is checked by an `ScpVerifier` (verify_scp.py by default, which build_plan passes), on its own copy of
the estate: the SCP with the tags it relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from nhiaudit.analysis import Analysis, analyse
from nhiaudit.enforce.apply_cloud import with_cloud_guardrails
from nhiaudit.enforce.aws_request_conditions import without_placeholders
from nhiaudit.enforce.model import AccessChange, Guardrail, GuardrailCheck, GuardrailKind
from nhiaudit.findings import Finding
from nhiaudit.graph.model import identity_node
from nhiaudit.graph.reach import SystemReach
from nhiaudit.inventory.model import Policy, Provider, Statement
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.policy.model import WrittenPolicy
from nhiaudit.rules_engine.loader import CompiledRule

CHECKED_CATEGORIES = ("scope-drift", "environment-crossing", "undeclared-ai-identity")
# Rules of those categories about what an identity *is* (its tags, the integrations declaring it), not what it
# reaches: no permission guardrail can close them; they stay listed, apart, and do not fail the verification.
NOT_ABOUT_REACH = frozenset({"env-multiple-environments"})
BOUNDARY_POLICY_PREFIX = "nhiaudit-enforce:"

# (estate, policy, SCP guardrail, analysis before) -> the SCP's check (verify_scp.ScpVerification)
ScpVerifier = Callable[[Snapshot, WrittenPolicy, Guardrail, Analysis], GuardrailCheck]


def _as_tuple(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def as_policy(guardrail: Guardrail) -> Policy:
    """The generated document as an inventory policy, as the connectors would record it once applied (a
    placeholder condition left out: it is not verified until the user fills it in)."""
    statements = tuple(
        Statement(effect=s["Effect"], actions=_as_tuple(s["Action"]), resources=_as_tuple(s["Resource"]),
                  conditions=without_placeholders(s.get("Condition", {})), sid=s.get("Sid"))
        for s in guardrail.document["Statement"])
    return Policy(id=f"{BOUNDARY_POLICY_PREFIX}{guardrail.name}", provider=Provider.AWS, name=guardrail.name,
                  kind="boundary", statements=statements)


def with_boundaries(snapshot: Snapshot, guardrails: Iterable[Guardrail]) -> Snapshot:
    """A copy of the snapshot with each boundary applied to its targets (the original is not changed)."""
    boundaries = [g for g in guardrails if g.kind is GuardrailKind.PERMISSIONS_BOUNDARY]
    applied = {t.identity_id: f"{BOUNDARY_POLICY_PREFIX}{g.name}" for g in boundaries for t in g.targets}
    identities = [i.model_copy(update={"boundary_policy_id": applied[i.id]}) if i.id in applied else i
                  for i in snapshot.identities]
    return snapshot.model_copy(update={"identities": identities,
                                       "policies": [*snapshot.policies, *(as_policy(g) for g in boundaries)]})


def _checked(findings: Iterable[Finding], ids: set[str]) -> dict[str, Finding]:
    return {f.fingerprint: f for f in findings
            if f.category.value in CHECKED_CATEGORIES and f.identity is not None and f.identity.id in ids}


def _text(f: Finding) -> str:
    return f"{f.rule_id}: {f.message}"


def chained(found: SystemReach) -> tuple[str, ...]:
    """The identities a reach goes through after its own, in order (empty: direct; account hubs left out)."""
    prefix = identity_node("")
    return tuple(h.target.removeprefix(prefix) for h in found.hops[:-1] if h.target.startswith(prefix))


def level(analysis: Analysis, identity_id: str, system: str) -> tuple[str | None, int, tuple[str, ...]]:
    """Access level, its rank (-1: none) and the role chain it goes through (empty: direct)."""
    found = analysis.reach.reach(identity_id, system)
    if found is None:
        return None, -1, ()
    return found.access.value, found.access.rank, chained(found)


def check_boundary(guardrail: Guardrail, policy: WrittenPolicy, before: Analysis, after: Analysis) -> GuardrailCheck:
    ids = {t.identity_id for t in guardrail.targets}
    old, new = _checked(before.findings, ids), _checked(after.findings, ids)
    # may_reach of its integrations (what one forbids, none may): a GCP / Azure guardrail of one integration can
    # lower access to a may_reach system another of its guardrails serves (a project-level deny), still a loss.
    entries = [i for i in policy.integrations if i.name in guardrail.integrations]
    may = {s for i in entries for s in i.may_reach if not any(s in j.must_not_reach for j in entries)}
    removed, lost = [], []
    for identity_id in sorted(ids):
        for system in sorted(policy.systems):
            was, was_rank, chain = level(before, identity_id, system)
            now, now_rank, _ = level(after, identity_id, system)
            if was is None or now_rank >= was_rank:
                continue
            change = AccessChange(identity_id, system, was, now, chain)
            (lost if system in may else removed).append(change)
    return GuardrailCheck(
        guardrail=guardrail.name,
        closed=tuple(sorted(_text(f) for k, f in old.items() if k not in new)),
        remaining=tuple(sorted(_text(f) for f in new.values() if f.rule_id not in NOT_ABOUT_REACH)),
        unclosable=tuple(sorted(_text(f) for f in new.values() if f.rule_id in NOT_ABOUT_REACH)),
        removed=tuple(removed), lost=tuple(lost))


def verify(snapshot: Snapshot, policy: WrittenPolicy, as_of: date, rules: list[CompiledRule], before: Analysis,
           guardrails: Iterable[Guardrail], scp_verifier: ScpVerifier | None = None) -> list[GuardrailCheck]:
    guardrails = list(guardrails)
    after = analyse(with_cloud_guardrails(with_boundaries(snapshot, guardrails), guardrails), policy, as_of, rules)
    checks = []
    for g in guardrails:
        if g.kind is not GuardrailKind.SERVICE_CONTROL_POLICY:
            checks.append(check_boundary(g, policy, before, after))
        elif scp_verifier is not None:
            checks.append(scp_verifier(snapshot, policy, g, before))
        else:
            checks.append(GuardrailCheck(
                guardrail=g.name, evaluated=False,
                note="not evaluated: no SCP verifier was given"))
    return checks
