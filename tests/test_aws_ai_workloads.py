"""Bedrock agents and SageMaker notebook instances as workloads, live (moto through the real CLI) and from
`aws bedrock-agent get-agent` / `aws sagemaker describe-notebook-instance` exports: the role an agent or a
notebook runs as, undeclared and able to call Bedrock, is shadow AI with the workload named; a denied describe
marks the scan incomplete and keeps the rest; hostile exports are input errors."""

from __future__ import annotations

import json

import pytest
from aws_support import (  # noqa: F401
    MOTO_ACCOUNT,
    Moto,
    _iso,
    aws_env,
    export_like_cli,
    moto,
    role_arn,
    scan_json,
)
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.snapshot import load_snapshot

REGION = ["--aws-regions", "us-east-1"]
INVOKE = [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]
ROLES = {"agent-role": "bedrock.amazonaws.com", "notebook-role": "sagemaker.amazonaws.com"}


role = role_arn


@pytest.fixture(scope="module")
def estate(moto: Moto) -> dict[str, str]:  # noqa: F811
    """Seeds the estate; returns the agent's id."""
    moto.reset()
    iam = moto.client("iam")
    for name, service in ROLES.items():
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": service}}]}
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=name, PolicyName="invoke",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": INVOKE}))
    agent = moto.client("bedrock-agent").create_agent(
        agentName="claims-helper", agentResourceRoleArn=role("agent-role"), foundationModel="anthropic.claude-v2")
    moto.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="research-nb", InstanceType="ml.t2.medium", RoleArn=role("notebook-role"))
    return {"agent_id": agent["agent"]["agentId"]}


def cli(*args: str):
    return CliRunner().invoke(build_app(), list(args))


scan = scan_json


def workloads_of_undeclared(report: dict) -> dict[str, list[str]]:
    return {f["identity"]["id"]: f["evidence"]["workloads"] for f in report["findings"]
            if f["rule_id"] == "ai-undeclared"}


EXPECTED = {role("agent-role"): ["bedrock_agent:claims-helper"],
            role("notebook-role"): ["sagemaker_notebook:research-nb"]}


def test_live_scan_names_the_agent_and_the_notebook(estate, aws_env, tmp_path):  # noqa: F811
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 0 and report["collection"]["complete"]
    assert workloads_of_undeclared(report) == EXPECTED
    sent = aws_env.front.operations()
    assert [sent.count(op) for op in ("bedrock:ListAgents", "bedrock:GetAgent", "sagemaker:ListNotebookInstances",
                                      "sagemaker:DescribeNotebookInstance")] == [1, 1, 1, 1]
    result = cli("explain", role("agent-role"), "--aws", *REGION, "--policy", str(tmp_path / "policy.yaml"),
                 "--format", "json")
    assert result.exit_code == 0, result.output
    (workload,) = json.loads(result.stdout)["paths"][0]["workloads"]
    assert (workload["kind"], workload["name"]) == ("bedrock_agent", "claims-helper")
    assert workload["id"] == f"arn:aws:bedrock:us-east-1:{MOTO_ACCOUNT}:agent/{estate['agent_id']}"


def test_import_of_cli_exports_gives_the_same_findings(estate, moto, aws_env, tmp_path):  # noqa: F811
    (tmp_path / "live").mkdir()
    _, live = scan(tmp_path / "live", "--aws", *REGION)
    files = export_like_cli(moto, tmp_path / "exports")
    for name, reply in (("agent", moto.client("bedrock-agent").get_agent(agentId=estate["agent_id"])),
                        ("notebook", moto.client("sagemaker").describe_notebook_instance(
                            NotebookInstanceName="research-nb"))):
        reply.pop("ResponseMetadata", None)
        path = tmp_path / "exports" / f"{name}.json"
        path.write_text(json.dumps(reply, default=_iso, indent=2))
        files.append(path)
    code, imported = scan(tmp_path, *[a for f in files for a in ("--import", str(f))])

    def keyed(report: dict) -> set[tuple]:
        return {(f["rule_id"], f["identity"]["id"], tuple(f["evidence"].get("workloads") or ()))
                for f in report["findings"] if f.get("identity")}

    assert code == 0 and keyed(imported) == keyed(live) and workloads_of_undeclared(imported) == EXPECTED


def test_denied_get_agent_is_incomplete_and_keeps_the_notebook(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("bedrock:GetAgent")
    out = tmp_path / "snap.json"
    result = cli("collect", "--aws", *REGION, "-o", str(out))
    assert result.exit_code == 3 and "bedrock:GetAgent" in result.stderr
    snap = load_snapshot(out)
    (issue,) = snap.collection_issues
    assert issue.operation == "bedrock:GetAgent" and estate["agent_id"] in issue.message
    assert "AccessDenied" in issue.message and "Bedrock agents" in issue.missing
    assert [w.kind for w in snap.workloads] == ["sagemaker_notebook"]
    assert "sagemaker_notebook" in snap.sources[0].collected and "bedrock_agent" not in snap.sources[0].collected


@pytest.mark.parametrize("content, message", [
    ({"agent": {"agentArn": "agent/x", "agentName": "x"}}, "not an ARN"),
    ({"agent": {"agentArn": "arn:aws:bedrock:us-east-1:1:agent/x", "agentName": "x",
                "agentResourceRoleArn": {"Fn::GetAtt": "x"}}}, "expected a string"),
    ({"agent": []}, "an agent object"),
    ({"NotebookInstanceArn": "arn:aws:sagemaker:us-east-1:1:notebook-instance/n", "NotebookInstanceName": 3},
     "expected a string"),
])
def test_hostile_exports_are_input_errors(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(content))
    result = cli("collect", "--import", str(path), "-o", str(tmp_path / "snap.json"))
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "snap.json").exists()
