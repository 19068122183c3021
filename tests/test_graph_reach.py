"""Graph: every edge has a kind and a reason; reachability through chains is computed with paths."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from nhiaudit.analysis import prepare
from nhiaudit.graph.model import EdgeKind
from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement, Trust, TrustKind
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot
from nhiaudit.policy.loader import load_policy_text

ACCOUNT = "111122223333"


def role(name: str, *policies: str) -> Identity:
    return Identity(id=f"arn:aws:iam::{ACCOUNT}:role/{name}", provider=Provider.AWS, account=ACCOUNT,
                    kind=IdentityKind.ROLE, name=name, policy_ids=policies)


def allow(pid: str, actions: list[str], resources: list[str]) -> Policy:
    return Policy(id=pid, provider=Provider.AWS, name=pid,
                  statements=(Statement(actions=tuple(actions), resources=tuple(resources)),))


POLICY = """version: 1
systems:
  pii: {resources: ["arn:aws:s3:::pii*"]}
integrations:
  - name: bot
    identities: ["arn:aws:iam::111122223333:role/a"]
    must_not_reach: [pii]
"""


def chain_snapshot(trust_principal: str) -> Snapshot:
    """a -> b -> c (reads pii), built from policies and trust records as a connector would."""
    return Snapshot(
        identities=[role("a", "pa"), role("b", "pb"), role("c", "pc")],
        policies=[allow("pa", ["sts:AssumeRole"], [f"arn:aws:iam::{ACCOUNT}:role/b"]),
                  allow("pb", ["sts:AssumeRole"], ["*"]),
                  allow("pc", ["s3:GetObject"], ["arn:aws:s3:::pii-exports/*"])],
        trusts=[Trust(identity_id=f"arn:aws:iam::{ACCOUNT}:role/b", principal=trust_principal,
                      kind=TrustKind.ASSUME_ROLE, reason="trust policy of role/b, statement 0"),
                Trust(identity_id=f"arn:aws:iam::{ACCOUNT}:role/c", principal=f"arn:aws:iam::{ACCOUNT}:root",
                      kind=TrustKind.ASSUME_ROLE, reason="trust policy of role/c, statement 0")],
    )


def test_chain_reaches_system_with_hop_reasons():
    ctx = prepare(chain_snapshot(f"arn:aws:iam::{ACCOUNT}:root"), load_policy_text(POLICY, "p.yaml"),
                  date(2026, 11, 28))
    reach = ctx.reach.reach(f"arn:aws:iam::{ACCOUNT}:role/a", "pii")
    assert reach is not None and reach.via_chain
    # b may assume every role trusting the account root: one edge to the account-principal hub, not one per role.
    assert [h.kind for h in reach.hops] == ["can_assume", "can_assume", "can_assume", "can_reach"]
    assert all(h.reason for h in reach.hops)
    assert "trust policy of role/b" in reach.hops[0].reason
    assert reach.hops[1].target == f"principal:arn:aws:iam::{ACCOUNT}:root"
    assert "every role that trusts" in reach.hops[1].reason and "trust policy of role/c" in reach.hops[2].reason
    assert reach.access.value == "read"
    assert ctx.reach.identities_reaching("pii") == sorted(f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in "abc")


def test_root_trust_hub_keeps_edges_linear():
    """100 callers allowed sts:AssumeRole on * and 100 roles trusting the account root: 200 edges, not 10,000."""
    callers = [role(f"c{i}", "pb") for i in range(100)]
    targets = [role(f"t{i}", "pc") for i in range(100)]
    trusts = [Trust(identity_id=t.id, principal=f"arn:aws:iam::{ACCOUNT}:root", kind=TrustKind.ASSUME_ROLE,
                    reason=f"trust policy of {t.name}") for t in targets]
    snap = Snapshot(identities=callers + targets, trusts=trusts,
                    policies=[allow("pb", ["sts:AssumeRole"], ["*"]), allow("pc", ["s3:GetObject"], ["*"])])
    ctx = prepare(snap, load_policy_text(POLICY, "p.yaml"), date(2026, 11, 28))
    assert 200 <= len(ctx.estate.act_as) <= 210
    assert len(ctx.reach.identities_reaching("pii")) == 200
    assert f"arn:aws:iam::{ACCOUNT}:role/t5" in ctx.reach.act_as_successors(callers[0].id)


def test_no_edge_without_caller_permission():
    snap = chain_snapshot(f"arn:aws:iam::{ACCOUNT}:root")
    snap = snap.model_copy(update={"policies": [allow("pa", ["s3:ListAllMyBuckets"], ["*"]), *snap.policies[1:]]})
    ctx = prepare(snap, load_policy_text(POLICY, "p.yaml"), date(2026, 11, 28))
    assert ctx.reach.reach(f"arn:aws:iam::{ACCOUNT}:role/a", "pii") is None


def test_cycles_are_handled():
    snap = chain_snapshot(f"arn:aws:iam::{ACCOUNT}:root")
    back = Trust(identity_id=f"arn:aws:iam::{ACCOUNT}:role/a", principal=f"arn:aws:iam::{ACCOUNT}:role/b",
                 kind=TrustKind.ASSUME_ROLE, reason="trust policy of role/a")
    snap = snap.model_copy(update={"trusts": [*snap.trusts, back]})
    ctx = prepare(snap, load_policy_text(POLICY, "p.yaml"), date(2026, 11, 28))
    reach_b = ctx.reach.reach(f"arn:aws:iam::{ACCOUNT}:role/b", "pii")
    assert reach_b is not None and reach_b.hops[-1].kind == "can_reach"


def test_every_edge_of_the_demo_has_kind_and_reason():
    snap = load_snapshot(Path("examples/demo/snapshot.json"))
    policy = load_policy_text(Path("examples/demo/policy.yaml").read_text(), "examples/demo/policy.yaml")
    ctx = prepare(snap, policy, date(2026, 11, 28))
    edges = list(ctx.estate.graph.edges(data=True))
    assert edges
    kinds = {d["kind"] for _, _, d in edges}
    assert {EdgeKind.CAN_ASSUME, EdgeKind.CAN_REACH, EdgeKind.RUNS_AS, EdgeKind.BOUND_TO,
            EdgeKind.AUTHENTICATES} <= kinds
    for _, _, data in edges:
        assert data["kind"] in set(EdgeKind) and data["reason"]
    access = {d.get("access") for _, _, d in edges if d["kind"] == EdgeKind.CAN_REACH}
    assert access <= {"read", "write", "admin"}


def test_chains_toward_identities_go_through_the_hub_and_restore_gc():
    import gc

    callers = [role(f"c{i}", "pb") for i in range(3)]
    admin = role("admin", "pc")
    trust = Trust(identity_id=admin.id, principal=f"arn:aws:iam::{ACCOUNT}:root", kind=TrustKind.ASSUME_ROLE,
                  reason="trust policy of admin", conditions={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    snap = Snapshot(identities=[*callers, admin], trusts=[trust],
                    policies=[allow("pb", ["sts:AssumeRole"], ["*"]), allow("pc", ["*"], ["*"])])
    assert gc.isenabled()
    ctx = prepare(snap, load_policy_text(POLICY, "p.yaml"), date(2026, 11, 28))
    assert gc.isenabled()  # paused only while building
    from nhiaudit.facts.chains import ChainIndex

    chains = ChainIndex(ctx.reach, [admin.id])
    assert len(chains) == 3
    target, hops = chains.path(callers[1].id)
    assert target == admin.id and len(hops) == 2
    assert "principal:" in hops[0] and "MultiFactorAuthPresent" in hops[1]
