"""Who can act as whom: role assumption (AWS), impersonation (GCP), ownership (Entra).

Computed from an index of trust records by principal, so the cost is linear in identities plus the
candidate trusts each one matches, never a comparison of every pair. An identity's `sts:AssumeRole`
grants are evaluated once per distinct policy set, then matched against each candidate role's ARN.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from nhiaudit.graph.model import EdgeKind
from nhiaudit.inventory.model import Identity, Policy, Provider, Trust, TrustKind
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.results import StatementEvidence

ASSUME_ACTION = "sts:AssumeRole"


@dataclass(frozen=True)
class ActAsEdge:
    source: str  # identity id, or an external principal ("*", "arn:aws:iam::999:root", an OIDC issuer)
    target: str
    kind: EdgeKind
    reason: str
    conditions: dict[str, Any] = field(default_factory=dict)


def aws_account_root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def _resource_match(resources: tuple[str, ...], negated: bool, arn: str) -> bool:
    hit = any(fnmatchcase(arn, r) for r in resources)
    return not hit if negated else hit


class _AssumeGrants:
    """sts:AssumeRole grants and unconditional Denies per distinct (policies, boundary) combination."""

    def __init__(self, evaluator: Evaluator, policies: dict[str, Policy]) -> None:
        self._evaluator = evaluator
        self._policies = policies
        self._cache: dict[tuple, tuple[list[StatementEvidence], list[tuple[tuple[str, ...], bool]]]] = {}

    def _denies(self, identity: Identity) -> list[tuple[tuple[str, ...], bool]]:
        out = []
        ids = (*identity.policy_ids, *((identity.boundary_policy_id,) if identity.boundary_policy_id else ()))
        for pid in ids:
            for st in getattr(self._policies.get(pid), "statements", ()):
                if st.effect != "Deny" or st.conditions:
                    continue
                acts = st.not_actions or st.actions
                covers = any(fnmatchcase(ASSUME_ACTION, a.lower()) or a == "*" for a in acts)
                if covers != bool(st.not_actions):
                    out.append((st.not_resources or st.resources, bool(st.not_resources)))
        return out

    def get(self, identity: Identity) -> tuple[list[StatementEvidence], list[tuple[tuple[str, ...], bool]]]:
        key = (identity.policy_ids, identity.boundary_policy_id)
        hit = self._cache.get(key)
        if hit is None:
            allows = self._evaluator.allowed_actions(identity, (ASSUME_ACTION,), "*")
            hit = self._cache[key] = (allows, self._denies(identity) if allows else [])
        return hit

    def allowing(self, identity: Identity, role_arn: str) -> StatementEvidence | None:
        allows, denies = self.get(identity)
        if any(_resource_match(res, neg, role_arn) for res, neg in denies):
            return None
        for ev in sorted(allows, key=lambda e: bool(e.conditions)):
            if _resource_match(ev.statement_resources, ev.not_resource, role_arn):
                return ev
        return None


def _aws_edges(ident: Identity, candidates: list[Trust], identities: dict[str, Identity],
               grants: _AssumeGrants) -> list[ActAsEdge]:
    edges = []
    has_grants = bool(grants.get(ident)[0])
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
            f"{allowed.reason}; {trust.reason} trusts {trust.principal}",
            trust.conditions,
        ))
    return edges


def act_as_edges(snapshot: Snapshot, identities: dict[str, Identity], evaluator: Evaluator) -> list[ActAsEdge]:
    by_principal: dict[str, list[Trust]] = defaultdict(list)
    for trust in snapshot.trusts:
        by_principal[trust.principal].append(trust)
    grants = _AssumeGrants(evaluator, {p.id: p for p in snapshot.policies})

    edges: list[ActAsEdge] = []
    for ident in identities.values():
        if ident.provider is Provider.AWS:
            candidates = (by_principal.get(ident.id, []) + by_principal.get(aws_account_root(ident.account), [])
                          + by_principal.get("*", []))
            edges.extend(_aws_edges(ident, candidates, identities, grants))
        else:
            for trust in by_principal.get(ident.id, []):
                if trust.identity_id in identities and trust.identity_id != ident.id:
                    kind = EdgeKind.CAN_IMPERSONATE
                    edges.append(ActAsEdge(ident.id, trust.identity_id, kind, trust.reason, trust.conditions))

    known_roots = {aws_account_root(i.account) for i in identities.values() if i.provider is Provider.AWS}
    for trust in snapshot.trusts:
        external = (
            trust.principal == "*"
            or trust.kind is TrustKind.FEDERATED
            or (trust.principal.endswith(":root") and trust.principal not in known_roots)
        )
        if external and trust.identity_id in identities:
            edges.append(ActAsEdge(trust.principal, trust.identity_id, EdgeKind.TRUSTED_BY, trust.reason,
                                   trust.conditions))
    return edges
