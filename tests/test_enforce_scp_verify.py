"""The AI-invocation SCP verified by re-analysis: attached at the root of the recorded organisation (or of an
assumed one), with the plan's `nhiaudit:integration` tags applied. Undeclared AI identities lose AI; declared
ones keep it; the management account, which no SCP limits, keeps its shadow AI and fails the check.

Planted estates: a moto organisation collected live (the scenario of test_aws_guardrails.py), and small
snapshots written from the inventory model, both through the real CLI."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from aws_support import MOTO_ACCOUNT, Moto, aws_env, moto  # noqa: F401
from enforce_support import ACCOUNT, enforce, enforce_json, role
from test_aws_guardrails import _collect, estate  # noqa: F401  (the organisation scenario, module-scoped)

from nhiaudit.inventory.model import Statement
from nhiaudit.inventory.organization import SCP, AwsOrganization, OrgAccount, OrgPolicy
from nhiaudit.inventory.snapshot import Snapshot

SCP_NAME = "nhiaudit-deny-undeclared-ai"
MODELS = "arn:aws:bedrock:*::foundation-model/*"
MANAGEMENT = "999988887777"
INVOKE = Statement(actions=("bedrock:InvokeModel",), resources=(MODELS,))


def _policy(tmp_path: Path, *identities: str) -> Path:
    listed = ", ".join(f'"{i}"' for i in identities)
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        systems:
          bedrock-models: {{kind: ai-model, resources: ["{MODELS}"]}}
        integrations:
          - {{name: agent, identities: [{listed}], may_reach: [bedrock-models]}}
        """))
    return path


def _scp_check(data: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in data["verification"]["checks"] if c["guardrail"] == SCP_NAME)


def _organisation(*accounts: str) -> AwsOrganization:
    arn = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
    full = OrgPolicy(id="p-FullAWSAccess", arn=arn,
                     name="FullAWSAccess", type=SCP, aws_managed=True, targets=("r-root",),
                     statements=(Statement(actions=("*",), resources=("*",)),))
    return AwsOrganization(id="o-planted", management_account=MANAGEMENT, enabled_types=(SCP,), policies=(full,),
                           accounts=tuple(OrgAccount(account=a, parents=("r-root",)) for a in sorted(accounts)))


def test_the_scp_stops_shadow_ai_in_member_accounts_and_keeps_the_declared_agent(tmp_path):
    agent, agent_access = role("agent", INVOKE)
    shadow, shadow_access = role("shadow", INVOKE)
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent, shadow], policies=[agent_access, shadow_access],
                                 aws_organizations=[_organisation(ACCOUNT, MANAGEMENT)]).model_dump_json())
    code, data = enforce_json(snapshot, _policy(tmp_path, agent.id))
    check = _scp_check(data)
    assert code == 0 and check["evaluated"] and check["holds"] and data["verification"]["verified"]
    assert check["closed"] == ["ai-undeclared: shadow can call AI models but no integration in the policy declares it "
                               "(shadow AI)"]
    assert check["remaining"] == check["broken"] == check["lost"] == []
    assert check["note"] == "the SCP attached at the root of organisation o-planted (r-root)"
    assert {(c["identity"], c["system"], c["before"], c["after"]) for c in check["removed"]} == {
        (shadow.id, "bedrock-models", "read", None)}


def test_shadow_ai_in_the_management_account_remains_and_fails_the_check(tmp_path):
    agent, agent_access = role("agent", INVOKE, account=MANAGEMENT)
    shadow, shadow_access = role("shadow", INVOKE, account=MANAGEMENT)
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent, shadow], policies=[agent_access, shadow_access],
                                 aws_organizations=[_organisation(ACCOUNT, MANAGEMENT)]).model_dump_json())
    policy = _policy(tmp_path, agent.id)
    code, data = enforce_json(snapshot, policy)
    check = _scp_check(data)
    assert code == 1 and not check["holds"] and not data["verification"]["verified"]
    assert check["remaining"] == ["ai-undeclared: shadow can call AI models but no integration in the policy "
                                  "declares it (shadow AI)"]
    assert f"SCPs never limit the management account: {agent.id} is declared there" in check["note"]
    text = enforce("--snapshot", str(snapshot), "--policy", str(policy)).stdout
    assert "    REMAINS: ai-undeclared: shadow can call AI models" in text
    assert f"verification: FAILS for {SCP_NAME}" in text


