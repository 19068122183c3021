"""Identity -> system reach, with the work shared between identities that share policies.

Without a permissions boundary and without a Deny that could apply to the system, an identity's allowed
actions there are the union of what each of its policies allows, so its access to a system is the highest
access any one of its policies gives: that per-(policy, system) answer is computed once and combined.
Identities with a boundary, a Deny touching the system's resources, or a policy missing from the snapshot go
through the full evaluator (a Deny on other resources or actions changes nothing the full evaluator would
say about this system).
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
        self._deny_touches: dict[tuple[str, str], bool] = {}
        # Callers ask about every system for one identity in turn: its context key is computed once.
        self._dynamic: tuple[Identity | None, bool] = (None, False)
        # Per-policy answers combined, per tuple of the answers' ids (each held by _per_policy for good).
        self._combined: dict[tuple[int, ...], Reach] = {}

    def _policy_reach(self, identity: Identity, pid: str, system: str, patterns: list[str]) -> Reach | None:
        probe = Identity(id=f"probe:{pid}", provider=identity.provider, account="", kind=identity.kind,
                         name="probe", policy_ids=(pid,))
        result = self._per_policy[(pid, system)] = self._evaluator.reach(probe, patterns)
        return result

    def _denies_touch(self, identity: Identity, pid: str, system: str, patterns: list[str]) -> bool:
        has_deny = self._has_deny.get(pid)
        if has_deny is False:
            return False
        if has_deny is None:  # missing from the snapshot: the full evaluator says so
            return True
        key = (pid, system)
        hit = self._deny_touches.get(key)
        if hit is None:
            hit = self._deny_touches[key] = self._evaluator.denies_touch(identity, pid, patterns)
        return hit

    def reach(self, identity: Identity, system: str, patterns: list[str]) -> Reach | None:
        if self._dynamic[0] is not identity:
            self._dynamic = (identity, bool(self._evaluator.context_key(identity)))
        if self._dynamic[1]:
            # Its policies' conditions test the identity (MFA, tags): a policy alone, on a probe, cannot say.
            return self._evaluator.reach(identity, patterns)
        cache = self._per_policy
        hits = []
        for pid in dict.fromkeys(identity.policy_ids):  # a policy attached twice (directly and by a group) counts once
            key = (pid, system)
            r = cache[key] if key in cache else self._policy_reach(identity, pid, system, patterns)
            if r is not None:
                hits.append(r)
        if not hits:
            return None  # boundaries and Denies only narrow: nothing allows anything on the system
        exact_union = not identity.boundary_policy_id and not any(
            self._denies_touch(identity, pid, system, patterns) for pid in identity.policy_ids)
        if not exact_union:
            return self._evaluator.reach(identity, patterns)
        if len(hits) == 1:
            return hits[0]
        key = tuple(map(id, hits))
        combined = self._combined.get(key)
        if combined is None:
            hits.sort(key=lambda r: -r.level.rank)
            combined = self._combined[key] = Reach(
                level=hits[0].level,
                resource_patterns=hits[0].resource_patterns,
                statements=tuple(s for r in hits for s in r.statements),
                unknown_actions=tuple(dict.fromkeys(a for r in hits for a in r.unknown_actions)),
            )
        return combined
