"""IAM deny policies (iam v2) -> Deny statements attached to the service accounts their rules name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nhiaudit.connectors.gcp.raw import RawPolicy
from nhiaudit.connectors.gcp.transform_common import GcpDataError
from nhiaudit.inventory.model import Policy, Provider, Statement
from nhiaudit.permissions.gcp_names import canonical_resource

PUBLIC_ALL = "principalSet://goog/public:all"
_SA_PRINCIPAL = "principal://iam.googleapis.com/projects/-/serviceAccounts/"


def deny_permission(name: str) -> str:
    """Deny policies name permissions `SERVICE.googleapis.com/RESOURCE.VERB`; allow roles `SERVICE.RESOURCE.VERB`."""
    host, slash, rest = name.partition("/")
    if slash and host.endswith(".googleapis.com"):
        return f"{host.split('.', 1)[0]}.{rest}"
    return name


def _project_sets(scopes: frozenset[str], project_number: str | None) -> set[str]:
    """principalSet values meaning "every service account of this project (or of an ancestor)"."""
    names = set(scopes) | ({f"projects/{project_number}"} if project_number else set())
    return {f"principalSet://cloudresourcemanager.googleapis.com/{n}/type/ServiceAccount" for n in names}


def _names(principals: Sequence[str], emails: frozenset[str], everyone: set[str]) -> set[str]:
    out: set[str] = set()
    for principal in principals:
        if principal == PUBLIC_ALL or principal in everyone:
            out.update(emails)
        elif principal.startswith(_SA_PRINCIPAL):
            out.add(principal[len(_SA_PRINCIPAL):])
    return out & emails


def deny_policies(
    raw: Sequence[RawPolicy], emails: Sequence[str], scopes: frozenset[str], project_number: str | None
) -> tuple[list[Policy], dict[str, dict[str, str]]]:
    """One policy per deny rule (rules name different principals); returns policies and
    SA e-mail -> {policy id: "deny policy on RESOURCE"}."""
    everyone = _project_sets(scopes, project_number)
    known = frozenset(emails)  # built once, not per rule
    policies: list[Policy] = []
    attached: dict[str, dict[str, str]] = {}
    for p_index, item in enumerate(raw):
        resource = canonical_resource(item.resource)
        name = str(item.policy.get("name") or f"{resource}/denypolicies/{p_index}")
        rules = item.policy.get("rules") or []
        if not isinstance(rules, list):
            raise GcpDataError("expected a list of rules", ("deny_policies", p_index, "rules"))
        for r_index, entry in enumerate(rules):
            rule = entry.get("denyRule") if isinstance(entry, Mapping) else None
            if not isinstance(rule, Mapping):
                continue  # only deny rules exist today; anything else grants or denies nothing here
            try:
                policy, targets = _rule_policy(name, r_index, rule, resource, known, everyone)
            except (TypeError, AttributeError):
                raise GcpDataError("malformed deny rule", ("deny_policies", p_index, "rules", r_index)) from None
            policies.append(policy)
            for email in sorted(targets):
                attached.setdefault(email, {})[policy.id] = f"deny policy on {resource}"
    return policies, attached


def _rule_policy(
    name: str, index: int, rule: Mapping[str, Any], resource: str, emails: frozenset[str], everyone: set[str]
) -> tuple[Policy, set[str]]:
    conditions: dict[str, Any] = {}
    if rule.get("exceptionPermissions"):
        conditions["gcp:exceptionPermissions"] = sorted(deny_permission(p) for p in rule["exceptionPermissions"])
    if rule.get("denialCondition"):
        cond = rule["denialCondition"]
        conditions["gcp:denialCondition"] = {k: str(cond[k]) for k in ("expression", "title") if cond.get(k)}
    statement = Statement(
        effect="Deny",
        actions=tuple(sorted({deny_permission(str(p)) for p in rule.get("deniedPermissions") or []})),
        resources=(resource,),
        conditions=conditions,
    )
    targets = _names(list(rule.get("deniedPrincipals") or []), emails, everyone)
    targets -= _names(list(rule.get("exceptionPrincipals") or []), emails, set())
    policy = Policy(id=f"deny:{name}#{index}", provider=Provider.GCP, name=f"{name} rule {index}",
                    kind="customer", statements=(statement,))
    return policy, targets
