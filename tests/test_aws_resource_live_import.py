"""Resource-based policies end to end: the same estate collected live from moto and imported from the AWS CLI
outputs of the same calls gives the same resource-policy records and the same reach findings.

Account A holds the agent role `claims-agent`, whose identity policy allows reading any bucket, decrypting with
any key and reading any secret; account B holds the resources, whose policies let the agent in (or not)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aws_resource_scenario import AGENT_ACCOUNT, DATA_ACCOUNT, REGION, Scenario, seed_cross_account
from aws_support import Moto, aws_env, moto  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.snapshot import load_snapshot

POLICY = f"""\
version: 1
systems:
  customer-data:
    environment: prod
    resources: ["arn:aws:s3:::customer-data/*"]
  plain-logs:
    environment: prod
    resources: ["arn:aws:s3:::plain-logs/*"]
  prod-key:
    environment: prod
    resources: ["arn:aws:kms:{REGION}:{DATA_ACCOUNT}:key/*"]
integrations:
  - name: claims-agent
    environment: dev
    identities: ["arn:aws:iam::{AGENT_ACCOUNT}:role/claims-agent"]
    may_reach: []
"""
_last_error = ""
REACH_CATEGORIES = {"scope-drift", "environment-crossing"}


@pytest.fixture(scope="module")
def estate(moto: Moto) -> Scenario:  # noqa: F811
    moto.reset()
    scenario = seed_cross_account(moto)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    reads = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "kms:Decrypt",
                                       "secretsmanager:GetSecretValue"], "Resource": "*"}]}
    iam = moto.client("iam", AGENT_ACCOUNT)
    iam.create_role(RoleName="claims-agent", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="claims-agent", PolicyName="reads", PolicyDocument=json.dumps(reads))
    return scenario


def _cli(*args: str) -> tuple[int, str]:
    global _last_error
    result = CliRunner().invoke(build_app(), list(args))
    _last_error = result.stderr
    return result.exit_code, result.stdout


def _write(folder: Path, name: str, reply: dict[str, Any]) -> Path:
    """A reply as the AWS CLI prints it: without ResponseMetadata, dates in ISO 8601."""
    reply = {k: v for k, v in reply.items() if k != "ResponseMetadata"}
    path = folder / name
    path.write_text(json.dumps(reply, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)),
                    encoding="utf-8")
    return path


def _exports(moto: Moto, scenario: Scenario, folder: Path) -> list[str]:  # noqa: F811
    """`--import` arguments for both accounts: each account's authorization details and Lambda listing, and
    account B's resource policies, named by TARGET where the output does not name its resource."""
    folder.mkdir()
    args: list[str] = []
    for account in (AGENT_ACCOUNT, DATA_ACCOUNT):
        gaad = moto.client("iam", account).get_account_authorization_details()
        args.append(str(_write(folder, f"gaad-{account}.json", gaad)))
    # Account A runs no function, and an empty listing names no account: B's listing only.
    functions = moto.client("lambda", DATA_ACCOUNT).list_functions()
    args.append(str(_write(folder, "functions.json", functions)))
    s3, kms = moto.client("s3", DATA_ACCOUNT), moto.client("kms", DATA_ACCOUNT)
    for bucket in ("customer-data", "public-assets", "plain-logs"):
        target = f"arn:aws:s3::{DATA_ACCOUNT}:{bucket}"
        try:
            policy = s3.get_bucket_policy(Bucket=bucket)
        except s3.exceptions.ClientError:  # NoSuchBucketPolicy: the CLI prints nothing, so no file
            policy = None
        if policy is not None:
            args.append(f"{target}={_write(folder, f'{bucket}-policy.json', policy)}")
        args.append(f"{target}={_write(folder, f'{bucket}-acl.json', s3.get_bucket_acl(Bucket=bucket))}")
        try:
            block = s3.get_public_access_block(Bucket=bucket)
        except s3.exceptions.ClientError:  # NoSuchPublicAccessBlockConfiguration
            continue
        args.append(f"{target}={_write(folder, f'{bucket}-block.json', block)}")
    key = scenario.arns["key"]
    args.append(f"{key}={_write(folder, 'key-policy.json', kms.get_key_policy(KeyId=key, PolicyName='default'))}")
    grants = kms.list_grants(KeyId=key)
    for grant in grants["Grants"]:  # AWS names the key by its ARN here (the CLI reference's example); moto by id
        grant["KeyId"] = key
    args.append(str(_write(folder, "key-grants.json", grants)))
    sm = moto.client("secretsmanager", DATA_ACCOUNT)
    for name in ("prod/db", "dev/cache"):
        reply = sm.get_resource_policy(SecretId=scenario.arns[name])
        args.append(str(_write(folder, f"secret-{name.replace('/', '-')}.json", reply)))
    queue = moto.client("sqs", DATA_ACCOUNT).get_queue_url(QueueName="jobs")["QueueUrl"]
    attributes = moto.client("sqs", DATA_ACCOUNT).get_queue_attributes(QueueUrl=queue,
                                                                      AttributeNames=["Policy", "QueueArn"])
    args.append(str(_write(folder, "queue.json", attributes)))
    topic = moto.client("sns", DATA_ACCOUNT).get_topic_attributes(TopicArn=scenario.arns["alerts"])
    args.append(str(_write(folder, "topic.json", topic)))
    function = moto.client("lambda", DATA_ACCOUNT).get_policy(FunctionName="enrich")
    args.append(str(_write(folder, "function-policy.json", function)))
    return [part for arg in args for part in ("--import", arg)]


