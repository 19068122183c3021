"""ECS task definitions as workloads, live (moto through the real CLI) and from `aws ecs describe-task-definition`
exports: an undeclared task role that can call Bedrock is shadow AI with the task named in the finding and in
`explain`; denied calls mark the scan incomplete and keep everything else; hostile exports are input errors."""

from __future__ import annotations

import json

import pytest
from aws_support import (  # noqa: F401
    AI_MODELS_ONLY_POLICY,
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
from nhiaudit.connectors.aws.account import CALL_FAILURES
from nhiaudit.connectors.aws.workloads_ecs import get_ecs_task_definitions
from nhiaudit.inventory.snapshot import load_snapshot

REGION = ["--aws-regions", "us-east-1"]
TASK_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]})
ROLES = {
    "doc-summarizer": [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}],
    "ecs-exec": [{"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "logs:PutLogEvents"], "Resource": "*"}],
    "batch-worker": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-batch/*"}],
}
# family -> (task role, execution role); the execution role is given by name, as ECS allows.
TASKS = {"doc-summarizer": ("doc-summarizer", "ecs-exec"), "batch-worker": ("batch-worker", "ecs-exec")}


role = role_arn


@pytest.fixture(scope="module")
def estate(moto: Moto) -> Moto:  # noqa: F811
    moto.reset()
    iam = moto.client("iam")
    for name, statements in ROLES.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TASK_TRUST)
        iam.put_role_policy(RoleName=name, PolicyName="access",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    ecs = moto.client("ecs")
    for family, (task_role, execution_role) in TASKS.items():
        for image in ("app:1", "app:2"):  # two revisions: only the latest is described
            ecs.register_task_definition(family=family, taskRoleArn=role(task_role), executionRoleArn=execution_role,
                                         containerDefinitions=[{"name": "app", "image": image, "memory": 512}])
    return moto


def cli(*args: str):
    return CliRunner().invoke(build_app(), list(args))


scan = scan_json


def undeclared(report: dict) -> dict[str, dict]:
    return {f["identity"]["id"]: f for f in report["findings"] if f["rule_id"] == "ai-undeclared"}


def export_task_definitions(estate: Moto, directory) -> list:
    """What `aws ecs describe-task-definition --task-definition FAMILY` prints, one file per family."""
    files = []
    for family in TASKS:
        reply = estate.client("ecs").describe_task_definition(taskDefinition=family)
        reply.pop("ResponseMetadata", None)
        path = directory / f"task-{family}.json"
        path.write_text(json.dumps(reply, default=_iso, indent=2))
        files.append(path)
    return files


def test_live_scan_reports_the_undeclared_ecs_task_role_and_explain_names_the_task(estate, aws_env, tmp_path):  # noqa: F811
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 0 and report["collection"]["complete"]
    finding = undeclared(report)[role("doc-summarizer")]
    assert finding["evidence"]["workloads"] == ["ecs_task:doc-summarizer"]
    assert role("batch-worker") not in undeclared(report)  # no AI permission: no shadow-AI finding
    sent = aws_env.front.operations()
    assert sent.count("ecs:ListTaskDefinitions") == 1 and sent.count("ecs:DescribeTaskDefinition") == 2

    (tmp_path / "policy.yaml").write_text(AI_MODELS_ONLY_POLICY)
    result = cli("explain", role("doc-summarizer"), "--aws", *REGION, "--policy", str(tmp_path / "policy.yaml"),
                 "--format", "json")
    assert result.exit_code == 0, result.output
    workloads = json.loads(result.stdout)["paths"][0]["workloads"]
    ids = {(w["kind"], w["name"]) for w in workloads}
    assert ("ecs_task", "doc-summarizer") in ids
    table = cli("explain", role("ecs-exec"), "--aws", *REGION, "--policy", str(tmp_path / "policy.yaml"))
    assert table.exit_code == 0 and "ecs_task_execution" in table.stdout and "doc-summarizer" in table.stdout


def test_collect_holds_task_and_execution_roles_of_the_latest_revisions(estate, aws_env, tmp_path):  # noqa: F811
    out = tmp_path / "snap.json"
    result = cli("collect", "--aws", *REGION, "-o", str(out))
    assert result.exit_code == 0, result.output
    snap = load_snapshot(out)
    got = {(w.kind, w.name, w.identity_id, w.id.rsplit(":", 1)[-1]) for w in snap.workloads}
    assert got == {
        ("ecs_task", "doc-summarizer", role("doc-summarizer"), "2"),
        ("ecs_task_execution", "doc-summarizer", role("ecs-exec"), "2#execution"),
        ("ecs_task", "batch-worker", role("batch-worker"), "2"),
        ("ecs_task_execution", "batch-worker", role("ecs-exec"), "2#execution"),
    }
    assert {"ecs_task", "ecs_task_execution"} <= set(snap.sources[0].collected)


def test_import_of_cli_exports_gives_the_same_findings_and_workloads(estate, aws_env, tmp_path):  # noqa: F811
    (tmp_path / "live").mkdir()
    _, live = scan(tmp_path / "live", "--aws", *REGION)
    files = export_like_cli(estate, tmp_path / "exports") + export_task_definitions(estate, tmp_path / "exports")
    code, imported = scan(tmp_path, *[a for f in files for a in ("--import", str(f))])

    def keyed(report: dict) -> set[tuple]:
        return {(f["rule_id"], f["identity"]["id"], tuple(f["evidence"].get("workloads") or ()))
                for f in report["findings"] if f.get("identity")}

    assert code == 0 and keyed(imported) == keyed(live)
    assert undeclared(imported)[role("doc-summarizer")]["evidence"]["workloads"] == ["ecs_task:doc-summarizer"]


def test_denied_listing_is_incomplete_and_keeps_everything_else(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("ecs:ListTaskDefinitions")
    out = tmp_path / "snap.json"
    result = cli("collect", "--aws", *REGION, "-o", str(out))
    assert result.exit_code == 3 and "ecs:ListTaskDefinitions" in result.stderr
    snap = load_snapshot(out)
    (issue,) = snap.collection_issues
    assert issue.operation == "ecs:ListTaskDefinitions" and "AccessDenied" in issue.message and "ECS" in issue.missing
    assert {role(n) for n in ROLES} <= {i.id for i in snap.identities} and snap.workloads == []
    assert "lambda" in snap.sources[0].collected and "ecs_task" not in snap.sources[0].collected


def test_denied_describe_of_one_family_keeps_the_other(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("ecs:DescribeTaskDefinition", when=lambda r: "batch-worker" in r.params["taskDefinition"])
    out = tmp_path / "snap.json"
    result = cli("collect", "--aws", *REGION, "-o", str(out))
    assert result.exit_code == 3
    snap = load_snapshot(out)
    (issue,) = snap.collection_issues
    assert issue.operation == "ecs:DescribeTaskDefinition" and "batch-worker:2" in issue.message
    assert {w.name for w in snap.workloads} == {"doc-summarizer"} and len(snap.workloads) == 2


def test_families_beyond_the_bound_are_a_truncation_not_silence(estate):
    listing = get_ecs_task_definitions(estate.client("ecs"), CALL_FAILURES, limit=1)
    assert [d["family"] for d in listing.definitions] == ["batch-worker"] and listing.left_out == 1
    assert listing.definitions[0]["revision"] == 2


@pytest.mark.parametrize("content, message", [
    ({"taskDefinition": {"taskDefinitionArn": "not-an-arn", "family": "x"}}, "not an ARN"),
    ({"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/x:1", "family": ["x"],
                         "taskRoleArn": 7}}, "expected a string"),
    ({"taskDefinition": "x"}, "a task definition object"),
])
def test_hostile_task_definition_export_is_an_input_error(tmp_path, content, message):
    path = tmp_path / "task.json"
    path.write_text(json.dumps(content))
    result = cli("collect", "--import", str(path), "-o", str(tmp_path / "snap.json"))
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "snap.json").exists()
