"""Who can act as whom: role assumption (AWS), impersonation (GCP), ownership (Entra).

Computed from an index of trust records by principal, so the cost is linear in identities plus the
candidate trusts each one matches, never a comparison of every pair.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nhiaudit.graph.model import EdgeKind
from nhiaudit.inventory.model import Identity, Policy, Provider, Trust, TrustKind
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.permissions._core import GCP_CONDITION
from nhiaudit.permissions.conditions import evaluate_condition
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.patterns import glob_covers, glob_match, widen_variables
from nhiaudit.permissions.results import StatementEvidence

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
        key = (identity.policy_ids, identity.boundary_policy_id)
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
        key = (identity.policy_ids, identity.boundary_policy_id, accounts)
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

    def allowing(self, identity: Identity, role_arn: str) -> StatementEvidence | None:
        allows, narrowed = self._get(identity)
        if narrowed:
            return self._evaluator.can_perform(identity, ASSUME_ACTION, role_arn)
        for ev in allows:
            hit = any(glob_match(widen_variables(r), role_arn) for r in ev.statement_resources)
            if hit != ev.not_resource:
                return ev
        return None


def _aws_edges(ident: Identity, candidates: list[Trust], identities: dict[str, Identity],
               grants: _AssumeGrants, hubs: _RootHubs) -> list[ActAsEdge]:
    edges = []
    has_grants = grants.any(ident)
    if not has_grants:  # only trusts naming this identity can apply
        candidates = [t for t in candidates if t.principal == ident.id]
    root = aws_account_root(ident.account)
    covering = grants.covering(ident, hubs.accounts(root)) if has_grants and hubs.accounts(root) else None
    if covering is not None:
        # One edge to the hub instead of one per role that trusts the account root.
        hubs.used.add(root)
        candidates = [t for t in candidates if t.principal != root]
        edges.append(ActAsEdge(ident.id, root, EdgeKind.CAN_ASSUME, f"{grants.reason(covering)}; so it may assume "
                               f"every role that trusts {root}", target_is_hub=True))
    for trust in candidates:
        target = identities.get(trust.identity_id)
        if target is None or target.id == ident.id:
            continue
        if trust.principal == ident.id and target.account == ident.account:
            # Same account and the trust policy names the principal: the trust policy alone grants it.
            edges.append(ActAsEdge(ident.id, target.id, EdgeKind.CAN_ASSUME,
                                   f"{trust.reason} names {ident.name} directly", trust.conditions))
            continue
        allowed = grants.allowing(ident, target.id) if has_grants else None
        if allowed is None:
            continue
        edges.append(ActAsEdge(
            ident.id, target.id, EdgeKind.CAN_ASSUME,
            f"{grants.reason(allowed)}; {trust.reason} trusts {trust.principal}",
            trust.conditions,
        ))
    return edges


class _RootHubs:
    """Roles that trust an account root, grouped by that root.

    "Trusts arn:aws:iam::A:root" means any principal of account A whose own policies allow the call.
    An identity allowed sts:AssumeRole on every role of the trusting accounts gets one edge to the hub
    node of that root, and the hub one edge to each trusting role: I + R edges instead of I x R.
    """

    def __init__(self, by_principal: dict[str, list[Trust]], identities: dict[str, Identity]) -> None:
        self._by_principal = by_principal
        self._accounts: dict[str, frozenset[str]] = {}
        self._identities = identities
        self.used: set[str] = set()

    def accounts(self, root: str) -> frozenset[str]:
        if root not in self._accounts:
            self._accounts[root] = frozenset(
                self._identities[t.identity_id].account for t in self._by_principal.get(root, ())
                if t.identity_id in self._identities)
        return self._accounts[root]

    def edges(self) -> list[ActAsEdge]:
        return [ActAsEdge(root, t.identity_id, EdgeKind.CAN_ASSUME, f"{t.reason} trusts {root}", t.conditions,
                          source_is_hub=True)
                for root in sorted(self.used) for t in self._by_principal[root] if t.identity_id in self._identities]


def trust_in_force(trust: Trust, now: datetime | None) -> bool:
    """False when a GCP binding condition on the trust is out of force at `now` (an expired grant)."""
    block = trust.conditions.get(GCP_CONDITION)
    if now is None or not isinstance(block, dict):
        return True
    return evaluate_condition(str(block.get("expression") or ""), now).in_force


def act_as_edges(snapshot: Snapshot, identities: dict[str, Identity], evaluator: Evaluator) -> list[ActAsEdge]:
    by_principal: dict[str, list[Trust]] = defaultdict(list)
    trusts = [t for t in snapshot.trusts if trust_in_force(t, evaluator.now)]
    for trust in trusts:
        by_principal[trust.principal].append(trust)
    grants = _AssumeGrants(evaluator, {p.id: p for p in snapshot.policies})
    hubs = _RootHubs(by_principal, identities)

    edges: list[ActAsEdge] = []
    for ident in identities.values():
        if ident.provider is Provider.AWS:
            candidates = (by_principal.get(ident.id, []) + by_principal.get(aws_account_root(ident.account), [])
                          + by_principal.get("*", []))
            edges.extend(_aws_edges(ident, candidates, identities, grants, hubs))
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
