"""Resource-based policies, live: one bounded listing per service (and region), then the reads of one resource.

Get only: API calls in, RawResourcePolicy (the APIs' own shapes) out. Which resources are read, the bounds and
the CollectionIssues are resource_policies_live.py's. Replies are checked before use: a policy must be a JSON
string of bounded size, listings lists of objects; a reply of another shape fails its call (RawDataError)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.resource_raw import RawResourcePolicy
from nhiaudit.connectors.aws.shapes import reply_list, reply_object, reply_str

T = TypeVar("T")

# Largest policy kept. AWS caps them far lower (S3 20 KB, KMS 32 KB, Secrets Manager 20 KB, SQS/SNS 30 KB,
# Lambda 20 KB): anything longer is not a genuine reply.
MAX_POLICY_CHARS = 131_072
MAX_LISTED = 10_000  # resources listed per service and region (beyond: a "truncated" issue, never a silent cut)
MAX_GRANTS = 1_000  # KMS grants read per key (ListGrants pages of 100)
MAX_ARN = 2048  # longest resource ARN or queue URL taken from a listing (AWS's are far shorter)
# Bucket names: 3-63 of [a-z0-9.-] today; buckets made in us-east-1 before 2018 may have capitals and `_`, up
# to 255. Anything else (a `/`, a `:`, a control character) is not a bucket AWS listed.
_BUCKET_NAME = re.compile(r"[A-Za-z0-9._-]{1,255}")


class Secondary(Protocol):
    """Runs a secondary read of one resource (its IAM action, the call): on a call failure it records it and
    returns None, and the resource is kept without that state. The resource's main read is not run this way:
    its failure raises and the resource is left out."""

    def __call__(self, operation: str, call: Callable[[], T]) -> T | None: ...


@dataclass(frozen=True)
class Listed:
    """One listed resource: its ARN, what its read call takes (a name, an ARN or a URL) and its region."""

    arn: str
    key: str
    region: str | None


def error_code(exc: BaseException) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def absent_on(codes: tuple[str, ...], call: Callable[[], T]) -> T | None:
    """`call()`, or None when AWS answers with one of `codes` (the documented "there is none" errors)."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in codes:
            return None
        raise


def policy_text(value: Any, where: str) -> str | None:
    """A policy as the API returns it: a JSON string (empty: none), bounded in size."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RawDataError(f"{where}: the policy is a {type(value).__name__}, expected a JSON string")
    if len(value) > MAX_POLICY_CHARS:
        raise RawDataError(f"{where}: the policy is {len(value)} characters long (more than {MAX_POLICY_CHARS})")
    return value


def named_objects(items: list[Any], key: str, what: str) -> list[Mapping[str, Any]]:
    if not all(isinstance(i, Mapping) and isinstance(i.get(key), str) and 0 < len(i[key]) <= MAX_ARN
               for i in items):
        raise RawDataError(f"malformed reply: {what} without {key} (or one longer than {MAX_ARN} characters)")
    return items


def listed_pages(client: Any, operation: str, key: str, optional: bool = False,
                 **kwargs: Any) -> tuple[list[Any], bool]:
    """Up to MAX_LISTED items of a paginated listing, and whether more were left unlisted. `optional`: an empty
    listing may leave `key` out (the reply itself must still be an object)."""
    pages = client.get_paginator(operation).paginate(**kwargs, PaginationConfig={"MaxItems": MAX_LISTED + 1})
    items = [item for page in pages
             for item in ([] if optional and key not in reply_object(page) else reply_list(page, key))]
    return items[:MAX_LISTED], len(items) > MAX_LISTED


# ---- S3 (global: one listing per account) ----------------------------------------------------------------


def list_buckets(s3: Any, region: str) -> tuple[list[Listed], bool]:
    """The account's buckets. ListBuckets names each bucket's region (BucketRegion) since 2024; where it does
    not, reads go to the default region and botocore follows S3's redirect."""
    items, more = listed_pages(s3, "list_buckets", "Buckets")
    buckets = named_objects(items, "Name", "a bucket")
    bad = next((b["Name"] for b in buckets if not _BUCKET_NAME.fullmatch(b["Name"])), None)
    if bad is not None:
        raise RawDataError(f"malformed reply: not a bucket name: {bad[:100]!r}")
    return [Listed(f"arn:{s3.meta.partition}:s3:::{b['Name']}", str(b["Name"]),
                   b["BucketRegion"] if isinstance(b.get("BucketRegion"), str) else None) for b in buckets], more


