"""Resource-based policy reach (docs/aws-connector.md "Resource-based policies"): partner-exchange buckets whose
bucket policy does or does not let a declared integration's role in. Each bucket's `aws s3api
get-bucket-policy` output is imported as `arn:aws:s3::OWNER:BUCKET=FILE`.

The partner-exchange systems are in no integration's may_reach, so reach is scope drift. Every bucket their
pattern names is imported, so reach to them is answered from the held buckets alone."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws import systems as s
from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.model import Expected, ExportFile
from benchmarks.labelled_aws.names import APPS
from benchmarks.labelled_aws.shapes_integrations import declared_role

SUFFIX = "partner-exchange"
READ = ["s3:GetObject", "s3:ListBucket"]


def systems() -> dict[str, dict[str, Any]]:
    return {s.system(env, SUFFIX): {"kind": "data", "environment": env, "classification": "confidential",
                                    "resources": [s.bucket(env, SUFFIX) + "*"]}
            for env in s.ENVIRONMENTS}


def _bucket(owner: AccountBuilder) -> str:
    """A bucket of the owner's partner-exchange system (unique over accounts: the owner's id is in it)."""
    return owner.names.take("bucket", f"acme-{owner.env}-{SUFFIX}-{owner.account.id[-4:]}-{owner.rng.choice(APPS)}")


def _arns(bucket: str) -> list[str]:
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]


def _bucket_policy(owner: AccountBuilder, bucket: str, principal: str) -> None:
    """The usual deny of plain HTTP and one Allow of reads to `principal`; imported as the owner's bucket."""
    doc = d.document(
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": _arns(bucket), "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "PartnerRead", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": READ,
         "Resource": _arns(bucket)})
    owner.estate.files.append(ExportFile(owner.account, f"s3-get-bucket-policy-{bucket}.json",
                                         {"Policy": json.dumps(doc, separators=(",", ":"))},
                                         target=f"arn:aws:s3::{owner.account.id}:{bucket}"))


def _env_rule(source: AccountBuilder, owner: AccountBuilder) -> tuple[Expected, ...]:
    if owner.env == source.env:
        return ()
    rule = "env-reaches-production" if owner.env == "prod" else "env-reaches-other-environment"
    return (Expected(rule, f"{source.env} integration role reads a {owner.env} bucket through its bucket policy"),)


def cross_account_grant(b: AccountBuilder, owner: AccountBuilder) -> None:
    """Identity policy allows reads of another account's bucket, whose bucket policy names the role: reach."""
    bucket = _bucket(owner)
    system = s.system(owner.env, SUFFIX)
    arn = declared_role(b, "rp-cross-account-grant", extra=[d.allow(READ, _arns(bucket))],
                        traits=("resource-policy", "cross-account"),
                        expected=(Expected("scope-not-allowed-system",
                                           f"reads {bucket} ({system}, account {owner.account.id}): its identity "
                                           "policy and the bucket policy both allow"),
                                  *_env_rule(b, owner)))
    _bucket_policy(owner, bucket, arn)


def cross_account_session_grant(b: AccountBuilder, owner: AccountBuilder) -> None:
    """The bucket policy names the role by a session of it (`arn:aws:sts::A:assumed-role/NAME/SESSION`): reach."""
    bucket = _bucket(owner)
    system = s.system(owner.env, SUFFIX)
    arn = declared_role(b, "rp-cross-account-session-grant", extra=[d.allow(READ, _arns(bucket))],
                        traits=("resource-policy", "cross-account"),
                        expected=(Expected("scope-not-allowed-system",
                                           f"reads {bucket} ({system}, account {owner.account.id}): the bucket "
                                           "policy names a session of the role"),
                                  *_env_rule(b, owner)))
    name = arn.rsplit("/", 1)[1]
    _bucket_policy(owner, bucket, f"arn:aws:sts::{b.account.id}:assumed-role/{name}/partner-sync")


def cross_account_root_grant(b: AccountBuilder, owner: AccountBuilder) -> None:
    """The bucket policy names the role's account (not the role): across accounts that is enough with the
    identity policy's grant (unlike within one account): reach."""
    bucket = _bucket(owner)
    system = s.system(owner.env, SUFFIX)
    declared_role(b, "rp-cross-account-root-grant", extra=[d.allow(READ, _arns(bucket))],
                  traits=("resource-policy", "cross-account"),
                  expected=(Expected("scope-not-allowed-system",
                                     f"reads {bucket} ({system}, account {owner.account.id}): the bucket policy "
                                     f"names account {b.account.id}, its identity policy allows"),
                            *_env_rule(b, owner)))
    _bucket_policy(owner, bucket, b.account.root)


def cross_account_no_grant(b: AccountBuilder, owner: AccountBuilder) -> None:
    """The same identity grant, but the bucket policy names only the owner's account: no reach (negative)."""
    bucket = _bucket(owner)
    declared_role(b, "rp-cross-account-no-grant", extra=[d.allow(READ, _arns(bucket))],
                  traits=("resource-policy", "cross-account", "near-miss"))
    _bucket_policy(owner, bucket, owner.account.root)


def same_account_grant(b: AccountBuilder) -> None:
    """No identity grant; the bucket policy of its own account's bucket names the role: reach."""
    bucket = _bucket(b)
    arn = declared_role(b, "rp-same-account-grant", traits=("resource-policy",),
                        expected=(Expected("scope-not-allowed-system",
                                           f"reads {bucket} ({s.system(b.env, SUFFIX)}): its own account's bucket "
                                           "policy names the role"),))
    _bucket_policy(b, bucket, arn)


def same_account_root_only(b: AccountBuilder) -> None:
    """No identity grant; the bucket policy names only the account (that adds nothing): no reach (negative)."""
    bucket = _bucket(b)
    declared_role(b, "rp-same-account-root-only", traits=("resource-policy", "near-miss"))
    _bucket_policy(b, bucket, b.account.root)
