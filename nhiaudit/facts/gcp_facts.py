"""GCP-specific facts: broad roles, the default Compute Engine service account, members outside the
organisation's domains (and what bindings grant them), and what pins a workload identity federation trust
to a workload."""

from __future__ import annotations

import re
from typing import Any

from nhiaudit.facts.context import FactContext
from nhiaudit.facts.memo import memo
from nhiaudit.inventory.model import Identity, Policy, Provider, Trust, TrustKind
from nhiaudit.permissions.conditions import split_top
from nhiaudit.permissions.heuristics import GCP_PRIMITIVE_ADMIN_ROLES, is_gcp_admin_role
from nhiaudit.permissions.patterns import glob_match, is_broad_resource

_DEFAULT_COMPUTE_SA = re.compile(r"^\d+-compute@developer\.gserviceaccount\.com$")
# Token claims that name one workload: the repository (GitHub `repository`, GitLab `project_path`), the
# subject, the environment, the workflow. `repository_owner` alone admits every repository of the owner.
_PIN_CLAIMS = ("repository", "repository_id", "sub", "environment", "job_workflow_ref", "workflow_ref",
               "project_path", "project_id")
_PIN_IN_CONDITION = re.compile(
    r"(?:assertion|attribute)\.(" + "|".join(_PIN_CLAIMS) + r")\s*(?:==|\.startsWith\(|in\b)"
    r"|google\.subject\s*(?:==|\.startsWith\(|in\b)")
_PIN_IN_MEMBER = re.compile(r"/subject/[^/*]+|/attribute\.(" + "|".join(_PIN_CLAIMS) + r")/[^/*]+")
# Roles granting one of these let their members act as service accounts (the transform's list, which makes
# them trust records and so findings of those accounts).
_ACT_AS = ("iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.actAs", "iam.serviceAccounts.signJwt",
           "iam.serviceAccounts.signBlob", "iam.serviceAccounts.getOpenIdToken",
           "iam.serviceAccounts.implicitDelegation", "iam.serviceAccountKeys.create")
_PUBLIC = {"allUsers": "anyone on the internet", "allAuthenticatedUsers": "any Google account"}
_MEMBER_DOMAIN = re.compile(r"^(?:user|group|serviceAccount|deleted:user|deleted:group):[^@]+@(.+)$|^domain:(.+)$")


def is_default_compute_sa(identity: Identity) -> bool:
    return identity.provider is Provider.GCP and _DEFAULT_COMPUTE_SA.match(identity.id) is not None


def _policies(ctx: FactContext) -> dict[str, Policy]:
    return memo(ctx, "policies_by_id", lambda: {p.id: p for p in ctx.estate.snapshot.policies})


def broad_roles(ctx: FactContext, identity: Identity) -> tuple[dict[str, Any], ...]:
    """Owner / Editor and predefined `*.admin` roles bound to a GCP identity on a project, folder or
    organisation, in force at --as-of (an expired binding condition grants nothing)."""
    if identity.provider is not Provider.GCP:
        return ()
    policies = _policies(ctx)
    out = []
    for pid in identity.policy_ids:
        policy = policies.get(pid)
        if policy is None or not (policy.name in GCP_PRIMITIVE_ADMIN_ROLES or is_gcp_admin_role(policy.name)):
            continue
        for st in ctx.evaluator.statements(pid):
            scopes = [r for r in st.wide_resources if is_broad_resource(r)]
            if st.effect != "Allow" or not st.actions or not scopes:
                continue
            how = identity.policy_sources.get(pid, "")
            out.append({
                "role": policy.name, "resource": scopes[0], "primitive": policy.name in GCP_PRIMITIVE_ADMIN_ROLES,
                "conditional": bool(st.conditions),
                "reason": f"{policy.name} on {scopes[0]}" + (f" ({how})" if how else "") + (
                    f" when {'; '.join(st.conditions)}" if st.conditions else ""),
                "key": f"{policy.name}|{scopes[0]}",
            })
    return tuple(sorted(out, key=lambda e: e["key"]))


def broad_role_policy(ctx: FactContext, policy_id: str) -> bool:
    """Is the policy a GCP Owner / Editor / `*.admin` binding? (AI capability through it is not explicit.)"""
    policy = _policies(ctx).get(policy_id)
    return bool(policy and policy.provider is Provider.GCP and (
        policy.name in GCP_PRIMITIVE_ADMIN_ROLES or is_gcp_admin_role(policy.name)))


