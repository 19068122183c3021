"""--aws-org: an organisation with three member accounts in moto, each entered through AssumeRole, in
parallel; one failed account never loses the others."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator

import pytest
from aws_resource_scenario import seed_cross_account
from aws_support import (  # noqa: F401
    FIXTURES,
    MOTO_ACCOUNT,
    Moto,
    Response,
    aws_env,
    backdate_key,
    days_ago,
    error_response,
    moto,
    replay_pod_identity,
)
from rich.console import Console
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.aws.live import collect_aws
from nhiaudit.connectors.aws.readonly import allowed_iam_actions
from nhiaudit.connectors.options import AwsOptions
from nhiaudit.inventory.snapshot import load_snapshot

ONE_REGION = (b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><regionInfo><item>'
              b"<regionName>us-east-1</regionName><optInStatus>opt-in-not-required</optInStatus></item>"
              b"</regionInfo></DescribeRegionsResponse>")


@pytest.fixture(scope="module")
def org(moto: Moto) -> Iterator[list[str]]:  # noqa: F811
    """The management account (moto's default) and three members, each with a key-holding user and a role.

    These accounts need no AWS-managed policies, and without moto's ~1,500 of them each account's
    authorization details are small: the module stays fast."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
        yield _seed_org(moto)


def _seed_org(moto: Moto) -> list[str]:  # noqa: F811
    moto.reset()
    client = moto.client("organizations")
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]  # SCPs on: every guardrail read of the allowlist is needed
    client.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    members = [client.create_account(Email=f"member{i}@acme.example", AccountName=f"member-{i}")
               ["CreateAccountStatus"]["AccountId"] for i in range(3)]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for account in [MOTO_ACCOUNT, *members]:
        iam = moto.client("iam", None if account == MOTO_ACCOUNT else account)
        iam.create_user(UserName="svc")
        iam.create_access_key(UserName="svc")
        iam.create_role(RoleName=f"worker-{account}", AssumeRolePolicyDocument=trust)
        backdate_key("svc", days_ago(30), days_ago(1), account=account)  # used: last use needs a lookup
    # One workload of each described kind, so every describe call on the allowlist is needed.
    runner = f"arn:aws:iam::{MOTO_ACCOUNT}:role/worker-{MOTO_ACCOUNT}"
    moto.client("ecs").register_task_definition(family="app", taskRoleArn=runner,
                                                containerDefinitions=[{"name": "app", "image": "a", "memory": 64}])
    moto.client("bedrock-agent").create_agent(agentName="agent", agentResourceRoleArn=runner)
    moto.client("sagemaker").create_notebook_instance(NotebookInstanceName="nb", InstanceType="ml.t2.medium",
                                                      RoleArn=runner)
    moto.client("bedrock-agent").create_knowledge_base(name="kb", roleArn=runner,
                                                       knowledgeBaseConfiguration={"type": "VECTOR"},
                                                       storageConfiguration={"type": "OPENSEARCH_SERVERLESS"})
    moto.client("sagemaker").create_model(ModelName="m", ExecutionRoleArn=runner, PrimaryContainer={"Image": "i"})
    moto.client("sagemaker").create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    moto.client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="c")
    seed_cross_account(moto, MOTO_ACCOUNT, function_role=runner)  # and every resource-policy read
    moto.client("ssm").put_parameter(Name="/app/log-level", Value="INFO", Type="String")  # read for credentials
    ec2 = moto.client("ec2")  # an instance: its user data is read for credentials
    ec2.run_instances(ImageId=ec2.describe_images()["Images"][0]["ImageId"], MinCount=1, MaxCount=1)
    # A trail, so its status and event selectors are read (audit coverage).
    moto.client("s3").create_bucket(Bucket="org-trail-logs")
    moto.client("cloudtrail").create_trail(Name="org-trail", S3BucketName="org-trail-logs", IsMultiRegionTrail=True)
    return [MOTO_ACCOUNT, *sorted(members)]


JSON11 = "application/x-amz-json-1.1"


def _region(req) -> str:  # type: ignore[no-untyped-def]
    return req.headers["authorization"].split("Credential=", 1)[1].split("/")[2]


def run(tmp_path, *extra: str):
    out = tmp_path / "org.json"
    result = CliRunner().invoke(build_app(), ["collect", "--aws-org", "--concurrency", "3", "-o", str(out),
                                              *extra])
    return result, load_snapshot(out)


