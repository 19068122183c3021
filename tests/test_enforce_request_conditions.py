"""`enforce` with `integrations[].require_conditions`: the generated boundary's Allow statements carry the
condition. Its value comes from the grants the integration holds today; without one, a placeholder the plan asks
the user to fill in, which verification never counts. A boundary carrying a concrete condition closes
`scope-unconditioned-grant` on re-analysis, and a scan of the estate with it applied agrees."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from aws_support import MOTO_ACCOUNT, Moto, aws_environment, moto  # noqa: F401
from enforce_support import ACCOUNT, AS_OF, enforce, enforce_json, role, write_snapshot
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.enforce.aws_request_conditions import PLACEHOLDER
from nhiaudit.inventory.model import Policy, Provider, Statement
from nhiaudit.inventory.snapshot import Snapshot

TICKETS = "arn:aws:s3:::tickets"
BOUNDARY = "nhiaudit-boundary-agent"
RULE = "scope-unconditioned-grant"
VPCE = {"StringEquals": {"aws:SourceVpce": "vpce-0a1b"}}


def _policy(tmp_path: Path, any_of: str = "[network]") -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        systems:
          tickets: {{environment: prod, resources: ["{TICKETS}*"]}}
        integrations:
          - name: agent
            environment: prod
            identities: ["arn:aws:iam::{ACCOUNT}:role/agent"]
            may_reach: [tickets]
            require_conditions: {{any_of: {any_of}}}
        """))
    return path


def _check(data: dict) -> dict:
    return next(c for c in data["verification"]["checks"] if c["guardrail"] == BOUNDARY)


def _allow_conditions(data: dict) -> list[dict]:
    return [s.get("Condition") for s in data["guardrails"][BOUNDARY]["document"]["Statement"] if s["Effect"] == "Allow"]


def test_the_condition_today_s_grants_carry_goes_on_the_boundary_and_closes_the_finding(tmp_path):
    snapshot = write_snapshot(tmp_path / "snap.json", role(
        "agent", Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*",), conditions=VPCE),
        Statement(actions=("s3:PutObject",), resources=(f"{TICKETS}/*",))))
    code, data = enforce_json(snapshot, _policy(tmp_path))
    assert code == 0 and data["verification"]["verified"]
    assert _allow_conditions(data) == [{"StringEquals": {"aws:SourceVpce": ["vpce-0a1b"]}}]
    check = _check(data)
    assert [c for c in check["closed"] if c.startswith(RULE)] and check["remaining"] == []
    notes = data["guardrails"][BOUNDARY]["notes"]
    assert "require_conditions of agent: its Allow statements carry `StringEquals aws:SourceVpce vpce-0a1b`, taken " \
           "from the grants it holds today" in notes


