"""AWS guardrails: a permissions boundary per group of declared roles and users (aws_boundary.py) and the SCP
for AI invocation with the tags it relies on (aws_scp.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nhiaudit.enforce.aws_boundary import BOUNDED_KINDS, BoundaryBuilder
from nhiaudit.enforce.aws_scp import scp_guardrail, tag_assignments
from nhiaudit.enforce.interface import EnforceInputs, ProviderGuardrails
from nhiaudit.findings import Finding
from nhiaudit.inventory.model import Identity, Provider

MAX_LISTED_SHADOW = 20


def _meant_to_stop(findings: list[Finding]) -> tuple[str, ...]:
    """The undeclared AI identities the SCP is meant to stop (its check says whether it does)."""
    ids = sorted({f.identity.id for f in findings if f.category.value == "undeclared-ai-identity" and f.identity
                  and f.identity.provider == Provider.AWS.value})
    if not ids:
        return ()
    more = f" (+{len(ids) - MAX_LISTED_SHADOW} more)" if len(ids) > MAX_LISTED_SHADOW else ""
    return (f"meant to stop {len(ids)} undeclared AI identit{'y' if len(ids) == 1 else 'ies'}: "
            + ", ".join(ids[:MAX_LISTED_SHADOW]) + more,)


@dataclass(frozen=True)
class AwsGenerator:
    provider: Provider = Provider.AWS

    def generate(self, inputs: EnforceInputs) -> ProviderGuardrails:
        if not any(i.provider is Provider.AWS for i in inputs.snapshot.identities):
            return ProviderGuardrails()
        today = inputs.today
        groups: dict[tuple[str, ...], list[Identity]] = {}
        skipped = []
        for iid, (identity, names) in inputs.declared(Provider.AWS).items():
            if identity.kind in BOUNDED_KINDS:
                groups.setdefault(names, []).append(identity)
            else:
                skipped.append(f"{iid} ({', '.join(names)}): a {identity.kind.value} takes no permissions boundary")
        builder = BoundaryBuilder(inputs.policy, today, {p.id: p for p in inputs.snapshot.policies})
        guardrails = [builder.build(names, members) for names, members in sorted(groups.items())]
        scp = scp_guardrail(inputs.policy, today.context.ai_capability.get("aws", {}).get("actions", []))
        guardrails.append(replace(scp, notes=(*scp.notes, *_meant_to_stop(today.findings))))
        tags = tag_assignments(inputs.policy, today.estate.bindings, today.estate.identities)
        return ProviderGuardrails(tuple(guardrails), tuple(tags), tuple(skipped))