def test_without_organisation_data_the_accounts_are_checked_in_an_assumed_one(tmp_path):
    agent, agent_access = role("agent", INVOKE)
    shadow, shadow_access = role("shadow", INVOKE, account="444455556666")
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent, shadow], policies=[agent_access, shadow_access]).model_dump_json())
    code, data = enforce_json(snapshot, _policy(tmp_path, agent.id))
    check = _scp_check(data)
    assert code == 0 and check["holds"] and len(check["closed"]) == 1
    assert check["note"] == (f"account(s) {ACCOUNT}, 444455556666 in no recorded organisation: taken as member "
                             "accounts with the SCP attached at their root")


def test_an_untagged_declared_identity_would_lose_ai_so_the_tag_is_what_keeps_it(tmp_path):
    """The tag the plan applies is what lets the declared role through: the same estate with an SCP verified
    without the tags (an integration the policy names no AWS identity for) fails as broken."""
    from datetime import date

    from nhiaudit.analysis import analyse
    from nhiaudit.enforce.aws_scp import scp_guardrail
    from nhiaudit.enforce.verify_scp import ScpVerification, with_scp
    from nhiaudit.scan import load_setup

    agent, agent_access = role("agent", INVOKE)
    estate_ = Snapshot(identities=[agent], policies=[agent_access])
    setup = load_setup(_policy(tmp_path, agent.id), [])
    day = date(2026, 11, 30)
    before = analyse(estate_, setup.policy, day, setup.rules)
    guardrail = scp_guardrail(setup.policy, ["bedrock:InvokeModel"])
    check = ScpVerification(day, setup.rules)(estate_, setup.policy, guardrail, before)
    assert check.holds and not check.broken
    untagged, _ = with_scp(estate_, guardrail, {})
    after = analyse(untagged, setup.policy, day, setup.rules)
    assert before.reach.reach(agent.id, "bedrock-models") is not None
    assert after.reach.reach(agent.id, "bedrock-models") is None  # denied without the tag


def test_a_moto_organisation_collected_live(estate, aws_env, tmp_path):  # noqa: F811
    """us-caller is declared; breakglass (member account) is shadow AI the SCP stops; the management account's
    eu-caller is shadow AI no SCP limits: the check fails until it is declared (or its AI removed)."""
    code, snap = _collect(tmp_path)
    assert code == 0
    ai = estate["ai"]
    us_caller, mgmt_caller = f"arn:aws:iam::{ai}:role/us-caller", f"arn:aws:iam::{MOTO_ACCOUNT}:role/eu-caller"
    code, data = enforce_json(snap, _policy(tmp_path, us_caller))
    check = _scp_check(data)
    assert code == 1 and not check["holds"]
    assert check["closed"] == ["ai-undeclared: breakglass can call AI models but no integration in the policy "
                               "declares it (shadow AI)"]
    assert check["remaining"] == ["ai-undeclared: eu-caller can call AI models but no integration in the policy "
                                  "declares it (shadow AI)"]
    assert "the SCP attached at the root of organisation o-" in check["note"] and f"({estate['root']})" in check["note"]
    assert check["broken"] == []
    code, data = enforce_json(snap, _policy(tmp_path, us_caller, mgmt_caller))
    check = _scp_check(data)
    assert code == 0 and check["holds"] and check["remaining"] == [] and check["broken"] == []
    assert f"SCPs never limit the management account: {mgmt_caller} is declared there" in check["note"]


