"""Resources with resource-based policies in moto, for the live collection tests and the end-to-end reach tests:
account B (the data owner) has a bucket, a KMS key, a secret, a queue, a topic and a Lambda function whose
policies grant a role of account A (the agent's account) or everyone (`*`), next to resources with no policy.

`seed_cross_account(moto)` builds it and returns what it made (ARNs and the policy documents it set)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

from aws_support import Moto

AGENT_ACCOUNT = "111100000001"  # account A: the agent's role lives here
DATA_ACCOUNT = "222200000002"  # account B: the resources and their policies
AGENT_ROLE = f"arn:aws:iam::{AGENT_ACCOUNT}:role/claims-agent"
REGION = "us-east-1"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: object, action: str | list[str], resource: str, sid: str) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}


@dataclass
class Scenario:
    account: str = DATA_ACCOUNT
    arns: dict[str, str] = field(default_factory=dict)  # name -> resource ARN
    policies: dict[str, str] = field(default_factory=dict)  # name -> the policy JSON set on it
    key_id: str = ""


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buf.getvalue()


def seed_cross_account(moto: Moto, account: str = DATA_ACCOUNT, function_role: str | None = None) -> Scenario:
    """Account B's resources: `customer-data` (bucket policy: A's agent role may read), `public-assets`
    (bucket policy: `*`), `plain-logs` (no policy); a customer managed key whose policy lets A's role decrypt and
    that has a grant for it; `prod/db` (secret policy: A's role) and `dev/cache` (none); `jobs` queue (`*` may
    send), `alerts` topic (the default policy) and the `enrich` function (A's role may invoke), which runs as
    `function_role` (default: a new role `enrich-role`)."""
    out = Scenario(account=account)
    agent = {"AWS": AGENT_ROLE}
    s3 = moto.client("s3", account)
    for bucket in ("customer-data", "public-assets", "plain-logs"):
        s3.create_bucket(Bucket=bucket)
        out.arns[bucket] = f"arn:aws:s3:::{bucket}"
    out.policies["customer-data"] = _doc(_allow(agent, ["s3:GetObject", "s3:ListBucket"],
                                                "arn:aws:s3:::customer-data/*", "AgentReads"))
    out.policies["public-assets"] = _doc(_allow("*", "s3:GetObject", "arn:aws:s3:::public-assets/*", "Public"))
    for bucket in ("customer-data", "public-assets"):
        s3.put_bucket_policy(Bucket=bucket, Policy=out.policies[bucket])
    s3.put_public_access_block(Bucket="customer-data", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})

    kms = moto.client("kms", account)
    out.policies["key"] = _doc(
        _allow({"AWS": f"arn:aws:iam::{account}:root"}, "kms:*", "*", "Owner"),
        _allow(agent, ["kms:Decrypt", "kms:DescribeKey"], "*", "AgentDecrypts"))
    key = kms.create_key(Policy=out.policies["key"], Description="prod secrets")["KeyMetadata"]
    out.key_id, out.arns["key"] = key["KeyId"], key["Arn"]
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=AGENT_ROLE, Operations=["Decrypt"])

    sm = moto.client("secretsmanager", account)
    for name in ("prod/db", "dev/cache"):
        out.arns[name] = sm.create_secret(Name=name, SecretString="not-read-by-nhiaudit", KmsKeyId=key["KeyId"])["ARN"]
    out.policies["prod/db"] = _doc(_allow(agent, "secretsmanager:GetSecretValue", "*", "AgentReadsSecret"))
    sm.put_resource_policy(SecretId=out.arns["prod/db"], ResourcePolicy=out.policies["prod/db"])

    sqs = moto.client("sqs", account)
    out.arns["jobs"] = f"arn:aws:sqs:{REGION}:{account}:jobs"
    out.policies["jobs"] = _doc(_allow("*", "sqs:SendMessage", out.arns["jobs"], "AnyoneSends"))
    sqs.create_queue(QueueName="jobs", Attributes={"Policy": out.policies["jobs"]})

    out.arns["alerts"] = moto.client("sns", account).create_topic(Name="alerts")["TopicArn"]

    role = function_role
    if role is None:
        trust = _doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                      "Action": "sts:AssumeRole"})
        role = moto.client("iam", account).create_role(RoleName="enrich-role",
                                                       AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    lam = moto.client("lambda", account)
    out.arns["enrich"] = lam.create_function(FunctionName="enrich", Runtime="python3.12", Role=role,
                                             Handler="app.handler", Code={"ZipFile": _zip()})["FunctionArn"]
    # The agent's account: AWS stores any AddPermission principal as {"AWS": ...}, moto only an account root
    # (a role ARN comes back as a bare string, which is no policy grammar).
    lam.add_permission(FunctionName="enrich", StatementId="AgentInvokes", Action="lambda:InvokeFunction",
                       Principal=f"arn:aws:iam::{AGENT_ROLE.split(':')[4]}:root")
    return out


# Requests the scenario's resources add to a collection (one region): per-resource reads, not listings.
SCENARIO_READS = {
    "s3:GetBucketPolicy": 3, "s3:GetPublicAccessBlock": 3, "s3:GetBucketAcl": 3,
    "kms:DescribeKey": 1, "kms:GetKeyPolicy": 1, "kms:ListGrants": 1,
    "secrets-manager:GetResourcePolicy": 2, "sqs:GetQueueAttributes": 1, "sns:GetTopicAttributes": 1,
    "lambda:GetPolicy": 1,
}