def member_domain(principal: str) -> str:
    """The domain of a GCP member (`user:a@acme.com`, `group:g@acme.com`, `domain:acme.com`), '' if none."""
    m = _MEMBER_DOMAIN.match(principal)
    if m is None:
        return ""
    return (m.group(1) or m.group(2) or "").lower().split("?", 1)[0]


def outside_domains(principal: str, domains: tuple[str, ...]) -> bool:
    """A user / group / domain member whose domain is none of the organisation's domains (nor below one).
    Service accounts are judged by project (`foreign`), not here; without known domains nothing is outside."""
    if not domains or principal.startswith("serviceAccount:"):
        return False
    domain = member_domain(principal)
    return bool(domain) and not any(domain == d or domain.endswith("." + d) for d in domains)


def federation_pin(trust: Trust) -> str:
    """What pins a GCP workload identity federation trust to one workload ('' when nothing does): the
    provider's attribute condition naming a repository / subject / environment, or a member that names
    one (`principal://.../subject/S`, `principalSet://.../attribute.repository/R`). AWS and SAML
    providers are pinned by their own account / identity provider."""
    if trust.kind is not TrustKind.FEDERATED or "gcp:provider" not in trust.conditions:
        return ""
    member = str(trust.conditions.get("gcp:member") or "")
    found = _PIN_IN_MEMBER.search(member)
    if found:
        return f"member {found.group(0).lstrip('/')}"
    if trust.principal.startswith("aws:") or trust.principal == "saml":
        return f"provider {trust.principal}"
    condition = str(trust.conditions.get("gcp:attributeCondition") or "").strip()
    alternatives = split_top(condition, "||") if condition else None
    if not alternatives or not all(_PIN_IN_CONDITION.search(a) for a in alternatives):
        return ""
    return "attribute condition " + condition[:200]


def _principal_type(principal: str) -> str:
    if principal in _PUBLIC:
        return "public"
    if principal.startswith(("principal://", "principalSet://")):
        return "federated"
    kind = principal.split(":", 1)[0]
    return kind if kind in ("user", "group", "domain") else "other"


def _granted(actions: tuple[str, ...], not_actions: tuple[str, ...], wanted: tuple[str, ...]) -> list[str]:
    """The `wanted` permissions a statement's action patterns grant (GCP roles list concrete names)."""
    return [w for w in wanted if any(glob_match(a, w) for a in actions)
            and not any(glob_match(n, w) for n in not_actions)]


def _grant(ctx: FactContext, principal: str, policy: Policy, ai: tuple[str, ...]) -> dict[str, Any] | None:
    """One binding naming the principal, None when it grants nothing at --as-of (an expired condition)."""
    stmts = [st for st in ctx.evaluator.statements(policy.id) if st.effect == "Allow" and st.actions]
    if not stmts:
        return None
    ai_actions = sorted({a for st in stmts for a in _granted(st.actions, st.not_actions, ai)})
    conditions = sorted({c for st in stmts for c in st.conditions})
    resource = stmts[0].wide_resources[0] if stmts[0].wide_resources else ""
    return {
        "role": policy.name, "resource": resource, "policy_id": policy.id, "ai_actions": ai_actions,
        "act_as": any(_granted(st.actions, st.not_actions, _ACT_AS) for st in stmts),
        "broad_role": broad_role_policy(ctx, policy.id), "conditional": bool(conditions),
        "reason": f"{policy.name} on {resource}" + (f" when {'; '.join(conditions)}" if conditions else ""),
        "key": f"{principal}|{policy.id}",
    }


def principal_facts(ctx: FactContext) -> list[dict[str, Any]]:
    """One subject per principal that GCP bindings name and the inventory does not hold (users, groups,
    domains, the public, federated principal sets), with every binding naming it that is in force."""
    by_principal: dict[str, list[Policy]] = {}
    for policy in ctx.estate.snapshot.policies:
        if policy.provider is Provider.GCP:
            for principal in policy.principals:
                by_principal.setdefault(principal, []).append(policy)
    ai = tuple(ctx.ai_capability.get(Provider.GCP.value, {}).get("actions", []))
    out = []
    for principal in sorted(by_principal):
        policies = sorted({p.id: p for p in by_principal[principal]}.values(), key=lambda p: p.id)
        grants = [g for p in policies if (g := _grant(ctx, principal, p, ai)) is not None]
        outside = outside_domains(principal, ctx.gcp_domains)
        out.append({
            "principal": principal, "provider": Provider.GCP.value, "type": _principal_type(principal),
            "domain": member_domain(principal), "public": principal in _PUBLIC, "outside_domains": outside,
            "audience": _PUBLIC.get(principal, "outside the organisation's domains" if outside else ""),
            "grants": grants,
        })
    return out
