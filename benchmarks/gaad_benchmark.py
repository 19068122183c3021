"""Offline scan of an `aws iam get-account-authorization-details` export, timed as a real CLI run.

    .venv/bin/python benchmarks/gaad_benchmark.py

Sizes where Cloudsplaining 0.9.1 needs 22.5 s / 321 MiB (1,500 users, 600 roles,
300 customer policies) and 73-96 s / 756 MiB (5,000 / 2,000 / 1,000). nhiaudit's target: at least 10x
faster with at most half the memory, graph, escalation paths and every rule included. Prints wall time
and the peak RSS of the `nhiaudit scan --import` process.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACCOUNT = "111122223333"
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "dynamodb:GetItem", "dynamodb:Query", "sqs:SendMessage",
           "lambda:InvokeFunction", "bedrock:InvokeModel", "kms:Decrypt", "ec2:Describe*", "logs:PutLogEvents",
           "iam:PassRole", "secretsmanager:GetSecretValue", "sns:Publish", "s3:*", "iam:CreatePolicyVersion"]
DATE = "2024-03-01T10:00:00+00:00"


def _document(rng: random.Random) -> dict:
    statements = []
    for _ in range(rng.randint(1, 4)):
        resource_ = "*" if rng.random() < 0.3 else f"arn:aws:s3:::bucket-{rng.randint(0, 300)}/*"
        statements.append({"Effect": "Allow", "Action": rng.sample(ACTIONS, rng.randint(1, 4)), "Resource": resource_})
    if rng.random() < 0.05:
        statements.append({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"})
    if rng.random() < 0.1:
        statements.append({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def export(users: int, roles: int, policies: int, seed: int = 3) -> dict:
    rng = random.Random(seed)
    managed = [{
        "PolicyName": f"p{i}", "PolicyId": f"ANPA{i:017d}", "Arn": f"arn:aws:iam::{ACCOUNT}:policy/p{i}",
        "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": True,
        "CreateDate": DATE, "UpdateDate": DATE,
        "PolicyVersionList": [{"Document": _document(rng), "VersionId": "v1", "IsDefaultVersion": True,
                               "CreateDate": DATE}],
    } for i in range(policies)]
    managed.append({
        "PolicyName": "AdministratorAccess", "PolicyId": "ANPAADMIN",
        "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
        "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 5, "IsAttachable": True, "CreateDate": DATE,
        "UpdateDate": DATE, "PolicyVersionList": [{"Document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "VersionId": "v1", "IsDefaultVersion": True,
            "CreateDate": DATE}]})

    def attached(n: int) -> list[dict]:
        picks = rng.sample(managed[:-1], n) + ([managed[-1]] if rng.random() < 0.005 else [])
        return [{"PolicyName": p["PolicyName"], "PolicyArn": p["Arn"]} for p in picks]

    groups = [{"Path": "/", "GroupName": f"g{i}", "GroupId": f"AGPA{i:017d}",
               "Arn": f"arn:aws:iam::{ACCOUNT}:group/g{i}", "CreateDate": DATE, "GroupPolicyList": [],
               "AttachedManagedPolicies": attached(2)} for i in range(30)]
    user_list = [{
        "Path": "/", "UserName": f"u{i}", "UserId": f"AIDA{i:017d}", "Arn": f"arn:aws:iam::{ACCOUNT}:user/u{i}",
        "CreateDate": DATE, "GroupList": [f"g{rng.randint(0, 29)}"] if rng.random() < 0.5 else [],
        "UserPolicyList": [{"PolicyName": "inline", "PolicyDocument": _document(rng)}] if rng.random() < 0.2 else [],
        "AttachedManagedPolicies": attached(rng.randint(0, 3)), "Tags": [],
    } for i in range(users)]
    role_list = []
    for i in range(roles):
        r = rng.random()
        principal = ({"Service": "lambda.amazonaws.com"} if r < 0.6 else
                     {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} if r < 0.8 else
                     {"AWS": f"arn:aws:iam::{ACCOUNT}:role/r{rng.randint(0, roles - 1)}"})
        role_list.append({
            "Path": "/", "RoleName": f"r{i}", "RoleId": f"AROA{i:017d}", "Arn": f"arn:aws:iam::{ACCOUNT}:role/r{i}",
            "CreateDate": DATE, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]},
            "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": attached(rng.randint(1, 3)),
            "Tags": [], "RoleLastUsed": {"LastUsedDate": "2026-11-01T00:00:00+00:00", "Region": "us-east-1"},
        })
    return {"UserDetailList": user_list, "GroupDetailList": groups, "RoleDetailList": role_list, "Policies": managed}


def run(users: int, roles: int, policies: int, cloudsplaining: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gaad.json"
        path.write_text(json.dumps(export(users, roles, policies)), encoding="utf-8")
        nhiaudit = Path(sys.executable).with_name("nhiaudit")
        cmd = [str(nhiaudit), "scan", "--import", str(path), "--as-of", "2026-11-28", "--format", "json",
               "--output", str(Path(tmp) / "report.json"), "--fail-on", "none", "-q"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        ok = proc.returncode in (0, 3)
        findings = len(json.loads((Path(tmp) / "report.json").read_text())["findings"]) if ok else proc.stderr
    print(f"{users} users / {roles} roles / {policies} policies: wall={wall:.2f}s "
          f"peak_rss={max(peak, before) / 1024:.0f}MiB exit={proc.returncode} findings={findings}  "
          f"(Cloudsplaining 0.9.1 measured on the same sizes: {cloudsplaining})")


if __name__ == "__main__":
    run(1500, 600, 300, "22.5 s, 321 MiB")
    run(5000, 2000, 1000, "73-96 s, 756 MiB")
