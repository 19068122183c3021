"""One large AWS account as `aws iam get-account-authorization-details` output plus its credential report.

The shape issue 17 measures: every principal in ONE account (no per-account cap), with a realistic density of
escalation grants (iam:PassRole with lambda / ec2 / cloudformation actions, iam:CreatePolicyVersion,
iam:AttachRolePolicy, iam:CreateAccessKey, iam:UpdateAssumeRolePolicy, lambda:UpdateFunctionCode on `*` for a
few percent of identities), roles trusting services (Lambda, EC2 with instance profiles, CloudFormation), the
account root, one named role or user, a handful of administrators, and access keys on most users. Deterministic:
the same arguments give the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
from typing import Any

from benchmarks.credential_report_columns import REPORT_COLUMNS

ACCOUNT = "111122223333"
DATE = "2024-03-01T10:00:00+00:00"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ORDINARY = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "dynamodb:GetItem", "dynamodb:Query",
            "sqs:SendMessage", "sqs:ReceiveMessage", "lambda:InvokeFunction", "bedrock:InvokeModel", "kms:Decrypt",
            "ec2:Describe*", "logs:PutLogEvents", "secretsmanager:GetSecretValue", "sns:Publish", "s3:*",
            "cloudwatch:PutMetricData"]
# (probability per policy, statement actions, resource): the escalation grants of real accounts.
ESCALATIONS: list[tuple[float, list[str], str]] = [
    (0.03, ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"], "*"),
    (0.015, ["iam:PassRole", "ec2:RunInstances"], "*"),
    (0.01, ["iam:PassRole", "cloudformation:CreateStack"], "*"),
    (0.01, ["iam:CreatePolicyVersion"], "*"),
    (0.01, ["iam:AttachRolePolicy"], "*"),
    (0.008, ["iam:CreateAccessKey"], f"arn:aws:iam::{ACCOUNT}:user/*"),
    (0.005, ["iam:UpdateAssumeRolePolicy"], f"arn:aws:iam::{ACCOUNT}:role/*"),
    (0.01, ["lambda:UpdateFunctionCode"], "*"),
    (0.03, ["sts:AssumeRole"], f"arn:aws:iam::{ACCOUNT}:role/*"),
    (0.01, ["sts:AssumeRole"], f"arn:aws:iam::{ACCOUNT}:role/r1?"),  # ten roles: checked role by role
]


def _document(rng: random.Random, index: int) -> dict[str, Any]:
    """Policy document number `index`. Escalation grants go to every 1/p-th document (staggered per grant), not
    by chance: their density stays exact at any size, so two sizes of the estate have the same shape."""
    statements: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 4)):
        resource = "*" if rng.random() < 0.3 else f"arn:aws:s3:::bucket-{rng.randint(0, 300)}/*"
        statements.append({"Effect": "Allow", "Action": rng.sample(ORDINARY, rng.randint(1, 4)), "Resource": resource})
    for j, (probability, actions, resource) in enumerate(ESCALATIONS):
        if (index + 13 * j) % round(1 / probability) == 0:
            statements.append({"Effect": "Allow", "Action": actions, "Resource": resource})
    if rng.random() < 0.1:
        statements.append({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def _managed(name: str, document: dict[str, Any], arn: str | None = None) -> dict[str, Any]:
    return {"PolicyName": name, "PolicyId": f"ANPA{name.upper()}",
            "Arn": arn or f"arn:aws:iam::{ACCOUNT}:policy/{name}", "Path": "/", "DefaultVersionId": "v1",
            "AttachmentCount": 1, "IsAttachable": True, "CreateDate": DATE, "UpdateDate": DATE,
            "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": True,
                                   "CreateDate": DATE}]}


def _trust(rng: random.Random, users: int, roles: int) -> tuple[dict[str, Any], bool]:
    """A role's trust principal, and whether it gets an instance profile (EC2)."""
    r = rng.random()
    if r < 0.40:
        return {"Service": "lambda.amazonaws.com"}, False
    if r < 0.55:
        return {"Service": "ec2.amazonaws.com"}, True
    if r < 0.60:
        return {"Service": "cloudformation.amazonaws.com"}, False
    if r < 0.80:
        return {"AWS": ROOT}, False
    if r < 0.90:
        return {"AWS": f"arn:aws:iam::{ACCOUNT}:role/r{rng.randint(0, roles - 1)}"}, False
    return {"AWS": f"arn:aws:iam::{ACCOUNT}:user/u{rng.randint(0, max(users - 1, 0))}"}, False


