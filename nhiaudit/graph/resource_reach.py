"""Identity -> system reach with AWS resource-based policies (bucket, key, secret, function, queue, topic policies).

Which resources a system covers: the resource records whose ARN one of its patterns matches (S3: a pattern on a
bucket's objects, `arn:aws:s3:::b/*`, covers bucket b too), found once per system. A pattern that covers at least
one held resource is answered from those resources alone (the collection listed what the pattern names); a pattern
that covers none keeps the identity-policy answer (a resource the snapshot does not hold is unknown, not denied).

Per held resource, AWS's policy evaluation logic (IAM User Guide, "Cross-account policy evaluation logic" and
"Policy evaluation logic"; KMS Developer Guide, "Key policies"):
- same account: identity policy OR a resource-policy statement naming the identity itself (or `*`); a statement
  naming only the account adds nothing. KMS: the key policy must allow, naming the identity, or naming the account
  root (which enables identity policies: then identity policy AND that statement); grants allow their operations
  to the grantee;
- another account: identity policy AND a resource-policy statement naming the identity, its account or `*`;
- a Deny of the resource policy naming the identity, its account or `*` applies to both, as identity-policy Denies
  do (unconditional: removes; conditional: recorded in evidence).
Each statement set goes through the same engine as identity policies (`Evaluator.with_policies`), so actions,
resources, conditions (aws:PrincipalOrgID and the other principal facts), levels and Deny rules are the same.
The access level of "A AND B" is the lower of the two levels (the actions both allow are not intersected).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence

from nhiaudit.graph.resource_own import ResourceOwnReach
from nhiaudit.graph.system_reach import SystemReachEvaluator
from nhiaudit.inventory.model import Identity, Policy, Provider
from nhiaudit.inventory.resources import ResourcePolicy
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.patterns import glob_match, resources_intersect
from nhiaudit.permissions.resource_policies import Match, ResourceIndex
from nhiaudit.permissions.results import Reach, StatementEvidence

_MAX_NAMED = 3  # principals a statement's evidence names
_CACHE_LIMIT = 200_000  # entries per cache; cleared (not grown) past it


def resource_patterns(pattern: str, record: ResourcePolicy) -> tuple[str, ...] | None:
    """The part of a system pattern that falls on the resource (as resource patterns), or None."""
    arn = record.id
    if glob_match(pattern, arn):
        return (arn, f"{arn}/*") if record.service == "s3" else (arn,)
    if record.service == "s3" and "/" in pattern:
        bucket, _, objects = pattern.partition("/")
        if glob_match(bucket, arn):
            return (f"{arn}/{objects}",)
    return None


@dataclasses.dataclass(frozen=True)
class _Held:
    unresolved: tuple[str, ...]  # patterns no held resource answers
    resources: tuple[tuple[ResourceIndex, tuple[str, ...]], ...]  # (resource, its patterns), by resource ARN


class ResourceReach:
    """`SystemReachEvaluator.reach` with resource policies applied; identical to it when none are held."""

    def __init__(self, evaluator: Evaluator, policies: Mapping[str, Policy], records: Iterable[ResourcePolicy]) -> None:
        self._system_reach = SystemReachEvaluator(evaluator, policies)
        self._indexes = [ResourceIndex.build(r) for r in sorted(records, key=lambda r: r.id)
                         if r.provider is Provider.AWS]
        statement_policies = {pid: p for ix in self._indexes for pid, p in ix.policies.items()}
        self._statements = {pid: (ix, s) for ix in self._indexes for pid, s in ix.statements.items()}
        # A probe (the identity with other policy ids) has the identity's own facts, from the main evaluator's cache.
        self._originals: dict[str, Identity] = {}
        self._evaluator = evaluator.with_policies(
            statement_policies, lambda probe: evaluator.principal(self._originals.get(probe.id, probe))
        ) if self._indexes else evaluator
        self._own_reach = ResourceOwnReach(self._evaluator, policies, self._probe)
        self._denying: dict[tuple[str, ...], tuple[str, ...]] = {}  # policy ids -> those holding a Deny
        # Resource-side answers, shared by identities alike in everything the statements can test.
        self._sides: dict[tuple[object, ...], Reach | None] = {}
        self._denies: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
        self._groups: dict[tuple[str, ...], str] = {}  # same-account resources asked together -> their cache name
        self._tests_arn: dict[tuple[str, ...], bool] = {}  # statements -> does a condition test aws:PrincipalArn
        self._held: dict[tuple[str, tuple[str, ...]], _Held] = {}
        self._relabelled: dict[int, tuple[Reach, Reach]] = {}
        self._evidence: dict[int, tuple[StatementEvidence, StatementEvidence]] = {}

    @property
    def indexes(self) -> list[ResourceIndex]:
        return self._indexes

    def reach(self, identity: Identity, system: str, patterns: list[str]) -> Reach | None:
        if not self._indexes or identity.provider is not Provider.AWS:
            return self._system_reach.reach(identity, system, patterns)
        held = self._held_for(system, patterns)
        if not held.resources:
            return self._system_reach.reach(identity, system, patterns)
        found: list[Reach] = []
        if held.unresolved:
            # A cache name of its own: SystemReachEvaluator caches per (policy, system name) for one pattern list.
            r = self._system_reach.reach(identity, f"{system}\0unheld", list(held.unresolved))
            if r is not None:
                found.append(r)
        # Resources of the identity's own account (not KMS) that no Deny of theirs names it in: access is its own
        # policies OR their statements, so its own policies are asked once for all of them together.
        plain: list[tuple[ResourceIndex, tuple[str, ...]]] = []
        for index, rpatterns in held.resources:
            m = self._match(identity, index, rpatterns)
            if not m.denies and identity.account == index.record.account and index.record.service != "kms":
                plain.append((index, rpatterns))
                side = self._resource_side(identity, m.direct, (), rpatterns) if m.direct else None
            else:
                side = self._resource(identity, system, index, rpatterns, m)
            if side is not None:
                found.append(side)
        if plain:
            group = self._groups.setdefault(tuple(ix.record.id for ix, _ in plain), f"group {len(self._groups)}")
            own = self._own_reach.reach_on(identity, system, group, [p for _, rp in plain for p in rp])
            if own is not None:
                found.append(own)
        return _best(found)

    def _match(self, identity: Identity, index: ResourceIndex, patterns: tuple[str, ...]) -> Match:
        m = index.match(identity)
        return dataclasses.replace(m, denies=self._live_denies(m.denies, patterns)) if m.denies else m

    def _held_for(self, system: str, patterns: Sequence[str]) -> _Held:
        key = (system, tuple(patterns))
        held = self._held.get(key)
        if held is None:
            unresolved, per_resource = [], {}
            for pattern in patterns:
                hit = False
                for index in self._indexes:
                    rp = resource_patterns(pattern, index.record)
                    if rp is not None:
                        hit = True
                        per_resource.setdefault(index.record.id, (index, []))[1].extend(rp)
                if not hit:
                    unresolved.append(pattern)
            held = self._held[key] = _Held(
                tuple(unresolved),
                tuple((ix, tuple(dict.fromkeys(rp))) for _, (ix, rp) in sorted(per_resource.items())))
        return held

    def _resource(self, identity: Identity, system: str, index: ResourceIndex, patterns: tuple[str, ...],
                  m: Match) -> Reach | None:
        """One resource of another account, a KMS key, or one whose policy has a Deny for the identity."""
        same = identity.account == index.record.account
        kms = index.record.service == "kms"
        if same and not kms:
            own = self._own(identity, system, index, patterns, m)
            if not m.direct:
                return own
            if own is not None and self._deny_policies(identity):
                return self._eval(identity, (*identity.policy_ids, *m.direct, *m.denies),
                                  identity.boundary_policy_id, patterns)
            direct = self._resource_side(identity, m.direct, m.denies, patterns)
            return _best([r for r in (own, direct) if r is not None])
        parts: list[Reach] = []
        gate_ids = m.account if same else (*m.direct, *m.account)
        if gate_ids and not self._own_reach.names(identity, index.record.id, patterns):
            gate_ids = ()  # its own policies allow nothing here: "resource policy AND identity policy" cannot hold
        gate = self._resource_side(identity, gate_ids, m.denies, patterns) if gate_ids else None
        own = self._own(identity, system, index, patterns, m) if gate is not None else None
        if gate is not None and own is not None:
            parts.append(_both(gate, own))
        if same and m.direct:  # KMS: the key policy or a grant names the identity itself
            direct = self._resource_side(identity, m.direct, m.denies, patterns)
            if direct is not None:
                parts.append(direct)
        return _best(parts)

    def _own(self, identity: Identity, system: str, index: ResourceIndex, patterns: tuple[str, ...],
             m: Match) -> Reach | None:
        """What the identity's own policies allow on the resource: from the per-policy cache, and through the
        engine with the resource policy's Denies only when some of them name the identity."""
        own = self._own_reach.reach_on(identity, system, index.record.id, patterns)
        if own is not None and m.denies:
            touching = self._own_reach.touching(identity, index.record.id, patterns)
            key = ("own", touching, identity.boundary_policy_id, self._evaluator.context_key(identity),
                   *self._facts_key(identity, (), m.denies, patterns))
            if key in self._sides:
                return self._sides[key]
            own = self._eval(identity, (*touching, *m.denies), identity.boundary_policy_id, patterns)
            if len(self._sides) >= _CACHE_LIMIT:
                self._sides.clear()
            self._sides[key] = own
        return own

    def _facts_key(self, identity: Identity, allows: tuple[str, ...], denies: tuple[str, ...],
                   patterns: tuple[str, ...]) -> tuple[object, ...]:
        """What decides the resource statements' answer for an identity: the statements, the patterns, and the
        identity's facts their conditions may test (its ARN only when a condition names aws:PrincipalArn)."""
        tests_arn = self._tests_arn.get(allows + denies)
        if tests_arn is None:
            tests_arn = self._tests_arn[allows + denies] = any(
                "aws:principalarn" in json.dumps(self._statements[pid][1].statement.conditions).lower()
                for pid in (*allows, *denies))
        facts = self._evaluator.principal(identity)
        return (patterns, allows, denies, facts.mfa, facts.tags, facts.account, facts.org_id,
                facts.arn if tests_arn else None)

    def _resource_side(self, identity: Identity, allows: tuple[str, ...], denies: tuple[str, ...],
                       patterns: tuple[str, ...]) -> Reach | None:
        """What the resource statements allow the identity, with the resource's and the identity's own Denies
        (one answer for every identity with the same Deny-holding policies and condition facts)."""
        deny_ids = self._deny_policies(identity)
        # The identity's Deny-holding policies may test its facts too: their context, and its ARN if any.
        key = ("side", deny_ids, self._evaluator.context_key(identity) if deny_ids else (),
               identity.id if deny_ids else None, *self._facts_key(identity, allows, denies, patterns))
        if key in self._sides:
            return self._sides[key]
        result = self._eval(identity, (*deny_ids, *allows, *denies), None, patterns, allows_only=True)
        if len(self._sides) >= _CACHE_LIMIT:
            self._sides.clear()
        self._sides[key] = result
        return result

    def _live_denies(self, denies: tuple[str, ...], patterns: tuple[str, ...]) -> tuple[str, ...]:
        """The Denies that can apply on the patterns at all: a Deny on `aws:SecureTransport` false (the usual "deny
        plain HTTP" statement) never applies to the access nhiaudit reports, and the engine leaves it out."""
        key = (denies, patterns)
        hit = self._denies.get(key)
        if hit is None:
            if len(self._denies) >= _CACHE_LIMIT:
                self._denies.clear()
            hit = self._denies[key] = tuple(
                pid for pid in denies if any(
                    s.not_resources or any(resources_intersect(r, p) for r in s.wide_resources for p in patterns)
                    for s in self._evaluator.statements(pid)))
        return hit

    def _deny_policies(self, identity: Identity) -> tuple[str, ...]:
        """The identity's policies holding a Deny statement (most identities: none)."""
        hit = self._denying.get(identity.policy_ids)
        if hit is None:
            if len(self._denying) >= _CACHE_LIMIT:
                self._denying.clear()
            hit = self._denying[identity.policy_ids] = tuple(
                pid for pid in identity.policy_ids if any(s.effect == "Deny" for s in self._evaluator.statements(pid)))
        return hit

    def _eval(self, identity: Identity, policy_ids: tuple[str, ...], boundary: str | None,
              patterns: tuple[str, ...], *, allows_only: bool = False) -> Reach | None:
        """The engine's answer for the identity holding these policies. `allows_only`: the identity's own policies
        among them are there for their Denies; an Allow of theirs in the answer is dropped."""
        result = self._evaluator.reach(self._probe(identity, policy_ids, boundary), patterns)
        if result is None:
            return None
        result = self._relabel(result)
        if allows_only and any(s.source != "resource" for s in result.statements):
            kept = tuple(s for s in result.statements if s.source == "resource")
            if not kept:
                return None
            ranked = sorted(kept, key=lambda s: -s.level.rank if s.level else 0)
            result = dataclasses.replace(result, statements=tuple(ranked), level=ranked[0].level or result.level)
        return result

    def _probe(self, identity: Identity, policy_ids: tuple[str, ...], boundary: str | None) -> Identity:
        """The identity holding these policies instead of its own (its facts stay its own)."""
        if policy_ids == identity.policy_ids and boundary == identity.boundary_policy_id:
            return identity
        self._originals[identity.id] = identity
        return identity.model_copy(update={"policy_ids": policy_ids, "boundary_policy_id": boundary})

    def _relabel(self, reach: Reach) -> Reach:
        """The engine's evidence, with resource-policy statements said to be what they are."""
        hit = self._relabelled.get(id(reach))
        if hit is not None and hit[0] is reach:
            return hit[1]
        out = reach
        if any(s.policy_id in self._statements for s in (*reach.statements, *reach.denies)):
            out = dataclasses.replace(
                reach, statements=tuple(map(self._statement, reach.statements)),
                denies=tuple(map(self._statement, reach.denies)),
                missing_policy_ids=tuple(p for p in reach.missing_policy_ids if p not in self._statements))
        if len(self._relabelled) >= _CACHE_LIMIT:
            self._relabelled.clear()
        self._relabelled[id(reach)] = (reach, out)
        return out

    def _statement(self, ev: StatementEvidence) -> StatementEvidence:
        found = self._statements.get(ev.policy_id)
        if found is None:
            return ev
        hit = self._evidence.get(id(ev))
        if hit is not None and hit[0] is ev:
            return hit[1]
        _, stmt = found
        named = ", ".join(stmt.principals[:_MAX_NAMED]) + (" ..." if len(stmt.principals) > _MAX_NAMED else "")
        who = stmt.note or (f"principal {'except ' if stmt.not_principal else ''}{named}" if named else None)
        note = "; ".join(x for x in (who, ev.note) if x) or None
        out = dataclasses.replace(ev, source="resource", statement_index=stmt.index, note=note)
        if len(self._evidence) >= _CACHE_LIMIT:
            self._evidence.clear()
        self._evidence[id(ev)] = (ev, out)
        return out