def test_every_account_is_collected_with_only_allowlisted_calls(org, aws_env, tmp_path):  # noqa: F811
    aws_env.front.replay("ec2:DescribeRegions", lambda r: Response(200, ONE_REGION))  # moto has 38 regions
    # A cluster with a Pod Identity association (recorded: moto has none) in the management account only (the
    # caller's own keys; members are read with assumed-role sessions, which carry a session token).
    cluster = Response(200, b'{"clusters": ["ml-cluster"]}', "application/json")
    aws_env.front.replay("eks:ListClusters", lambda r: None if "x-amz-security-token" in r.headers else cluster)
    replay_pod_identity(aws_env.front)
    # moto has no CloudTrail Lake: one recorded event data store, so its GetEventDataStore is needed too.
    store = (FIXTURES / "cloudtrail-get-event-data-store.json").read_bytes()
    listing = json.dumps({"EventDataStores": [{"EventDataStoreArn": json.loads(store)["EventDataStoreArn"]}]})
    aws_env.front.replay("cloudtrail:ListEventDataStores", lambda r: Response(200, listing.encode(), JSON11))
    aws_env.front.replay("cloudtrail:GetEventDataStore", lambda r: Response(200, store, JSON11))
    # A model package group in the management account (recorded, botocore's ModelPackageGroupSummary shape; moto
    # has no GetModelPackageGroupPolicy): SageMaker's answer for a group without a policy.
    aws_env.front.replay("sagemaker:ListModelPackageGroups", lambda r: None if "x-amz-security-token" in r.headers
                         else Response(200, json.dumps({"ModelPackageGroupSummaryList": [{
                             "ModelPackageGroupName": "models", "CreationTime": 1735689600.0,
                             "ModelPackageGroupStatus": "Completed", "ModelPackageGroupArn":
                             f"arn:aws:sagemaker:{_region(r)}:{MOTO_ACCOUNT}:model-package-group/models"}]}).encode(),
                             JSON11))
    aws_env.front.replay("sagemaker:GetModelPackageGroupPolicy", lambda r: error_response(
        r, "ValidationException", "Cannot find resource policy for: models", 400))
    result, snap = run(tmp_path)
    assert result.exit_code == 0, result.output
    assert [s.account for s in snap.sources] == sorted(org)
    for account in org:
        expected = {f"arn:aws:iam::{account}:user/svc", f"arn:aws:iam::{account}:role/worker-{account}"}
        if account != MOTO_ACCOUNT:  # Organizations creates the access role in accounts it creates
            expected.add(f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole")
        assert {i.id for i in snap.identities if i.account == account} == expected
    assert {c.identity_id.split(":")[4] for c in snap.credentials} == set(org)
    sent = Counter(aws_env.front.operations())
    assert sent["sts:AssumeRole"] == 3  # the members; the management account uses the caller's credentials
    assert sent["iam:GetAccountAuthorizationDetails"] == 4 and sent["organizations:ListAccounts"] == 1
    # Every allowlisted operation was needed, and nothing else was sent: the allowlist is minimal.
    assert set(sent) == allowed_iam_actions()


def test_one_failed_account_keeps_the_others(org, aws_env, tmp_path):  # noqa: F811
    broken = org[2]
    aws_env.front.deny("sts:AssumeRole", when=lambda req: broken in req.params.get("RoleArn", ""))
    result, snap = run(tmp_path, "--aws-regions", "us-east-1")
    assert result.exit_code == 3
    (issue,) = snap.collection_issues
    assert (issue.account, issue.operation) == (broken, "sts:AssumeRole")
    assert issue.missing == f"everything in account {broken}"
    assert {i.account for i in snap.identities} == set(org) - {broken}
    assert broken in result.stderr and "AccessDenied" in result.stderr


def test_org_role_option_names_the_role_assumed(org, aws_env, tmp_path):  # noqa: F811
    seen: list[str] = []

    def record(req):
        seen.append(req.params["RoleArn"])

    aws_env.front.replay("sts:AssumeRole", lambda req: record(req))  # records, then falls through to moto
    result, _ = run(tmp_path, "--aws-regions", "us-east-1", "--aws-org-role", "audit/nhiaudit-readonly")
    assert result.exit_code == 0
    assert sorted(seen) == [f"arn:aws:iam::{a}:role/audit/nhiaudit-readonly" for a in org[1:]]


def test_progress_per_account_on_a_terminal(org, aws_env):  # noqa: F811
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    snaps = collect_aws(AwsOptions(enabled=True, org=True, regions=("us-east-1",)), 2, console)
    text = out.getvalue()
    assert len(snaps) == 5 and all(f"✓ {a}" in text for a in org) and "3 identities" in text
