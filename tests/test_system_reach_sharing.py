"""The graph's shared identity -> system reach (graph/system_reach.py) answers exactly as the full evaluator.

It combines per-policy answers when no Deny of the identity's policies can touch the system; generated
identities with Allows and Denies on the system's service, on another service, on other resources, and with
boundaries and missing policies, must get the same level, evidence and Deny notes either way."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nhiaudit.graph.system_reach import SystemReachEvaluator
from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement
from nhiaudit.permissions import Evaluator, Reach, default_catalogue

SYSTEMS = {
    "ledger": ["arn:aws:s3:::ledger-*"],
    "models": ["arn:aws:bedrock:*::foundation-model/*"],
    "both": ["arn:aws:s3:::ledger-*", "arn:aws:bedrock:*::foundation-model/*"],
}
STATEMENTS: list[dict[str, Any]] = [
    {"actions": ("s3:GetObject",), "resources": ("arn:aws:s3:::ledger-*",)},
    {"actions": ("s3:*",), "resources": ("*",)},
    {"actions": ("bedrock:InvokeModel",), "resources": ("*",)},
    {"actions": ("*",), "resources": ("*",)},
    {"actions": ("ec2:*",), "resources": ("*",)},
    {"effect": "Deny", "actions": ("s3:DeleteObject",), "resources": ("*",)},
    {"effect": "Deny", "actions": ("s3:*",), "resources": ("arn:aws:s3:::other-*",)},
    {"effect": "Deny", "actions": ("ec2:*", "iam:*"), "resources": ("*",)},
    {"effect": "Deny", "actions": ("bedrock:*",), "resources": ("*",)},
    {"effect": "Deny", "not_actions": ("s3:GetObject",), "resources": ("*",)},
    {"effect": "Deny", "actions": ("s3:GetObject",), "not_resources": ("arn:aws:s3:::ledger-*",)},
    {"effect": "Deny", "actions": ("s3:PutObject",), "resources": ("arn:aws:s3:::ledger-2026/*",)},
]


def _policy(index: int, picks: list[int]) -> Policy:
    return Policy(id=f"arn:aws:iam::111122223333:policy/p{index}", provider=Provider.AWS, name=f"p{index}",
                  statements=tuple(Statement(**STATEMENTS[i]) for i in picks))


POLICY_SETS = st.lists(st.lists(st.integers(0, len(STATEMENTS) - 1), min_size=1, max_size=3), min_size=1,
                       max_size=5)
# Policy indexes may repeat: a policy attached directly and through a group is listed twice.
IDENTITIES = st.lists(st.tuples(st.lists(st.integers(0, 5), max_size=4), st.sampled_from([None, 0, 1])),
                      min_size=1, max_size=6)


def _shape(reach: Reach | None) -> object:
    """What a report shows of an answer, evidence order aside (the shared path orders it per policy)."""
    if reach is None:
        return None
    return (reach.level, reach.boundary_policy_id, reach.missing_policy_ids, tuple(sorted(reach.unknown_actions)),
            sorted((e.policy_id, e.statement_index, e.level.rank if e.level else -1, e.actions, e.action_count)
                   for e in reach.statements),
            sorted((e.policy_id, e.statement_index, e.effect, e.note or "", e.actions) for e in reach.denies))


@settings(max_examples=150, deadline=None)
@given(POLICY_SETS, IDENTITIES)
def test_shared_reach_equals_the_full_evaluator(policy_picks: list[list[int]],
                                                identities: list[tuple[list[int], int | None]]) -> None:
    policies = {p.id: p for p in (_policy(i, picks) for i, picks in enumerate(policy_picks))}
    ids = list(policies)
    full = Evaluator(policies, default_catalogue())
    shared = SystemReachEvaluator(Evaluator(policies, default_catalogue()), policies)
    for n, (attached, boundary) in enumerate(identities):
        # Index 5 may be beyond the generated policies: a policy missing from the snapshot.
        policy_ids = tuple(ids[i] if i < len(ids) else "arn:aws:iam::111122223333:policy/missing" for i in attached)
        identity = Identity(id=f"arn:aws:iam::111122223333:role/r{n}", provider=Provider.AWS,
                            account="111122223333", kind=IdentityKind.ROLE, name=f"r{n}", policy_ids=policy_ids,
                            boundary_policy_id=ids[boundary] if boundary is not None and boundary < len(ids)
                            else None)
        for system, patterns in SYSTEMS.items():
            assert _shape(shared.reach(identity, system, patterns)) == _shape(full.reach(identity, patterns)), (
                system, policy_ids, identity.boundary_policy_id)
