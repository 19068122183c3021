"""Entra ID facts: what pins a federated identity credential to one workload, and Microsoft Graph permissions
(application permissions and delegated grants) judged against rules/data/azure_graph.yaml."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from typing import Any

import yaml

from nhiaudit.errors import InputError
from nhiaudit.facts.context import FactContext
from nhiaudit.facts.memo import memo
from nhiaudit.inventory.model import DelegatedGrant, Identity, Provider, Trust, TrustKind
from nhiaudit.limits import MAX_RULE_BYTES, read_text_limited

_GITHUB = "token.actions.githubusercontent.com"
# A GitHub subject pinned to one repository and to an environment or a ref (branch / tag). `pull_request`
# (any pull request of the repository, from forks too) and a bare `repo:o/r` are not.
_GITHUB_PINNED = re.compile(r"^repo:[^/:*?]+/[^/:*?]+:(environment|ref):[^*?]")
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def entra_federation_pin(trust: Trust) -> str:
    """What pins an Entra federated identity credential ('' when nothing does). Entra matches `subject`
    exactly (a `*` in it is literal and can never match a real token: pinned), while a flexible credential's
    `claimsMatchingExpression` (`claims['sub'] matches 'repo:acme/*'`) is a pattern."""
    if trust.kind is not TrustKind.FEDERATED:
        return ""
    github = _GITHUB in trust.principal
    expression = trust.conditions.get("claimsMatchingExpression")
    if expression:
        text = str(expression.get("value", "")) if isinstance(expression, dict) else str(expression)
        patterns = [a or b for a, b in _QUOTED.findall(text)]
        if patterns and all(_pattern_pinned(p, github) for p in patterns):
            return "claims matching " + text[:200]
        return ""
    subject = str(trust.conditions.get("subject") or "")
    if not subject:
        return ""
    if "*" in subject or "?" in subject:
        return f"subject {subject[:200]} (matched literally: no token carries it)"
    if github and not _GITHUB_PINNED.match(subject):
        return ""
    return f"subject {subject[:200]}"


def _pattern_pinned(pattern: str, github: bool) -> bool:
    if github:
        return _GITHUB_PINNED.match(pattern) is not None
    return bool(pattern) and pattern[0] not in "*?"


# --- Azure RBAC -------------------------------------------------------------------------------------------------

# Built-in roles that administer everything at their scope (Owner, User Access Administrator: grant access;
# Contributor: change every resource, read every key and secret the resources expose).
BROAD_ROLES = ("Owner", "Contributor", "User Access Administrator")
_WIDE_SCOPE = re.compile(r"^/(subscriptions/[^/]+|providers/microsoft\.management/managementgroups/[^/]+)?/?$",
                         re.IGNORECASE)


def azure_broad_roles(ctx: FactContext, identity: Identity) -> tuple[dict[str, Any], ...]:
    """Owner / Contributor / User Access Administrator assignments at subscription, management-group or root
    scope (one policy per assignment: the role name is the policy name, the scope the statement resource)."""
    if identity.provider is not Provider.AZURE:
        return ()
    by_id = memo(ctx, "azure_policies", lambda: {p.id: p for p in ctx.estate.snapshot.policies
                                                 if p.provider is Provider.AZURE})
    wanted = {r.lower(): r for r in BROAD_ROLES}
    out = []
    for pid in identity.policy_ids:
        policy = by_id.get(pid)
        if policy is None or policy.name.lower() not in wanted:
            continue
        scopes = sorted({r for st in policy.statements if st.effect == "Allow" for r in st.resources
                         if _WIDE_SCOPE.match(r)})
        for scope in scopes:
            out.append({"role": wanted[policy.name.lower()], "scope": scope, "policy_id": pid,
                        "management_group": "/managementgroups/" in scope.lower(),
                        "key": f"{pid}|{scope}"})
    return tuple(out)


# --- Microsoft Graph permissions ------------------------------------------------------------------------------

def graph_permissions(ctx: FactContext, identity: Identity) -> tuple[dict[str, Any], ...]:
    """One entry per Graph permission the identity holds: application permissions (app role assignments)
    and delegated scopes, with what rules/data/azure_graph.yaml says about it."""
    if identity.provider is not Provider.AZURE:
        return ()
    grants = memo(ctx, "azure_grants", lambda: _grants_by_identity(ctx))
    if identity.id not in grants:
        return ()
    data = graph_catalogue(ctx)
    foreign = identity.attributes.get("publisher", "") == "foreign"
    out = []
    for grant in grants[identity.id]:
        application = (grant.consent_type or "").lower() == "application"
        tenant_wide = application or (grant.consent_type or "") == "AllPrincipals"
        for scope in sorted(set(grant.scopes)):
            key = scope.lower()
            out.append({
                "resource": grant.resource, "permission": scope, "grant_id": grant.id,
                "consent_type": grant.consent_type or "", "application": application, "tenant_wide": tenant_wide,
                "high_impact": key in data["high_impact"],
                "escalation": data["escalation"].get(key, {}).get("id", ""),
                "foreign_app": foreign,
                "key": f"{grant.id}/{scope}",
            })
    return tuple(out)


def _grants_by_identity(ctx: FactContext) -> dict[str, list[DelegatedGrant]]:
    out: dict[str, list[DelegatedGrant]] = defaultdict(list)
    for grant in ctx.estate.snapshot.delegated_grants:
        if grant.provider is Provider.AZURE and grant.resource.lower() in _GRAPH_NAMES:
            out[grant.identity_id].append(grant)
    return out


_GRAPH_NAMES = frozenset({"microsoft graph", "00000003-0000-0000-c000-000000000000"})


def graph_catalogue(ctx: FactContext) -> dict[str, Any]:
    """high_impact: lower-case permission names; escalation: lower-case name -> technique."""
    return memo(ctx, "azure_graph_catalogue", load_graph_catalogue)


@functools.lru_cache(maxsize=1)
def load_graph_catalogue() -> dict[str, Any]:
    from nhiaudit.rules_engine.loader import shipped_rules_dir

    path = shipped_rules_dir() / "data" / "azure_graph.yaml"
    raw = yaml.safe_load(read_text_limited(path, MAX_RULE_BYTES, "Graph permission data")) or {}
    try:
        high = frozenset(str(p).lower() for p in raw.get("high_impact") or [])
        escalation = {str(e["permission"]).lower(): {"id": str(e["id"]), "title": str(e["title"]),
                                                     "permission": str(e["permission"]), "how": str(e.get("how", ""))}
                      for e in raw.get("escalation") or []}
    except (AttributeError, KeyError, TypeError) as exc:
        raise InputError.single(path, f"invalid Graph permission data: {exc}") from exc
    return {"high_impact": high, "escalation": escalation}


def graph_escalations(ctx: FactContext, skip: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Identity id -> escalation items (the shape of facts/escalation.escalation_item) for the Graph
    application permissions it holds that escalate; identities in `skip` (admins) and disabled ones left out."""
    catalogue = graph_catalogue(ctx)["escalation"]
    grants = memo(ctx, "azure_grants", lambda: _grants_by_identity(ctx))
    out: dict[str, list[dict[str, Any]]] = {}
    for iid, held in sorted(grants.items()):
        ident = ctx.estate.identities.get(iid)
        if ident is None or ident.disabled or iid in skip:
            continue
        seen: dict[str, dict[str, Any]] = {}
        for grant in held:
            if (grant.consent_type or "").lower() != "application":
                continue  # a delegated scope acts as the signed-in user, whose own rights bound it
            for scope in grant.scopes:
                tech = catalogue.get(scope.lower())
                if tech and tech["id"] not in seen:
                    seen[tech["id"]] = {
                        "technique": tech["id"], "title": tech["title"], "actions": (tech["permission"],),
                        "how": tech["how"], "statements": (f"{grant.resource} application permission "
                                                           f"{scope} ({grant.id})",),
                        "conditional": False, "target_type": "self", "targets": (), "target_count": 0,
                        "admin_targets": 0, "to_admin": True, "key": tech["id"]}
        if seen:
            out[iid] = [seen[k] for k in sorted(seen)]
    return out
