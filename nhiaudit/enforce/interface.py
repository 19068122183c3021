"""The interface every provider's guardrail generator implements (one module per provider: aws.py, gcp.py,
azure.py).

A generator reads the estate as analysed today and returns frozen records: the guardrails, the tags they
rely on, and what it leaves out and why. Verification (verify.py) and rendering never depend on the provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from nhiaudit.analysis import Analysis
from nhiaudit.enforce.model import Guardrail, TagAssignment
from nhiaudit.inventory.model import Identity, Provider
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.policy.model import WrittenPolicy


@dataclass(frozen=True)
class EnforceInputs:
    snapshot: Snapshot
    policy: WrittenPolicy
    today: Analysis  # the estate analysed as it is, before any guardrail

    def declared(self, provider: Provider) -> dict[str, tuple[Identity, tuple[str, ...]]]:
        """Identity id -> (identity, the integrations declaring it, sorted), for one provider's identities."""
        identities = self.today.estate.identities
        return {iid: (identities[iid], tuple(sorted(set(names))))
                for iid, names in sorted(self.today.estate.bindings.items())
                if iid in identities and identities[iid].provider is provider}


@dataclass(frozen=True)
class ProviderGuardrails:
    guardrails: tuple[Guardrail, ...] = ()
    tags: tuple[TagAssignment, ...] = ()
    skipped: tuple[str, ...] = ()  # identities or integrations it covers no guardrail for, and why


class GuardrailGenerator(Protocol):
    provider: Provider

    def generate(self, inputs: EnforceInputs) -> ProviderGuardrails: ...