def authorization_details(users: int, roles: int, policies: int, seed: int = 17) -> dict[str, Any]:
    rng = random.Random(seed)
    documents = iter(range(10**9))
    managed = [_managed(f"p{i}", _document(rng, next(documents))) for i in range(policies)]
    admin = _managed("AdministratorAccess", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "arn:aws:iam::aws:policy/AdministratorAccess")

    def attached(n: int) -> list[dict[str, str]]:
        picks = rng.sample(managed, min(n, len(managed))) + ([admin] if rng.random() < 0.003 else [])
        return [{"PolicyName": p["PolicyName"], "PolicyArn": p["Arn"]} for p in picks]

    groups = [{"Path": "/", "GroupName": f"g{i}", "GroupId": f"AGPA{i:017d}",
               "Arn": f"arn:aws:iam::{ACCOUNT}:group/g{i}", "CreateDate": DATE, "GroupPolicyList": [],
               "AttachedManagedPolicies": attached(2)} for i in range(50)]
    user_list = [{
        "Path": "/", "UserName": f"u{i}", "UserId": f"AIDA{i:017d}", "Arn": f"arn:aws:iam::{ACCOUNT}:user/u{i}",
        "CreateDate": DATE, "GroupList": [f"g{rng.randint(0, 49)}"] if rng.random() < 0.5 else [],
        "UserPolicyList": [{"PolicyName": "inline", "PolicyDocument": _document(rng, next(documents))}]
        if rng.random() < 0.2 else [],
        "AttachedManagedPolicies": attached(rng.randint(0, 3)), "Tags": [],
    } for i in range(users)]
    role_list = []
    for i in range(roles):
        principal, profile = _trust(rng, users, roles)
        arn = f"arn:aws:iam::{ACCOUNT}:role/r{i}"
        core = {"Path": "/", "RoleName": f"r{i}", "RoleId": f"AROA{i:017d}", "Arn": arn, "CreateDate": DATE,
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}}
        profiles = [{"Path": "/", "InstanceProfileName": f"r{i}", "InstanceProfileId": f"AIPA{i:017d}",
                     "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/r{i}", "CreateDate": DATE,
                     "Roles": [core]}] if profile else []
        role_list.append({
            **core, "InstanceProfileList": profiles,
            "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": _document(rng, next(documents))}]
            if rng.random() < 0.2 else [],
            "AttachedManagedPolicies": attached(rng.randint(1, 3)), "Tags": [],
            "RoleLastUsed": {"LastUsedDate": "2026-11-01T00:00:00+00:00", "Region": "us-east-1"}
            if rng.random() < 0.8 else {},
        })
    return {"UserDetailList": user_list, "GroupDetailList": groups, "RoleDetailList": role_list,
            "Policies": [*managed, admin]}


def _key(rng: random.Random) -> list[str]:
    if rng.random() < 0.35:
        return ["false", "N/A", "N/A", "N/A", "N/A"]
    rotated = f"202{rng.randint(2, 6)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00+00:00"
    if rng.random() < 0.2:
        return [str(rng.random() < 0.9).lower(), rotated, "N/A", "N/A", "N/A"]
    return [str(rng.random() < 0.9).lower(), rotated, f"2026-{rng.randint(1, 11):02d}-0{rng.randint(1, 9)}"
            "T10:00:00+00:00", "us-east-1", rng.choice(["s3", "sqs", "bedrock", "dynamodb"])]


def credential_report(users: int, seed: int = 17) -> str:
    """The decoded credential report: most users hold one access key, some two (a rotation never finished)."""
    rng = random.Random(seed + 1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    writer.writerow(["<root_account>", ROOT, DATE, "not_supported", DATE, "not_supported", "not_supported", "true",
                     "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A",
                     "false", "N/A", "false", "N/A"])
    for i in range(users):
        console = rng.random() < 0.1
        password = ["true", "2026-10-01T10:00:00+00:00", DATE, "N/A"] if console else ["false", "N/A", "N/A", "N/A"]
        second = _key(rng) if rng.random() < 0.15 else ["false", "N/A", "N/A", "N/A", "N/A"]
        writer.writerow([f"u{i}", f"arn:aws:iam::{ACCOUNT}:user/u{i}", DATE, *password,
                         str(console and rng.random() < 0.7).lower(), *_key(rng), *second,
                         "false", "N/A", "false", "N/A"])
    return out.getvalue()
