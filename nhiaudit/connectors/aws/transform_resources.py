"""Pure transform: RawResourcePolicy (API shapes, live or imported) -> ResourcePolicy records.

Documents are attacker-controlled: each is size-checked, decoded, shape-checked against the IAM policy document
schema (schemas/iam-policy-document.schema.json) and bounded in statements, principals, ACL entries and grants. A
document that fails becomes a CollectionIssue for its resource and the resource is left out of the snapshot, so
reach to it keeps the identity-only answer (unknown is not denied); the other resources are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.raw import RawDataError, arn_parts, as_tuple, decode_document
from nhiaudit.connectors.aws.resource_raw import RawResourcePolicy
from nhiaudit.connectors.aws.transform_iam import transform_statement
from nhiaudit.inventory.model import CollectionIssue, Provider, Statement
from nhiaudit.inventory.resources import (
    CANONICAL_PREFIX,
    FEDERATED_PREFIX,
    SERVICE_PREFIX,
    UNIQUE_ID_PREFIX,
    PublicAccessBlock,
    ResourcePolicy,
    ResourceStatement,
)

# AWS caps these documents at 20 KB (S3, Lambda, Secrets Manager, SNS... ) or 32 KB (KMS); 64 KiB leaves room for
# pretty-printed exports and refuses anything that is not a real policy before it is parsed.
MAX_RESOURCE_POLICY_CHARS = 64 * 1024
MAX_RESOURCE_STATEMENTS = 200
MAX_PRINCIPALS_PER_STATEMENT = 500
MAX_ACL_GRANTS = 100  # S3's own limit per ACL
MAX_KMS_GRANTS = 2_000  # per key; more are left out (counted in `omitted`, and a CollectionIssue says so)

# The call whose reply holds each service's policy: what a CollectionIssue names.
POLICY_OPERATIONS = {
    "s3": "s3:GetBucketPolicy", "kms": "kms:GetKeyPolicy", "secretsmanager": "secretsmanager:GetResourcePolicy",
    "lambda": "lambda:GetPolicy", "sqs": "sqs:GetQueueAttributes", "sns": "sns:GetTopicAttributes",
    "sagemaker": "sagemaker:GetModelPackageGroupPolicy",
}
POLICY_NAMES = {
    "s3": "bucket policy", "kms": "key policy", "secretsmanager": "secret resource policy",
    "lambda": "function policy", "sqs": "queue policy", "sns": "topic policy",
    "sagemaker": "model package group policy",
}

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_UNIQUE_ID = re.compile(r"^A[A-Z0-9]{3}[A-Z0-9]{12,124}$")  # AROA..., AIDA...: a deleted principal
_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
_AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
# What each bucket ACL permission lets its grantee do on the bucket (S3 User Guide, "Access control list
# (ACL) overview", "Mapping of ACL permissions and access policy permissions").
_ACL_ACTIONS = {
    "READ": ("s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"),
    "WRITE": ("s3:PutObject", "s3:DeleteObject"),
    "READ_ACP": ("s3:GetBucketAcl",),
    "WRITE_ACP": ("s3:PutBucketAcl",),
}
_ACL_ACTIONS["FULL_CONTROL"] = tuple(a for v in list(_ACL_ACTIONS.values()) for a in v)
_BPA_FIELDS = {"BlockPublicAcls": "block_public_acls", "IgnorePublicAcls": "ignore_public_acls",
               "BlockPublicPolicy": "block_public_policy", "RestrictPublicBuckets": "restrict_public_buckets"}


def transform_resource_policies(
    raws: Iterable[RawResourcePolicy],
) -> tuple[list[ResourcePolicy], list[CollectionIssue]]:
    """Records for every well-formed raw policy (sorted by resource, one per resource: the first wins), and an
    issue for each malformed or oversized one."""
    records: dict[str, ResourcePolicy] = {}
    issues: list[CollectionIssue] = []
    for raw in raws:
        try:
            record = transform_resource_policy(raw)
        except RawDataError as exc:
            issues.append(_issue(raw, str(exc)))
            continue
        if record.omitted:
            issues.append(_issue(raw, f"{record.omitted} grant(s) past the limit of {MAX_KMS_GRANTS} left out",
                                 partial=True))
        records.setdefault(record.id, record)
    return [records[k] for k in sorted(records)], issues


def _issue(raw: RawResourcePolicy, message: str, *, partial: bool = False) -> CollectionIssue:
    what = POLICY_NAMES.get(raw.service, "resource policy")
    missing = (f"some grants of {raw.resource_arn}" if partial
               else f"{what} of {raw.resource_arn} (reach to it is judged by identity policies alone)")
    return CollectionIssue(provider=Provider.AWS, account=raw.account,
                           operation=POLICY_OPERATIONS.get(raw.service, f"{raw.service}:GetPolicy"),
                           message=f"{what} of {raw.resource_arn}: {message}"[:2000], missing=missing)


def transform_resource_policy(raw: RawResourcePolicy) -> ResourcePolicy:
    """One record; raises RawDataError (with the path of the wrong value) for a document AWS would not hold."""
    if raw.service not in POLICY_OPERATIONS:
        raise RawDataError(f"unknown service {raw.service[:40]!r}")
    partition, _, _, _, _ = arn_parts(raw.resource_arn)
    if not _ACCOUNT_ID.match(raw.account):
        raise RawDataError(f"owner account {raw.account[:40]!r} is not a 12-digit account id")
    statements: list[ResourceStatement] = []
    if raw.policy is not None:
        statements.extend(_policy_statements(raw.policy, partition))
    omitted = 0
    if raw.service == "s3":
        statements.extend(_acl_statements(raw.resource_arn, raw.extra.get("Grants"), len(statements)))
    if raw.service == "kms":
        grants, omitted = _kms_grant_statements(raw.resource_arn, raw.extra.get("Grants"), partition)
        statements.extend(grants)
    return ResourcePolicy.model_construct(
        id=raw.resource_arn, provider=Provider.AWS, account=raw.account, service=raw.service, region=raw.region,
        statements=tuple(statements), has_policy=raw.policy is not None,
        public_access_block=_bpa(raw.extra.get("PublicAccessBlockConfiguration"), "PublicAccessBlockConfiguration"),
        account_public_access_block=_bpa(raw.extra.get("AccountPublicAccessBlockConfiguration"),
                                         "AccountPublicAccessBlockConfiguration"),
        omitted=omitted,
    )


def _document(policy: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(policy, str):
        size = len(policy)
    else:
        try:
            size = len(json.dumps(policy))
        except (TypeError, ValueError, RecursionError):
            raise RawDataError("policy document is not JSON data (or is nested too deeply)") from None
    if size > MAX_RESOURCE_POLICY_CHARS:
        raise RawDataError(f"policy document is {size} characters; the limit is {MAX_RESOURCE_POLICY_CHARS}")
    doc = decode_document(policy)
    export_shapes.check(export_shapes.POLICY_DOCUMENT, doc)
    return doc


def _policy_statements(policy: str | Mapping[str, Any], partition: str) -> list[ResourceStatement]:
    doc = _document(policy)
    raw = doc["Statement"]
    items = [(("Statement",), raw)] if isinstance(raw, Mapping) else [
        (("Statement", i), s) for i, s in enumerate(raw)]
    if len(items) > MAX_RESOURCE_STATEMENTS:
        raise RawDataError(f"{len(items)} statements; the limit is {MAX_RESOURCE_STATEMENTS}", ("Statement",))
    out = []
    for index, (path, item) in enumerate(items):
        try:
            principals, negated = _principals(item, partition)
            out.append(ResourceStatement.model_construct(
                index=index, origin="policy", principals=principals, not_principal=negated,
                statement=transform_statement(item), note=None))
        except RawDataError as exc:
            raise exc.within(*path) from None
    return out


def _principals(stmt: Mapping[str, Any], partition: str) -> tuple[tuple[str, ...], bool]:
    """The statement's principals, normalised (see inventory/resources.py), and whether they are excluded."""
    negated = "NotPrincipal" in stmt
    key = "NotPrincipal" if negated else "Principal"
    value = stmt.get(key)
    if value is None:
        return (), negated  # AWS refuses such a resource policy; it names nobody
    if value == "*":
        return ("*",), negated
    if not isinstance(value, Mapping):
        raise RawDataError('expected "*" or an object', (key,))
    found: list[str] = []
    for kind, values in value.items():
        try:
            items = as_tuple(values)
        except RawDataError as exc:
            raise exc.within(key, kind) from None
        if len(found) + len(items) > MAX_PRINCIPALS_PER_STATEMENT:
            raise RawDataError(f"more than {MAX_PRINCIPALS_PER_STATEMENT} principals", (key,))
        found.extend(_principal(kind, item, partition, (key, kind)) for item in items)
    return tuple(dict.fromkeys(found)), negated