def test_the_verified_plan_is_byte_identical_under_any_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    agent, agent_access = role("agent", INVOKE, Statement(
        actions=("s3:GetObject",), resources=("arn:aws:s3:::tickets/*",),
        conditions={"StringEquals": {"aws:SourceVpce": ["vpce-2", "vpce-1"]}}))
    shadows = [role(f"shadow-{n}", INVOKE, account=a) for n, a in enumerate((ACCOUNT, MANAGEMENT, "444455556666"))]
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent, *(i for i, _ in shadows)],
                                 policies=[agent_access, *(p for _, p in shadows)],
                                 aws_organizations=[_organisation(ACCOUNT, MANAGEMENT)]).model_dump_json())
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(f"""\
        version: 1
        systems:
          bedrock-models: {{kind: ai-model, resources: ["{MODELS}"]}}
          tickets: {{resources: ["arn:aws:s3:::tickets*"]}}
        integrations:
          - name: agent
            identities: ["{agent.id}"]
            may_reach: [bedrock-models, tickets]
            require_conditions: {{any_of: [network], systems: [tickets]}}
        """))
    outputs = []
    for seed in ("1", "4242"):
        out = tmp_path / seed
        done = subprocess.run([sys.executable, "-m", "nhiaudit", "enforce", "--snapshot", str(snapshot), "--policy",
                               str(policy), "--as-of", "2026-11-30", "--quiet", "--output-dir", str(out)],
                              env={**os.environ, "PYTHONHASHSEED": seed, "NHIAUDIT_JOBS": "1"}, timeout=120)
        assert done.returncode == 1  # the management account's shadow AI remains
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3
    plan = outputs[0]["nhiaudit-enforce-plan.txt"].decode()
    assert "checked: the SCP attached at the root of organisation o-planted (r-root); account(s) 444455556666 in " \
           "no recorded organisation" in plan
    assert "StringEquals aws:SourceVpce vpce-1, vpce-2" in plan


def test_an_organisation_with_scps_disabled_is_checked_as_if_enabled_and_says_so(tmp_path):
    agent, agent_access = role("agent", INVOKE)
    shadow, shadow_access = role("shadow", INVOKE)
    organisation = AwsOrganization(id="o-off", management_account=MANAGEMENT, enabled_types=(),
                                   accounts=(OrgAccount(account=ACCOUNT, parents=("r-off", "ou-ai")),))
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent, shadow], policies=[agent_access, shadow_access],
                                 aws_organizations=[organisation]).model_dump_json())
    code, data = enforce_json(snapshot, _policy(tmp_path, agent.id))
    check = _scp_check(data)
    assert code == 0 and check["holds"] and len(check["closed"]) == 1  # FullAWSAccess joins it at the bare root
    assert check["note"] == ("organisation o-off: SCPs are not enabled; checked as if they were (enable them first); "
                             "the SCP attached at the root of organisation o-off (r-off)")


def _many_integrations(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "many.yaml"
    lines = ["version: 1", "systems:", f'  bedrock-models: {{kind: ai-model, resources: ["{MODELS}"]}}',
             "integrations:"]
    lines += [f'  - {{name: agent-with-a-long-descriptive-name-{i:04d}, identities: '
              f'["arn:aws:iam::{ACCOUNT}:role/agent-{i}"], may_reach: [bedrock-models]}}' for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_scp_of_too_many_integration_names_falls_back_to_the_tag_s_presence(tmp_path):
    """AWS caps an SCP at 5,120 characters: past it, the SCP lets any tagged principal through, and says so."""
    from nhiaudit.enforce.aws_document import SCP_LIMIT, DocumentTooLarge, document_size
    from nhiaudit.enforce.aws_scp import scp_guardrail
    from nhiaudit.enforce.model import INTEGRATION_TAG
    from nhiaudit.scan import load_setup

    few = scp_guardrail(load_setup(_many_integrations(tmp_path, 3), []).policy, ["bedrock:InvokeModel"])
    (condition,) = few.document["Statement"][0]["Condition"].items()
    assert condition[0] == "StringNotEquals" and len(next(iter(condition[1].values()))) == 3 and not few.notes

    policy = load_setup(_many_integrations(tmp_path, 200), []).policy
    many = scp_guardrail(policy, ["bedrock:InvokeModel"])
    assert many.document["Statement"][0]["Condition"] == {"Null": {f"aws:PrincipalTag/{INTEGRATION_TAG}": "true"}}
    assert many.size == document_size(many.document) <= SCP_LIMIT and len(many.integrations) == 200
    assert many.notes == (f"200 integration names do not fit the SCP limit: any principal carrying the "
                          f"{INTEGRATION_TAG} tag passes, whatever its value",)
    with pytest.raises(DocumentTooLarge, match="over AWS's 5,120"):
        scp_guardrail(policy, [f"bedrock:InvokeModelVariant{i:04d}" for i in range(400)])
