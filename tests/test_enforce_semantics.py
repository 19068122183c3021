"""Decisions of `nhiaudit enforce` on small estates: an existing boundary is replaced by one never wider, an
identity two integrations declare gets one boundary (what any allows, minus what any forbids, the loss
reported), a role chain to may_reach is kept when the chained role reaches nothing else, and otherwise the lost
access fails the verification (exit 1), named in the plan and the JSON."""

from __future__ import annotations

import textwrap

from enforce_support import ACCOUNT, enforce, enforce_json, role, write_snapshot

from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement, Trust, TrustKind
from nhiaudit.inventory.snapshot import Snapshot

TICKETS = "arn:aws:s3:::tickets"
MODELS = "arn:aws:bedrock:*::foundation-model/*"
SYSTEMS = f"""\
    systems:
      tickets: {{environment: prod, resources: ["{TICKETS}*"]}}
      pii: {{environment: prod, classification: restricted, resources: ["arn:aws:s3:::pii*"]}}
      models: {{kind: ai-model, resources: ["{MODELS}"]}}
"""


def _policy(tmp_path, integrations: str):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\n" + textwrap.dedent(SYSTEMS) + textwrap.dedent(integrations))
    return path


def _actions(guardrail: dict, resource: str) -> set[str]:
    out: set[str] = set()
    for s in guardrail["document"]["Statement"]:
        resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        if s["Effect"] == "Allow" and resource in resources:
            out |= {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])
    return out


def test_an_existing_boundary_is_replaced_by_one_that_is_never_wider(tmp_path):
    agent, access = role("agent", Statement(actions=("s3:*",), resources=(f"{TICKETS}*",)))
    old = Policy(id=f"arn:aws:iam::{ACCOUNT}:policy/old-boundary", provider=Provider.AWS, name="old-boundary",
                 kind="managed", statements=(Statement(actions=("s3:GetObject", "s3:ListBucket"), resources=("*",)),))
    agent = agent.model_copy(update={"boundary_policy_id": old.id})
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent], policies=[access, old]).model_dump_json())
    policy = _policy(tmp_path, f"""\
        integrations:
          - {{name: agent, environment: prod, identities: ["{agent.id}"], may_reach: [tickets]}}
        """)
    code, data = enforce_json(snapshot, policy)
    g = data["guardrails"]["nhiaudit-boundary-agent"]
    # s3:* in the identity policy, but the old boundary let only these two through: the new one keeps them only.
    assert _actions(g, f"{TICKETS}*") == {"s3:GetObject", "s3:ListBucket"}
    assert g["targets"][0]["replaces_boundary"] == old.id
    (check,) = [c for c in data["verification"]["checks"] if c["guardrail"].startswith("nhiaudit-boundary")]
    assert code == 0 and check["holds"] and not check["lost"]


