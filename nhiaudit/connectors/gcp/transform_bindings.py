"""IAM allow policies (project, ancestors, service accounts, resources) -> one binding policy per
(resource, role, condition), attached to the project's service accounts it names; unknown roles -> issues."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.connectors.gcp.raw import RawPolicy
from nhiaudit.connectors.gcp.transform_common import (
    GcpDataError,
    binding_resource,
    condition_of,
    condition_suffix,
)
from nhiaudit.connectors.gcp.transform_roles import RoleBook
from nhiaudit.inventory.model import CollectionIssue, Policy, PolicyAttachment, Provider, Statement


@dataclass
class Grant:
    """Every binding of one role, with one condition, on one resource (members merged and sorted)."""

    policy_id: str
    resource: str  # canonical
    role: str
    condition: dict[str, str] | None
    members: list[str] = field(default_factory=list)

    @property
    def conditions(self) -> dict[str, Any]:
        return {"gcp:condition": dict(self.condition)} if self.condition else {}


def policy_id(resource: str, role: str, condition: Mapping[str, str] | None) -> str:
    return f"binding:{resource}:{role}{condition_suffix(condition)}"


def collect_grants(
    policies: Sequence[RawPolicy], sa_index: Mapping[str, str], project_id: str, project_number: str | None = None
) -> list[Grant]:
    """The grants of every policy, merged by policy id (the same binding read twice, e.g. an ancestor's
    policy in several projects' data or a resource seen by Cloud Asset and directly, counts once)."""
    grants: dict[str, Grant] = {}
    for p_index, raw in enumerate(policies):
        resource = binding_resource(raw.resource, sa_index, project_id, project_number)
        bindings = raw.policy.get("bindings") or []
        if not isinstance(bindings, list):
            raise GcpDataError("expected a list of bindings", ("policies", p_index, "bindings"))
        for b_index, binding in enumerate(bindings):
            where = ("policies", p_index, "bindings", b_index)
            if not isinstance(binding, Mapping) or not isinstance(binding.get("role"), str):
                raise GcpDataError("a binding needs a role", where)
            members = binding.get("members") or []
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise GcpDataError("expected a list of member strings", (*where, "members"))
            role = binding["role"]
            condition = condition_of(binding)
            pid = policy_id(resource, role, condition)
            grant = grants.setdefault(pid, Grant(pid, resource, role, condition))
            grant.members.extend(members)
    for grant in grants.values():
        grant.members[:] = sorted(set(grant.members))  # a set: a binding may list many members
    return [grants[k] for k in sorted(grants)]


def binding_policies(
    grants: Sequence[Grant], roles: RoleBook, project_id: str
) -> tuple[list[Policy], list[CollectionIssue]]:
    policies: list[Policy] = []
    unknown: set[str] = set()
    for grant in grants:
        role = roles.get(grant.role)
        if role is None and grant.role not in roles.deleted:
            unknown.add(grant.role)
        statement = Statement(
            effect="Allow",
            actions=role.permissions if role else (),
            not_actions=role.excluded if role else (),
            resources=(grant.resource,),
            conditions=grant.conditions,
        )
        policies.append(Policy(id=grant.policy_id, provider=Provider.GCP, name=grant.role, kind="role",
                               statements=(statement,), principals=tuple(m for m in grant.members if not m.startswith(
                                   ("serviceAccount:", "deleted:")))))
    issues = [
        CollectionIssue(
            provider=Provider.GCP,
            account=project_id,
            operation=f"iam.roles.get {name}",
            message=f"role {name} is bound but its definition was not collected or imported",
            missing=f"the permissions that bindings of {name} grant (import `gcloud iam roles describe "
                    f"{name} --format=json`)",
        )
        for name in sorted(unknown)
    ]
    return policies, issues


def member_attachments(grants: Sequence[Grant], emails: set[str]) -> dict[str, dict[str, str]]:
    """SA e-mail -> {policy id: "binding on RESOURCE"} for members `serviceAccount:E` of the project."""
    out: dict[str, dict[str, str]] = {}
    for grant in grants:
        for member in grant.members:
            if member.startswith("serviceAccount:"):
                email = member[len("serviceAccount:"):]
                if email in emails:
                    out.setdefault(email, {})[grant.policy_id] = f"binding on {grant.resource}"
    return out


def foreign_attachments(grants: Sequence[Grant], emails: set[str]) -> list[PolicyAttachment]:
    """Bindings naming service accounts that are not the project's (an SA of another project bound here):
    recorded for merge_snapshots, which attaches them to that SA in its own project's snapshot."""
    out: dict[tuple[str, str], PolicyAttachment] = {}
    for grant in grants:
        for member in grant.members:
            if member.startswith("serviceAccount:"):
                email = member[len("serviceAccount:"):]
                if email not in emails:
                    out.setdefault((email, grant.policy_id), PolicyAttachment(
                        identity_id=email, policy_id=grant.policy_id, source=f"binding on {grant.resource}"))
    return [out[k] for k in sorted(out)]
