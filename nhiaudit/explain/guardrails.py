"""What the organisation's SCPs and RCPs took away, for `explain`: read from what the evaluator recorded
while the analysis answered each question (permissions/guardrails.py), never by evaluating again."""

from __future__ import annotations

from nhiaudit.facts.context import FactContext
from nhiaudit.graph.build import system_provider
from nhiaudit.inventory.model import Identity, Provider

_SHOWN = 5  # removed actions named per note


def _system_patterns(ctx: FactContext, name: str, provider: Provider) -> list[tuple[str, ...]]:
    """The pattern groups the graph asked about (one per provider the patterns belong to), as it asked."""
    groups: dict[Provider | None, list[str]] = {}
    for pattern in ctx.policy.systems[name].resources:
        if not pattern.startswith("delegated:"):
            groups.setdefault(system_provider(pattern), []).append(pattern)
    return [tuple(dict.fromkeys(groups[p])) for p in (provider, None) if p in groups]


def _actions(names: tuple[str, ...]) -> str:
    return f" ({', '.join(names[:_SHOWN])}{', ...' if len(names) > _SHOWN else ''})" if names else ""


def system_removals(ctx: FactContext, identity: Identity, system: str, who: str | None = None) -> list[str]:
    """"access to SYSTEM (actions) removed by SCP p-... (name), statement N (Sid), attached to ou-..." lines: the
    actions named are those removed (access may remain through others). `who` names the identity (its name by
    default; its id where names may repeat)."""
    ev = ctx.evaluator
    out: list[str] = []
    for patterns in _system_patterns(ctx, system, identity.provider):
        for r in ev.guardrail_removals(identity, ("reach", patterns)):
            out.append(f"{who or identity.name}: access to {system}{_actions(r.actions)} {r.text}")
    return list(dict.fromkeys(out))


def guardrail_notes(ctx: FactContext, identity: Identity) -> list[str]:
    """Every recorded removal for the identity: per policy system, and for AI model calls."""
    if identity.provider is not Provider.AWS:
        return []
    out = [line for system in sorted(ctx.policy.systems) for line in system_removals(ctx, identity, system)]
    for r in ctx.evaluator.guardrail_removals(identity, ("admin",)):
        out.append(f"{identity.name}: administrator access (* on *) {r.text}")
    ai_actions = tuple(ctx.ai_capability.get(Provider.AWS.value, {}).get("actions", []))
    for r in ctx.evaluator.guardrail_removals(identity, ("actions", ai_actions, "*")):
        out.append(f"{identity.name}: AI model calls{_actions(r.actions)} {r.text}")
    return list(dict.fromkeys(out))
