"""Evaluate what an identity may do, from its identity-based policies and permissions boundary.

Semantics (AWS IAM, applied to GCP/Azure statements of the same shape):
- every policy in `identity.policy_ids` counts (group policies are already flattened there);
- an explicit Deny wins, but only where it certainly applies: it removes actions when it has no
  (undecided) conditions and its resources cover the system pattern (or every resource of the allowing
  statement inside it). Conditional or partial Denies are recorded in evidence, never applied;
- AWS conditions (`aws_conditions`): keys about the moment (`aws:CurrentTime`/`aws:EpochTime` at the end
  of --as-of, `aws:SecureTransport`) are decided when a policy is compiled; keys about the identity
  (`aws:MultiFactorAuthPresent`/`Age`, `aws:PrincipalTag/*`, `aws:PrincipalAccount`/`Arn`/`OrgID`, from
  `principal_facts`) and about the request (`iam:PassedToService`, `iam:AssociatedResourceArn`, given by
  the question) per question. An Allow that cannot be met grants nothing; a Deny that can never apply is
  ignored and one that always applies is unconditional; decided clauses leave the statement's
  `conditions` and are named in its evidence note. Other keys stay recorded, not evaluated (access is
  reported as possible, the evidence conditional);
- with a permissions boundary the effective allow is identity allows ∩ boundary allows;
- AWS Organizations SCPs and RCPs (`organizations`) cap the result as AWS does (permissions/guardrails.py);
  what they remove is recorded per question for `explain` (`guardrail_removals`);
- GCP/Azure grants on a scope (`projects/p`, `/subscriptions/s`) apply below it; Azure statements
  holding both Action and NotAction allow Action minus NotAction;
- an AWS action name the catalogue does not know grants no access level on its own (statement wildcards
  still match a question's unknown targets, conservatively); both are listed in `unknown_actions`, and the
  scan warns about each unknown name once (unknown_actions.py); a policy id missing from the snapshot is
  reported in `missing_policy_ids` (a missing boundary is treated as no boundary, the conservative reading).

Results are cached by policy id (many identities share managed policies) and by the identity's
(policy ids, boundary) combination, so evaluating an estate stays linear in its size. A policy whose
conditions test identity or request keys is cached per *context* as well: the facts those keys take
(identities with the same tags and MFA state share it); policies that test none (most) have the empty
context and nothing changes for them. `context_key` gives callers that cache per (policy ids, boundary)
the part to add to their keys.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from nhiaudit.inventory.model import Identity, Policy
from nhiaudit.inventory.organization import AwsOrganization
from nhiaudit.permissions._core import (
    DEFAULT_SCOPES,
    Grant,
    GrantBuilder,
    Residual,
    Stmt,
    Universe,
    allow_targets,
    compile_policy,
    deny_covers,
    intact_wildcards,
    spec_covers,
    spec_may_match,
    specialize,
    with_targets,
)
from nhiaudit.permissions.aws_conditions import REQUEST_KEYS, Facts, Value, chain
from nhiaudit.permissions.catalogue import ActionCatalogue, default_catalogue
from nhiaudit.permissions.guardrails import Guardrails, Removal
from nhiaudit.permissions.heuristics import GCP_PRIMITIVE_ADMIN_ROLES
from nhiaudit.permissions.patterns import has_wildcard, is_broad_resource
from nhiaudit.permissions.principal_facts import UNKNOWN_PRINCIPAL, PrincipalFacts, is_principal_key
from nhiaudit.permissions.results import Reach, ReachLevel, StatementEvidence
from nhiaudit.permissions.scopes import ResourceScopes
from nhiaudit.permissions.universes import pm_universe, query_universe, reach_universe

_CACHE_LIMIT = 200_000  # entries per cache; caches are cleared (not grown) past it
# Inline policies belong to one identity, asked about a few universes in a row (a system per universe, the
# escalation questions): a small cache of their action parts serves that run and stays small at any scale.
_INLINE_PARTS_LIMIT = 4_096
_PATTERN_CACHED = frozenset({"reach", "pm"})  # universes whose per-pattern contributions are cached


@dataclass(frozen=True, slots=True)
class _Contribution:
    allows: tuple[Grant, ...]
    denies: tuple[Stmt, ...]
    known_union: frozenset[str]


_EMPTY = _Contribution((), (), frozenset())


def _contribution_of(allows: tuple[Grant, ...], denies: tuple[Stmt, ...]) -> _Contribution:
    if not allows and not denies:
        return _EMPTY
    return _Contribution(allows, denies, frozenset().union(*(g.known for g in allows)))


# What a policy's identity/request-dependent condition keys are for one question (() when it tests none, or
# nothing is known of them): identities and requests that agree on it share every cached answer.
_Ctx = tuple[object, ...]
Request = Mapping[str, Iterable[Value]]  # condition key -> the values the request may carry


@dataclass(frozen=True, slots=True)
class _Ask:
    """One question's asker: the identity, the request facts, and the context of each of its policies
    whose conditions depend on them (None: no such policy, the common case)."""

    identity: Identity
    request: dict[str, frozenset[Value]]
    contexts: dict[str, _Ctx] | None
    key: tuple[object, ...]  # the contexts as a cache-key component


# One Deny's effect on one grant: (note key, statement, source, matched actions, matched residual).
_NoteEntry = tuple[tuple[object, ...], Stmt, str, frozenset[str], tuple[Residual, ...]]
# Denies seen while answering one question: (policy, index, source, note) ->
# (statement, source, matched catalogue actions, matched residual entries by name).
_Notes = dict[tuple[object, ...], tuple[Stmt, str, set[str], dict[str, Residual]]]


class Evaluator:
    """Answers permission questions about identities over a fixed set of policies."""

    def __init__(
        self, policies_by_id: Mapping[str, Policy], catalogue: ActionCatalogue | None = None, *,
        scopes: ResourceScopes | None = None, now: datetime | None = None,
        principal_facts: Callable[[Identity], PrincipalFacts] | None = None,
        organizations: Sequence[AwsOrganization] = (),
        resource_account: Callable[[str], str | None] | None = None,
    ) -> None:
        self._policies = policies_by_id
        self._principal_facts = principal_facts or (lambda _identity: UNKNOWN_PRINCIPAL)
        self.catalogue = catalogue or default_catalogue()
        self.scopes = scopes or DEFAULT_SCOPES  # GCP ancestry: which folders/organisations hold which projects
        self.now = now  # the moment GCP request.time / AWS aws:CurrentTime conditions are evaluated at (None: not)
        self._b = GrantBuilder(self.catalogue)
        self._stmts: dict[str, tuple[Stmt, ...]] = {}
        self._dynamic: dict[str, frozenset[str]] = {}  # policy -> identity/request condition keys it tests
        self._special: dict[tuple[str, _Ctx], tuple[Stmt, ...]] = {}  # statements as they apply in a context
        self._principals: dict[str, tuple[Identity, PrincipalFacts]] = {}
        self._asks: dict[str, _Ask] = {}  # identity id -> its request-free contexts (identities that have some)
        # (policy ids, boundary) -> does any of them test identity or request keys
        self._set_is_dynamic: dict[tuple[tuple[str, ...], str | None], bool] = {}
        self._universes: dict[tuple[object, ...], Universe] = {}
        self._parts: dict[tuple[object, ...], _Contribution] = {}
        self._inline_parts: dict[tuple[object, ...], _Contribution] = {}
        self._tables: dict[tuple[object, ...], dict[object, _Contribution]] = {}
        self._restricted: dict[tuple[object, ...], tuple[Grant | None, list[_NoteEntry]]] = {}
        self._merged: dict[tuple[Grant, ...], StatementEvidence] = {}
        self._reach_cache: dict[tuple[object, ...], Reach | None] = {}
        # AWS Organizations SCPs/RCPs (permissions/guardrails.py): None without any, the common case.
        self._guardrails = Guardrails(organizations, self._b, self.scopes, self.principal,
                                      lambda p: compile_policy(p, now), resource_account) if organizations else None
        # (question key) -> what guardrails removed, recorded while answering (explain shows it).
        self._removed: dict[tuple[object, ...], tuple[Removal, ...]] = {}

    # --- public API ------------------------------------------------------------------------------------

    def principal(self, identity: Identity) -> PrincipalFacts:
        """What the identity's requests carry, for AWS condition keys (permissions/principal_facts.py)."""
        hit = self._principals.get(identity.id)
        if hit is None or hit[0] is not identity:
            if len(self._principals) >= _CACHE_LIMIT:
                self._principals.clear()
            hit = self._principals[identity.id] = (identity, self._principal_facts(identity))
        return hit[1]

    def context_key(self, identity: Identity) -> tuple[object, ...]:
        """What, beyond its policy ids and boundary, decides the identity's permissions: the facts its
        policies' conditions test (MFA, its tags...). () when they test none: callers caching answers per
        (policy ids, boundary) add this to their keys."""
        own = self._ask(identity, None).key if self._is_dynamic(identity) else ()
        return (*own, *self._guardrail_key(identity)) if self._guardrails is not None else own

    def _guardrail_key(self, identity: Identity) -> tuple[object, ...]:
        key = self._guardrails.key(identity) if self._guardrails is not None else ()
        return (key,) if key else ()

    def guardrail_removals(self, identity: Identity, question: tuple[object, ...]) -> tuple[Removal, ...]:
        """What SCPs/RCPs removed from the identity's answer to `question` (`("reach", patterns)` or
        `("actions", action patterns, resource)`), as recorded when it was answered; () if nothing was."""
        if self._guardrails is None:
            return ()
        key = (identity.policy_ids, identity.boundary_policy_id, self.context_key(identity), question)
        return self._removed.get(key, ())

    def _record_removed(self, identity: Identity, question: tuple[object, ...], removed: list[Removal]) -> None:
        if removed and len(self._removed) < _CACHE_LIMIT:
            key = (identity.policy_ids, identity.boundary_policy_id, self.context_key(identity), question)
            self._removed[key] = tuple(dict.fromkeys(removed))

    def with_policies(
        self, extra: Mapping[str, Policy], principal_facts: Callable[[Identity], PrincipalFacts] | None = None,
    ) -> Evaluator:
        """An evaluator over these policies too, with the same catalogue, scopes and moment (and principal facts,
        unless given): how resource-policy statements go through the engine of identity policies
        (graph/resource_reach.py)."""
        return Evaluator(ChainMap(dict(extra), self._policies), self.catalogue, scopes=self.scopes, now=self.now,
                         principal_facts=principal_facts or self._principal_facts)

    def missing_policy_ids(self, identity: Identity) -> tuple[str, ...]:
        ids = (*identity.policy_ids, *((identity.boundary_policy_id,) if identity.boundary_policy_id else ()))
        return tuple(p for p in ids if p not in self._policies)

    def reach(self, identity: Identity, resource_patterns: Sequence[str]) -> Reach | None:
        """Highest access the identity has on any resource matching the patterns, with evidence."""
        patterns = tuple(dict.fromkeys(resource_patterns))
        ask = self._ask(identity, None)
        key = (identity.policy_ids, identity.boundary_policy_id, patterns, ask.key, *self._guardrail_key(identity))
        if key in self._reach_cache:
            return self._reach_cache[key]
        notes: _Notes = {}
        grants: list[Grant] = []
        removed: list[Removal] = []
        for p in patterns:
            grants.extend(self._effective(ask, p, self._reach_universe(p), notes, removed))
        self._record_removed(identity, ("reach", patterns), removed)
        result = self._assemble(identity, patterns, grants, notes) if grants else None
        if len(self._reach_cache) >= _CACHE_LIMIT:
            self._reach_cache.clear()
        self._reach_cache[key] = result
        return result

    def allowed_actions(
        self, identity: Identity, action_patterns: Sequence[str], resource: str = "*",
        request: Request | None = None,
    ) -> list[StatementEvidence]:
        """Statements allowing any action matching the patterns on some resource matching `resource`.
        `request`: what the request carries for request condition keys (`iam:PassedToService`...); keys
        it does not name stay unknown."""
        u = self._query_universe(tuple(action_patterns))
        removed: list[Removal] | None = [] if self._guardrails is not None and not request else None
        found = [g.evidence for g in self._effective(self._ask(identity, request), resource, u, {}, removed)]
        if removed:
            self._record_removed(identity, ("actions", tuple(action_patterns), resource), removed)
        return found

    def can_perform(
        self, identity: Identity, action: str, resource: str, request: Request | None = None,
    ) -> StatementEvidence | None:
        """Evidence that the identity may perform `action` on `resource` (unconditional grants first)."""
        found = self.allowed_actions(identity, (action,), resource, request)
        return min(found, key=lambda e: bool(e.conditions)) if found else None

    def denies_touch(self, identity: Identity, policy_id: str, resource_patterns: Sequence[str]) -> bool:
        """Whether a Deny of the policy may narrow an answer of `reach(identity, resource_patterns)`: one that
        applies to some action of a pattern's universe on some resource matching the pattern (True when the
        policy is missing). For an identity whose `context_key` is (): its statements are then the same for
        every such identity."""
        if policy_id not in self._policies:
            return True
        ask = self._ask(identity, None)
        return any(self._contribution(policy_id, p, self._reach_universe(p), ask).denies
                   for p in dict.fromkeys(resource_patterns))

    def statements(self, policy_id: str) -> tuple[Stmt, ...]:
        """The policy's compiled statements (GCP binding conditions and AWS conditions on the moment evaluated,
        a Deny that can never apply left out; () when it is missing)."""
        return self._compiled(policy_id) or ()

    def is_admin(self, identity: Identity) -> StatementEvidence | None:
        """An Allow of `*` on `*` (GCP/Azure: `*` on a project/subscription scope; GCP: Owner or Editor bound
        on a project, folder or organisation; Entra: every directory task on the whole directory, i.e. Global
        Administrator) that no Deny revokes."""
        ask = self._ask(identity, None)
        allows, denies = self._statements_of(identity.policy_ids, ask)
        candidates = [s for s in allows if _star_on_broad(s) or _primitive_on_scope(s) or _entra_all_tasks(s)]
        if not candidates:
            return None
        bid = identity.boundary_policy_id
        if bid and bid in self._policies:
            b_allows, b_denies = self._statements_of((bid,), ask)
            if not any(_star_on_broad(s) or _primitive_on_scope(s) or _entra_all_tasks(s) for s in b_allows):
                return None
            denies += b_denies
        candidates.sort(key=lambda s: bool(s.conditions))
        best = candidates[0]
        targets = tuple(r for r in best.wide_resources if is_broad_resource(r))
        restricting = []
        for d in denies:
            if not d.conditions and spec_covers(d, "*") and any(deny_covers(d, t, self.scopes) for t in targets):
                return None  # everything is denied
            if any(allow_targets(d, t, self.scopes) for t in targets):
                restricting.append(f"{d.policy_name} statement {d.index}")
        if self._guardrails is not None:
            removal, capped_by = self._guardrails.admin_cap(identity, _star_on_broad)
            if removal is not None:
                self._record_removed(identity, ("admin",), [removal])
                return None
            restricting.extend(capped_by)
        note = f"restricted by Deny in {', '.join(restricting[:5])}" if restricting else None
        ev = self._b.evidence(best, "identity", (), (), ReachLevel.ADMIN, note)
        if _primitive_on_scope(best):
            return replace(ev, actions=(best.policy_name,), action_count=1)
        return replace(ev, actions=("*",), action_count=1)

    def permissions_management_actions(
        self, identity: Identity, *, broad_only: bool = True
    ) -> list[StatementEvidence]:
        """Statements allowing permissions-management actions (on `*` or broad resources by default)."""
        u = self._universe(("pm",), lambda: pm_universe(self.catalogue))
        grants = self._effective(self._ask(identity, None), "*", u, {})
        if broad_only:
            grants = [g for g in grants if g.stmt.not_resources or any(map(is_broad_resource, g.targets))]
        return [g.evidence for g in grants]

    def actions_on(self, identity: Identity, resource_pattern: str) -> frozenset[str]:
        """Every catalogue action the identity may perform on some resource matching the pattern, with its
        boundary and certain Denies applied (the full set, where `reach` evidence lists at most a few)."""
        grants = self._effective(self._ask(identity, None), resource_pattern,
                                 self._reach_universe(resource_pattern), {})
        return frozenset().union(*(g.known for g in grants))

    # --- universes -------------------------------------------------------------------------------------

    def _universe(self, key: tuple[object, ...], build: Callable[[], Universe]) -> Universe:
        u = self._universes.get(key)
        if u is None:
            u = self._universes[key] = build()
        return u

    def _reach_universe(self, p: str) -> Universe:
        return self._universe(("reach", p), lambda: self._same_content(reach_universe(self.catalogue, p)))

    def _same_content(self, u: Universe) -> Universe:
        """The universe already built with the same actions, if any: patterns that differ only in a name
        (a bucket per resource policy) then share every cached per-policy answer keyed by universe."""
        content = (u.known, u.aws, u.cloud, u.aws_services, u.unknown_targets, u.queries, u.admin_only)
        return self._universes.setdefault(("content", content), u)

    def _query_universe(self, queries: tuple[str, ...]) -> Universe:
        return self._universe(("query", queries), lambda: query_universe(self.catalogue, queries))

    # --- evaluation ------------------------------------------------------------------------------------

    def _compiled(self, policy_id: str) -> tuple[Stmt, ...] | None:
        stmts = self._stmts.get(policy_id)
        if stmts is None:
            policy = self._policies.get(policy_id)
            if policy is None:
                return None
            stmts = self._stmts[policy_id] = compile_policy(policy, self.now)
        return stmts

    # --- conditions that depend on the identity or the request ----------------------------------------

    def _dynamic_keys(self, policy_id: str) -> frozenset[str]:
        keys = self._dynamic.get(policy_id)
        if keys is None:
            stmts = self._compiled(policy_id) or ()
            keys = self._dynamic[policy_id] = frozenset().union(*(s.dynamic for s in stmts))
        return keys

    def _ask(self, identity: Identity, request: Request | None) -> _Ask:
        if request:
            return self._new_ask(identity, request)
        # Without a request the answer is the identity's own: kept for identities with contexts (the others
        # cost one dict lookup per policy and are not worth the memory).
        if not self._is_dynamic(identity):  # most identities: no policy of theirs tests such a key
            return _Ask(identity, {}, None, ())
        hit = self._asks.get(identity.id)
        if hit is not None and hit.identity is identity:
            return hit
        ask = self._new_ask(identity, None)
        if ask.contexts is not None:
            if len(self._asks) >= _CACHE_LIMIT:
                self._asks.clear()
            self._asks[identity.id] = ask
        return ask

    def _is_dynamic(self, identity: Identity) -> bool:
        """Does any of the identity's policies test an identity or request condition key?"""
        ids = (identity.policy_ids, identity.boundary_policy_id)
        dynamic = self._set_is_dynamic.get(ids)
        if dynamic is None:
            if len(self._set_is_dynamic) >= _CACHE_LIMIT:
                self._set_is_dynamic.clear()
            dynamic = self._set_is_dynamic[ids] = any(
                self._dynamic_keys(pid) for pid in (*identity.policy_ids, identity.boundary_policy_id) if pid)
        return dynamic

    def _new_ask(self, identity: Identity, request: Request | None) -> _Ask:
        facts = {k.lower(): frozenset(v) for k, v in request.items() if k.lower() in REQUEST_KEYS} if request else {}
        contexts: dict[str, _Ctx] | None = None
        bid = identity.boundary_policy_id
        for pid in (*identity.policy_ids, bid) if bid else identity.policy_ids:
            keys = self._dynamic.get(pid)
            if keys is None:
                keys = self._dynamic_keys(pid)
            if keys:
                ctx = self._context(identity, keys, facts)
                if ctx:
                    contexts = contexts if contexts is not None else {}
                    contexts[pid] = ctx
        key = tuple(contexts.items()) if contexts else ()
        return _Ask(identity, facts, contexts, key)

    def _context(self, identity: Identity, keys: frozenset[str], request: dict[str, frozenset[Value]]) -> _Ctx:
        """The facts of `keys` for this identity and request; () when none is known (nothing to decide)."""
        principal_keys = [k for k in keys if is_principal_key(k)]
        entries = list(self.principal(identity).cache_key(principal_keys)) if principal_keys else []
        entries.extend((k, tuple(sorted(map(repr, request[k]))) if k in request else None)
                       for k in sorted(keys & REQUEST_KEYS))
        return tuple(entries) if any(v is not None for _, v in entries) else ()

    def _facts(self, ask: _Ask) -> Facts:
        return chain(self.principal(ask.identity).lookup, ask.request.get)

    def _stmts_for(self, policy_id: str, ask: _Ask) -> tuple[Stmt, ...] | None:
        """The policy's statements as they apply to this question (conditions on the identity/request decided)."""
        ctx = ask.contexts.get(policy_id) if ask.contexts else None
        if not ctx:
            return self._compiled(policy_id)
        key = (policy_id, ctx)
        hit = self._special.get(key)
        if hit is None:
            base = self._compiled(policy_id)
            if base is None:
                return None
            if len(self._special) >= _CACHE_LIMIT:
                self._special.clear()
            hit = self._special[key] = specialize(base, self._facts(ask))
        return hit

    def _statements_of(self, policy_ids: Iterable[str], ask: _Ask) -> tuple[list[Stmt], list[Stmt]]:
        allows: list[Stmt] = []
        denies: list[Stmt] = []
        for pid in policy_ids:
            for s in self._stmts_for(pid, ask) or ():
                (allows if s.effect == "Allow" else denies).append(s)
        return allows, denies

    def _action_part(self, policy_id: str, u: Universe, ask: _Ask) -> _Contribution:
        """The policy's grants and possibly relevant Denies within a universe, resources aside."""
        ctx = ask.contexts.get(policy_id, ()) if ask.contexts else ()
        key = (policy_id, u.key, ctx)
        hit = self._parts.get(key)
        if hit is None:
            hit = self._inline_parts.get(key)
        if hit is not None:
            return hit
        stmts = self._stmts_for(policy_id, ask)
        if stmts is None:
            return _EMPTY
        allows = tuple(g for s in stmts if (g := self._b.grant(s, u)) is not None)
        denies = tuple(s for s in stmts if s.effect == "Deny" and self._deny_relevant(s, u))
        c = _contribution_of(allows, denies)
        if self._policies[policy_id].kind == "inline":
            if len(self._inline_parts) >= _INLINE_PARTS_LIMIT:
                self._inline_parts.clear()
            self._inline_parts[key] = c
        elif len(self._parts) < _CACHE_LIMIT:
            self._parts[key] = c
        return c

    def _contribution(self, policy_id: str, p: str, u: Universe, ask: _Ask) -> _Contribution:
        """The policy's grants and Denies that touch resource pattern `p`."""
        part = self._action_part(policy_id, u, ask)
        if part is _EMPTY:
            return part
        allows = tuple(t for g in part.allows if (t := with_targets(g, p, self.scopes)) is not None)
        denies = tuple(d for d in part.denies if allow_targets(d, p, self.scopes))
        if not allows and not denies:
            return _EMPTY
        if len(allows) == len(part.allows):
            return _Contribution(allows, denies, part.known_union)
        return _contribution_of(allows, denies)

    def _deny_relevant(self, d: Stmt, u: Universe) -> bool:
        if not (u.aws if d.aws else u.cloud):
            return False
        if not d.aws or u.unknown_targets or self._b.spec_known(d, u):
            return True
        return any(has_wildcard(a.partition(":")[0]) or self._b.explicit_unknown(a) for a in d.actions)

    def _effective(self, ask: _Ask, p: str, u: Universe, notes: _Notes,
                   removed: list[Removal] | None = None) -> list[Grant]:
        """What the identity's policies (and boundary) allow, within the organisation's guardrails."""
        grants = self._identity_effective(ask, p, u, notes)
        if not grants or self._guardrails is None:
            return grants

        def note(d: Stmt, node: str, text: str, mk: frozenset[str], mr: tuple[Residual, ...]) -> None:
            entry = notes.setdefault((d.policy_id, d.index, node, text), (d, "identity", set(), {}))
            entry[2].update(mk)
            entry[3].update((r.name, r) for r in mr)

        return self._guardrails.cap(ask.identity, p, u, grants, note, removed)

    def _identity_effective(self, ask: _Ask, p: str, u: Universe, notes: _Notes) -> list[Grant]:
        # Reach questions use few patterns: cache each policy's contribution per pattern. Other
        # questions (can_perform on thousands of role ARNs) filter the cached action part instead.
        identity = ask.identity
        table = self._tables.get((p, u.key)) if u.key[0] in _PATTERN_CACHED else None
        if table is None and u.key[0] in _PATTERN_CACHED:
            table = self._tables[(p, u.key)] = {}
        allows: list[Grant] = []
        denies: list[tuple[Stmt, str]] = []
        for pid in identity.policy_ids:
            c = self._cached_contribution(pid, p, u, table, ask)
            if c.allows:
                allows.extend(c.allows)
            if c.denies:
                denies.extend((d, "identity") for d in c.denies)
        if not allows:
            return []
        bid = identity.boundary_policy_id
        boundary = None
        if bid and bid in self._policies:
            boundary = self._cached_contribution(bid, p, u, table, ask)
            denies.extend((d, "boundary") for d in boundary.denies)
        if boundary is None and not denies:
            return allows
        deny_key = tuple((d.policy_id, d.index, src) for d, src in denies)
        out = []
        for g in allows:
            # `ask.key`: grants and Denies of policies whose conditions test the identity/request differ by it.
            key = (g.stmt.policy_id, g.stmt.index, p, u.key, bid if boundary else None, deny_key, ask.key)
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

    def _cached_contribution(
        self, pid: str, p: str, u: Universe, table: dict[object, _Contribution] | None, ask: _Ask
    ) -> _Contribution:
        if table is None:
            return self._contribution(pid, p, u, ask)
        ctx = ask.contexts.get(pid) if ask.contexts else None
        slot = (pid, ctx) if ctx else pid
        c = table.get(slot)
        if c is None:
            c = self._contribution(pid, p, u, ask)
            if self._policies.get(pid) is not None and self._policies[pid].kind != "inline":
                table[slot] = c
        return c

    def _restrict(
        self, g: Grant, p: str, u: Universe, boundary: _Contribution | None, denies: list[tuple[Stmt, str]]
    ) -> tuple[Grant | None, list[_NoteEntry]]:
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
            elif deny_covers(d, p, self.scopes) or all(deny_covers(d, t, self.scopes) for t in g.targets):
                mr = tuple(r for r in mr if spec_covers(d, r.name))
                known = known - mk
                residual = tuple(r for r in residual if r not in mr)
                note = "Deny applied: removes these actions"
            else:
                note = "Deny covers only part of the resources: recorded, not applied"
            notes.append(((d.policy_id, d.index, source, note), d, source, mk, mr))
        if known is g.known and residual is g.residual:
            return g, notes
        if not known and all(r.level is None for r in residual):  # unknown action names alone grant nothing
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
            key = tuple(gs)  # grants hash by identity and stay referenced by the key
            merged = self._merged.get(key)
            if merged is None:
                if len(self._merged) > _CACHE_LIMIT:
                    self._merged.clear()
                merged = self._merged[key] = self._merge(gs)
            evidence.append(merged)
        evidence.sort(key=lambda e: -e.level.rank if e.level else 0)
        denies = tuple(
            self._b.evidence(d, src, mk, mr.values(), None, note)
            for (*_, note), (d, src, mk, mr) in notes.items()
        )
        unknown = sorted({a for e in evidence for a in e.unknown_actions})
        return Reach(
            level=evidence[0].level or ReachLevel.WRITE, resource_patterns=patterns,
            statements=tuple(evidence), denies=denies, unknown_actions=tuple(unknown),
            boundary_policy_id=identity.boundary_policy_id,
            missing_policy_ids=self.missing_policy_ids(identity),
        )

    def _merge(self, gs: list[Grant]) -> StatementEvidence:
        """One statement matched several patterns of a system: one evidence entry for all of them."""
        residual = tuple({r.name: r for g in gs for r in g.residual}.values())
        names = {r.name for r in residual}
        heads = {a for g in gs for a in g.evidence.actions if a not in names}
        count = len(frozenset().union(*(g.known for g in gs))) + len(residual)
        level = max((g.level for g in gs), key=lambda lv: lv.rank)
        return self._b.evidence(gs[0].stmt, "identity", heads, residual, level, count=count)


def _star_on_broad(s: Stmt) -> bool:
    if s.not_actions or not any(a in ("*", "*:*") for a in s.actions):
        return False
    if s.not_resources:
        return False
    if s.aws:
        return "*" in s.wide_resources
    return any(is_broad_resource(r) for r in s.wide_resources)



# Global Administrator's permission: every action on every directory object.
ENTRA_ALL_TASKS = "microsoft.directory/allentities/allproperties/alltasks"


def _entra_all_tasks(s: Stmt) -> bool:
    """An Entra directory role holding every task, assigned on the whole directory (scope `/`)."""
    return (s.provider == "azure" and not s.not_actions and "/" in s.wide_resources
            and any(a.lower() == ENTRA_ALL_TASKS for a in s.actions))


def _primitive_on_scope(s: Stmt) -> bool:
    """A GCP Owner / Editor binding on a project, folder or organisation (and in force: it has actions)."""
    return (s.provider == "gcp" and s.policy_name in GCP_PRIMITIVE_ADMIN_ROLES and bool(s.actions)
            and not s.not_resources and any(is_broad_resource(r) for r in s.wide_resources))
