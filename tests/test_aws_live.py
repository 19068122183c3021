"""Live collection against moto's server through real boto3 and the real CLI: contents, call budget,
faults (denied calls, throttling), credentials, and import == live for the same estate."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import timedelta

import aws_planted as planted
import pytest
from aws_resource_scenario import SCENARIO_READS, seed_cross_account
from aws_support import Moto, aws_env, days_ago, export_like_cli, moto  # noqa: F401
from rich.console import Console
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.aws.live import collect_aws
from nhiaudit.connectors.aws.readonly import RequestLog, allowed_iam_actions
from nhiaudit.connectors.imports import import_files
from nhiaudit.connectors.options import AwsOptions
from nhiaudit.inventory.snapshot import load_snapshot

arn = planted.arn
REGION = ["--aws-regions", "us-east-1"]


@pytest.fixture(scope="module")
def estate(moto: Moto) -> Moto:  # noqa: F811
    moto.reset()
    planted.seed_planted(moto)
    return moto


def collect_cli(tmp_path, *extra: str):
    out = tmp_path / "snap.json"
    result = CliRunner().invoke(build_app(), ["collect", "--aws", *REGION, "-o", str(out), *extra])
    return result, (load_snapshot(out) if out.exists() else None)


def near(value, expected, slack=timedelta(minutes=5)) -> bool:
    return value is not None and abs(value - expected) < slack


def test_collect_snapshot_holds_the_estate(estate, aws_env, tmp_path):  # noqa: F811
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("wrote ")  # no progress: not a terminal
    ids = {i.id: i for i in snap.identities}
    assert set(ids) == {arn("role", r) for r in planted.ROLES} | {arn("user", u) for u in planted.USERS}
    bot = ids[arn("user", "report-bot")]
    assert bot.human_use.console_password and near(bot.human_use.password_last_used, days_ago(3))
    assert near(bot.last_activity, days_ago(1)) and near(ids[arn("role", "shadow-ai")].last_activity, days_ago(2))
    creds = {c.identity_id: c for c in snap.credentials}
    assert near(creds[arn("user", "report-bot")].created, days_ago(400))
    assert creds[arn("user", "report-bot")].last_used_service == "bedrock"  # from GetAccessKeyLastUsed
    assert creds[arn("user", "old-integration")].last_used is None
    trusts = {(t.identity_id, t.principal) for t in snap.trusts}
    assert (arn("role", "admin-bot"), "arn:aws:iam::444455556666:root") in trusts
    assert (arn("role", "open-trust"), "*") in trusts
    admin = next(p for p in snap.policies if p.id == "arn:aws:iam::aws:policy/AdministratorAccess")
    assert admin.kind == "managed" and admin.statements[0].actions == ("*",)
    # Only the attached AWS-managed policy, not the others moto holds (MOTO_MANAGED_POLICIES).
    assert [p.id for p in snap.policies if ":aws:policy/" in p.id] == [admin.id]
    assert Counter(w.identity_id for w in snap.workloads) == {
        arn("role", "support-copilot"): 1, arn("role", "clean-agent"): 1, arn("role", "shared-worker"): 2}
    assert snap.complete and snap.sources[0].method == "live"
    sent = set(aws_env.front.operations())
    assert sent <= allowed_iam_actions() and "iam:GetAccountAuthorizationDetails" in sent
    # Secrets never reach the snapshot or the terminal.
    text = snap.to_json()
    secrets = [k.secret_access_key for u in planted.USERS for k in _moto_keys(u)]
    assert secrets and not any(s in text or s in result.output for s in secrets)
    assert "SecretAccessKey" not in text and "SessionToken" not in text


def _seed_small_account(moto: Moto, account: str, roles: int, policies: int, start: int = 0) -> None:  # noqa: F811
    iam = moto.client("iam", account)
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                              "Resource": "*"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                "Principal": {"Service": "lambda.amazonaws.com"}}]})
    for i in range(start, start + roles):
        iam.create_role(RoleName=f"role-{i}", AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=f"role-{i}", PolicyName="inline", PolicyDocument=doc)
    for i in range(start, start + policies):
        p = iam.create_policy(PolicyName=f"policy-{i}", PolicyDocument=doc)["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=f"role-{start}", PolicyArn=p)


def test_call_budget_does_not_grow_with_roles_or_policies(moto, aws_env, monkeypatch):  # noqa: F811
    account = "210000000001"
    # Call counts do not depend on moto's ~1,500 AWS-managed policies; without them the account is quick.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    iam = moto.client("iam", account)
    for user in ("svc-a", "svc-b", "human"):
        iam.create_user(UserName=user)
    iam.create_access_key(UserName="svc-a")
    iam.create_access_key(UserName="svc-b")
    iam.generate_credential_report()  # the report exists: both runs poll the same way
    _seed_small_account(moto, account, roles=3, policies=3)
    _seed_model_callers(moto, account)
    opts = AwsOptions(enabled=True, role_arn=f"arn:aws:iam::{account}:role/auditor", regions=("us-east-1",))

    def run() -> tuple[dict[str, int], int]:
        log = RequestLog()
        (snap,) = collect_aws(opts, 2, Console(file=io.StringIO()), request_log=log)
        assert snap.sources[0].account == account and snap.complete, [i.message for i in snap.collection_issues]
        assert f"{log.total - 2} API requests" in snap.sources[0].detail  # AssumeRole and caller check are not
        return log.snapshot(), len(snap.identities)

    small, small_identities = run()
    _seed_small_account(moto, account, roles=40, policies=40, start=3)
    large, large_identities = run()
    assert large_identities == small_identities + 40
    # Resource-based policies: one listing per service (and region), then the reads of each resource.
    seed_cross_account(moto, account)
    with_resources, _ = run()
    assert Counter(with_resources) == Counter(large) + Counter(SCENARIO_READS)
    assert small == large == {
        "sts:AssumeRole": 1, "sts:GetCallerIdentity": 1, "iam:GenerateCredentialReport": 1,
        "iam:GetAccountAuthorizationDetails": 1, "iam:GetCredentialReport": 1, "iam:ListRoles": 1,
        "iam:ListAccessKeys": 2,  # only the users the report shows with keys
        "lambda:ListFunctions": 1, "ec2:DescribeInstances": 1,
        "ecs:ListTaskDefinitions": 1,  # no task definitions here: no DescribeTaskDefinition
        "bedrock-agent:ListAgents": 1, "sagemaker:ListNotebookInstances": 1,  # nor agents and notebooks
        # One read per listed knowledge base and endpoint; the config and model both endpoints share, once.
        "bedrock-agent:ListKnowledgeBases": 1, "bedrock-agent:GetKnowledgeBase": 1,
        "sagemaker:ListEndpoints": 1, "sagemaker:DescribeEndpoint": 2, "sagemaker:DescribeEndpointConfig": 1,
        "sagemaker:DescribeModel": 1, "eks:ListClusters": 1,  # no cluster: no association listing
        "s3:ListBuckets": 1, "s3-control:GetPublicAccessBlock": 1, "kms:ListKeys": 1,
        "secrets-manager:ListSecrets": 1, "sqs:ListQueues": 1, "sns:ListTopics": 1,  # no resources: no reads
        "sagemaker:ListModelPackageGroups": 1,
        "ssm:DescribeParameters": 1,  # no String parameters: no GetParameters
        "cloudformation:DescribeStacks": 1,
        "cloudtrail:DescribeTrails": 1, "bedrock:GetModelInvocationLoggingConfiguration": 1,  # no trails here
        "cloudtrail:ListEventDataStores": 1,
    }


def _seed_model_callers(moto: Moto, account: str) -> None:  # noqa: F811
    """A knowledge base and two endpoints behind one config and one model, run by the account's first role."""
    role = f"arn:aws:iam::{account}:role/role-0"
    moto.client("bedrock-agent", account).create_knowledge_base(
        name="kb", roleArn=role, knowledgeBaseConfiguration={"type": "VECTOR"},
        storageConfiguration={"type": "OPENSEARCH_SERVERLESS"})
    sagemaker = moto.client("sagemaker", account)
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=role, PrimaryContainer={"Image": "img"})
    sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    for name in ("e1", "e2"):
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="c")


