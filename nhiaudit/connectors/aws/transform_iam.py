"""Pure transforms: GetAccountAuthorizationDetails -> identities, policies and trust records."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.connectors.aws.raw import (
    RawDataError,
    arn_parts,
    as_tuple,
    decode_document,
    parse_time,
    partition_of,
    str_attributes,
    tags_of,
)
from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement, Trust, TrustKind
from nhiaudit.packing import constructed
from nhiaudit.permissions.patterns import glob_match

DETAIL_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
OWNER_TAG_KEYS = frozenset({"owner", "owner-email", "owner_email", "contact"})
_ACCOUNT_ID = re.compile(r"^\d{12}$")
# Trust statements only matter when they let a principal become the role.
_ASSUME_ACTIONS = ("sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml")


@dataclass(frozen=True)
class IamInventory:
    identities: tuple[Identity, ...] = ()
    policies: tuple[Policy, ...] = ()
    trusts: tuple[Trust, ...] = ()
    instance_profile_roles: dict[str, str] = field(default_factory=dict)  # profile ARN -> role ARN
    user_arns: dict[str, str] = field(default_factory=dict)  # user name -> ARN


def merge_authorization_pages(pages: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Concatenate raw GetAccountAuthorizationDetails pages into the AWS CLI's merged shape."""
    merged: dict[str, list[Any]] = {key: [] for key in DETAIL_LISTS}
    for index, page in enumerate(pages):
        if not isinstance(page, Mapping):
            raise RawDataError("an authorization-details page is not a JSON object", (index,))
        for key in DETAIL_LISTS:
            items = page.get(key) or []
            if not isinstance(items, list):
                raise RawDataError(f"{key} is not a list", (index, key))
            merged[key].extend(items)
    return merged