def _both(gate: Reach, own: Reach) -> Reach:
    """Access that needs the resource policy AND the identity policy: the lower level, both statements."""
    level = gate.level if gate.level.rank <= own.level.rank else own.level
    return Reach(
        level=level, resource_patterns=own.resource_patterns, statements=(*gate.statements, *own.statements),
        denies=tuple(dict.fromkeys((*gate.denies, *own.denies))),
        unknown_actions=tuple(dict.fromkeys((*gate.unknown_actions, *own.unknown_actions))),
        boundary_policy_id=own.boundary_policy_id, missing_policy_ids=own.missing_policy_ids,
        required_conditional=gate.conditional or own.conditional, joint=True,
    )


def _best(found: list[Reach]) -> Reach | None:
    """Several resources (or parts) of one system: the highest access first, every statement kept once."""
    if len(found) < 2:
        return found[0] if found else None
    ranked = sorted(found, key=lambda r: -r.level.rank)  # stable: ties keep resource order
    first = ranked[0]
    return Reach(
        level=first.level,
        resource_patterns=tuple(dict.fromkeys(p for r in ranked for p in r.resource_patterns)),
        statements=tuple(dict.fromkeys(s for r in ranked for s in r.statements)),
        denies=tuple(dict.fromkeys(d for r in ranked for d in r.denies)),
        unknown_actions=tuple(dict.fromkeys(a for r in ranked for a in r.unknown_actions)),
        boundary_policy_id=first.boundary_policy_id,
        missing_policy_ids=tuple(dict.fromkeys(p for r in ranked for p in r.missing_policy_ids)),
        required_conditional=all(r.conditional for r in found), joint=first.joint,
    )
