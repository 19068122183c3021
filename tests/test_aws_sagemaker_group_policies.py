"""SageMaker model package group policies, live, through real boto3 against moto's server behind the front.

moto lists model package groups (ListModelPackageGroups) but has no GetModelPackageGroupPolicy: the front answers
it in the API's own shapes, from botocore's `sagemaker` model (GetModelPackageGroupPolicyOutput: `ResourcePolicy`,
a JSON string) and, for a group without a policy, the error SageMaker sends (ValidationException "Cannot find
resource policy for: ARN", the message the AWS provider for Terraform and the CloudFormation resource provider of
AWS::SageMaker::ModelPackageGroup treat as "none")."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aws_resource_scenario import AGENT_ACCOUNT, AGENT_ROLE, DATA_ACCOUNT, REGION
from aws_support import Moto, Request, Response, aws_env, error_response, moto  # noqa: F401
from rich.console import Console
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.aws import account as account_module
from nhiaudit.connectors.aws.account import CollectSettings
from nhiaudit.connectors.aws.assemble import RawAccount
from nhiaudit.connectors.aws.live import collect_aws
from nhiaudit.connectors.aws.readonly import RequestLog
from nhiaudit.connectors.options import AwsOptions
from nhiaudit.inventory.snapshot import load_snapshot

OPTIONS = AwsOptions(enabled=True, role_arn=f"arn:aws:iam::{DATA_ACCOUNT}:role/auditor", regions=(REGION,))
GROUP = f"arn:aws:sagemaker:{REGION}:{DATA_ACCOUNT}:model-package-group/"
JSON = "application/x-amz-json-1.1"
MODEL_ACTIONS = ["sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages",
                 "sagemaker:DescribeModelPackage"]
# fraud-models: B lets A's agent role read its model packages. churn-models: no policy.
FRAUD_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "AgentReadsModels", "Effect": "Allow", "Principal": {"AWS": AGENT_ROLE}, "Action": MODEL_ACTIONS,
    "Resource": [f"{GROUP}fraud-models", f"arn:aws:sagemaker:{REGION}:{DATA_ACCOUNT}:model-package/fraud-models/*"],
}]})
SCAN_POLICY = f"""\
version: 1
systems:
  fraud-models:
    environment: prod
    resources: ["{GROUP}fraud-models"]
  churn-models:
    environment: prod
    resources: ["{GROUP}churn-models"]
integrations:
  - name: claims-agent
    environment: dev
    identities: ["{AGENT_ROLE}"]
    may_reach: []
