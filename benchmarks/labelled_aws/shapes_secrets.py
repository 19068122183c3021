"""Leaked credentials (docs/secrets.md): ECS task definitions whose container environment holds an inventory
user's access key id, a key id of no collected account, or no key at all. Exports: `aws ecs
describe-task-definition` per family (shape of fixtures/aws/ecs-describe-task-definition-doc-summarizer.json)
and `aws iam list-access-keys --user-name NAME` for the leaking users (key ids: without it a key is named after
its credential-report slot and cannot be matched).

Why ECS and not `aws lambda list-functions`: a Lambda listing records that the account's functions were listed,
which turns the older families' "lambda:UpdateFunctionCode, no functions collected" latent escalations
(privesc-latent) into single-step ones against the new functions' roles. A describe-task-definition describes
one resource and marks nothing as listed (docs/aws-connector.md), so the older labels stay true."""

from __future__ import annotations

import hashlib

from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.model import NHI, Expected, ExportFile
from benchmarks.labelled_aws.render import ALPHABET, Clock

_ID_ALPHABET = ALPHABET  # AWS documents access key ids as base32: A-Z and 2-7


def key_id(seed: str) -> str:
    return "AKIA" + "".join(_ID_ALPHABET[x % 32] for x in hashlib.sha256(seed.encode()).digest()[:16])


def _task(b: AccountBuilder, plant: str, variables: dict[str, str]) -> str:
    """An ECS task definition and its (clean) task role; returns the task definition's ARN."""
    role = b.service_role(plant, service="ecs", traits=("ecs-task",))
    family = b.names.take("task-family", role.name.removesuffix("-role"))
    arn = f"arn:aws:ecs:{b.region}:{b.account.id}:task-definition/{family}:1"
    environment = [{"name": k, "value": v}
                   for k, v in sorted({"LOG_LEVEL": "info", "APP_REGION": b.region, **variables}.items())]
    b.estate.files.append(ExportFile(b.account, f"ecs-describe-task-definition-{family}.json", {
        "taskDefinition": {
            "taskDefinitionArn": arn, "family": family, "taskRoleArn": role.arn, "revision": 1,
            "containerDefinitions": [{"name": "app", "image": f"{b.account.id}.dkr.ecr.{b.region}.amazonaws.com/"
                                      f"{family}:1.0", "cpu": 256, "memory": 512, "essential": True,
                                      "environment": environment, "mountPoints": [], "volumesFrom": []}],
            "networkMode": "awsvpc", "volumes": [], "status": "ACTIVE", "requiresAttributes": [],
            "placementConstraints": [], "compatibilities": ["EC2", "FARGATE"], "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512", "registeredAt": "2026-10-03T12:00:00.000000+00:00"},
        "tags": []}))
    return arn


def inventory_key(b: AccountBuilder) -> None:
    """A service user's active key id in a function's environment: a leaked credential of the inventory."""
    key = b.fresh_key()
    name = b.names.workload("user", function="sync")
    user = b.user(name, "leak-inventory-key", NHI, path="/service/", tags=b.workload_tags(),
                  inline=(b.app_policy(name.split("-")[0]),), keys=(key,), traits=("access-key", "leaked"),
                  expected=(Expected("secret-leaked-credential",
                                     "its access key id is in a Lambda function's environment"),))
    kid = key_id(user.arn)
    created = Clock(b.estate.as_of).at(key.age_days, user.arn, "key1")  # the credential report's rotation time
    b.estate.files.append(ExportFile(b.account, f"iam-list-access-keys-{name}.json", {"AccessKeyMetadata": [
        {"UserName": name, "AccessKeyId": kid, "Status": "Active", "CreateDate": created}]}))
    _task(b, "leak-inventory-key-task", {"AWS_ACCESS_KEY_ID": kid})


def unknown_key(b: AccountBuilder) -> None:
    """A key id of no collected account: an unknown credential (the subject is the task definition)."""
    family = f"{b.account.id}-{len(b.estate.loose)}"  # any seed no inventory key is made from
    arn = _task(b, "leak-unknown-key-task", {"AWS_ACCESS_KEY_ID": key_id(f"unknown:{family}")})
    b.estate.loose.append((arn, Expected("secret-unknown-credential",
                                         "an access key id no collected account holds, in its environment")))


def no_key(b: AccountBuilder) -> None:
    """Configuration without credentials (negative)."""
    _task(b, "task-no-key", {"SMTP_HOST": "smtp.acme.example", "BUCKET": f"acme-{b.env}-uploads"})