def get_account_public_access_block(s3control: Any, account: str) -> Mapping[str, Any] | None:
    """The account's Block Public Access settings; None: the account has none."""
    reply = absent_on(("NoSuchPublicAccessBlockConfiguration",),
                      lambda: s3control.get_public_access_block(AccountId=account))
    return None if reply is None else _member(reply, "PublicAccessBlockConfiguration")


def read_bucket(s3: Any, bucket: Listed, account: str, account_block: Mapping[str, Any] | None,
                secondary: Secondary) -> RawResourcePolicy:
    """GetBucketPolicy (raises on failure: the bucket is then not kept), GetPublicAccessBlock and GetBucketAcl
    (a failure is noted and the bucket kept without that state)."""
    reply = absent_on(("NoSuchBucketPolicy",), lambda: s3.get_bucket_policy(Bucket=bucket.key))
    policy = None if reply is None else policy_text(reply_object(reply).get("Policy"), bucket.arn)
    extra: dict[str, Any] = {}
    if account_block is not None:
        extra["AccountPublicAccessBlockConfiguration"] = account_block
    block = secondary("s3:GetBucketPublicAccessBlock", lambda: _bucket_block(s3, bucket.key))
    if block:
        extra["PublicAccessBlockConfiguration"] = block
    acl = secondary("s3:GetBucketAcl", lambda: _acl(s3.get_bucket_acl(Bucket=bucket.key)))
    if acl is not None:
        extra.update(acl)
    return RawResourcePolicy("s3", bucket.arn, account, None, policy, extra)


def _bucket_block(s3: Any, bucket: str) -> dict[str, Any]:
    """The bucket's Block Public Access settings; empty: the bucket has none."""
    reply = absent_on(("NoSuchPublicAccessBlockConfiguration",), lambda: s3.get_public_access_block(Bucket=bucket))
    return {} if reply is None else _member(reply, "PublicAccessBlockConfiguration")


def _acl(reply: Any) -> dict[str, Any]:
    return {"Grants": named_objects(reply_list(reply, "Grants"), "Permission", "an ACL grant"),
            "Owner": _member(reply, "Owner")}


def _member(reply: Any, key: str) -> dict[str, Any]:
    value = reply_object(reply).get(key)
    if not isinstance(value, Mapping):
        raise RawDataError(f"reply field {key} is missing or not an object")
    return dict(value)


# ---- KMS ---------------------------------------------------------------------------------------------------


def list_keys(kms: Any, region: str) -> tuple[list[Listed], bool]:
    items, more = listed_pages(kms, "list_keys", "Keys")
    keys = named_objects(items, "KeyArn", "a key")
    return [Listed(str(k["KeyArn"]), str(k["KeyArn"]), region) for k in keys], more


def read_key(kms: Any, key: Listed, secondary: Secondary) -> RawResourcePolicy | None:
    """DescribeKey, then GetKeyPolicy (either raises on failure) and ListGrants (recorded on failure) of a
    customer managed key. None for an AWS managed key: AWS fixes its policy (use through the owning service by
    the account's own principals) and nhiaudit does not read it."""
    metadata = _as_cli_prints(_member(kms.describe_key(KeyId=key.key), "KeyMetadata"))
    if metadata.get("KeyManager") == "AWS":
        return None
    policy = policy_text(reply_object(kms.get_key_policy(KeyId=key.key, PolicyName="default")).get("Policy"),
                         key.arn)
    extra: dict[str, Any] = {"KeyMetadata": metadata}
    grants = secondary("kms:ListGrants", lambda: _grants(kms, key.key))
    if grants is not None:
        extra["Grants"] = grants
    return RawResourcePolicy("kms", key.arn, account_of_resource(key.arn), key.region, policy, extra)


def _grants(kms: Any, key_id: str) -> list[Mapping[str, Any]]:
    pages = kms.get_paginator("list_grants").paginate(KeyId=key_id, PaginationConfig={"MaxItems": MAX_GRANTS})
    return [_as_cli_prints(g) for g in named_objects([g for page in pages for g in reply_list(page, "Grants")],
                                                "GrantId", "a grant")]


# ---- Secrets Manager, Lambda, SQS, SNS ---------------------------------------------------------------------


def list_secrets(sm: Any, region: str) -> tuple[list[Listed], bool]:
    # ListSecrets returns metadata only; nhiaudit never calls GetSecretValue (not on the read-only allowlist).
    items, more = listed_pages(sm, "list_secrets", "SecretList")
    return [Listed(str(s["ARN"]), str(s["ARN"]), region) for s in named_objects(items, "ARN", "a secret")], more