def test_one_identity_two_integrations_gets_one_boundary_and_the_forbidden_loss_is_reported(tmp_path):
    worker = role("worker", Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*", "arn:aws:s3:::pii/*")),
                  Statement(actions=("bedrock:InvokeModel",), resources=("*",)))
    snapshot = write_snapshot(tmp_path / "snap.json", worker)
    arn = worker[0].id
    policy = _policy(tmp_path, f"""\
        integrations:
          - {{name: triage, environment: prod, identities: ["{arn}"], may_reach: [tickets, pii, models]}}
          - {{name: drafts, environment: prod, identities: ["{arn}"], may_reach: [models], must_not_reach: [pii]}}
        """)
    _, data = enforce_json(snapshot, policy)
    (g,) = [g for g in data["guardrails"].values() if g["kind"] == "aws-permissions-boundary"]
    assert g["integrations"] == ["drafts", "triage"] and g["denies"] == ["pii"]
    assert {s["system"] for s in g["allows"]} == {"tickets", "models"}
    assert any("allowed by one of its integrations, forbidden by another" in n for n in g["notes"])
    (check,) = [c for c in data["verification"]["checks"] if c["guardrail"].startswith("nhiaudit-boundary")]
    assert any("pii" in c for c in check["closed"])  # drafts' must_not_reach holds


def _chain(tmp_path, *reader_statements: Statement, must_not_reach: str = "[]"):
    """agent (may_reach tickets, models) reads tickets only by assuming reader, which holds these statements."""
    agent, access = role("agent", Statement(actions=("sts:AssumeRole",),
                                            resources=(f"arn:aws:iam::{ACCOUNT}:role/reader",)),
                         Statement(actions=("bedrock:InvokeModel",), resources=(MODELS,)))
    reader, reader_access = role("reader", *reader_statements)
    trust = Trust(identity_id=reader.id, principal=agent.id, kind=TrustKind.ASSUME_ROLE, reason="test")
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent, reader], policies=[access, reader_access],
                                 trusts=[trust]).model_dump_json())
    policy = _policy(tmp_path, f"""\
        integrations:
          - {{name: agent, environment: prod, identities: ["{agent.id}"], may_reach: [tickets, models],
              must_not_reach: {must_not_reach}}}
        """)
    return agent, reader, snapshot, policy


def _boundary_check(data: dict) -> dict:
    (check,) = [c for c in data["verification"]["checks"] if c["guardrail"].startswith("nhiaudit-boundary")]
    return check


def test_a_role_chain_to_a_role_reaching_only_may_reach_is_kept(tmp_path):
    _, reader, snapshot, policy = _chain(tmp_path, Statement(actions=("s3:GetObject",),
                                                             resources=(f"{TICKETS}/*",)))
    code, data = enforce_json(snapshot, policy)
    g = data["guardrails"]["nhiaudit-boundary-agent"]
    assumed = [s for s in g["document"]["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert assumed == [{"Sid": "MayReachThroughRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
                        "Resource": reader.id}]  # exactly that role, nothing wider
    assert any(n.startswith(f"allows sts:AssumeRole on {reader.id}: its identities reach may_reach tickets")
               for n in g["notes"])
    assert not any("sts:AssumeRole" in n for n in g["notes"] if n.startswith("also removes"))
    check = _boundary_check(data)
    assert code == 0 and check["holds"] and check["lost"] == []


def test_a_chain_to_a_role_reaching_a_forbidden_system_is_not_kept_and_the_loss_fails(tmp_path):
    agent, reader, snapshot, policy = _chain(
        tmp_path, Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*", "arn:aws:s3:::pii/*")),
        must_not_reach="[pii]")
    code, data = enforce_json(snapshot, policy)
    g = data["guardrails"]["nhiaudit-boundary-agent"]
    assert not [s for s in g["document"]["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert any(n.startswith(f"does not allow sts:AssumeRole on {reader.id}") and
               "it also reaches pii (must_not_reach)" in n for n in g["notes"])
    check = _boundary_check(data)
    assert check["lost"] == [{"identity": agent.id, "system": "tickets", "before": "read", "after": None,
                              "via_chain": True}]
    assert check["remaining"] == [] and not check["holds"]  # the loss alone fails it
    assert code == 1 and data["verification"]["verified"] is False

    result = enforce("--snapshot", str(snapshot), "--policy", str(policy))
    assert result.exit_code == 1
    assert (f"    LOSES (allowed by may_reach): {agent.id}: tickets read -> none (through a role chain: {reader.id})"
            in result.stdout)
    assert "    FAILS on the loss: the written policy allows that access; " in result.stdout
    assert "verification: FAILS for nhiaudit-boundary-agent" in result.stdout
    assert "verification fails for nhiaudit-boundary-agent" in result.output


def test_a_chain_to_a_role_allowed_more_than_may_reach_names_is_not_kept(tmp_path):
    """Resources no system names (a KMS key here) count as outside may_reach, as for the identity's own policies."""
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1"
    _, reader, snapshot, policy = _chain(tmp_path, Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*",)),
                                         Statement(actions=("kms:Decrypt",), resources=(key,)))
    code, data = enforce_json(snapshot, policy)
    g = data["guardrails"]["nhiaudit-boundary-agent"]
    assert not [s for s in g["document"]["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert any(n.startswith(f"does not allow sts:AssumeRole on {reader.id}") and
               f"its policies also allow kms:Decrypt on {key}" in n for n in g["notes"])
    assert code == 1 and [c["system"] for c in _boundary_check(data)["lost"]] == ["tickets"]


def test_a_gcp_identity_with_nothing_to_enforce_is_listed_with_the_reason(tmp_path):
    sa = Identity(id="bot@p.iam.gserviceaccount.com", provider=Provider.GCP, account="p",
                  kind=IdentityKind.SERVICE_ACCOUNT, name="bot")
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[sa]).model_dump_json())
    policy = _policy(tmp_path, f"""\
        integrations:
          - {{name: bot, identities: ["{sa.id}"], may_reach: [models]}}
        """)
    code, data = enforce_json(snapshot, policy)
    assert code == 0 and data["guardrails"] == {}
    assert data["skipped"] == ["bot: no GCP guardrail needed (no must_not_reach resource, no scope-wide binding "
                               "reaching may_reach)"]


def test_an_incomplete_collection_exits_3_and_the_scp_names_the_shadow_ai_it_is_meant_to_stop(tmp_path):
    from nhiaudit.inventory.model import CollectionIssue

    agent, access = role("agent", Statement(actions=("bedrock:InvokeModel",), resources=(MODELS,)))
    shadow, shadow_access = role("shadow", Statement(actions=("bedrock:InvokeModel",), resources=("*",)))
    issue = CollectionIssue(provider=Provider.AWS, account=ACCOUNT, operation="iam:ListRoles", message="denied")
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent, shadow], policies=[access, shadow_access],
                                 collection_issues=[issue]).model_dump_json())
    policy = _policy(tmp_path, f"""\
        integrations:
          - {{name: agent, identities: ["{agent.id}"], may_reach: [models]}}
        """)
    result = enforce("--snapshot", str(snapshot), "--policy", str(policy))
    assert result.exit_code == 3 and "collection incomplete" in result.output
    assert f"meant to stop 1 undeclared AI identity: {shadow.id}" in result.stdout


def test_regenerating_reads_through_a_boundary_enforce_generated_before(tmp_path):
    """After the first apply the role carries nhiaudit's boundary; an action added since to its identity policy
    inside may_reach must show in the regenerated boundary (and so in `--check`), not be held out by the old one."""
    agent, access = role("agent", Statement(actions=("s3:GetObject", "s3:PutObject"), resources=(f"{TICKETS}/*",)))
    old = Policy(id=f"arn:aws:iam::{ACCOUNT}:policy/nhiaudit-boundary-agent", provider=Provider.AWS,
                 name="nhiaudit-boundary-agent", kind="managed",
                 statements=(Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}*",)),))
    agent = agent.model_copy(update={"boundary_policy_id": old.id})
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent], policies=[access, old]).model_dump_json())
    policy = _policy(tmp_path, f"""\
        integrations:
          - {{name: agent, environment: prod, identities: ["{agent.id}"], may_reach: [tickets]}}
        """)
    _, data = enforce_json(snapshot, policy)
    assert _actions(data["guardrails"]["nhiaudit-boundary-agent"], f"{TICKETS}*") == {"s3:GetObject", "s3:PutObject"}


def test_an_scp_aware_verifier_plugs_in_without_other_changes():
    """build_plan takes another SCP verifier in place of verify_scp.ScpVerification."""
    from datetime import date

    from enforce_support import DEMO_POLICY, DEMO_SNAPSHOT

    from nhiaudit.enforce.generate import build_plan
    from nhiaudit.enforce.model import GuardrailCheck, GuardrailKind
    from nhiaudit.scan import load_setup

    seen = []

    def scp_verifier(snapshot, policy, guardrail, today):
        seen.append((guardrail.kind, len(today.findings) > 0, len(snapshot.identities) > 0))
        return GuardrailCheck(guardrail=guardrail.name, closed=("ai-undeclared: stopped",))

    setup = load_setup(DEMO_POLICY, [])
    from nhiaudit.inventory.snapshot import load_snapshot

    plan = build_plan(load_snapshot(DEMO_SNAPSHOT), setup.policy, date(2026, 11, 30), setup.rules, scp_verifier)
    assert seen == [(GuardrailKind.SERVICE_CONTROL_POLICY, True, True)]
    scp = next(c for c in plan.checks if c.guardrail == "nhiaudit-deny-undeclared-ai")
    assert scp.evaluated and scp.closed == ("ai-undeclared: stopped",) and scp.holds
    # the plan's verdict follows the checks: only code-review-bot's boundary fails (its lost chain)
    assert [c.guardrail for c in plan.checks if not c.holds] == ["nhiaudit-boundary-code-review-bot"]
    assert not plan.verified
