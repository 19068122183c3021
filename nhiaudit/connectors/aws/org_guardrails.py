"""AWS Organizations guardrails: SCPs and RCPs, their attachments, and the organisation's tree of roots, OUs
and accounts. Live (`--aws-org`, from the caller's account: the management account or a delegated
administrator) and imported (`aws organizations ...` outputs) fill the same `RawOrganization`; one pure
transform makes the `AwsOrganization` record analysis applies (permissions/guardrails.py).

Live calls, all read-only and paginated: ListRoots; per policy type the root has enabled,
ListPolicies(Filter=TYPE), then DescribePolicy and ListTargetsForPolicy per policy; and from each root down,
ListOrganizationalUnitsForParent and ListAccountsForParent per root or OU. Requests grow with the number of
policies and OUs, never with accounts' roles or IAM policies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError, decode_document
from nhiaudit.connectors.aws.shapes import reply_list, reply_object
from nhiaudit.connectors.aws.transform_iam import transform_policy_document
from nhiaudit.inventory.organization import (
    MAX_ORG_ACCOUNTS,
    MAX_ORG_DEPTH,
    MAX_ORG_POLICIES,
    MAX_ORG_TARGETS,
    RCP,
    SCP,
    AwsOrganization,
    OrgAccount,
    OrgPolicy,
)

GUARDRAIL_TYPES = (SCP, RCP)
MISSING_GUARDRAILS = "the organisation's SCPs and RCPs (not applied to any account: their caps are unknown)"

# AWS's id formats (Organizations API reference); bounded, no nested repetition: linear on any input.
ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}")
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
POLICY_ID = re.compile(r"p-[0-9a-zA-Z_]{8,128}")
ACCOUNT_ID = re.compile(r"\d{12}")
# arn:aws:organizations::MANAGEMENT:root/o-ID/r-ID
_ROOT_ARN = re.compile(r"arn:[a-z-]{1,32}:organizations::(\d{12}):root/(o-[a-z0-9]{10,32})/(r-[0-9a-z]{4,32})")


@dataclass
class RawOrganization:
    """The raw replies (or CLI outputs), keyed by what they were asked about."""

    roots: list[Mapping[str, Any]] | None = None  # ListRoots `Roots`; None: not read
    policies: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # id -> DescribePolicy `Policy`
    listed: dict[str, set[str]] = field(default_factory=dict)  # type -> ids ListPolicies returned
    targets: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)  # policy id -> Targets
    ous: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)  # parent -> OrganizationalUnits
    accounts: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)  # parent -> Accounts


def _bounded(count: int, limit: int, what: str) -> None:
    if count > limit:
        raise RawDataError(f"more than {limit} {what}: refused as not an organisation's shape")


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[Mapping[str, Any]]:
    items: list[Mapping[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(reply_list(page, key))
        _bounded(len(items), MAX_ORG_ACCOUNTS, f"{key} in one listing")
    return items


def get_organization(client: Any) -> RawOrganization:
    """Every guardrail call, through `client` (an Organizations client). Raises on the first failure: the
    caps are then unknown, and none is applied."""
    raw = RawOrganization(roots=_pages(client, "list_roots", "Roots"))
    for kind in enabled_types(raw.roots):
        listed = _pages(client, "list_policies", "Policies", Filter=kind)
        _bounded(len(listed), MAX_ORG_POLICIES, "policies of one type")
        raw.listed[kind] = {str(p.get("Id")) for p in listed if isinstance(p, Mapping)}
        for pid in sorted(raw.listed[kind]):
            raw.policies[pid] = reply_object(reply_object(client.describe_policy(PolicyId=pid)).get("Policy"))
            raw.targets[pid] = _pages(client, "list_targets_for_policy", "Targets", PolicyId=pid)
    queue = [str(r.get("Id")) for r in raw.roots if isinstance(r, Mapping)]
    depth = 0
    while queue:
        depth += 1
        _bounded(depth, MAX_ORG_DEPTH, "levels of organisational units")
        children: list[str] = []
        for parent in queue:
            raw.ous[parent] = _pages(client, "list_organizational_units_for_parent", "OrganizationalUnits",
                                     ParentId=parent)
            raw.accounts[parent] = _pages(client, "list_accounts_for_parent", "Accounts", ParentId=parent)
            children.extend(str(o.get("Id")) for o in raw.ous[parent] if isinstance(o, Mapping))
        queue = children
    return raw


def enabled_types(roots: Any) -> tuple[str, ...]:
    """The guardrail types every root has enabled (ListRoots `PolicyTypes`, Status ENABLED)."""
    found = []
    for kind in GUARDRAIL_TYPES:
        if roots and all(isinstance(r, Mapping) and isinstance(r.get("PolicyTypes"), list) and any(
                isinstance(t, Mapping) and t.get("Type") == kind and t.get("Status") == "ENABLED"
                for t in r["PolicyTypes"]) for r in roots):
            found.append(kind)
    return tuple(found)


# --- transform ---------------------------------------------------------------------------------------------


def _id(value: Any, pattern: re.Pattern[str], what: str, path: tuple[str | int, ...]) -> str:
    text = str(value) if isinstance(value, str) else ""
    if not pattern.fullmatch(text):
        raise RawDataError(f"not {what}: {str(value)[:80]!r}", path)
    return text


def _node(value: Any, path: tuple[str | int, ...]) -> str:
    text = value if isinstance(value, str) else ""
    if ROOT_ID.fullmatch(text) or OU_ID.fullmatch(text) or ACCOUNT_ID.fullmatch(text):
        return text
    raise RawDataError(f"not a root, OU or account id: {str(value)[:80]!r}", path)


def _policy(pid: str, described: Mapping[str, Any], targets: list[Mapping[str, Any]]) -> OrgPolicy:
    summary = described.get("PolicySummary")
    if not isinstance(summary, Mapping):
        raise RawDataError("DescribePolicy reply has no PolicySummary", ("Policy", "PolicySummary"))
    kind = summary.get("Type")
    if kind not in GUARDRAIL_TYPES:
        raise RawDataError(f"policy type {str(kind)[:40]!r} is no SCP or RCP", ("Policy", "PolicySummary", "Type"))
    try:
        statements = transform_policy_document(decode_document(described.get("Content")))
    except RawDataError as exc:
        raise exc.within("Policy", "Content") from None
    _bounded(len(targets), MAX_ORG_TARGETS, f"targets of policy {pid}")
    nodes = sorted({_node(t.get("TargetId") if isinstance(t, Mapping) else None, ("Targets", i, "TargetId"))
                    for i, t in enumerate(targets)})
    return OrgPolicy(id=pid, arn=str(summary.get("Arn") or ""), name=str(summary.get("Name") or pid)[:128],
                     type=kind, aws_managed=summary.get("AwsManaged") is True, statements=statements,
                     targets=tuple(nodes))


def _tree(raw: RawOrganization, roots: list[str]) -> list[OrgAccount]:
    """Every account under the roots, with its ancestors (root first). The parents' listings say it; a parent
    never listed leaves its accounts out (their caps unknown: none applied)."""
    placed: dict[str, tuple[str, ...]] = {}
    queue = [(r, (r,)) for r in roots]
    while queue:
        parent, path = queue.pop(0)
        _bounded(len(path), MAX_ORG_DEPTH, "levels of organisational units")
        for i, a in enumerate(raw.accounts.get(parent, [])):
            account = _id(a.get("Id") if isinstance(a, Mapping) else None, ACCOUNT_ID, "an account id",
                          ("Accounts", i, "Id"))
            placed.setdefault(account, path)
        for i, ou in enumerate(raw.ous.get(parent, [])):
            child = _id(ou.get("Id") if isinstance(ou, Mapping) else None, OU_ID, "an OU id",
                        ("OrganizationalUnits", i, "Id"))
            if child not in path:  # a cycle in hostile data is not followed
                queue.append((child, (*path, child)))
        _bounded(len(placed), MAX_ORG_ACCOUNTS, "accounts")
    return [OrgAccount(account=a, parents=p) for a, p in sorted(placed.items())]


def root_identity(roots: list[Mapping[str, Any]] | None, policies: Mapping[str, Mapping[str, Any]]
                  ) -> tuple[str, str | None, list[str]]:
    """(organisation id, management account, root ids), from the root ARNs (list-roots) or, without them,
    from a policy ARN (arn:aws:organizations::MANAGEMENT:policy/o-ID/...)."""
    for i, root in enumerate(roots or []):
        match = _ROOT_ARN.fullmatch(str(root.get("Arn", ""))) if isinstance(root, Mapping) else None
        if match is None:
            raise RawDataError("a root without an organisation root ARN", ("Roots", i, "Arn"))
        return match.group(2), match.group(1), [m.group(3) for r in roots or []
                                                 if (m := _ROOT_ARN.fullmatch(str(r.get("Arn", ""))))]
    for described in policies.values():
        summary = described.get("PolicySummary")
        arn = str(summary.get("Arn", "")) if isinstance(summary, Mapping) else ""
        match = re.fullmatch(r"arn:[a-z-]{1,32}:organizations::(\d{12}):policy/(o-[a-z0-9]{10,32})/.{1,200}", arn)
        if match:
            return match.group(2), match.group(1), []
    raise RawDataError("no root ARN (aws organizations list-roots) or policy ARN names the organisation")


def transform_organization(raw: RawOrganization, extra_roots: tuple[str, ...] = ()) -> AwsOrganization:
    """The organisation's guardrails. `extra_roots`: parents whose listings were imported without list-roots."""
    org_id, management, roots = root_identity(raw.roots, raw.policies)
    policies = []
    for pid, described in sorted(raw.policies.items()):
        try:
            policies.append(_policy(pid, described, raw.targets.get(pid, [])))
        except RawDataError as exc:
            raise exc.within(pid) from None
    for kind, ids in raw.listed.items():  # listed but not described: its content is unknown
        missing = sorted(ids - raw.policies.keys())
        if missing:
            raise RawDataError(f"{kind} {', '.join(missing[:5])} listed but not described (describe-policy)")
    enabled = tuple(enabled_types(raw.roots)) if raw.roots is not None else None
    return AwsOrganization(id=org_id, management_account=management, enabled_types=enabled,  # type: ignore[arg-type]
                           policies=tuple(policies), accounts=tuple(_tree(raw, [*roots, *extra_roots])))
