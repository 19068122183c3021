"""The pure resource-policy transform on live-shaped raw replies (boto3 gives the policy as a JSON string, KMS
grants and S3 settings in their reply members' shapes), and principal matching."""

from __future__ import annotations

import json

import pytest

from nhiaudit.connectors.aws.resource_raw import RawResourcePolicy
from nhiaudit.connectors.aws.transform_resources import transform_resource_policies
from nhiaudit.inventory.model import Identity, IdentityKind, Provider, Statement
from nhiaudit.inventory.resources import ResourcePolicy, ResourceStatement
from nhiaudit.permissions.resource_policies import ResourceIndex, principal_key

KEY = "arn:aws:kms:eu-west-1:111111111111:key/0b6f-example"


def test_live_shaped_key_with_policy_and_grants():
    policy = json.dumps({"Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "111111111111"},
                                        "Action": "kms:*", "Resource": "*"}]})
    grants = [{"KeyId": KEY, "GrantId": "g1", "GranteePrincipal": "dynamodb.eu-west-1.amazonaws.com",
               "Operations": ["Decrypt"]},
              {"KeyId": KEY, "GrantId": "g2", "GranteePrincipal": "arn:aws:iam::111111111111:role/r",
               "Operations": ["Decrypt", "GenerateDataKey"],
               "Constraints": {"EncryptionContextEquals": {"table": "orders"}}}]
    [record], issues = transform_resource_policies([RawResourcePolicy(
        "kms", KEY, "111111111111", "eu-west-1", policy, {"Grants": grants, "KeyMetadata": {"KeyId": "0b6f"}})])
    assert not issues
    assert [s.principals for s in record.statements] == [
        ("arn:aws:iam::111111111111:root",), ("service:dynamodb.eu-west-1.amazonaws.com",),
        ("arn:aws:iam::111111111111:role/r",)]
    assert record.statements[2].statement.conditions == {
        "StringEquals": {"kms:EncryptionContext:table": "orders"}}
    assert record.region == "eu-west-1" and record.has_policy


def test_no_policy_and_the_first_record_of_a_resource_wins():
    raws = [RawResourcePolicy("lambda", "arn:aws:lambda:us-east-1:111111111111:function:f", "111111111111",
                              "us-east-1", None),
            RawResourcePolicy("lambda", "arn:aws:lambda:us-east-1:111111111111:function:f", "111111111111",
                              "us-east-1", '{"Statement": []}')]
    records, issues = transform_resource_policies(raws)
    assert not issues and len(records) == 1 and not records[0].has_policy


@pytest.mark.parametrize(("raw", "message"), [
    (RawResourcePolicy("dynamodb", "arn:aws:dynamodb:us-east-1:1:table/t", "111111111111", None, None),
     "unknown service"),
    (RawResourcePolicy("s3", "arn:aws:s3:::b", "not-an-account", None, None), "12-digit"),
    (RawResourcePolicy("s3", "arn:aws:s3:::b", "111111111111", None, None,
                       {"PublicAccessBlockConfiguration": {"BlockPublicAcls": "yes"}}), "expected true or false"),
    (RawResourcePolicy("kms", KEY, "111111111111", None, None, {"Grants": [{"GranteePrincipal": 5}]}),
     "GranteePrincipal"),
])
def test_malformed_raw_parts_are_issues(raw, message):
    records, issues = transform_resource_policies([raw])
    assert records == [] and len(issues) == 1 and message in issues[0].message


@pytest.mark.parametrize(("value", "key"), [
    ("*", "*"),
    ("arn:aws:iam::111111111111:root", "111111111111|root"),
    ("arn:aws:iam::111111111111:role/team/agent", "111111111111|role|agent"),
    ("arn:aws:iam::111111111111:role/agent", "111111111111|role|agent"),
    ("arn:aws:sts::111111111111:assumed-role/agent/session-1", "111111111111|role|agent"),
    ("arn:aws:iam::111111111111:user/u", "111111111111|user|u"),
    ("unique-id:AROAEXAMPLE123456789", None),
    ("service:lambda.amazonaws.com", None),
    ("arn:aws:iam::111111111111:group/g", None),
])
def test_principal_keys(value, key):
    assert principal_key(value) == key


def test_not_principal_and_account_matching():
    agent = Identity(id="arn:aws:iam::111111111111:role/path/agent", provider=Provider.AWS, account="111111111111",
                     kind=IdentityKind.ROLE, name="agent")
    other = agent.model_copy(update={"id": "arn:aws:iam::111111111111:role/admin", "name": "admin"})
    stmt = Statement(effect="Deny", actions=("s3:*",), resources=("*",))
    allow = Statement(actions=("s3:GetObject",), resources=("*",))
    record = ResourcePolicy(id="arn:aws:s3:::b", account="222222222222", service="s3", statements=(
        ResourceStatement(index=0, principals=("arn:aws:iam::111111111111:role/admin",), not_principal=True,
                          statement=stmt),
        ResourceStatement(index=1, principals=("arn:aws:iam::111111111111:root",), statement=allow),
        ResourceStatement(index=2, principals=("arn:aws:iam::111111111111:role/agent",), statement=allow)))
    index = ResourceIndex.build(record)
    m = index.match(agent)
    assert len(m.denies) == 1 and len(m.account) == 1 and len(m.direct) == 1  # path-less ARN still names it
    assert index.match(other).denies == ()  # the one principal NotPrincipal spares
