"""Resource-based policies, live, through real boto3 against moto's server (behind the fault-injecting front):
the raw layer (RawAccount.resource_policies) holds each read resource's policy as the API returns it with its
ARN, account, region and extra state; what a bound leaves out, and every denied or garbled read, is a
CollectionIssue while the rest is kept; the written policy's resources are read first."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from aws_resource_scenario import AGENT_ROLE, DATA_ACCOUNT, REGION, Scenario, seed_cross_account
from aws_support import Moto, Request, Response, aws_env, moto, scan_json  # noqa: F401
from rich.console import Console

from nhiaudit.connectors.aws import account as account_module
from nhiaudit.connectors.aws.account import CollectSettings
from nhiaudit.connectors.aws.assemble import RawAccount
from nhiaudit.connectors.aws.live import collect_aws
from nhiaudit.connectors.aws.readonly import RequestLog
from nhiaudit.connectors.aws.resource_raw import RawResourcePolicy
from nhiaudit.connectors.options import AwsOptions

OPTIONS = AwsOptions(enabled=True, role_arn=f"arn:aws:iam::{DATA_ACCOUNT}:role/auditor", regions=(REGION,))


@pytest.fixture(scope="module")
def scenario(moto: Moto) -> Scenario:  # noqa: F811
    moto.reset()
    return seed_cross_account(moto)


@pytest.fixture
def raw_accounts(monkeypatch: pytest.MonkeyPatch) -> list[RawAccount]:
    """The RawAccount each collection assembles (the transform is another module's: here the raw layer)."""
    seen: list[RawAccount] = []
    real = account_module.assemble_account

    def spy(raw: RawAccount, source):  # type: ignore[no-untyped-def]
        seen.append(raw)
        return real(raw, source)

    monkeypatch.setattr(account_module, "assemble_account", spy)
    return seen


def collect(raw_accounts: list[RawAccount], settings: CollectSettings | None = None,
            opts: AwsOptions = OPTIONS, log: RequestLog | None = None):  # type: ignore[no-untyped-def]
    (snap,) = collect_aws(opts, 1, Console(file=io.StringIO()), request_log=log, settings=settings)
    return snap, {p.resource_arn: p for p in raw_accounts[-1].resource_policies}


def issues_of(snap) -> dict[str, list]:  # type: ignore[no-untyped-def]
    found: dict[str, list] = {}
    for issue in snap.collection_issues:
        found.setdefault(issue.operation, []).append(issue)
    return found


def test_every_service_is_read_in_the_apis_own_shapes(scenario, aws_env, raw_accounts):  # noqa: F811
    log = RequestLog()
    snap, read = collect(raw_accounts, log=log)
    assert snap.complete, snap.collection_issues
    arns = scenario.arns
    assert set(read) == {arns[n] for n in ("customer-data", "public-assets", "plain-logs", "key", "prod/db",
                                           "dev/cache", "jobs", "alerts", "enrich")}
    # Sorted by service, region, ARN: the raw list does not depend on thread timing.
    policies = raw_accounts[-1].resource_policies
    assert policies == sorted(policies, key=lambda p: (p.service, p.region or "", p.resource_arn))

    bucket = read[arns["customer-data"]]
    assert (bucket.service, bucket.account, bucket.region) == ("s3", DATA_ACCOUNT, None)
    assert bucket.policy == scenario.policies["customer-data"]  # the JSON string as GetBucketPolicy returns it
    assert bucket.extra["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert {"Grants", "Owner"} <= set(bucket.extra) and bucket.extra["Grants"][0]["Permission"] == "FULL_CONTROL"
    assert "AccountPublicAccessBlockConfiguration" not in bucket.extra  # the account has none
    assert json.loads(str(read[arns["public-assets"]].policy))["Statement"][0]["Principal"] == "*"
    assert read[arns["plain-logs"]].policy is None  # NoSuchBucketPolicy: no policy, not a failure
    assert "PublicAccessBlockConfiguration" not in read[arns["plain-logs"]].extra

    key = read[arns["key"]]
    assert (key.service, key.account, key.region) == ("kms", DATA_ACCOUNT, REGION)
    assert json.loads(str(key.policy)) == json.loads(scenario.policies["key"])
    assert key.extra["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    assert isinstance(key.extra["KeyMetadata"]["CreationDate"], str)  # ISO, as the CLI prints it
    assert [g["GranteePrincipal"] for g in key.extra["Grants"]] == [AGENT_ROLE]

    assert read[arns["prod/db"]].policy == scenario.policies["prod/db"]
    assert read[arns["dev/cache"]].policy is None  # no ResourcePolicy member
    queue = read[arns["jobs"]]
    assert (queue.service, queue.region, queue.policy) == ("sqs", REGION, scenario.policies["jobs"])
    assert json.loads(str(read[arns["alerts"]].policy))["Statement"][0]["Principal"] == {"AWS": "*"}  # default
    function = read[arns["enrich"]]
    assert function.service == "lambda" and f"arn:aws:iam::{AGENT_ROLE.split(':')[4]}:root" in str(function.policy)

    sent = Counter(aws_env.front.operations())
    assert sent["lambda:ListFunctions"] == 1  # the workloads' listing, not a second one
    assert sent["lambda:GetPolicy"] == 1 and sent["s3:GetAccountPublicAccessBlock"] == 1
    assert not any("GetSecretValue" in op for op in sent)  # only the secrets' metadata and policies
    assert "not-read-by-nhiaudit" not in snap.to_json()
    assert f"{log.total - 2} API requests" in snap.sources[0].detail


def test_account_block_public_access_is_on_every_bucket(scenario, aws_env, raw_accounts):  # noqa: F811
    control = aws_env.client("s3control", DATA_ACCOUNT)
    config = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
              "RestrictPublicBuckets": False}
    control.put_public_access_block(AccountId=DATA_ACCOUNT, PublicAccessBlockConfiguration=config)
    try:
        snap, read = collect(raw_accounts)
        assert snap.complete
    finally:
        control.delete_public_access_block(AccountId=DATA_ACCOUNT)
    buckets = [p for p in read.values() if p.service == "s3"]
    assert len(buckets) == 3 and all(p.extra["AccountPublicAccessBlockConfiguration"] == config for p in buckets)


def test_the_written_policys_resources_are_read_first_and_the_rest_is_an_issue(
    scenario, aws_env, raw_accounts  # noqa: F811
):
    settings = CollectSettings(resource_policy_reads=1)
    opts = AwsOptions(**{**OPTIONS.__dict__, "resource_patterns": ("arn:aws:s3:::plain-*/*",
                                                                   "arn:aws:secretsmanager:*:*:secret:prod/*")})
    snap, read = collect(raw_accounts, settings, opts)
    assert not snap.complete
    buckets = {a for a, p in read.items() if p.service == "s3"}
    secrets = {a for a, p in read.items() if p.service == "secretsmanager"}
    assert buckets == {scenario.arns["plain-logs"]} and secrets == {scenario.arns["prod/db"]}
    issues = issues_of(snap)
    (bucket_issue,) = issues["s3:GetBucketPolicy"]
    assert bucket_issue.message == "truncated: 2 buckets in all regions beyond the first 1 were not read"
    assert "S3 bucket policies" in bucket_issue.missing
    (secret_issue,) = issues["secretsmanager:GetResourcePolicy"]
    assert secret_issue.message == f"truncated: 1 secrets in {REGION} beyond the first 1 were not read"
    # Without patterns the first by ARN is read.
    _, read = collect(raw_accounts, settings)
    assert {a for a, p in read.items() if p.service == "s3"} == {scenario.arns["customer-data"]}
    # A named resource the bound leaves out is said so.
    opts = AwsOptions(**{**OPTIONS.__dict__, "resource_patterns": ("arn:aws:s3:::p*",)})
    snap, read = collect(raw_accounts, settings, opts)
    assert {a for a, p in read.items() if p.service == "s3"} == {scenario.arns["plain-logs"]}
    (bucket_issue,) = issues_of(snap)["s3:GetBucketPolicy"]
    assert bucket_issue.message.endswith("were not read (1 of them named by the written policy)")


def test_a_denied_bucket_policy_loses_that_bucket_only(scenario, aws_env, raw_accounts):  # noqa: F811
    aws_env.front.deny("s3:GetBucketPolicy", when=lambda req: req.path.startswith("/public-assets"))
    aws_env.front.deny("s3:GetBucketAcl", when=lambda req: req.path.startswith("/customer-data"))
    snap, read = collect(raw_accounts)
    assert not snap.complete
    assert scenario.arns["public-assets"] not in read  # its policy is unknown: left out, not "no policy"
    assert read[scenario.arns["customer-data"]].policy == scenario.policies["customer-data"]
    assert "Grants" not in read[scenario.arns["customer-data"]].extra  # the denied ACL only
    assert "PublicAccessBlockConfiguration" in read[scenario.arns["customer-data"]].extra
    issues = issues_of(snap)
    (policy_issue,) = issues["s3:GetBucketPolicy"]
    assert policy_issue.message.startswith("AccessDenied") and "(1 buckets in all regions: public-assets)" in \
        policy_issue.message
    (acl_issue,) = issues["s3:GetBucketAcl"]
    assert "customer-data" in acl_issue.message
    assert set(issues) == {"s3:GetBucketPolicy", "s3:GetBucketAcl"}
    assert len([p for p in read.values() if p.service != "s3"]) == 6  # every other service is kept


@pytest.mark.parametrize("operation, missing", [
    ("kms:ListKeys", "KMS key policies"),
    ("secretsmanager:ListSecrets", "Secrets Manager"),
    ("sqs:ListQueues", "SQS"),
    ("sns:ListTopics", "SNS"),
    ("s3:ListAllMyBuckets", "S3 bucket policies"),
    ("s3:GetAccountPublicAccessBlock", "Block Public Access"),
])
def test_a_denied_listing_is_an_issue_and_keeps_the_other_services(
    scenario, aws_env, raw_accounts, operation, missing  # noqa: F811
):
    aws_env.front.deny(operation)
    snap, read = collect(raw_accounts)
    (issue,) = snap.collection_issues
    assert issue.operation == operation and missing in issue.missing and "AccessDenied" in issue.message
    services = Counter(p.service for p in read.values())
    lost = {"kms:ListKeys": "kms", "secretsmanager:ListSecrets": "secretsmanager", "sqs:ListQueues": "sqs",
            "sns:ListTopics": "sns", "s3:ListAllMyBuckets": "s3"}.get(operation)
    assert lost not in services and sum(services.values()) >= 6
    if operation == "s3:GetAccountPublicAccessBlock":
        assert services["s3"] == 3  # the buckets are still read, without the account's settings


@pytest.mark.parametrize("operation, body", [
    ("secretsmanager:GetResourcePolicy", b'{"ARN": "x", "ResourcePolicy": 5}'),
    ("kms:GetKeyPolicy", b'{"Policy": "' + b"x" * 140_000 + b'"}'),
    ("kms:ListGrants", b'{"Grants": [{"KeyId": "k"}]}'),
])
def test_a_garbled_read_is_an_issue_naming_the_resource(scenario, aws_env, raw_accounts, operation, body):  # noqa: F811
    aws_env.front.replay(operation, lambda req: Response(200, body, "application/x-amz-json-1.1"))
    snap, read = collect(raw_accounts)
    (issue,) = snap.collection_issues
    assert issue.operation == operation and "Traceback" not in issue.message
    if operation == "kms:ListGrants":  # a secondary read: the key is kept without its grants
        assert "Grants" not in read[scenario.arns["key"]].extra and read[scenario.arns["key"]].policy
    else:
        name = "key" if operation.startswith("kms") else "prod/db"
        assert scenario.arns[name] not in read


def test_aws_managed_keys_are_not_read(scenario, aws_env, raw_accounts):  # noqa: F811
    def managed(req: Request) -> Response | None:
        reply = {"KeyMetadata": {"KeyId": scenario.key_id, "Arn": scenario.arns["key"], "KeyManager": "AWS",
                                 "KeyState": "Enabled", "AWSAccountId": DATA_ACCOUNT}}
        return Response(200, json.dumps(reply).encode(), "application/x-amz-json-1.1")

    aws_env.front.replay("kms:DescribeKey", managed)
    snap, read = collect(raw_accounts)
    assert snap.complete and scenario.arns["key"] not in read
    sent = Counter(aws_env.front.operations())
    assert sent["kms:DescribeKey"] == 1 and sent["kms:GetKeyPolicy"] == 0 and sent["kms:ListGrants"] == 0


def test_raw_resource_policy_is_the_shared_contract():
    policy = RawResourcePolicy("s3", "arn:aws:s3:::b", DATA_ACCOUNT, None, None)
    assert policy.extra == {} and RawAccount(account=DATA_ACCOUNT).resource_policies == []


def test_scan_reads_the_resources_its_policy_names_first(scenario, aws_env, tmp_path):  # noqa: F811
    buckets: list[str] = []

    def note(req: Request) -> None:  # falls through to moto
        buckets.append(req.path.split("?", 1)[0].strip("/"))

    aws_env.front.replay("s3:GetBucketPolicy", note)
    policy = """\
version: 1
systems:
  logs:
    kind: data
    resources: ["arn:aws:s3:::plain-logs/*", "projects/p/topics/ignored"]
integrations: []
"""
    code, report = scan_json(tmp_path, "--aws-role-arn", OPTIONS.role_arn, "--aws-regions", REGION, policy=policy)
    assert code == 0 and report["collection"]["complete"]
    assert buckets == ["plain-logs", "customer-data", "public-assets"]  # named first, then by ARN


def test_a_denied_key_description_names_its_call_and_fails_the_scan(scenario, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("kms:DescribeKey")
    code, report = scan_json(tmp_path, "--aws-role-arn", OPTIONS.role_arn, "--aws-regions", REGION)
    assert code == 3 and report["collection"]["complete"] is False
    (error,) = report["collection"]["errors"]
    assert error["operation"] == "kms:DescribeKey" and error["account"] == DATA_ACCOUNT
    assert "AccessDenied" in error["message"] and scenario.key_id in error["message"]
    assert "KMS key policies" in error["missing"]


@pytest.mark.parametrize("name", ["../../other", "a" * 300, "x:y/*"], ids=["path", "long", "arn-parts"])
def test_a_hostile_bucket_listing_is_an_issue_not_a_request(scenario, aws_env, raw_accounts, name):  # noqa: F811
    from xml.sax.saxutils import escape

    body = ('<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID></Owner>'
            f"<Buckets><Bucket><Name>{escape(name)}</Name></Bucket></Buckets></ListAllMyBucketsResult>")
    aws_env.front.replay("s3:ListAllMyBuckets", lambda req: Response(200, body.encode(), "application/xml"))
    snap, read = collect(raw_accounts)
    (issue,) = snap.collection_issues
    assert issue.operation == "s3:ListAllMyBuckets" and "malformed reply" in issue.message
    assert len(issue.message) < 400
    assert not any(p.service == "s3" for p in read.values()) and len(read) == 6
    assert "s3:GetBucketPolicy" not in aws_env.front.operations()
