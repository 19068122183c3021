"""Identity -> system reach, with the work shared between identities that share policies.

Without a permissions boundary and without any Deny statement, an identity's allowed actions are the
union of what each of its policies allows, so its access to a system is the highest access any one of
its policies gives: that per-(policy, system) answer is computed once and combined. Identities with a
boundary, a Deny, or a policy missing from the snapshot go through the full evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping

from nhiaudit.inventory.model import Identity, Policy
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.results import Reach


class SystemReachEvaluator:
    def __init__(self, evaluator: Evaluator, policies: Mapping[str, Policy]) -> None:
        self._evaluator = evaluator
        self._policies = policies
        self._per_policy: dict[tuple[str, str], Reach | None] = {}
        self._has_deny = {pid: any(st.effect == "Deny" for st in p.statements) for pid, p in policies.items()}

    def _policy_reach(self, identity: Identity, pid: str, system: str, patterns: list[str]) -> Reach | None:
        probe = Identity(id=f"probe:{pid}", provider=identity.provider, account="", kind=identity.kind,
                         name="probe", policy_ids=(pid,))
        result = self._per_policy[(pid, system)] = self._evaluator.reach(probe, patterns)
        return result

    def reach(self, identity: Identity, system: str, patterns: list[str]) -> Reach | None:
        if self._evaluator.context_key(identity):
            # Its policies' conditions test the identity (MFA, tags): a policy alone, on a probe, cannot say.
            return self._evaluator.reach(identity, patterns)
        cache = self._per_policy
        hits = []
        for pid in identity.policy_ids:
            key = (pid, system)
            r = cache[key] if key in cache else self._policy_reach(identity, pid, system, patterns)
            if r is not None:
                hits.append(r)
        if not hits:
            return None  # boundaries and Denies only narrow: nothing allows anything on the system
        exact_union = not identity.boundary_policy_id and all(
            self._has_deny.get(pid) is False for pid in identity.policy_ids)
        if not exact_union:
            return self._evaluator.reach(identity, patterns)
        if len(hits) == 1:
            return hits[0]
        hits.sort(key=lambda r: -r.level.rank)
        return Reach(
            level=hits[0].level,
            resource_patterns=hits[0].resource_patterns,
            statements=tuple(s for r in hits for s in r.statements),
            unknown_actions=tuple(dict.fromkeys(a for r in hits for a in r.unknown_actions)),
        )
