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
from benchmarks.labelled_aws.model import NHI, Expected, ExportFile, Key
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


def _leaking_user(owner: AccountBuilder, plant: str, keys: tuple[Key, ...], why: str) -> str:
    """A service user of `owner` and its list-access-keys output; returns the id of its last key (the one
    a shape writes somewhere)."""
    name = owner.names.workload("user", function="sync")
    user = owner.user(name, plant, NHI, path="/service/", tags=owner.workload_tags(),
                      inline=(owner.app_policy(name.split("-")[0]),), keys=keys, traits=("access-key", "leaked"),
                      expected=(Expected("secret-leaked-credential", why),))
    clock = Clock(owner.estate.as_of)
    metadata = [{"UserName": name, "AccessKeyId": key_id(f"{user.arn}#{slot}"),
                 "Status": "Active" if key.active else "Inactive",
                 "CreateDate": clock.at(key.age_days, user.arn, f"key{slot}")}  # the report's rotation time
                for slot, key in enumerate(keys, 1)]
    owner.estate.files.append(ExportFile(owner.account, f"iam-list-access-keys-{name}.json",
                                         {"AccessKeyMetadata": metadata}))
    return str(metadata[-1]["AccessKeyId"])


def inventory_key(b: AccountBuilder) -> None:
    """A service user's active key id in a task definition's environment: a leaked credential of the inventory."""
    kid = _leaking_user(b, "leak-inventory-key", (b.fresh_key(),),
                        "its active access key id is in an ECS task definition's environment")
    _task(b, "leak-inventory-key-task", {"AWS_ACCESS_KEY_ID": kid})


def inactive_key(b: AccountBuilder) -> None:
    """The id of a user's deactivated second key (rotated out last month): still the inventory's, still leaked."""
    old = Key(False, b.rng.randint(40, 80), b.rng.randint(32, 39), "s3", b.region)
    kid = _leaking_user(b, "leak-inactive-key", (b.fresh_key(), old),
                        "the id of its deactivated access key is in an ECS task definition's environment")
    _task(b, "leak-inactive-key-task", {"AWS_ACCESS_KEY_ID": kid})


def other_account_key(b: AccountBuilder, owner: AccountBuilder) -> None:
    """A task definition of one account holds the key id of another scanned account's user (each account is
    collected on its own, the snapshots are merged at scan time)."""
    kid = _leaking_user(owner, "leak-other-account-key", (owner.fresh_key(),),
                        f"its access key id is in an ECS task definition of account {b.account.id}")
    _task(b, "leak-other-account-key-task", {"AWS_ACCESS_KEY_ID": kid})


def unknown_key(b: AccountBuilder) -> None:
    """A key id of no collected account: an unknown credential (the subject is the task definition)."""
    family = f"{b.account.id}-{len(b.estate.loose)}"  # any seed no inventory key is made from
    arn = _task(b, "leak-unknown-key-task", {"AWS_ACCESS_KEY_ID": key_id(f"unknown:{family}")})
    b.estate.loose.append((arn, "leak-unknown-key-task", Expected("secret-unknown-credential",
                                         "an access key id no collected account holds, in its environment")))


def secret_without_key_id(b: AccountBuilder) -> None:
    """A secret access key without its key id names no key: an unknown credential (the subject is the task)."""
    seed = f"secret:{b.account.id}:{len(b.estate.loose)}".encode()
    secret = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"[x % 64]
                     for x in hashlib.sha512(seed).digest()[:40])  # 40 characters, as AWS issues them
    arn = _task(b, "leak-secret-only-task", {"AWS_SECRET_ACCESS_KEY": secret})
    b.estate.loose.append((arn, "leak-secret-only-task", Expected("secret-unknown-credential",
                                         "an AWS secret access key without its key id, in its environment")))


def no_key(b: AccountBuilder) -> None:
    """Configuration without credentials (negative)."""
    _task(b, "task-no-key", {"SMTP_HOST": "smtp.acme.example", "BUCKET": f"acme-{b.env}-uploads"})
