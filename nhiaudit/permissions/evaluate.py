"""Evaluate what an identity may do, from its identity-based policies and permissions boundary.

Semantics (AWS IAM, applied to GCP/Azure statements of the same shape):
- every policy in `identity.policy_ids` counts (group policies are already flattened there);
- an explicit Deny wins, but only where it certainly applies: it removes actions when it has no
  conditions and its resources cover the system pattern (or every resource of the allowing
  statement inside it). Conditional or partial Denies are recorded in evidence, never applied;
- Allow conditions are recorded, not evaluated (access is reported as possible);
- with a permissions boundary the effective allow is identity allows ∩ boundary allows;
- GCP/Azure grants on a scope (`projects/p`, `/subscriptions/s`) apply below it; Azure statements
  holding both Action and NotAction allow Action minus NotAction;
- actions the catalogue does not know still match wildcards, count as write and are reported in
  `unknown_actions`; a policy id missing from the snapshot is reported in `missing_policy_ids`
  (a missing boundary is treated as no boundary, the conservative reading).

Results are cached by policy id (many identities share managed policies) and by the identity's
(policy ids, boundary) combination, so evaluating an estate stays linear in its size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nhiaudit.inventory.model import Identity, Policy
from nhiaudit.permissions._core import (
    Grant,
    GrantBuilder,
    Residual,
    Stmt,
    Universe,
    allow_targets,
    compile_policy,
    deny_covers,
    intact_wildcards,
    make_universe,
    spec_covers,
    spec_may_match,
)
from nhiaudit.permissions.catalogue import AccessLevel, ActionCatalogue, default_catalogue
from nhiaudit.permissions.heuristics import is_cloud_native_action
from nhiaudit.permissions.patterns import has_wildcard
from nhiaudit.permissions.results import Reach, ReachLevel, StatementEvidence

_CACHE_LIMIT = 200_000
_CLOUD_SCOPE = re.compile(
    r"^(?://cloudresourcemanager\.googleapis\.com/)?(projects|folders|organizations)/[^/]+(/\*)?$"
    r"|^/subscriptions/[^/]+(/resourceGroups/[^/]+)?(/\*)?$"
    r"|^/providers/Microsoft\.Management/managementGroups/[^/]+(/\*)?$|^/\*?$",
    re.IGNORECASE,
)


def is_broad_resource(resource: str) -> bool:
    """`*`, a whole resource type (`arn:aws:iam::1:role/*`), or a GCP/Azure project/subscription scope."""
    if resource == "*":
        return True
    if not resource.startswith("arn:"):
        return _CLOUD_SCOPE.match(resource) is not None
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return has_wildcard(resource)
    res = parts[5]
    if res in ("*", "*/*"):
        return True
    if parts[2] == "s3":  # bucket names have no type prefix
        return False
    _, sep, rest = re.split(r"([/:])", res, maxsplit=1) if re.search(r"[/:]", res) else (res, "", "")
    return bool(sep) and rest == "*"


@dataclass(frozen=True, slots=True)
class _Contribution:
    allows: tuple[Grant, ...]
    denies: tuple[Stmt, ...]
    known_union: frozenset[str]


_EMPTY = _Contribution((), (), frozenset())
# Deny statements seen while evaluating one question: (policy, index, source, note) ->
# (statement, source, matched catalogue actions, matched residual entries by name).
_Notes = dict[tuple[object, ...], tuple[Stmt, str, set[str], dict[str, Residual]]]


class Evaluator:
    """Answers permission questions about identities over a fixed set of policies."""

    def __init__(self, policies_by_id: Mapping[str, Policy], catalogue: ActionCatalogue | None = None) -> None:
        self._policies = policies_by_id
        self.catalogue = catalogue or default_catalogue()
        self._b = GrantBuilder(self.catalogue)
        self._stmts: dict[str, tuple[Stmt, ...]] = {}
        self._universes: dict[tuple[object, ...], Universe] = {}
        self._tables: dict[tuple[object, ...], dict[str, _Contribution]] = {}
        self._restricted: dict[tuple[object, ...], tuple[Grant | None, list[Any]]] = {}
        self._reach_cache: dict[tuple[object, ...], Reach | None] = {}

    # --- public API ------------------------------------------------------------------------------------

    def missing_policy_ids(self, identity: Identity) -> tuple[str, ...]:
        ids = (*identity.policy_ids, *((identity.boundary_policy_id,) if identity.boundary_policy_id else ()))
        return tuple(p for p in ids if p not in self._policies)

    def reach(self, identity: Identity, resource_patterns: Sequence[str]) -> Reach | None:
        """Highest access the identity has on any resource matching the patterns, with evidence."""
        patterns = tuple(dict.fromkeys(resource_patterns))
        key = (identity.policy_ids, identity.boundary_policy_id, patterns)
        if key in self._reach_cache:
            return self._reach_cache[key]
        notes: _Notes = {}
        grants: list[Grant] = []
        for p in patterns:
            grants.extend(self._effective(identity, p, self._reach_universe(p), notes))
        result = self._assemble(identity, patterns, grants, notes) if grants else None
        if len(self._reach_cache) >= _CACHE_LIMIT:
            self._reach_cache.clear()
        self._reach_cache[key] = result
        return result

    def allowed_actions(
        self, identity: Identity, action_patterns: Sequence[str], resource: str = "*"
    ) -> list[StatementEvidence]:
        """Statements allowing any action matching the patterns on some resource matching `resource`."""
        u = self._query_universe(tuple(action_patterns))
        return [g.evidence for g in self._effective(identity, resource, u, {})]

    def can_perform(self, identity: Identity, action: str, resource: str) -> StatementEvidence | None:
        """Evidence that the identity may perform `action` on `resource` (unconditional grants first)."""
        found = self.allowed_actions(identity, (action,), resource)
        return min(found, key=lambda e: bool(e.conditions)) if found else None

    def is_admin(self, identity: Identity) -> StatementEvidence | None:
        """An Allow of `*` on `*` (GCP/Azure: `*` on a project/subscription scope) that no Deny revokes."""
        allows, denies = self._statements_of(identity.policy_ids)
        candidates = [s for s in allows if _star_on_broad(s)]
        if not candidates:
            return None
        bid = identity.boundary_policy_id
        if bid and bid in self._policies:
            b_allows, b_denies = self._statements_of((bid,))
            if not any(_star_on_broad(s) for s in b_allows):
                return None
            denies += b_denies
        candidates.sort(key=lambda s: bool(s.conditions))
        best = candidates[0]
        targets = tuple(r for r in best.wide_resources if is_broad_resource(r))
        restricting = []
        for d in denies:
            if not d.conditions and spec_covers(d, "*") and any(deny_covers(d, t) for t in targets):
                return None  # everything is denied
            if any(allow_targets(d, t) for t in targets):
                restricting.append(f"{d.policy_name} statement {d.index}")
        note = f"restricted by Deny in {', '.join(restricting[:5])}" if restricting else None
        ev = self._b.evidence(best, "identity", (), (), ReachLevel.ADMIN, note)
        return _replace_actions(ev, ("*",), 1)

    def permissions_management_actions(
        self, identity: Identity, *, broad_only: bool = True
    ) -> list[StatementEvidence]:
        """Statements allowing permissions-management actions (on `*` or broad resources by default)."""
        u = self._universe(
            ("pm",),
            lambda: make_universe(
                ("pm",), self.catalogue.actions_with_level(AccessLevel.PERMISSIONS_MANAGEMENT),
                aws=True, cloud=True, aws_services=None, admin_only=True,
            ),
        )
        grants = self._effective(identity, "*", u, {})
        if broad_only:
            grants = [g for g in grants if g.stmt.not_resources or any(is_broad_resource(t) for t in g.targets)]
        return [g.evidence for g in grants]

    # --- universes -------------------------------------------------------------------------------------

    def _universe(self, key: tuple[object, ...], build: object) -> Universe:
        u = self._universes.get(key)
        if u is None:
            u = self._universes[key] = build()  # type: ignore[operator]
        return u

    def _reach_universe(self, p: str) -> Universe:
        return self._universe(("reach", p), lambda: self._build_reach_universe(p))

    def _build_reach_universe(self, p: str) -> Universe:
        cat = self.catalogue
        key: tuple[object, ...] = ("reach", p)
        if p == "*":
            known = frozenset().union(*(cat.all_actions(s) for s in cat.services()))
            return make_universe(key, known, aws=True, cloud=True, aws_services=None)
        if not p.startswith("arn:"):
            return make_universe(key, (), aws=False, cloud=True, aws_services=frozenset())
        parts = p.split(":", 5)
        arn_service = parts[2] if len(parts) > 2 else "*"
        literal = bool(arn_service) and not has_wildcard(arn_service)
        services = cat.services_for_arn_service(arn_service) if literal else cat.services()
        known = frozenset().union(*(cat.actions_on(s, p) for s in services if cat.service_known(s)))
        if not known and literal and cat.service_known(arn_service):
            # No resource type matches this ARN shape: do not drop the service, consider all its actions.
            known = cat.all_actions(arn_service)
        unknown = (f"{arn_service}:*",) if literal and not cat.service_known(arn_service) else ()
        return make_universe(
            key, known, aws=True, cloud=False, aws_services=frozenset(services) if literal else None,
            unknown_targets=unknown,
        )

    def _query_universe(self, queries: tuple[str, ...]) -> Universe:
        return self._universe(("query", queries), lambda: self._build_query_universe(queries))

    def _build_query_universe(self, queries: tuple[str, ...]) -> Universe:
        cat = self.catalogue
        known: set[str] = set()
        unknown: list[str] = []
        aws_services: set[str] | None = set()
        aws = cloud = False
        for q in queries:
            if q == "*":
                aws = cloud = True
                aws_services = None
                known.update(*(cat.all_actions(s) for s in cat.services()))
                continue
            if is_cloud_native_action(q):
                cloud = True
                continue
            aws = True
            head = q.partition(":")[0]
            expanded = frozenset().union(*(cat.expand(q, s) for s in cat.services_matching(head)))
            known.update(expanded)
            if not expanded:
                unknown.append(q)
            if has_wildcard(head):
                aws_services = None
            elif aws_services is not None:
                aws_services.add(head.lower())
        return make_universe(
            ("query", queries), known, aws=aws, cloud=cloud,
            aws_services=frozenset(aws_services) if aws_services is not None else None,
            unknown_targets=tuple(unknown), queries=queries,
        )

    # --- evaluation ------------------------------------------------------------------------------------

    def _compiled(self, policy_id: str) -> tuple[Stmt, ...] | None:
        stmts = self._stmts.get(policy_id)
        if stmts is None:
            policy = self._policies.get(policy_id)
            if policy is None:
                return None
            stmts = self._stmts[policy_id] = compile_policy(policy)
        return stmts

    def _statements_of(self, policy_ids: Iterable[str]) -> tuple[list[Stmt], list[Stmt]]:
        allows: list[Stmt] = []
        denies: list[Stmt] = []
        for pid in policy_ids:
            for s in self._compiled(pid) or ():
                (allows if s.effect == "Allow" else denies).append(s)
        return allows, denies

    def _table(self, p: str, u: Universe) -> dict[str, _Contribution]:
        key = (p, u.key)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = {}
        return table

    def _contribution(self, policy_id: str, p: str, u: Universe, table: dict[str, _Contribution]) -> _Contribution:
        hit = table.get(policy_id)
        if hit is not None:
            return hit
        stmts = self._compiled(policy_id)
        if stmts is None:
            return _EMPTY
        allows = tuple(g for s in stmts if (g := self._b.grant(s, p, u)) is not None)
        denies = tuple(s for s in stmts if s.effect == "Deny" and self._deny_relevant(s, p, u))
        c = _EMPTY
        if allows or denies:
            c = _Contribution(allows, denies, frozenset().union(*(g.known for g in allows)))
        # Inline policies belong to one identity: caching them would only cost memory.
        if self._policies[policy_id].kind != "inline" and len(table) < _CACHE_LIMIT:
            table[policy_id] = c
        return c

    def _deny_relevant(self, d: Stmt, p: str, u: Universe) -> bool:
        if not (u.aws if d.aws else u.cloud) or not allow_targets(d, p):
            return False
        if not d.aws or u.unknown_targets or self._b.spec_known(d, u):
            return True
        return any(has_wildcard(a.partition(":")[0]) or self._b.explicit_unknown(a) for a in d.actions)

    def _effective(self, identity: Identity, p: str, u: Universe, notes: _Notes) -> list[Grant]:
        table = self._table(p, u)
        allows: list[Grant] = []
        denies: list[tuple[Stmt, str]] = []
        for pid in identity.policy_ids:
            c = table.get(pid) or self._contribution(pid, p, u, table)
            if c.allows:
                allows.extend(c.allows)
            if c.denies:
                denies.extend((d, "identity") for d in c.denies)
        if not allows:
            return []
        bid = identity.boundary_policy_id
        boundary = None
        if bid and bid in self._policies:
            boundary = table.get(bid) or self._contribution(bid, p, u, table)
            denies.extend((d, "boundary") for d in boundary.denies)
        if boundary is None and not denies:
            return allows
        deny_key = tuple((d.policy_id, d.index, src) for d, src in denies)
        out = []
        for g in allows:
            key = (g.stmt.policy_id, g.stmt.index, p, u.key, bid if boundary else None, deny_key)
            hit = self._restricted.get(key)
            if hit is None:
                if len(self._restricted) > _CACHE_LIMIT:
                    self._restricted.clear()
                hit = self._restricted[key] = self._restrict(g, p, u, boundary, denies)
            grant, grant_notes = hit
            for note_key, d, src, mk, mr in grant_notes:
                entry = notes.setdefault(note_key, (d, src, set(), {}))
                entry[2].update(mk)
                entry[3].update((r.name, r) for r in mr)
            if grant is not None:
                out.append(grant)
        return out

    def _restrict(
        self, g: Grant, p: str, u: Universe, boundary: _Contribution | None, denies: list[tuple[Stmt, str]]
    ) -> tuple[Grant | None, list[tuple[tuple[object, ...], Stmt, str, frozenset[str], tuple[Residual, ...]]]]:
        known, residual = g.known, g.residual
        if boundary is not None:
            b_stmts = [b.stmt for b in boundary.allows]
            known = known & boundary.known_union
            residual = tuple(r for r in residual if any(spec_may_match(b, r.name) for b in b_stmts))
        notes = []
        for d, source in denies:
            mk = self._b.spec_known(d, u) & known
            mr = tuple(r for r in residual if spec_may_match(d, r.name))
            if not mk and not mr:
                continue
            if d.conditions:
                note = "conditional Deny: recorded, not applied"
            elif deny_covers(d, p) or all(deny_covers(d, t) for t in g.targets):
                mr = tuple(r for r in mr if spec_covers(d, r.name))
                known = known - mk
                residual = tuple(r for r in residual if r not in mr)
                note = "Deny applied: removes these actions"
            else:
                note = "Deny covers only part of the resources: recorded, not applied"
            notes.append(((d.policy_id, d.index, source, note), d, source, mk, mr))
        if known is g.known and residual is g.residual:
            return g, notes
        if not known and not residual:
            return None, notes
        ws = intact_wildcards(g.wildcard_services, u, known)
        return self._b.build(g.stmt, g.targets, known, residual, ws), notes

    def _assemble(
        self, identity: Identity, patterns: tuple[str, ...], grants: list[Grant], notes: _Notes
    ) -> Reach:
        by_stmt: dict[tuple[str, int], list[Grant]] = {}
        for g in grants:
            by_stmt.setdefault((g.stmt.policy_id, g.stmt.index), []).append(g)
        evidence: list[StatementEvidence] = []
        for gs in by_stmt.values():
            if len(gs) == 1:
                evidence.append(gs[0].evidence)
                continue
            residual = tuple({r.name: r for g in gs for r in g.residual}.values())
            names = {r.name for r in residual}
            heads = {a for g in gs for a in g.evidence.actions if a not in names}
            count = len(frozenset().union(*(g.known for g in gs))) + len(residual)
            level = max((g.level for g in gs), key=lambda lv: lv.rank)
            evidence.append(self._b.evidence(gs[0].stmt, "identity", heads, residual, level, count=count))
        evidence.sort(key=lambda e: -e.level.rank if e.level else 0)
        denies = tuple(
            self._b.evidence(d, src, mk, mr.values(), None, note) for (*_, note), (d, src, mk, mr) in notes.items()
        )
        unknown = sorted({a for e in evidence for a in e.unknown_actions})
        return Reach(
            level=evidence[0].level or ReachLevel.WRITE, resource_patterns=patterns,
            statements=tuple(evidence), denies=denies, unknown_actions=tuple(unknown),
            boundary_policy_id=identity.boundary_policy_id, missing_policy_ids=self.missing_policy_ids(identity),
        )


def _star_on_broad(s: Stmt) -> bool:
    if s.not_actions or not any(a in ("*", "*:*") for a in s.actions):
        return False
    if s.not_resources:
        return False
    if s.aws:
        return "*" in s.wide_resources
    return any(is_broad_resource(r) for r in s.wide_resources)


def _replace_actions(ev: StatementEvidence, actions: tuple[str, ...], count: int) -> StatementEvidence:
    return replace(ev, actions=actions, action_count=count)