def _principal(kind: str, value: str, partition: str, path: tuple[str, ...]) -> str:
    if kind == "AWS":
        if value == "*" or value.startswith("arn:"):
            return value
        if _ACCOUNT_ID.match(value):
            return f"arn:{partition}:iam::{value}:root"
        if _UNIQUE_ID.match(value):
            return UNIQUE_ID_PREFIX + value
        raise RawDataError(f"not an AWS principal: {value[:80]!r}", path)
    prefix = {"Service": SERVICE_PREFIX, "Federated": FEDERATED_PREFIX, "CanonicalUser": CANONICAL_PREFIX}.get(kind)
    if prefix is None:
        raise RawDataError(f"unknown principal type {kind[:40]!r}", path)
    return prefix + value


def _acl_statements(bucket_arn: str, grants: Any, start: int) -> list[ResourceStatement]:
    """S3 bucket ACL grants (GetBucketAcl `Grants`) as statements: AllUsers and AuthenticatedUsers are "*" (any
    principal; AuthenticatedUsers means any AWS account), canonical ids are recorded and never matched."""
    if grants is None:
        return []
    if not isinstance(grants, list):
        raise RawDataError("expected a list", ("Grants",))
    if len(grants) > MAX_ACL_GRANTS:
        raise RawDataError(f"{len(grants)} ACL grants; S3 allows {MAX_ACL_GRANTS}", ("Grants",))
    out = []
    for i, grant in enumerate(grants):
        path = ("Grants", i)
        if not isinstance(grant, Mapping) or not isinstance(grant.get("Grantee"), Mapping):
            raise RawDataError("expected an object with a Grantee object", path)
        permission = grant.get("Permission")
        actions = _ACL_ACTIONS.get(permission) if isinstance(permission, str) else None
        if actions is None:
            raise RawDataError(f"unknown ACL permission {str(permission)[:40]!r}", (*path, "Permission"))
        grantee = grant["Grantee"]
        uri, canonical = grantee.get("URI"), grantee.get("ID")
        if uri in (_ALL_USERS, _AUTHENTICATED_USERS):
            principal = "*"
            who = "AllUsers (anyone)" if uri == _ALL_USERS else "AuthenticatedUsers (any AWS account)"
            note = "S3 ACL grant to " + who
        elif isinstance(canonical, str):
            principal, note = CANONICAL_PREFIX + canonical, "S3 ACL grant to a canonical user"
        else:
            principal, note = SERVICE_PREFIX + str(uri or grantee.get("EmailAddress") or "unknown")[:200], \
                "S3 ACL grant to a group or e-mail grantee"
        statement = Statement.model_construct(
            effect="Allow", actions=actions, not_actions=(), resources=(bucket_arn, f"{bucket_arn}/*"),
            not_resources=(), conditions={}, sid=f"ACL {permission}")
        out.append(ResourceStatement.model_construct(index=start + i, origin="acl", principals=(principal,),
                                                     not_principal=False, statement=statement, note=note))
    return out