def _reach_findings(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((f["rule_id"], f["identity"]["id"], json.dumps(f["evidence"], sort_keys=True))
                  for f in report["findings"] if f["category"] in REACH_CATEGORIES)


def test_live_and_import_give_the_same_resource_policies_and_findings(estate, moto, aws_env, tmp_path):  # noqa: F811
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    snapshots = []
    for account in (AGENT_ACCOUNT, DATA_ACCOUNT):
        out = tmp_path / f"live-{account}.json"
        code, _ = _cli("collect", "--aws-role-arn", f"arn:aws:iam::{account}:role/auditor", "--aws-regions", REGION,
                       "-o", str(out))
        assert code == 0, load_snapshot(out).collection_issues
        snapshots.append(str(out))
    code, live_out = _cli("scan", "--snapshot", snapshots[0], "--snapshot", snapshots[1], "--policy", str(policy),
                          "--format", "json", "--as-of", "2026-11-28")
    assert code == 1, live_out
    imports = _exports(moto, estate, tmp_path / "exports")
    code, import_out = _cli("scan", *imports, "--policy", str(policy), "--format", "json", "--as-of", "2026-11-28")
    assert code == 1, _last_error

    live_records = sorted((r for s in snapshots for r in load_snapshot(Path(s)).resource_policies), key=lambda r: r.id)
    collected = tmp_path / "imported.json"
    assert _cli("collect", *imports, "-o", str(collected))[0] == 0
    assert sorted(load_snapshot(collected).resource_policies, key=lambda r: r.id) == live_records

    live, imported = json.loads(live_out), json.loads(import_out)
    assert _reach_findings(live) == _reach_findings(imported)
    by_system = {(f["rule_id"], f["evidence"].get("system")) for f in live["findings"]
                 if f["category"] in REACH_CATEGORIES}
    # customer-data: B's bucket policy lets the agent in (and A's identity policy allows): reached, and the path
    # names the bucket policy statement. plain-logs: no grant in B: not reached cross-account.
    reached = {system for _, system in by_system}
    assert "customer-data" in reached and "prod-key" in reached and "plain-logs" not in reached
    path = next(f for f in live["findings"] if f["evidence"].get("system") == "customer-data")
    assert "bucket policy of arn:aws:s3:::customer-data" in json.dumps(path["evidence"])