def _strings(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    try:
        return as_tuple(raw.get(key))
    except RawDataError as exc:
        raise exc.within(key) from None


def _conditions(raw: Mapping[str, Any]) -> dict[str, Any]:
    conditions = raw.get("Condition") or {}
    if not isinstance(conditions, Mapping):
        raise RawDataError("statement Condition is not a JSON object", ("Condition",))
    for operator, values in conditions.items():
        if not isinstance(values, Mapping):
            raise RawDataError("a condition operator's value is not a JSON object", ("Condition", operator))
    return dict(conditions)


def transform_statement(raw: Mapping[str, Any]) -> Statement:
    if not isinstance(raw, Mapping):
        raise RawDataError("a policy statement is not a JSON object")
    effect = raw.get("Effect", "Allow")
    if effect not in ("Allow", "Deny"):
        raise RawDataError(f"statement Effect must be Allow or Deny, got {effect!r}", ("Effect",))
    not_resources = _strings(raw, "NotResource")
    resources = _strings(raw, "Resource") if "Resource" in raw else (() if not_resources else ("*",))
    sid = raw.get("Sid")
    # model_construct: every field is typed just above (tests/test_import_records.py re-validates them all).
    return constructed(Statement,
        effect=effect,
        actions=_strings(raw, "Action"),
        not_actions=_strings(raw, "NotAction"),
        resources=resources,
        not_resources=not_resources,
        conditions=_conditions(raw),
        sid=str(sid) if sid not in (None, "") else None,
    )


def _statements(document: Any) -> list[tuple[tuple[str | int, ...], Any]]:
    """(path, statement) of each statement of a policy document."""
    doc = decode_document(document)
    raw = doc.get("Statement", [])
    if isinstance(raw, Mapping):
        return [(("Statement",), raw)]
    if not isinstance(raw, list):
        raise RawDataError("Statement is neither an object nor a list", ("Statement",))
    return [(("Statement", index), item) for index, item in enumerate(raw)]


def transform_policy_document(document: Any) -> tuple[Statement, ...]:
    out = []
    for path, raw in _statements(document):
        try:
            out.append(transform_statement(raw))
        except RawDataError as exc:
            raise exc.within(*path) from None
    return tuple(out)


@functools.lru_cache(maxsize=4096)  # trust policies repeat the same few action patterns
def _grants_assume(action_pattern: str) -> bool:
    pattern = action_pattern.lower()
    return any(glob_match(pattern, action) for action in _ASSUME_ACTIONS)


def _principal_id(value: str, partition: str) -> str:
    """Normalise a bare account id to its root ARN; ARNs, unique ids and "*" stay as they are."""
    return f"arn:{partition}:iam::{value}:root" if _ACCOUNT_ID.match(value) else value


def transform_trust_policy(role_arn: str, document: Any) -> tuple[Trust, ...]:
    """Who may assume the role: one Trust per principal of every Allow statement that grants sts:Assume*."""
    partition = partition_of(role_arn)
    trusts: list[Trust] = []
    for index, (path, stmt) in enumerate(_statements(document)):
        try:
            trusts.extend(_statement_trusts(role_arn, partition, index, stmt))
        except RawDataError as exc:
            raise exc.within(*path) from None
    return tuple(trusts)


def _statement_trusts(role_arn: str, partition: str, index: int, stmt: Any) -> list[Trust]:
    trusts: list[Trust] = []
    if not isinstance(stmt, Mapping):
        raise RawDataError("a policy statement is not a JSON object")
    if stmt.get("Effect", "Allow") != "Allow":
        return trusts
    if "Action" in stmt and not any(_grants_assume(a) for a in _strings(stmt, "Action")):
        return trusts
    conditions = _conditions(stmt)
    reason = f"trust policy of {role_arn}, statement {index}"
    if stmt.get("Sid"):
        reason += f" ({stmt['Sid']})"
    if "NotPrincipal" in stmt:
        # Allow + NotPrincipal trusts everyone except the listed principals.
        trusts.append(
            Trust(
                identity_id=role_arn,
                principal="*",
                kind=TrustKind.ASSUME_ROLE,
                conditions=conditions,
                reason=reason + " via NotPrincipal",
            )
        )
        return trusts
    principal = stmt.get("Principal")
    if principal == "*":
        principal = {"AWS": "*"}
    if not isinstance(principal, Mapping):
        return trusts
    for key, kind in (
        ("AWS", TrustKind.ASSUME_ROLE),
        ("CanonicalUser", TrustKind.ASSUME_ROLE),
        ("Service", TrustKind.SERVICE),
        ("Federated", TrustKind.FEDERATED),
    ):
        try:
            values = as_tuple(principal.get(key))
        except RawDataError as exc:
            raise exc.within("Principal", key) from None
        for value in values:
            trusts.append(
                Trust(
                    identity_id=role_arn,
                    principal=_principal_id(value, partition),
                    kind=kind,
                    conditions=conditions,
                    reason=reason,
                )
            )
    return trusts


def _owner(tags: Mapping[str, str]) -> str | None:
    return next((v for k, v in tags.items() if k.lower() in OWNER_TAG_KEYS and v), None)


def _inline_id(holder_arn: str, name: str) -> str:
    return f"inline:{holder_arn}:{name}"


@dataclass
class _Attachments:
    """Policy ids of one identity in attachment order, with how each one is attached."""

    sources: dict[str, str] = field(default_factory=dict)

    def add(self, policy_id: str, source: str) -> None:
        self.sources.setdefault(policy_id, source)  # a direct attachment wins over the same via a group


_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, ValueError)


def _shape_error(exc: Exception, *path: str | int) -> RawDataError:
    """A RawDataError at `path` for any error a wrong shape causes in a transform."""
    if isinstance(exc, RawDataError):
        return exc.within(*path)
    return RawDataError(f"unexpected shape ({type(exc).__name__}: {exc})", path)


def _items(item: Mapping[str, Any], key: str) -> list[Any]:
    """A list field (absent or null: empty). Anything else is an error, never iterated char by char."""
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RawDataError(f"expected a list, got {type(value).__name__}", (key,))
    return value


