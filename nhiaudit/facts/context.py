"""Everything fact builders read: the snapshot, the policy, the graph and derived indexes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from nhiaudit.graph.build import EstateGraph
from nhiaudit.graph.reach import Reachability
from nhiaudit.inventory.model import Credential, Identity, Workload
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.policy.model import CredentialRules, Integration, WrittenPolicy


def load_ai_capability(path: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """The AI capability data (rules/ai_capability.yaml): provider -> {actions, delegated_resources}."""
    from nhiaudit.rules_engine.loader import shipped_rules_dir

    source = path or shipped_rules_dir() / "data" / "ai_capability.yaml"
    with source.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return {prov: {k: list(v or []) for k, v in (entry or {}).items()} for prov, entry in data.items()}


def days_between(later: datetime, earlier: datetime | None) -> int | None:
    if earlier is None:
        return None
    if earlier.tzinfo is None:
        earlier = earlier.replace(tzinfo=UTC)
    return max(0, (later - earlier).days)


ENVIRONMENT_TAG_KEYS = ("environment", "env", "stage", "Environment", "Env", "Stage")


@dataclass
class FactContext:
    estate: EstateGraph
    reach: Reachability
    evaluator: Evaluator
    as_of: date
    ai_capability: dict[str, dict[str, list[str]]]
    credentials_by_identity: dict[str, list[Credential]] = field(default_factory=lambda: defaultdict(list))
    extra_gcp_domains: tuple[str, ...] = ()  # --gcp-domain, added to the policy's defaults.gcp.domains
    workloads_by_identity: dict[str, list[Workload]] = field(default_factory=lambda: defaultdict(list))

    _rules_cache: dict[tuple[str, ...], CredentialRules] = field(default_factory=dict)
    _rules_facts: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    derived: dict[str, Any] = field(default_factory=dict)  # estate-wide data built once (facts/memo.py)

    def __post_init__(self) -> None:
        for cred in self.estate.snapshot.credentials:
            self.credentials_by_identity[cred.identity_id].append(cred)
        for wl in self.estate.snapshot.workloads:
            self.workloads_by_identity[wl.identity_id].append(wl)

    @property
    def policy(self) -> WrittenPolicy:
        return self.estate.policy

    @cached_property
    def now(self) -> datetime:
        """The end of the --as-of day, so anything dated that day counts as past."""
        return datetime.combine(self.as_of, time(23, 59, 59), UTC)

    @cached_property
    def usage_unrecorded(self) -> frozenset[tuple[str, str]]:
        """(provider, account) of sources that hold no record of credential use at all."""
        return frozenset((s.provider.value, s.account) for s in self.estate.snapshot.sources
                         if not s.usage_recorded)

    @cached_property
    def gcp_domains(self) -> tuple[str, ...]:
        """The organisation's own domains (lower case): the policy's `defaults.gcp.domains`, --gcp-domain and,
        in union with them, the primary domain of every collected organisation (SourceInfo.organization_domain)."""
        collected = [s.organization_domain for s in self.estate.snapshot.sources if s.organization_domain]
        found = [d.lower() for d in (*self.policy.defaults.gcp.domains, *self.extra_gcp_domains, *collected)]
        return tuple(sorted(set(found)))

    @cached_property
    def integrations(self) -> dict[str, tuple[int, Integration]]:
        return {i.name: (idx, i) for idx, i in enumerate(self.policy.integrations)}

    def integrations_of(self, identity: Identity) -> list[Integration]:
        return [self.integrations[n][1] for n in self.estate.bindings.get(identity.id, [])]

    def credential_rules_for(self, identity: Identity) -> CredentialRules:
        """The strictest rules across every integration binding the identity (defaults if none)."""
        key = tuple(self.estate.bindings.get(identity.id, ()))
        hit = self._rules_cache.get(key)
        if hit is None:
            hit = self._rules_cache[key] = self._strictest(self.integrations_of(identity))
        return hit

    def credential_rules_fact(self, identity: Identity) -> dict[str, Any]:
        """The `policy` fact: `credential_rules_for` as a dict, one per combination of integrations, shared by
        its identities (facts are read, never changed)."""
        key = tuple(self.estate.bindings.get(identity.id, ()))
        hit = self._rules_facts.get(key)
        if hit is None:
            hit = self._rules_facts[key] = self.credential_rules_for(identity).model_dump()
        return hit

    def _strictest(self, integrations: list[Integration]) -> CredentialRules:
        if not integrations:
            return self.policy.effective_credentials(None)
        layers = [self.policy.effective_credentials(i) for i in integrations]
        return CredentialRules(
            max_age_days=min(x.max_age_days for x in layers if x.max_age_days is not None),
            max_unused_days=min(x.max_unused_days for x in layers if x.max_unused_days is not None),
            require_expiry=any(x.require_expiry for x in layers),
            static_keys="forbidden" if any(x.static_keys == "forbidden" for x in layers) else "allowed",
            grace_days=min(x.grace_days for x in layers if x.grace_days is not None),
            max_session_minutes=min((x.max_session_minutes for x in layers if x.max_session_minutes is not None),
                                    default=None),
        )

    def environments_of(self, identity: Identity) -> list[str]:
        envs = {identity.tags[k].lower() for k in ENVIRONMENT_TAG_KEYS if identity.tags.get(k)}
        envs.update(i.environment.lower() for i in self.integrations_of(identity) if i.environment)
        return sorted(envs)