def _kms_grant_statements(key_arn: str, grants: Any, partition: str) -> tuple[list[ResourceStatement], int]:
    """KMS grants (ListGrants `Grants`): each allows its Operations to its GranteePrincipal on the key; grant
    constraints are recorded as encryption-context conditions (not evaluated)."""
    if grants is None:
        return [], 0
    if not isinstance(grants, list):
        raise RawDataError("expected a list", ("Grants",))
    out = []
    for i, grant in enumerate(grants[:MAX_KMS_GRANTS]):
        path = ("Grants", i)
        if not isinstance(grant, Mapping):
            raise RawDataError("expected an object", path)
        grantee = grant.get("GranteePrincipal")
        operations = grant.get("Operations")
        if not isinstance(grantee, str) or not isinstance(operations, list) or not all(
                isinstance(o, str) for o in operations):
            raise RawDataError("a grant needs a GranteePrincipal string and an Operations list", path)
        principal = grantee if grantee.startswith("arn:") or grantee == "*" else (
            f"arn:{partition}:iam::{grantee}:root" if _ACCOUNT_ID.match(grantee) else SERVICE_PREFIX + grantee)
        statement = Statement.model_construct(
            effect="Allow", actions=tuple(f"kms:{o}" for o in operations[:50]), not_actions=(), resources=(key_arn,),
            not_resources=(), conditions=_grant_conditions(grant.get("Constraints")),
            sid=f"grant {str(grant.get('GrantId', i))[:80]}")
        out.append(ResourceStatement.model_construct(
            index=i, origin="grant", principals=(principal[:2048],), not_principal=False, statement=statement,
            note=f"KMS grant {str(grant.get('Name') or grant.get('GrantId') or i)[:80]}"))
    return out, max(0, len(grants) - MAX_KMS_GRANTS)


def _grant_conditions(constraints: Any) -> dict[str, Any]:
    if not isinstance(constraints, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, operator in (("EncryptionContextEquals", "StringEquals"), ("EncryptionContextSubset", "StringEquals")):
        context = constraints.get(key)
        if isinstance(context, Mapping):
            out.setdefault(operator, {}).update(
                {f"kms:EncryptionContext:{str(k)[:200]}": str(v)[:200] for k, v in list(context.items())[:50]})
    return out


def _bpa(value: Any, name: str) -> PublicAccessBlock | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RawDataError("expected an object", (name,))
    settings = {}
    for key, field in _BPA_FIELDS.items():
        setting = value.get(key, False)
        if not isinstance(setting, bool):
            raise RawDataError("expected true or false", (name, key))
        settings[field] = setting
    return PublicAccessBlock(**settings)