@pytest.mark.parametrize("denied, quiet", [("iam:GenerateCredentialReport", False),
                                           ("iam:GetCredentialReport", True)])
def test_denied_credential_report_keeps_everything_else(estate, aws_env, tmp_path, denied, quiet):  # noqa: F811
    aws_env.front.deny(denied)
    result, snap = collect_cli(tmp_path, *(["--quiet"] if quiet else []))
    assert result.exit_code == 3
    if quiet:
        assert result.stderr == ""
    else:
        assert "warning" in result.stderr and denied in result.stderr and "incomplete" in result.stderr
    (issue,) = snap.collection_issues
    assert issue.operation == denied and "AccessDenied" in issue.message and "credential report" in issue.missing
    assert len(snap.identities) == 11 and len(snap.workloads) == 4
    # Without the report every user is asked for keys, so key ids and ages survive.
    assert {c.identity_id for c in snap.credentials} == {arn("user", u) for u in planted.USERS}
    assert near(next(c for c in snap.credentials if c.identity_id == arn("user", "report-bot")).created,
                days_ago(400))
    assert all(i.human_use is None for i in snap.identities)


def test_denied_authorization_details_keeps_users_from_the_report(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("iam:GetAccountAuthorizationDetails")
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 3
    (issue,) = snap.collection_issues
    assert issue.operation == "iam:GetAccountAuthorizationDetails" and "roles" in issue.missing
    assert {i.id for i in snap.identities} == {arn("user", u) for u in planted.USERS}
    assert len(snap.credentials) == 3 and len(snap.workloads) == 4 and snap.policies == []


def test_throttling_is_retried(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.throttle("iam:GetAccountAuthorizationDetails", times=1)
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 0 and snap.complete and len(snap.identities) == 11
    assert Counter(aws_env.front.operations())["iam:GetAccountAuthorizationDetails"] == 2


def test_no_credentials_is_a_collection_error(aws_env, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 3 and snap is None
    assert "no AWS credentials found" in result.stderr and aws_env.front.operations() == []


@pytest.mark.parametrize("args, message", [
    (["--aws-profile", "does-not-exist"], "--aws-profile"),
    (["--aws-regions", "Mars-1"], "not a region name"),
    (["--aws-role-arn", "auditor"], "not an ARN"),
])
def test_bad_options_exit_2(aws_env, tmp_path, args, message):  # noqa: F811
    result, _ = collect_cli(tmp_path, *args)
    assert result.exit_code == 2 and message in result.stderr


def _moto_keys(user: str):
    from aws_support import iam_backend

    return iam_backend().users[user].access_keys


def test_import_of_cli_exports_equals_live(estate, aws_env, tmp_path):  # noqa: F811
    _, live = collect_cli(tmp_path)
    files = export_like_cli(estate, tmp_path / "exports", key_users=["report-bot", "old-integration"])
    functions = estate.client("lambda").list_functions()
    (tmp_path / "exports" / "functions.json").write_text(json.dumps({"Functions": functions["Functions"]}))
    imported = import_files([*files, tmp_path / "exports" / "functions.json"])
    assert imported.complete

    def shape(snap) -> dict:
        data = json.loads(snap.to_json())
        for ident in data["identities"]:
            ident.pop("last_activity_detail")  # live adds the key's service/region from GetAccessKeyLastUsed
        data["credentials"] = sorted(
            (c["identity_id"], c["type"], c["created"][:19], c["active"], (c["last_used"] or "")[:19])
            for c in data["credentials"])  # key ids: only where list-access-keys was exported
        return {k: data[k] for k in ("identities", "credentials", "policies", "trusts", "workloads")}

    assert shape(imported) == shape(live)
    live_ids = {c.id for c in live.credentials}
    assert {c.id for c in imported.credentials if c.identity_id != arn("user", "clean-svc")} <= live_ids