"""


@pytest.fixture(scope="module")
def estate(moto: Moto) -> None:  # noqa: F811
    moto.reset()
    sagemaker = moto.client("sagemaker", DATA_ACCOUNT)
    for name in ("fraud-models", "churn-models"):
        sagemaker.create_model_package_group(ModelPackageGroupName=name)
    moto.client("s3", DATA_ACCOUNT).create_bucket(Bucket="model-artifacts")  # another service's resource
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    reads = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": MODEL_ACTIONS, "Resource": "*"}]}
    iam = moto.client("iam", AGENT_ACCOUNT)
    iam.create_role(RoleName="claims-agent", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="claims-agent", PolicyName="reads", PolicyDocument=json.dumps(reads))


def group_policy(req: Request) -> Response:
    """GetModelPackageGroupPolicy as SageMaker answers it (moto has none)."""
    name = req.params["ModelPackageGroupName"]
    if name == "fraud-models":
        return Response(200, json.dumps({"ResourcePolicy": FRAUD_POLICY}).encode(), JSON)
    return error_response(req, "ValidationException", f"Cannot find resource policy for: {GROUP}{name}", 400)


@pytest.fixture
def replayed(estate: None, aws_env: Moto) -> Moto:  # noqa: F811
    aws_env.front.replay("sagemaker:GetModelPackageGroupPolicy", group_policy)
    return aws_env


@pytest.fixture
def raw_accounts(monkeypatch: pytest.MonkeyPatch) -> list[RawAccount]:
    seen: list[RawAccount] = []
    real = account_module.assemble_account
    monkeypatch.setattr(account_module, "assemble_account", lambda raw, source: seen.append(raw) or real(raw, source))
    return seen


def collect(raw_accounts: list[RawAccount], settings: CollectSettings | None = None,
            opts: AwsOptions = OPTIONS, log: RequestLog | None = None) -> tuple[Any, dict[str, Any]]:
    (snap,) = collect_aws(opts, 1, Console(file=io.StringIO()), request_log=log, settings=settings)
    return snap, {p.resource_arn: p for p in raw_accounts[-1].resource_policies if p.service == "sagemaker"}


def test_each_group_and_its_policy_is_read(replayed, raw_accounts):
    log = RequestLog()
    snap, groups = collect(raw_accounts, log=log)
    assert snap.complete, snap.collection_issues
    assert sorted(groups) == [f"{GROUP}churn-models", f"{GROUP}fraud-models"]
    fraud = groups[f"{GROUP}fraud-models"]
    assert (fraud.account, fraud.region, fraud.policy, fraud.extra) == (DATA_ACCOUNT, REGION, FRAUD_POLICY, {})
    assert groups[f"{GROUP}churn-models"].policy is None  # no policy: not an issue
    sent = log.snapshot()
    assert sent["sagemaker:ListModelPackageGroups"] == 1 and sent["sagemaker:GetModelPackageGroupPolicy"] == 2
    record = next(r for r in snap.resource_policies if r.id.endswith("fraud-models"))
    assert record.service == "sagemaker" and AGENT_ROLE in json.dumps(record.model_dump(mode="json"))


def test_a_denied_group_policy_loses_that_group_only(replayed, raw_accounts):
    replayed.front.deny("sagemaker:GetModelPackageGroupPolicy",
                        when=lambda req: req.params.get("ModelPackageGroupName") == "fraud-models")
    replayed.front.rules.reverse()  # the denial before the replay
    snap, groups = collect(raw_accounts)
    assert not snap.complete
    (issue,) = snap.collection_issues
    assert issue.operation == "sagemaker:GetModelPackageGroupPolicy" and issue.message.startswith("AccessDenied")
    assert "(1 model package groups in us-east-1: fraud-models)" in issue.message
    assert "SageMaker model package group policies" in issue.missing
    assert sorted(groups) == [f"{GROUP}churn-models"]  # unknown policy: left out, not "no policy"
    assert issue.account == DATA_ACCOUNT
    assert "arn:aws:s3:::model-artifacts" in {p.resource_arn for p in raw_accounts[-1].resource_policies}


def test_a_denied_listing_is_an_issue_and_keeps_the_rest(replayed, raw_accounts):
    replayed.front.deny("sagemaker:ListModelPackageGroups")
    snap, groups = collect(raw_accounts)
    (issue,) = snap.collection_issues
    assert issue.operation == "sagemaker:ListModelPackageGroups" and "AccessDenied" in issue.message
    assert groups == {} and "sagemaker:GetModelPackageGroupPolicy" not in replayed.front.operations()
    assert "arn:aws:s3:::model-artifacts" in {p.resource_arn for p in raw_accounts[-1].resource_policies}


def test_a_group_deleted_since_the_listing_is_left_out(replayed, raw_accounts):
    replayed.front.replay("sagemaker:GetModelPackageGroupPolicy", lambda req: error_response(
        req, "ValidationException", f"Cannot find Model Package Group: {GROUP}churn-models", 400)
        if req.params["ModelPackageGroupName"] == "churn-models" else None)
    replayed.front.rules.reverse()
    snap, groups = collect(raw_accounts)
    assert snap.complete and sorted(groups) == [f"{GROUP}fraud-models"]


@pytest.mark.parametrize("summary", [
    {"ModelPackageGroupName": "../x", "ModelPackageGroupArn": f"{GROUP}x"},
    {"ModelPackageGroupName": "x", "ModelPackageGroupArn": "arn:aws:s3:::x"},
    {"ModelPackageGroupName": "x"},
    {"ModelPackageGroupName": "x", "ModelPackageGroupArn": f"{GROUP}{'x' * 3000}"},
    {"ModelPackageGroupName": "fraud-models", "ModelPackageGroupArn": f"{GROUP}churn-models"},
    {"ModelPackageGroupName": "x", "ModelPackageGroupArn": f"{GROUP.replace(REGION, 'eu-west-1')}x"},
], ids=["name", "arn", "no-arn", "long", "other-group", "other-region"])
def test_a_hostile_listing_is_an_issue_not_a_request(replayed, raw_accounts, summary):
    body = json.dumps({"ModelPackageGroupSummaryList": [{**summary, "CreationTime": 1735689600.0,
                                                          "ModelPackageGroupStatus": "Completed"}]})
    replayed.front.replay("sagemaker:ListModelPackageGroups", lambda req: Response(200, body.encode(), JSON))
    snap, groups = collect(raw_accounts)
    (issue,) = snap.collection_issues
    assert issue.operation == "sagemaker:ListModelPackageGroups" and "malformed reply" in issue.message
    assert len(issue.message) < 400 and groups == {}
    assert "sagemaker:GetModelPackageGroupPolicy" not in replayed.front.operations()


def test_the_named_group_is_read_first_and_the_rest_is_an_issue(replayed, raw_accounts):
    opts = AwsOptions(**{**OPTIONS.__dict__, "resource_patterns": (f"{GROUP}fraud-*",)})
    snap, groups = collect(raw_accounts, CollectSettings(resource_policy_reads=1), opts)
    assert sorted(groups) == [f"{GROUP}fraud-models"]  # named, though churn-models comes first by ARN
    issue = next(i for i in snap.collection_issues if i.operation == "sagemaker:GetModelPackageGroupPolicy")
    assert issue.message == "truncated: 1 model package groups in us-east-1 beyond the first 1 were not read"


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_cross_account_group_policy_lets_the_agent_reach_the_named_system(replayed, tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(SCAN_POLICY, encoding="utf-8")
    snapshots: list[str] = []
    for account in (AGENT_ACCOUNT, DATA_ACCOUNT):
        out = tmp_path / f"live-{account}.json"
        code, _, err = _cli("collect", "--aws-role-arn", f"arn:aws:iam::{account}:role/auditor", "--aws-regions",
                            REGION, "-o", str(out))
        assert code == 0, (err, load_snapshot(out).collection_issues if out.exists() else None)
        snapshots += ["--snapshot", str(out)]
    code, out, err = _cli("scan", *snapshots, "--policy", str(policy), "--format", "json", "--as-of", "2026-11-28")
    assert code == 1, err
    reach = [f for f in json.loads(out)["findings"] if f["category"] in {"scope-drift", "environment-crossing"}]
    systems = Counter(f["evidence"].get("system") for f in reach)
    # fraud-models: B's group policy names the agent and A's identity policy allows: reached, through the
    # group policy's statement. churn-models: no policy in B, so no cross-account access.
    assert systems["fraud-models"] >= 1 and "churn-models" not in systems
    evidence = json.dumps([f["evidence"] for f in reach if f["evidence"].get("system") == "fraud-models"])
    assert "model package group policy" in evidence and "AgentReadsModels" in evidence
    assert all(f["identity"]["id"] == AGENT_ROLE for f in reach)


def test_the_cli_export_imports_as_the_live_read_does(replayed, tmp_path: Path):
    live = tmp_path / "live.json"
    assert _cli("collect", "--aws-role-arn", OPTIONS.role_arn, "--aws-regions", REGION, "-o", str(live))[0] == 0
    exported = tmp_path / "fraud-models-policy.json"  # `aws sagemaker get-model-package-group-policy` output
    exported.write_text(json.dumps({"ResourcePolicy": FRAUD_POLICY}), encoding="utf-8")
    imported = tmp_path / "imported.json"
    code, _, err = _cli("collect", "--import", f"{GROUP}fraud-models={exported}", "-o", str(imported))
    assert code == 0, err
    (record,) = load_snapshot(imported).resource_policies
    assert record == next(r for r in load_snapshot(live).resource_policies if r.id == f"{GROUP}fraud-models")
    # Without its TARGET the file names no group: an input error, not a guess.
    code, _, err = _cli("collect", "--import", str(exported), "-o", str(imported))
    assert code == 2 and "model package group ARN" in err and "Traceback" not in err
