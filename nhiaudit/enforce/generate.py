"""Build the enforce plan: analyse the estate, run each provider's generator, verify the guardrails."""

from __future__ import annotations

from datetime import date

from nhiaudit.analysis import analyse
from nhiaudit.enforce.aws import AwsGenerator
from nhiaudit.enforce.azure import AzureGenerator
from nhiaudit.enforce.gcp import GcpGenerator
from nhiaudit.enforce.interface import EnforceInputs, GuardrailGenerator
from nhiaudit.enforce.model import EnforcePlan
from nhiaudit.enforce.verify import ScpVerifier, verify
from nhiaudit.enforce.verify_scp import ScpVerification
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.policy.model import WrittenPolicy
from nhiaudit.rules_engine.loader import CompiledRule

GENERATORS: tuple[GuardrailGenerator, ...] = (AwsGenerator(), GcpGenerator(), AzureGenerator())


def build_plan(snapshot: Snapshot, policy: WrittenPolicy, as_of: date, rules: list[CompiledRule],
               scp_verifier: ScpVerifier | None = None) -> EnforcePlan:
    today = analyse(snapshot, policy, as_of, rules)
    inputs = EnforceInputs(snapshot, policy, today)
    outputs = [g.generate(inputs) for g in GENERATORS]
    covered = {g.provider for g in GENERATORS}
    skipped = [s for o in outputs for s in o.skipped]
    skipped += [f"{iid} ({', '.join(names)}): no {ident.provider.value} guardrail is generated yet"
                for iid, names_list in sorted(today.estate.bindings.items())
                if (ident := today.estate.identities.get(iid)) is not None and ident.provider not in covered
                for names in [sorted(set(names_list))]]
    bound = {n for names in today.estate.bindings.values() for n in names}
    skipped += [f"integration {i.name}: no identity of the estate matches its identities"
                for i in policy.integrations if i.name not in bound]
    guardrails = tuple(g for o in outputs for g in o.guardrails)
    checks = verify(snapshot, policy, as_of, rules, today, guardrails, scp_verifier or ScpVerification(as_of, rules))
    return EnforcePlan(policy_file=policy.source_file, guardrails=guardrails,
                       tags=tuple(t for o in outputs for t in o.tags), checks=tuple(checks),
                       skipped=tuple(sorted(skipped)))
