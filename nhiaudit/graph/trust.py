"""Who can act as whom: role assumption (AWS), impersonation (GCP), ownership (Entra).

Computed from an index of trust records by principal, so the cost is linear in identities plus the
candidate trusts each one matches, never a comparison of every pair.

AWS trust conditions are evaluated per caller (trust_conditions.py): a trust whose conditions no request of
the caller can meet (MFA for a service role, a tag it lacks, a date past `--as-of`) gives it no edge; met
clauses (`sts:ExternalId`, which the trusted party is expected to hold) leave the edge's conditions, and an
edge keeps only the clauses nhiaudit could not decide. Account-root trusts go through hubs, split by caller
class when a trust tests the caller (`_RootHubs`), so the graph stays linear and exact per caller.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nhiaudit.graph.model import EdgeKind
from nhiaudit.graph.trust_conditions import (
    OPEN,
    TrustConditions,
    TrustVerdict,
    caller_class,
    class_label,
    dates_in_force,
    is_caller_key,
)
from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Trust, TrustKind
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.permissions._core import GCP_CONDITION
from nhiaudit.permissions.aws_conditions import Clause
from nhiaudit.permissions.conditions import evaluate_condition
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.patterns import glob_covers, glob_match, widen_variables
from nhiaudit.permissions.principal_facts import UNKNOWN_PRINCIPAL, PrincipalFacts
from nhiaudit.permissions.results import StatementEvidence
from nhiaudit.work_counter import count

ASSUME_ACTION = "sts:AssumeRole"


@dataclass(frozen=True)
class ActAsEdge:
    source: str  # identity id, an account-principal hub (see below), or an external principal ("*", an issuer)
    target: str  # identity id or hub
    kind: EdgeKind
    reason: str
    conditions: dict[str, Any] = field(default_factory=dict)
    source_is_hub: bool = False
    target_is_hub: bool = False
    hub_label: str = ""  # a caller-class hub: what its callers' requests carry (the plain hub: its root)


def aws_account_root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


class _AssumeGrants:
    """Answers "may this identity call sts:AssumeRole on that role?" with work shared per policy set.

    Per distinct (policies, boundary): the allowing statements, and whether anything could narrow them
    (a boundary, or a Deny that may cover sts:AssumeRole). Without narrowing, matching a role ARN against
    the allowing statements' resources is exact; otherwise the evaluator decides.
    """

    def __init__(self, evaluator: Evaluator, policies: dict[str, Policy]) -> None:
        self._evaluator = evaluator
        self._policies = policies
        self._cache: dict[tuple, tuple[list[StatementEvidence], bool]] = {}
        self._reasons: dict[int, tuple[StatementEvidence, str]] = {}
        self._covering: dict[tuple, StatementEvidence | None] = {}
        self._narrowed: dict[tuple, tuple[tuple[Trust, StatementEvidence], ...]] = {}
        self._matches: dict[tuple, tuple[int, ...]] = {}

    def _may_be_denied(self, identity: Identity) -> bool:
        if identity.boundary_policy_id:
            return True
        for pid in identity.policy_ids:
            policy = self._policies.get(pid)
            for st in policy.statements if policy else ():
                if st.effect == "Deny" and (st.not_actions or any(
                        glob_match(a.lower(), ASSUME_ACTION.lower()) for a in st.actions)):
                    return True
        return False

    def _get(self, identity: Identity) -> tuple[list[StatementEvidence], bool]:
        # context_key: identities whose policies' conditions test their MFA or tags differently get their own entry.
        key = (identity.policy_ids, identity.boundary_policy_id, self._evaluator.context_key(identity))
        hit = self._cache.get(key)
        if hit is None:
            allows = self._evaluator.allowed_actions(identity, (ASSUME_ACTION,), "*")
            allows.sort(key=lambda e: bool(e.conditions))
            hit = self._cache[key] = (allows, bool(allows) and self._may_be_denied(identity))
        return hit

    def reason(self, evidence: StatementEvidence) -> str:
        """Evidence reasons are computed properties; the same statement allows many edges."""
        hit = self._reasons.get(id(evidence))
        if hit is None:  # the object is held with its text, so its id cannot be reused meanwhile
            hit = self._reasons[id(evidence)] = (evidence, evidence.reason)
        return hit[1]

    def covering(self, identity: Identity, accounts: frozenset[str]) -> StatementEvidence | None:
        """An allowing statement that covers every role of the given accounts (None: check role by role)."""
        allows, narrowed = self._get(identity)
        if narrowed:
            return None
        key = (identity.policy_ids, identity.boundary_policy_id, self._evaluator.context_key(identity), accounts)
        if key not in self._covering:
            self._covering[key] = next((
                ev for ev in allows
                if not ev.not_resource and all(
                    any(glob_covers(widen_variables(r), f"arn:aws:iam::{account}:role/*")
                        for r in ev.statement_resources)
                    for account in accounts)
            ), None)
        return self._covering[key]

    def any(self, identity: Identity) -> bool:
        return bool(self._get(identity)[0])

    def boundary_admits(self, identity: Identity, role_arn: str) -> bool:
        """A trust policy naming a role's ARN is limited by the role's permissions boundary (an implicit deny
        there wins); one naming a user's ARN is not (IAM User Guide, "Permissions boundaries for IAM
        entities"). A boundary missing from the snapshot counts as none, as in the evaluator."""
        bid = identity.boundary_policy_id
        if identity.kind is not IdentityKind.ROLE or not bid or bid not in self._policies:
            return True
        probe = Identity(id=f"boundary:{bid}", provider=identity.provider, account=identity.account,
                         kind=IdentityKind.ROLE, name=identity.name, policy_ids=(bid,))
        return self._evaluator.can_perform(probe, ASSUME_ACTION, role_arn) is not None

    def allowed_trusts(self, identity: Identity, group: str, trusts: list[Trust],
                       identities: dict[str, Identity]) -> tuple[tuple[Trust, StatementEvidence], ...]:
        """The trusts of a shared principal (an account root, `*`) whose role the identity may call
        sts:AssumeRole on, with the allowing statement (the first that allows it, as `allowing`). Roles are
        matched once per distinct statement resources, never per identity: checking each trusting role per
        identity would cost identities x roles. When something may narrow the grant the evaluator decides,
        once per distinct (policies, boundary, context)."""
        allows, narrowed = self._get(identity)
        if narrowed:
            key = (identity.policy_ids, identity.boundary_policy_id, self._evaluator.context_key(identity), group)
            hit = self._narrowed.get(key)
            if hit is None:
                count("trust.group_scan", len(trusts))
                found = []
                for trust in trusts:
                    if trust.identity_id in identities:
                        allowed = self.allowing(identity, trust.identity_id)
                        if allowed is not None:
                            found.append((trust, allowed))
                hit = self._narrowed[key] = tuple(found)
            return hit
        picked: dict[int, StatementEvidence] = {}
        for ev in allows:
            for index in self._matching(group, trusts, identities, ev.statement_resources, ev.not_resource):
                picked.setdefault(index, ev)
        return tuple((trusts[i], picked[i]) for i in sorted(picked))

    def _matching(self, group: str, trusts: list[Trust], identities: dict[str, Identity],
                  resources: tuple[str, ...], negated: bool) -> tuple[int, ...]:
        """Positions in `trusts` of the roles a statement with these resources allows assuming."""
        key = (group, resources, negated)
        hit = self._matches.get(key)
        if hit is None:
            count("trust.group_scan", len(trusts))
            patterns = [widen_variables(r) for r in resources]
            hit = self._matches[key] = tuple(
                i for i, t in enumerate(trusts)
                if t.identity_id in identities and any(glob_match(p, t.identity_id) for p in patterns) != negated)
        return hit

    def allowing(self, identity: Identity, role_arn: str) -> StatementEvidence | None:
        allows, narrowed = self._get(identity)
        if narrowed:
            return self._evaluator.can_perform(identity, ASSUME_ACTION, role_arn)
        for ev in allows:
            hit = any(glob_match(widen_variables(r), role_arn) for r in ev.statement_resources)
            if hit != ev.not_resource:
                return ev
        return None


