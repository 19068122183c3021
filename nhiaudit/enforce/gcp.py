"""GCP guardrails: an IAM deny policy per group of declared service accounts (gcp_deny.py) and their role
bindings narrowed by IAM conditions to the `may_reach` resources (gcp_bindings.py)."""

from __future__ import annotations

from dataclasses import dataclass

from nhiaudit.enforce.gcp_bindings import binding_guardrails
from nhiaudit.enforce.gcp_deny import deny_guardrails, gcp_patterns
from nhiaudit.enforce.interface import EnforceInputs, ProviderGuardrails
from nhiaudit.inventory.model import Identity, IdentityKind, Provider


@dataclass(frozen=True)
class GcpGenerator:
    provider: Provider = Provider.GCP

    def generate(self, inputs: EnforceInputs) -> ProviderGuardrails:
        groups: dict[tuple[str, ...], list[Identity]] = {}
        skipped = []
        for iid, (identity, names) in inputs.declared(Provider.GCP).items():
            if identity.kind is IdentityKind.SERVICE_ACCOUNT:
                groups.setdefault(names, []).append(identity)
            else:
                skipped.append(f"{iid} ({', '.join(names)}): a {identity.kind.value} is not a service account")
        policies = {p.id: p for p in inputs.snapshot.policies}
        guardrails = []
        for names, members in sorted(groups.items()):
            entries = [i for i in inputs.policy.integrations if i.name in names]
            may = gcp_patterns(inputs.policy, (s for i in entries for s in i.may_reach
                                               if not any(s in j.must_not_reach for j in entries)))
            evaluator = inputs.today.context.evaluator
            bindings, notes = binding_guardrails(names, members, may, evaluator, policies)
            replaced = frozenset(pid for g in bindings for pid in g.replaces)
            denies, unmatched = deny_guardrails(inputs.policy, names, members, may, evaluator, replaced)
            notes += unmatched
            guardrails += denies + bindings
            skipped += [f"{', '.join(names)}: {n}" for n in notes]
            if not denies and not bindings and not unmatched:
                skipped.append(f"{', '.join(names)}: no GCP guardrail needed (no must_not_reach resource, no "
                               "scope-wide binding reaching may_reach)")
        return ProviderGuardrails(tuple(guardrails), (), tuple(skipped))