def read_secret(sm: Any, secret: Listed, secondary: Secondary) -> RawResourcePolicy:
    reply = reply_object(sm.get_resource_policy(SecretId=secret.key))
    policy = policy_text(reply.get("ResourcePolicy"), secret.arn)
    return RawResourcePolicy("secretsmanager", secret.arn, account_of_resource(secret.arn), secret.region, policy)


def listed_functions(functions: list[Mapping[str, Any]], region: str) -> list[Listed]:
    """The functions ListFunctions already returned for the region (workloads): not listed a second time."""
    arns = sorted({str(f["FunctionArn"]) for f in functions if isinstance(f.get("FunctionArn"), str)})
    # A function whose ARN is malformed is the workloads' issue (lambda:ListFunctions); its policy is not asked.
    return [Listed(arn, arn, region) for arn in arns if _is_account_arn(arn)]


def read_function(lam: Any, function: Listed, secondary: Secondary) -> RawResourcePolicy:
    reply = absent_on(("ResourceNotFoundException",), lambda: lam.get_policy(FunctionName=function.key))
    policy = None if reply is None else policy_text(reply_object(reply).get("Policy"), function.arn)
    return RawResourcePolicy("lambda", function.arn, account_of_resource(function.arn), function.region, policy)


def list_queues(sqs: Any, region: str) -> tuple[list[Listed], bool]:
    # ListQueues pages only when MaxResults is given (without it AWS returns the first 1,000 queues), and its
    # reply has no QueueUrls when there are no queues.
    items, more = listed_pages(sqs, "list_queues", "QueueUrls", optional=True, MaxResults=1000)
    if not all(isinstance(u, str) and len(u) <= MAX_ARN for u in items):
        raise RawDataError(f"malformed reply: a queue URL is not a string of at most {MAX_ARN} characters")
    return [Listed(queue_arn(u, sqs.meta.partition, region), u, region) for u in items], more


def queue_arn(url: Any, partition: str, region: str) -> str:
    """https://sqs.REGION.amazonaws.com/ACCOUNT/NAME -> arn:PARTITION:sqs:REGION:ACCOUNT:NAME."""
    path = urlparse(url).path.strip("/").split("/") if isinstance(url, str) else []
    if len(path) != 2 or not path[0].isdigit() or not path[1]:
        raise RawDataError(f"malformed reply: not a queue URL: {str(url)[:200]!r}")
    return f"arn:{partition}:sqs:{region}:{path[0]}:{path[1]}"


def read_queue(sqs: Any, queue: Listed, secondary: Secondary) -> RawResourcePolicy:
    reply = reply_object(sqs.get_queue_attributes(QueueUrl=queue.key, AttributeNames=["Policy", "QueueArn"]))
    attributes = reply.get("Attributes") or {}
    if not isinstance(attributes, Mapping):
        raise RawDataError("reply field Attributes is not an object")
    arn = reply_str(attributes, "QueueArn")
    return RawResourcePolicy("sqs", arn, account_of_resource(arn), queue.region,
                             policy_text(attributes.get("Policy"), arn))


def list_topics(sns: Any, region: str) -> tuple[list[Listed], bool]:
    items, more = listed_pages(sns, "list_topics", "Topics")
    return [Listed(str(t["TopicArn"]), str(t["TopicArn"]), region)
            for t in named_objects(items, "TopicArn", "a topic")], more


def read_topic(sns: Any, topic: Listed, secondary: Secondary) -> RawResourcePolicy:
    attributes = _member(sns.get_topic_attributes(TopicArn=topic.key), "Attributes")
    return RawResourcePolicy("sns", topic.arn, account_of_resource(topic.arn), topic.region,
                             policy_text(attributes.get("Policy"), topic.arn))


def _as_cli_prints(value: Mapping[str, Any]) -> dict[str, Any]:
    """Dates as the AWS CLI prints them (ISO 8601), so a live read and an imported `aws kms` output agree."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in value.items()}


def _is_account_arn(arn: str) -> bool:
    try:
        account_of_resource(arn)
    except RawDataError:
        return False
    return True


def account_of_resource(arn: str) -> str:
    account = arn_parts(arn)[3]
    if not account.isdigit() or len(account) != 12:
        raise RawDataError(f"not an ARN of an account's resource: {arn[:200]!r}")
    return account