def test_without_a_value_a_placeholder_is_written_and_never_claimed(tmp_path):
    snapshot = write_snapshot(tmp_path / "snap.json", role(
        "agent", Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*",))))
    policy = _policy(tmp_path)
    code, data = enforce_json(snapshot, policy)
    assert _allow_conditions(data) == [{"StringEquals": {"aws:SourceVpce": [PLACEHOLDER]}}]
    check = _check(data)
    assert code == 1 and not check["holds"] and [r for r in check["remaining"] if r.startswith(RULE)]
    text = enforce("--snapshot", str(snapshot), "--policy", str(policy)).stdout
    assert f"replace {PLACEHOLDER} with the real value before applying (not verified until then)" in text
    assert "    REMAINS: scope-unconditioned-grant: agent (agent) can reach tickets" in text


def test_a_time_class_placeholder_and_a_gcp_only_requirement(tmp_path):
    snapshot = write_snapshot(tmp_path / "snap.json", role(
        "agent", Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*",))))
    _, data = enforce_json(snapshot, _policy(tmp_path, "[time]"))
    assert _allow_conditions(data) == [{"DateLessThan": {"aws:CurrentTime": [PLACEHOLDER]}}]
    _, data = enforce_json(snapshot, _policy(tmp_path, "[request.time]"))  # no AWS key: nothing to add
    assert _allow_conditions(data) == [None]


def test_once_applied_with_its_value_a_scan_reports_no_unconditioned_grant(tmp_path):
    """The boundary, filled in and applied, narrows every request: the identity policy's bare statement no longer
    reaches the system unconditioned. Regenerating takes the value from that boundary."""
    agent, access = role("agent", Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*",)))
    boundary = Policy(id=f"arn:aws:iam::{ACCOUNT}:policy/{BOUNDARY}", provider=Provider.AWS, name=BOUNDARY,
                      kind="managed", statements=(Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*",),
                                                            conditions=VPCE),))
    agent = agent.model_copy(update={"boundary_policy_id": boundary.id})
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(Snapshot(identities=[agent], policies=[access, boundary]).model_dump_json())
    policy = _policy(tmp_path)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), ["scan", "--snapshot", str(snapshot), "--policy", str(policy),
                                              "--as-of", AS_OF, "--format", "json", "-o", str(out), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    assert not [f for f in json.loads(out.read_text())["findings"] if f["rule_id"] == RULE]
    code, data = enforce_json(snapshot, policy)
    assert code == 0 and _allow_conditions(data) == [{"StringEquals": {"aws:SourceVpce": ["vpce-0a1b"]}}]


def test_collected_from_moto_enforced_applied_and_collected_again(moto: Moto, tmp_path, monkeypatch):  # noqa: F811
    """The loop a user runs: collect, enforce (the boundary takes the agent's aws:SourceVpce), apply the boundary
    with boto3 (enforce never applies), collect again: the scan has no unconditioned grant left."""
    moto.reset()
    iam = moto.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    access = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{TICKETS}/*", "Condition": VPCE},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{TICKETS}/*"}]}
    iam.create_role(RoleName="agent", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="agent", PolicyName="access", PolicyDocument=json.dumps(access))
    moto.front.reset()
    aws_environment(monkeypatch, moto.front.url, tmp_path)
    policy = _policy(tmp_path).read_text().replace(ACCOUNT, MOTO_ACCOUNT)
    (tmp_path / "policy.yaml").write_text(policy)

    def collect(name: str) -> Path:
        out = tmp_path / name
        result = CliRunner().invoke(build_app(), ["collect", "--aws", "--aws-regions", "us-east-1", "-o", str(out)])
        assert result.exit_code == 0, result.output
        return out

    def unconditioned(snapshot: Path) -> list[dict]:
        out = tmp_path / "report.json"
        CliRunner().invoke(build_app(), ["scan", "--snapshot", str(snapshot), "--policy", str(tmp_path / "policy.yaml"),
                                         "--as-of", AS_OF, "--format", "json", "-o", str(out), "--quiet"])
        return [f for f in json.loads(out.read_text())["findings"] if f["rule_id"] == RULE]

    before = collect("before.json")
    assert [f["evidence"]["statement_index"] for f in unconditioned(before)] == [1]
    code, data = enforce_json(before, tmp_path / "policy.yaml")
    assert code == 0 and [c for c in _check(data)["closed"] if c.startswith(RULE)]
    document = data["guardrails"][BOUNDARY]["document"]
    assert [s["Condition"] for s in document["Statement"]] == [{"StringEquals": {"aws:SourceVpce": ["vpce-0a1b"]}}]
    arn = iam.create_policy(PolicyName=BOUNDARY, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="agent", PermissionsBoundary=arn)
    assert unconditioned(collect("after.json")) == []


def test_the_value_on_the_required_system_wins_over_one_elsewhere(tmp_path):
    snapshot = write_snapshot(tmp_path / "snap.json", role(
        "agent", Statement(actions=("s3:GetObject",), resources=("arn:aws:s3:::elsewhere/*",),
                           conditions={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        Statement(actions=("s3:GetObject",), resources=(f"{TICKETS}/*",),
                  conditions={"StringEquals": {"aws:SourceVpce": "vpce-0a1b"}}),
        Statement(actions=("s3:PutObject",), resources=(f"{TICKETS}/*",))))
    code, data = enforce_json(snapshot, _policy(tmp_path))
    assert code == 0 and _allow_conditions(data) == [{"StringEquals": {"aws:SourceVpce": ["vpce-0a1b"]}}]
