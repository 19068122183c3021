"""Who can act as whom: role assumption (AWS), impersonation (GCP), ownership (Entra).

Computed from an index of trust records by principal, so the cost is linear in identities plus the
candidate trusts each one matches, never a comparison of every pair. Identities whose policy set grants
no `sts:AssumeRole` at all are skipped after one cached check.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.graph.model import EdgeKind
from nhiaudit.inventory.model import Identity, Provider, Trust, TrustKind
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


class _AssumeGrants:
    """Whether an identity's policy set allows sts:AssumeRole at all (cached), then the exact check."""

    def __init__(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator
        self._any: dict[tuple, bool] = {}

    def any(self, identity: Identity) -> bool:
        key = (identity.policy_ids, identity.boundary_policy_id)
        hit = self._any.get(key)
        if hit is None:
            hit = self._any[key] = bool(self._evaluator.allowed_actions(identity, (ASSUME_ACTION,), "*"))
        return hit

    def allowing(self, identity: Identity, role_arn: str) -> StatementEvidence | None:
        return self._evaluator.can_perform(identity, ASSUME_ACTION, role_arn)


def _aws_edges(ident: Identity, candidates: list[Trust], identities: dict[str, Identity],
               grants: _AssumeGrants) -> list[ActAsEdge]:
    edges = []
    has_grants = grants.any(ident)
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
    grants = _AssumeGrants(evaluator)

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
