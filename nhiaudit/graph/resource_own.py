"""What identity policies alone allow on one held resource (a bucket, a key), per policy, for resource_reach.py.

SystemReachEvaluator caches each policy's answer per system; here per resource, and a policy's answer is shared by
every resource its statements name alike: a statement on `*` or `arn:aws:s3:::bucket-*` answers bucket-1 and
bucket-2 the same way (only the resource named in the answer differs), so a policy is evaluated once per distinct
way its statements meet the resources, not once per resource. A policy none of whose Allow statements can name the
resource costs no evaluation at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from nhiaudit.graph.system_reach import SystemReachEvaluator
from nhiaudit.inventory.model import Identity, Policy
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.patterns import resources_intersect
from nhiaudit.permissions.results import Reach

_CACHE_LIMIT = 200_000
_HERE = "\0"  # stands for the resource's ARN in a pattern's shape


Probe = Callable[[Identity, tuple[str, ...], "str | None"], Identity]  # the identity holding other policy ids


class ResourceOwnReach(SystemReachEvaluator):
    def __init__(self, evaluator: Evaluator, policies: Mapping[str, Policy], probe: Probe) -> None:
        super().__init__(evaluator, policies)
        self._probe = probe
        self._signatures: dict[tuple[str, str], tuple[object, ...]] = {}
        self._shared: dict[tuple[object, ...], Reach | None] = {}
        self._asked: dict[tuple[object, ...], Reach | None] = {}  # engine answers for (policies, boundary, facts)

    def reach_on(self, identity: Identity, system: str, arn: str, patterns: Sequence[str]) -> Reach | None:
        """Access the identity's own policies give on the resource `arn` (its `patterns`: bucket and objects)."""
        if not self.names(identity, arn, patterns):
            return None  # no Allow of its policies can name the resource (boundaries and Denies only narrow)
        exact = not identity.boundary_policy_id and all(self._has_deny.get(p) is False for p in identity.policy_ids)
        context = self._evaluator.context_key(identity)
        if exact and not context:
            return self.reach(identity, f"{system}{_HERE}{arn}", list(patterns))
        # A boundary, a Deny or conditions on the identity: the engine, on the policies that matter here only, so
        # identities that differ in other policies share the answer.
        touching = self.touching(identity, arn, patterns)
        key = (touching, identity.boundary_policy_id, tuple(patterns), context)
        if key in self._asked:
            return self._asked[key]
        probe = self._probe(identity, touching, identity.boundary_policy_id)
        result = self._evaluator.reach(probe, list(patterns))
        if len(self._asked) >= _CACHE_LIMIT:
            self._asked.clear()
        self._asked[key] = result
        return result

    def names(self, identity: Identity, arn: str, patterns: Sequence[str]) -> bool:
        """Can an Allow of the identity's policies name the resource at all? (cheap: cached per policy)"""
        return any(self._signature(pid, arn, patterns) for pid in identity.policy_ids)

    def touching(self, identity: Identity, arn: str, patterns: Sequence[str]) -> tuple[str, ...]:
        """The identity's policies that can allow something on the resource, or hold a Deny: all that an evaluation
        on the resource needs (identities that differ only in other policies share it)."""
        return tuple(pid for pid in identity.policy_ids if self._signature(pid, arn, patterns) or self._has_deny.get(
            pid, pid not in self._policies))

    def _signature(self, pid: str, arn: str, patterns: Sequence[str]) -> tuple[object, ...]:
        """How the policy's Allow statements meet the resource: per pattern, the statement resources that can
        name it (NotResource statements: the pattern itself, so they are never shared). () when none can."""
        key = (pid, arn)
        hit = self._signatures.get(key)
        if hit is None:
            found: list[tuple[object, ...]] = []
            for stmt in self._evaluator.statements(pid):
                if stmt.effect != "Allow":
                    continue
                for p in patterns:
                    if stmt.not_resources:
                        found.append((stmt.index, p))
                        continue
                    entries = tuple(r for r in stmt.wide_resources if resources_intersect(r, p))
                    if entries:
                        found.append((stmt.index, p.replace(arn, _HERE, 1), entries))
            if len(self._signatures) >= _CACHE_LIMIT:
                self._signatures.clear()
            hit = self._signatures[key] = tuple(found)
        return hit

    def _policy_reach(self, identity: Identity, pid: str, system: str, patterns: list[str]) -> Reach | None:
        arn = system.partition(_HERE)[2]
        signature = self._signature(pid, arn, patterns)
        if not signature:
            result = self._per_policy[(pid, system)] = None
            return result
        shape = (pid, signature, tuple(p.replace(arn, _HERE, 1) for p in patterns))
        if shape in self._shared:
            base = self._shared[shape]
            result = dataclasses.replace(base, resource_patterns=tuple(patterns)) if base is not None else None
            self._per_policy[(pid, system)] = result
            return result
        result = super()._policy_reach(identity, pid, system, patterns)
        if len(self._shared) >= _CACHE_LIMIT:
            self._shared.clear()
        self._shared[shape] = result
        return result