def _objects(item: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    out = []
    for index, value in enumerate(_items(item, key)):
        if not isinstance(value, Mapping):
            raise RawDataError(f"expected an object, got {type(value).__name__}", (key, index))
        out.append((index, value))
    return out


class _Builder:
    def __init__(self) -> None:
        self.policies: dict[str, Policy] = {}
        self.referenced: set[str] = set()

    def inline(self, holder_arn: str, holder: Mapping[str, Any], key: str, attach: _Attachments, source: str) -> None:
        for index, item in _objects(holder, key):
            name = str(item.get("PolicyName"))
            pid = _inline_id(holder_arn, name)
            try:
                statements = transform_policy_document(item.get("PolicyDocument", {}))
            except RawDataError as exc:
                raise exc.within(key, index, "PolicyDocument") from None
            self.policies.setdefault(
                pid, Policy(id=pid, provider=Provider.AWS, name=name, kind="inline", statements=statements)
            )
            attach.add(pid, source)

    def managed(self, holder: Mapping[str, Any], attach: _Attachments, source: str) -> None:
        for _, item in _objects(holder, "AttachedManagedPolicies"):
            arn = str(item.get("PolicyArn"))
            self.referenced.add(arn)
            attach.add(arn, source)


def _group_attachments(groups: list[Any], builder: _Builder) -> dict[str, _Attachments]:
    out: dict[str, _Attachments] = {}
    for index, group in enumerate(groups):
        try:
            name = str(group.get("GroupName"))
            attach = _Attachments()
            source = f"group:{name}"
            builder.managed(group, attach, source)
            builder.inline(str(group.get("Arn")), group, "GroupPolicyList", attach, source)
        except _SHAPE_ERRORS as exc:
            raise _shape_error(exc, "GroupDetailList", index) from None
        out[name] = attach
    return out


def _boundary(item: Mapping[str, Any]) -> str | None:
    boundary = item.get("PermissionsBoundary")
    if boundary is None:
        return None
    if not isinstance(boundary, Mapping) or not isinstance(boundary.get("PermissionsBoundaryArn"), str):
        raise RawDataError("expected an object with a PermissionsBoundaryArn string", ("PermissionsBoundary",))
    return str(boundary["PermissionsBoundaryArn"])


def _time(item: Mapping[str, Any], key: str) -> Any:
    try:
        return parse_time(item.get(key))
    except RawDataError as exc:
        raise exc.within(key) from None


def _identity(item: Mapping[str, Any], kind: IdentityKind, attach: _Attachments, **extra: Any) -> Identity:
    arn = str(item.get("Arn"))
    try:
        account = arn_parts(arn)[3]
    except RawDataError as exc:
        raise exc.within("Arn") from None
    tags = tags_of(item)
    return constructed(Identity,  # typed here; re-validated in tests/test_import_records.py
        id=arn,
        provider=Provider.AWS,
        account=account,
        kind=kind,
        name=str(item.get("UserName") or item.get("RoleName")),
        created=_time(item, "CreateDate"),
        tags=tags,
        owner=_owner(tags),
        policy_ids=tuple(attach.sources),
        policy_sources=dict(attach.sources),
        boundary_policy_id=_boundary(item),
        **extra,
    )


def _managed_policy(item: Mapping[str, Any]) -> Policy:
    arn = str(item.get("Arn"))
    versions = _objects(item, "PolicyVersionList")
    default = next(((i, v) for i, v in versions if v.get("IsDefaultVersion")), None)
    if default is None and versions:
        default = next(((i, v) for i, v in versions if v.get("VersionId") == item.get("DefaultVersionId")), versions[0])
    statements: tuple[Statement, ...] = ()
    if default is not None:
        try:
            statements = transform_policy_document(default[1].get("Document", {}))
        except RawDataError as exc:
            raise exc.within("PolicyVersionList", default[0], "Document") from None
    return Policy(
        id=arn,
        provider=Provider.AWS,
        name=str(item.get("PolicyName") or arn.rsplit("/", 1)[-1]),
        kind="managed" if arn_parts(arn)[3] == "aws" else "customer",
        statements=statements,
    )


def _user(user: Mapping[str, Any], builder: _Builder, groups: dict[str, _Attachments]) -> Identity:
    arn = str(user.get("Arn"))
    attach = _Attachments()
    builder.managed(user, attach, "attached")
    builder.inline(arn, user, "UserPolicyList", attach, "inline")
    group_names = [str(g) for g in _items(user, "GroupList")]
    for name in group_names:
        for pid, source in groups.get(name, _Attachments()).sources.items():
            attach.add(pid, source)
    return _identity(
        user,
        IdentityKind.USER,
        attach,
        attributes=str_attributes(
            [("path", user.get("Path")), ("unique_id", user.get("UserId")), ("groups", ",".join(group_names))]
        ),
    )


def _role(role: Mapping[str, Any], builder: _Builder) -> Identity:
    arn = str(role.get("Arn"))
    attach = _Attachments()
    builder.managed(role, attach, "attached")
    builder.inline(arn, role, "RolePolicyList", attach, "inline")
    last_used = role.get("RoleLastUsed") or {}
    if not isinstance(last_used, Mapping):
        raise RawDataError("expected an object", ("RoleLastUsed",))
    try:
        used_at = parse_time(last_used.get("LastUsedDate"))
    except RawDataError as exc:
        raise exc.within("RoleLastUsed", "LastUsedDate") from None
    return _identity(
        role,
        IdentityKind.ROLE,
        attach,
        last_activity=used_at,
        last_activity_detail=f"role assumed in {last_used['Region']}"
        if used_at and last_used.get("Region")
        else None,
        attributes=str_attributes([("path", role.get("Path")), ("unique_id", role.get("RoleId"))]),
    )


def transform_authorization_details(details: Mapping[str, Any]) -> IamInventory:
    """The merged GetAccountAuthorizationDetails document -> inventory records.

    Group policies are flattened onto each member (policy_sources says "group:<name>"). AWS-managed
    policies are kept only when something in the account attaches them or uses them as a boundary.
    Any wrong shape raises RawDataError with the path of the value (`RoleDetailList[3].Arn`).
    """
    builder = _Builder()
    groups = _group_attachments(_items(details, "GroupDetailList"), builder)
    identities: list[Identity] = []
    trusts: list[Trust] = []
    profiles: dict[str, str] = {}
    user_arns: dict[str, str] = {}

    for index, user in enumerate(_items(details, "UserDetailList")):
        try:
            identities.append(_user(user, builder, groups))
        except _SHAPE_ERRORS as exc:
            raise _shape_error(exc, "UserDetailList", index) from None
        user_arns[str(user.get("UserName"))] = identities[-1].id

    for index, role in enumerate(_items(details, "RoleDetailList")):
        try:
            identities.append(_role(role, builder))
            arn = identities[-1].id
            try:
                trusts.extend(transform_trust_policy(arn, role.get("AssumeRolePolicyDocument") or {}))
            except RawDataError as exc:
                raise exc.within("AssumeRolePolicyDocument") from None
            for _, profile in _objects(role, "InstanceProfileList"):
                profiles[str(profile.get("Arn"))] = arn
        except _SHAPE_ERRORS as exc:
            raise _shape_error(exc, "RoleDetailList", index) from None

    for identity in identities:
        if identity.boundary_policy_id:
            builder.referenced.add(identity.boundary_policy_id)
    for index, item in enumerate(_items(details, "Policies")):
        try:
            arn = str(item.get("Arn"))
            aws_managed = arn_parts(arn)[3] == "aws"
            # Decide before transforming: an account lists ~1,500 AWS-managed policies it mostly does not use.
            if not aws_managed or arn in builder.referenced or int(item.get("AttachmentCount") or 0):
                builder.policies.setdefault(arn, _managed_policy(item))
        except _SHAPE_ERRORS as exc:
            raise _shape_error(exc, "Policies", index) from None

    return IamInventory(
        identities=tuple(identities),
        policies=tuple(builder.policies.values()),
        trusts=tuple(trusts),
        instance_profile_roles=profiles,
        user_arns=user_arns,
    )