def _kept(trust: Trust, verdict: TrustVerdict) -> dict[str, Any]:
    """The edge's conditions: the trust's own (empty) dict when it has none, as before, rather than one dict
    shared by every edge of the estate."""
    return verdict.conditions if trust.conditions else trust.conditions


class _Callers:
    """Condition-key facts of each caller, read from the evaluator once and only when a trust needs them."""

    def __init__(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator
        self._facts: dict[str, PrincipalFacts] = {}

    def get(self, identity: Identity) -> PrincipalFacts:
        hit = self._facts.get(identity.id)
        if hit is None:
            hit = self._facts[identity.id] = self._evaluator.principal(identity)
        return hit


def _aws_edges(ident: Identity, by_principal: dict[str, list[Trust]], identities: dict[str, Identity],
               grants: _AssumeGrants, hubs: _RootHubs, conds: TrustConditions, callers: _Callers) -> list[ActAsEdge]:
    """The identity's act-as edges, from the trusts naming it, its account root and `*` (in that order).
    Trusts of a root or of `*` are shared by many callers: they are matched once per distinct grant
    (`_AssumeGrants.allowed_trusts`), so a caller only walks the trusts that name it and those it may use."""
    edges: list[ActAsEdge] = []
    root = aws_account_root(ident.account)
    groups = [ident.id, root, "*"]
    has_grants = grants.any(ident)
    if not has_grants:  # only trusts naming this identity can apply
        groups = [g for g in groups if g == ident.id]
    accounts = hubs.accounts(root) if has_grants else frozenset()
    covering = grants.covering(ident, accounts) if accounts else None
    if covering is not None:
        # One edge to a hub of the root instead of one per role that trusts the account root.
        groups = [g for g in groups if g != root]
        for hub, keys, label in hubs.enter(root, ident, callers):
            what = f"every role that trusts {root}" + (
                f" whose trust conditions on {keys} its requests can meet" if keys else "")
            edges.append(ActAsEdge(ident.id, hub, EdgeKind.CAN_ASSUME,
                                   f"{grants.reason(covering)}; so it may assume {what}", target_is_hub=True,
                                   hub_label=label))
    for group in groups:
        trusts = by_principal.get(group)
        if not trusts:
            continue
        if group == ident.id:  # trusts naming the identity (or, in hostile data, a shared principal it is named as)
            count("trust.per_identity", len(trusts))
            _candidate_edges(ident, trusts, identities, grants if has_grants else None, conds, callers, edges,
                             grants.boundary_admits)
            continue
        allowed = grants.allowed_trusts(ident, group, trusts, identities)
        count("trust.per_identity", len(allowed))
        for trust, evidence in allowed:
            if trust.identity_id != ident.id:
                _add_edge(ident, trust, f"{grants.reason(evidence)}; {trust.reason} trusts {trust.principal}",
                          conds, callers, edges)
    return edges


def _candidate_edges(ident: Identity, candidates: list[Trust], identities: dict[str, Identity],
                     grants: _AssumeGrants | None, conds: TrustConditions, callers: _Callers,
                     edges: list[ActAsEdge],
                     boundary_admits: Callable[[Identity, str], bool] = lambda _i, _r: True) -> list[ActAsEdge]:
    """Edges from trusts checked one by one (`grants` None: the identity may call sts:AssumeRole on nothing)."""
    for trust in candidates:
        target = identities.get(trust.identity_id)
        if target is None or target.id == ident.id:
            continue
        if trust.principal == ident.id and target.account == ident.account:
            # Same account and the trust policy names the principal: the trust policy alone grants it, within
            # the caller's permissions boundary when the caller is a role.
            if not boundary_admits(ident, target.id):
                continue
            reason = f"{trust.reason} names {ident.name} directly"
        else:
            allowed = grants.allowing(ident, target.id) if grants is not None else None
            if allowed is None:
                continue
            reason = f"{grants.reason(allowed)}; {trust.reason} trusts {trust.principal}"
        _add_edge(ident, trust, reason, conds, callers, edges)
    return edges


def _add_edge(ident: Identity, trust: Trust, reason: str, conds: TrustConditions, callers: _Callers,
              edges: list[ActAsEdge]) -> None:
    verdict = conds.verdict(trust, callers.get(ident)) if trust.conditions else OPEN
    if verdict is not None:  # None: no request of this caller meets the trust's conditions
        edges.append(ActAsEdge(ident.id, trust.identity_id, EdgeKind.CAN_ASSUME, reason + verdict.note,
                               _kept(trust, verdict)))


@dataclass(frozen=True)
class _RootTrusts:
    """The trusts of one account root whose role is in the inventory, split by whether their conditions
    test the caller (MFA, its tags, ARN, organisation)."""

    independent: tuple[Trust, ...]
    dependent: tuple[Trust, ...]
    clauses_by_key: dict[str, tuple[Clause, ...]]  # caller-dependent key -> its clauses in `dependent`


class _RootHubs:
    """Roles that trust an account root, grouped by that root.

    "Trusts arn:aws:iam::A:root" means any principal of account A whose own policies allow the call.
    An identity allowed sts:AssumeRole on every role of the trusting accounts gets one edge to the hub
    node of that root, and the hub one edge to each trusting role: I + R edges instead of I x R.

    When some of those trusts test the caller (MFA, `aws:PrincipalTag/*`, ...), whether the hub -> role
    edge exists depends on who comes through the hub. Those roles hang from one hub per *caller class*
    instead (`root#digest`): callers whose facts decide every such clause alike (`caller_class`; usually
    just "may present MFA" and "never presents MFA") share a class and its hub, which holds only the roles
    its callers can assume. Roles whose trust tests no caller stay on the plain hub. Edges: I (plus I for
    callers whose class reaches a role) + R_plain + classes x R_tested, exact per caller.
    """

    def __init__(self, by_principal: dict[str, list[Trust]], identities: dict[str, Identity],
                 conds: TrustConditions) -> None:
        self._by_principal = by_principal
        self._accounts: dict[str, frozenset[str]] = {}
        self._identities = identities
        self._conds = conds
        self._trusts: dict[str, _RootTrusts] = {}
        self._classes: dict[tuple[str, tuple[object, ...]], str | None] = {}  # (root, class) -> its hub
        self._class_edges: dict[str, list[ActAsEdge]] = {}
        self._labels: dict[str, str] = {}
        self._used: set[str] = set()

    def accounts(self, root: str) -> frozenset[str]:
        if root not in self._accounts:
            self._accounts[root] = frozenset(
                self._identities[t.identity_id].account for t in self._by_principal.get(root, ())
                if t.identity_id in self._identities)
        return self._accounts[root]

    def _split(self, root: str) -> _RootTrusts:
        hit = self._trusts.get(root)
        if hit is None:
            independent: list[Trust] = []
            dependent: list[Trust] = []
            by_key: dict[str, list[Clause]] = defaultdict(list)
            for t in self._by_principal.get(root, ()):
                if t.identity_id not in self._identities:
                    continue
                if not self._conds.caller_keys(t):
                    independent.append(t)
                    continue
                dependent.append(t)
                for clause in self._conds.clauses(t):
                    if is_caller_key(clause.lkey):
                        by_key[clause.lkey].append(clause)
            hit = self._trusts[root] = _RootTrusts(tuple(independent), tuple(dependent),
                                                   {k: tuple(v) for k, v in by_key.items()})
        return hit

    def enter(self, root: str, ident: Identity, callers: _Callers) -> list[tuple[str, str, str]]:
        """(hub, caller-dependent keys as written or '', hub label) of each hub the caller, allowed to assume
        every role of the root's accounts, gets an edge to."""
        split = self._split(root)
        out = []
        if split.independent:
            self._used.add(root)
            out.append((root, "", root))
        if split.dependent:
            facts = callers.get(ident)
            cls = caller_class(facts, split.clauses_by_key)
            hub = self._class_hub(root, split, cls, facts)
            if hub is not None:
                keys = ", ".join(dict.fromkeys(c[0].key for _, c in sorted(split.clauses_by_key.items())))
                out.append((hub, keys, self._labels[hub]))
        return out

    def _class_hub(self, root: str, split: _RootTrusts, cls: tuple[object, ...], facts: PrincipalFacts) -> str | None:
        if (root, cls) not in self._classes:
            hub = f"{root}#{hashlib.sha256(repr(cls).encode()).hexdigest()[:12]}"
            edges = []
            for t in split.dependent:
                verdict = self._conds.verdict(t, facts)
                if verdict is not None:
                    edges.append(ActAsEdge(hub, t.identity_id, EdgeKind.CAN_ASSUME,
                                           f"{t.reason} trusts {root}{verdict.note}", _kept(t, verdict),
                                           source_is_hub=True))
            self._classes[root, cls] = hub if edges else None
            if edges:
                self._class_edges[hub] = edges
                self._labels[hub] = f"{root} [callers with {class_label(facts, split.clauses_by_key)}]"
        return self._classes[root, cls]

    def edges(self) -> list[ActAsEdge]:
        out = []
        for root in sorted(self._used):
            for t in self._split(root).independent:
                verdict = self._conds.verdict(t, UNKNOWN_PRINCIPAL)
                if verdict is not None:
                    out.append(ActAsEdge(root, t.identity_id, EdgeKind.CAN_ASSUME, f"{t.reason} trusts {root}"
                                         f"{verdict.note}", _kept(t, verdict), source_is_hub=True))
        for hub in sorted(self._class_edges):
            out.extend(self._class_edges[hub])
        return out


def trust_in_force(trust: Trust, now: datetime | None) -> bool:
    """False when a condition on the trust is out of force at `now` whoever calls: an expired GCP binding,
    an AWS trust whose aws:CurrentTime / aws:EpochTime condition cannot hold."""
    if now is None or not trust.conditions:
        return True
    block = trust.conditions.get(GCP_CONDITION)
    if not isinstance(block, dict):
        return dates_in_force(trust, now)
    return evaluate_condition(str(block.get("expression") or ""), now).in_force


def act_as_edges(snapshot: Snapshot, identities: dict[str, Identity], evaluator: Evaluator) -> list[ActAsEdge]:
    by_principal: dict[str, list[Trust]] = defaultdict(list)
    trusts = [t for t in snapshot.trusts if trust_in_force(t, evaluator.now)]
    for trust in trusts:
        by_principal[trust.principal].append(trust)
    grants = _AssumeGrants(evaluator, {p.id: p for p in snapshot.policies})
    conds = TrustConditions(evaluator.now)
    callers = _Callers(evaluator)
    hubs = _RootHubs(by_principal, identities, conds)

    edges: list[ActAsEdge] = []
    for ident in identities.values():
        if ident.provider is Provider.AWS:
            edges.extend(_aws_edges(ident, by_principal, identities, grants, hubs, conds, callers))
        else:
            for trust in by_principal.get(ident.id, []):
                if trust.identity_id in identities and trust.identity_id != ident.id:
                    kind = EdgeKind.CAN_IMPERSONATE
                    edges.append(ActAsEdge(ident.id, trust.identity_id, kind, trust.reason, trust.conditions))

    edges.extend(hubs.edges())
    known_roots = {aws_account_root(i.account) for i in identities.values() if i.provider is Provider.AWS}
    for trust in trusts:
        target = identities.get(trust.identity_id)
        external = (
            trust.principal in ("*", "allUsers", "allAuthenticatedUsers")
            or trust.kind is TrustKind.FEDERATED
            or (trust.principal.endswith(":root") and trust.principal not in known_roots)
            # GCP members outside the inventory (user:, group:, domain:, an unknown SA) stand outside it.
            or (target is not None and target.provider is Provider.GCP and trust.principal not in identities)
        )
        if external and trust.identity_id in identities:
            edges.append(ActAsEdge(trust.principal, trust.identity_id, EdgeKind.TRUSTED_BY, trust.reason,
                                   trust.conditions))
    return edges
