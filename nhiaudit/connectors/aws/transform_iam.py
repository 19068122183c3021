"""Pure transforms: GetAccountAuthorizationDetails -> identities, policies and trust records."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
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
    for page in pages:
        if not isinstance(page, Mapping):
            raise RawDataError("an authorization-details page is not a JSON object")
        for key in DETAIL_LISTS:
            items = page.get(key) or []
            if not isinstance(items, list):
                raise RawDataError(f"{key} is not a list")
            merged[key].extend(items)
    return merged


def transform_statement(raw: Mapping[str, Any]) -> Statement:
    if not isinstance(raw, Mapping):
        raise RawDataError("a policy statement is not a JSON object")
    effect = raw.get("Effect", "Allow")
    if effect not in ("Allow", "Deny"):
        raise RawDataError(f"statement Effect must be Allow or Deny, got {effect!r}")
    not_resources = as_tuple(raw.get("NotResource"))
    resources = as_tuple(raw.get("Resource")) if "Resource" in raw else (() if not_resources else ("*",))
    conditions = raw.get("Condition") or {}
    if not isinstance(conditions, Mapping):
        raise RawDataError("statement Condition is not a JSON object")
    sid = raw.get("Sid")
    return Statement(
        effect=effect,
        actions=as_tuple(raw.get("Action")),
        not_actions=as_tuple(raw.get("NotAction")),
        resources=resources,
        not_resources=not_resources,
        conditions=dict(conditions),
        sid=str(sid) if sid not in (None, "") else None,
    )


def _statements(document: Any) -> list[Mapping[str, Any]]:
    doc = decode_document(document)
    raw = doc.get("Statement", [])
    return [raw] if isinstance(raw, Mapping) else list(raw)


def transform_policy_document(document: Any) -> tuple[Statement, ...]:
    return tuple(transform_statement(s) for s in _statements(document))


def _grants_assume(action_pattern: str) -> bool:
    pattern = action_pattern.lower()
    return any(fnmatchcase(action, pattern) for action in _ASSUME_ACTIONS)


def _principal_id(value: str, partition: str) -> str:
    """Normalise a bare account id to its root ARN; ARNs, unique ids and "*" stay as they are."""
    return f"arn:{partition}:iam::{value}:root" if _ACCOUNT_ID.match(value) else value


def transform_trust_policy(role_arn: str, document: Any) -> tuple[Trust, ...]:
    """Who may assume the role: one Trust per principal of every Allow statement that grants sts:Assume*."""
    partition = partition_of(role_arn)
    trusts: list[Trust] = []
    for index, stmt in enumerate(_statements(document)):
        if not isinstance(stmt, Mapping) or stmt.get("Effect", "Allow") != "Allow":
            continue
        if "Action" in stmt and not any(_grants_assume(a) for a in as_tuple(stmt["Action"])):
            continue
        conditions = dict(stmt.get("Condition") or {})
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
            continue
        principal = stmt.get("Principal")
        if principal == "*":
            principal = {"AWS": "*"}
        if not isinstance(principal, Mapping):
            continue
        for key, kind in (
            ("AWS", TrustKind.ASSUME_ROLE),
            ("CanonicalUser", TrustKind.ASSUME_ROLE),
            ("Service", TrustKind.SERVICE),
            ("Federated", TrustKind.FEDERATED),
        ):
            for value in as_tuple(principal.get(key)):
                trusts.append(
                    Trust(
                        identity_id=role_arn,
                        principal=_principal_id(value, partition),
                        kind=kind,
                        conditions=conditions,
                        reason=reason,
                    )
                )
    return tuple(trusts)


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


class _Builder:
    def __init__(self) -> None:
        self.policies: dict[str, Policy] = {}
        self.referenced: set[str] = set()

    def inline(
        self, holder_arn: str, items: Iterable[Mapping[str, Any]], attach: _Attachments, source: str
    ) -> None:
        for item in items:
            name = str(item.get("PolicyName"))
            pid = _inline_id(holder_arn, name)
            self.policies.setdefault(
                pid,
                Policy(
                    id=pid,
                    provider=Provider.AWS,
                    name=name,
                    kind="inline",
                    statements=transform_policy_document(item.get("PolicyDocument", {})),
                ),
            )
            attach.add(pid, source)

    def managed(self, items: Iterable[Mapping[str, Any]], attach: _Attachments, source: str) -> None:
        for item in items:
            arn = str(item.get("PolicyArn"))
            self.referenced.add(arn)
            attach.add(arn, source)


def _group_attachments(groups: Iterable[Mapping[str, Any]], builder: _Builder) -> dict[str, _Attachments]:
    out: dict[str, _Attachments] = {}
    for group in groups:
        name = str(group.get("GroupName"))
        attach = _Attachments()
        source = f"group:{name}"
        builder.managed(group.get("AttachedManagedPolicies") or [], attach, source)
        builder.inline(str(group.get("Arn")), group.get("GroupPolicyList") or [], attach, source)
        out[name] = attach
    return out


def _identity(item: Mapping[str, Any], kind: IdentityKind, attach: _Attachments, **extra: Any) -> Identity:
    arn = str(item.get("Arn"))
    tags = tags_of(item)
    boundary = (item.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    return Identity(
        id=arn,
        provider=Provider.AWS,
        account=arn_parts(arn)[3],
        kind=kind,
        name=str(item.get("UserName") or item.get("RoleName")),
        created=parse_time(item.get("CreateDate")),
        tags=tags,
        owner=_owner(tags),
        policy_ids=tuple(attach.sources),
        policy_sources=dict(attach.sources),
        boundary_policy_id=boundary,
        **extra,
    )


def _managed_policy(item: Mapping[str, Any]) -> Policy:
    arn = str(item.get("Arn"))
    versions = item.get("PolicyVersionList") or []
    default = next((v for v in versions if v.get("IsDefaultVersion")), None)
    if default is None and versions:
        default = next(
            (v for v in versions if v.get("VersionId") == item.get("DefaultVersionId")), versions[0]
        )
    return Policy(
        id=arn,
        provider=Provider.AWS,
        name=str(item.get("PolicyName") or arn.rsplit("/", 1)[-1]),
        kind="managed" if arn_parts(arn)[3] == "aws" else "customer",
        statements=transform_policy_document(default.get("Document", {})) if default else (),
    )


def transform_authorization_details(details: Mapping[str, Any]) -> IamInventory:
    """The merged GetAccountAuthorizationDetails document -> inventory records.

    Group policies are flattened onto each member (policy_sources says "group:<name>"). AWS-managed
    policies are kept only when something in the account attaches them or uses them as a boundary.
    """
    builder = _Builder()
    groups = _group_attachments(details.get("GroupDetailList") or [], builder)
    identities: list[Identity] = []
    trusts: list[Trust] = []
    profiles: dict[str, str] = {}
    user_arns: dict[str, str] = {}

    for user in details.get("UserDetailList") or []:
        arn = str(user.get("Arn"))
        attach = _Attachments()
        builder.managed(user.get("AttachedManagedPolicies") or [], attach, "attached")
        builder.inline(arn, user.get("UserPolicyList") or [], attach, "inline")
        group_names = [str(g) for g in user.get("GroupList") or []]
        for name in group_names:
            for pid, source in groups.get(name, _Attachments()).sources.items():
                attach.add(pid, source)
        identities.append(
            _identity(
                user,
                IdentityKind.USER,
                attach,
                attributes=str_attributes(
                    [
                        ("path", user.get("Path")),
                        ("unique_id", user.get("UserId")),
                        ("groups", ",".join(group_names)),
                    ]
                ),
            )
        )
        user_arns[str(user.get("UserName"))] = arn

    for role in details.get("RoleDetailList") or []:
        arn = str(role.get("Arn"))
        attach = _Attachments()
        builder.managed(role.get("AttachedManagedPolicies") or [], attach, "attached")
        builder.inline(arn, role.get("RolePolicyList") or [], attach, "inline")
        last_used = role.get("RoleLastUsed") or {}
        used_at = parse_time(last_used.get("LastUsedDate"))
        identities.append(
            _identity(
                role,
                IdentityKind.ROLE,
                attach,
                last_activity=used_at,
                last_activity_detail=f"role assumed in {last_used['Region']}"
                if used_at and last_used.get("Region")
                else None,
                attributes=str_attributes(
                    [
                        ("path", role.get("Path")),
                        ("unique_id", role.get("RoleId")),
                    ]
                ),
            )
        )
        trusts.extend(transform_trust_policy(arn, role.get("AssumeRolePolicyDocument") or {}))
        for profile in role.get("InstanceProfileList") or []:
            profiles[str(profile.get("Arn"))] = arn

    for identity in identities:
        if identity.boundary_policy_id:
            builder.referenced.add(identity.boundary_policy_id)
    for item in details.get("Policies") or []:
        arn = str(item.get("Arn"))
        aws_managed = arn_parts(arn)[3] == "aws"
        # Decide before transforming: an account lists ~1,500 AWS-managed policies it mostly does not use.
        if not aws_managed or arn in builder.referenced or int(item.get("AttachmentCount") or 0):
            builder.policies.setdefault(arn, _managed_policy(item))

    return IamInventory(
        identities=tuple(identities),
        policies=tuple(builder.policies.values()),
        trusts=tuple(trusts),
        instance_profile_roles=profiles,
        user_arns=user_arns,
    )
