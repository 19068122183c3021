"""Import of the organisation's guardrails from `aws organizations` outputs, into the same RawOrganization
live collection fills (org_guardrails.py).

Outputs that name what they are about are detected by shape: list-roots, list-policies, describe-policy.
Those that do not are given with `--import TARGET=FILE`: list-targets-for-policy with the policy id
(`p-...=targets.json`), list-organizational-units-for-parent and list-accounts-for-parent with the parent id
(`r-...=` or `ou-...=`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiaudit.connectors.aws.org_guardrails import (
    OU_ID,
    POLICY_ID,
    ROOT_ID,
    RawOrganization,
    transform_organization,
)
from nhiaudit.connectors.aws.raw import RawDataError
from nhiaudit.connectors.interface import ExportFile, location_in
from nhiaudit.errors import InputError, InputProblem
from nhiaudit.inventory.snapshot import Snapshot

ROOTS = "aws-organization-roots"
POLICIES = "aws-organization-policies"
POLICY = "aws-organization-policy"
TARGETS = "aws-organization-policy-targets"
OUS = "aws-organization-units-for-parent"
CHILD_ACCOUNTS = "aws-organization-accounts-for-parent"

FORMATS = {
    ROOTS: "aws organizations list-roots > file.json (the organisation, its management account, SCP/RCP types on)",
    POLICIES: "aws organizations list-policies --filter SERVICE_CONTROL_POLICY|RESOURCE_CONTROL_POLICY",
    POLICY: "aws organizations describe-policy --policy-id ID > file.json (one file per SCP or RCP)",
    TARGETS: "aws organizations list-targets-for-policy --policy-id ID, given as --import ID=FILE",
    OUS: "aws organizations list-organizational-units-for-parent --parent-id ID, given as --import ID=FILE",
    CHILD_ACCOUNTS: "aws organizations list-accounts-for-parent --parent-id ID, given as --import ID=FILE",
}
KINDS = frozenset(FORMATS)


def check_target(target: str) -> str | None:
    """None when `target` is an AWS Organizations TARGET: a policy, root or OU id."""
    if POLICY_ID.fullmatch(target) or ROOT_ID.fullmatch(target) or OU_ID.fullmatch(target):
        return None
    return f"{target!r} is not a policy (p-...), root (r-...) or OU (ou-...) id"


def _parent(file: ExportFile) -> bool:
    return file.target is not None and bool(ROOT_ID.fullmatch(file.target) or OU_ID.fullmatch(file.target))


def detect(file: ExportFile) -> str | None:
    data = file.data
    if not file.is_json or not isinstance(data, Mapping):
        return None
    if isinstance(data.get("Roots"), list):
        return ROOTS
    if isinstance(data.get("Policy"), Mapping) and "PolicySummary" in data["Policy"]:
        return POLICY
    policies = data.get("Policies")
    if isinstance(policies, list) and all(isinstance(p, Mapping) and "Type" in p and "Id" in p for p in policies) \
            and policies:
        return POLICIES
    if isinstance(data.get("Targets"), list):
        return TARGETS
    if isinstance(data.get("OrganizationalUnits"), list):
        return OUS
    if isinstance(data.get("Accounts"), list) and _parent(file):
        return CHILD_ACCOUNTS
    return None


def _problem(file: ExportFile, message: str, path: tuple[str | int, ...] = ()) -> InputError:
    return InputError([InputProblem(location_in(file, path), message)])


def _list(file: ExportFile, key: str) -> list[Any]:
    items = file.data[key]
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _problem(file, f"not a valid export: {key}[{i}] is not an object", (key, i))
    return list(items)


def build(files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
    """One snapshot holding the organisation (at most one organisation per import)."""
    if not files:
        return []
    raw = RawOrganization()
    where: dict[str, ExportFile] = {}  # policy id -> its describe-policy file (for errors)
    for kind, file in files:
        if kind in (TARGETS, OUS, CHILD_ACCOUNTS) and file.target is None:
            raise _problem(file, f"{FORMATS[kind]}: this output does not say what it lists; give it as TARGET=FILE")
        if kind == TARGETS and not POLICY_ID.fullmatch(str(file.target)):
            raise _problem(file, f"TARGET {file.target!r} of a list-targets-for-policy output must be its policy id "
                           "(p-...)")
        if kind == OUS and not _parent(file):
            raise _problem(file, f"TARGET {file.target!r} of an OU listing must be a root (r-...) or OU (ou-...) id")
        if kind == ROOTS:
            raw.roots = [*(raw.roots or []), *_list(file, "Roots")]
        elif kind == POLICY:
            policy = file.data["Policy"]
            summary = policy.get("PolicySummary")
            pid = str(summary.get("Id", "")) if isinstance(summary, Mapping) else ""
            if not POLICY_ID.fullmatch(pid):
                raise _problem(file, "describe-policy output without a policy id", ("Policy", "PolicySummary"))
            raw.policies[pid], where[pid] = policy, file
        elif kind == POLICIES:
            for item in _list(file, "Policies"):
                raw.listed.setdefault(str(item.get("Type")), set()).add(str(item.get("Id")))
        elif kind == TARGETS:
            raw.targets.setdefault(str(file.target), []).extend(_list(file, "Targets"))
        elif kind == OUS:
            raw.ous.setdefault(str(file.target), []).extend(_list(file, "OrganizationalUnits"))
        else:
            raw.accounts.setdefault(str(file.target), []).extend(_list(file, "Accounts"))
    raw.listed = {k: v for k, v in raw.listed.items() if k in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")}
    roots = tuple(sorted(p for p in {*raw.ous, *raw.accounts} if ROOT_ID.fullmatch(p))) if raw.roots is None else ()
    try:
        record = transform_organization(raw, roots)
    except (RawDataError, TypeError, AttributeError, KeyError) as exc:  # all the files' fault
        exc = exc if isinstance(exc, RawDataError) else RawDataError(f"unexpected shape ({exc})")
        pid = str(exc.path[0]) if exc.path and isinstance(exc.path[0], str) else ""
        file = where.get(pid) or files[0][1]
        path = tuple(exc.path[1:]) if pid in where else ()
        raise _problem(file, f"not a valid AWS Organizations export: {exc.message}", path) from None
    return [Snapshot(aws_organizations=[record])]

