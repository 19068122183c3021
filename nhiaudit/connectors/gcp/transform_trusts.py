"""Who may act as each service account: impersonation trusts from bindings of act-as roles on the SA or
on an ancestor scope, and federated trusts for workload identity pool principals granted those roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nhiaudit.connectors.gcp.transform_bindings import Grant
from nhiaudit.connectors.gcp.transform_common import GcpDataError, normalise_member, sa_of_resource
from nhiaudit.connectors.gcp.transform_roles import RoleBook
from nhiaudit.inventory.model import Trust, TrustKind

IMPERSONATION_PERMISSIONS = frozenset({
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.actAs",
    "iam.serviceAccounts.signJwt",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.getOpenIdToken",
    "iam.serviceAccounts.implicitDelegation",
    "iam.serviceAccountKeys.create",
})
_WIF_PREFIXES = ("principal://iam.googleapis.com/", "principalSet://iam.googleapis.com/")


def _pool_key(path: str, project_ids: Mapping[str, str]) -> str | None:
    """`projects/NUM-or-ID/locations/L/workloadIdentityPools/POOL` with the project as its id, or None."""
    parts = path.split("/")
    if len(parts) < 6 or parts[0] != "projects" or parts[2] != "locations" or parts[4] != "workloadIdentityPools":
        return None
    project = project_ids.get(parts[1], parts[1])
    return "/".join(["projects", project, *parts[2:6]])


def wif_pool_of_member(member: str, project_ids: Mapping[str, str]) -> str | None:
    for prefix in _WIF_PREFIXES:
        if member.startswith(prefix):
            return _pool_key(member[len(prefix):], project_ids)
    return None


def _issuer(provider: Mapping[str, Any]) -> str:
    oidc = provider.get("oidc")
    if isinstance(oidc, Mapping) and oidc.get("issuerUri"):
        return str(oidc["issuerUri"])
    aws = provider.get("aws")
    if isinstance(aws, Mapping) and aws.get("accountId"):
        return f"aws:{aws['accountId']}"
    if provider.get("saml") is not None:
        return "saml"
    return "unknown"


class Providers:
    """Usable workload identity pool providers by pool."""

    def __init__(self, providers: Sequence[Mapping[str, Any]], project_ids: Mapping[str, str]) -> None:
        self.project_ids = project_ids
        self.by_pool: dict[str, list[Mapping[str, Any]]] = {}
        for index, provider in enumerate(providers):
            name = provider.get("name")
            if not isinstance(name, str):
                raise GcpDataError("a provider needs its name", ("wif_providers", index, "name"))
            if provider.get("disabled") or provider.get("state") == "DELETED":
                continue  # cannot exchange tokens
            pool = _pool_key(name, project_ids)
            if pool is not None:
                self.by_pool.setdefault(pool, []).append(provider)
        for items in self.by_pool.values():
            items.sort(key=lambda p: str(p["name"]))


def _federated(email: str, member: str, grant: Grant, providers: Providers, pool: str) -> list[Trust]:
    found = providers.by_pool.get(pool, [])
    reason_tail = f"{grant.role} on {grant.resource} to {member}"
    if not found:  # the pool's providers were not collected: keep who was granted, not guessed
        conditions: dict[str, Any] = {"gcp:member": member, **grant.conditions}
        return [Trust(identity_id=email, principal=member, kind=TrustKind.FEDERATED, conditions=conditions,
                      reason=f"workload identity pool {pool} (providers unknown): {reason_tail}")]
    trusts = []
    for provider in found:
        conditions = {"gcp:member": member, "gcp:provider": str(provider["name"]), **grant.conditions}
        if provider.get("attributeCondition"):
            conditions["gcp:attributeCondition"] = str(provider["attributeCondition"])
        mapping = provider.get("attributeMapping")
        if isinstance(mapping, Mapping) and mapping:
            conditions["gcp:attributeMapping"] = {str(k): str(v) for k, v in sorted(mapping.items())}
        trusts.append(Trust(identity_id=email, principal=_issuer(provider), kind=TrustKind.FEDERATED,
                            conditions=conditions,
                            reason=f"workload identity provider {provider['name']}: {reason_tail}"))
    return trusts


def _targets(grant: Grant, emails: Sequence[str], scopes: frozenset[str]) -> list[str]:
    """The service accounts a binding lets its members act as: the SA it is set on, or every SA of the
    project when it is set on the project or an ancestor."""
    own = sa_of_resource(grant.resource)
    if own is not None:
        return [own]
    return list(emails) if grant.resource in scopes else []


def impersonation_trusts(
    grants: Sequence[Grant],
    roles: RoleBook,
    emails: Sequence[str],
    scopes: frozenset[str],
    providers: Providers,
) -> list[Trust]:
    """`scopes`: the project and its ancestors in canonical form (`projects/P`, `folders/N`, ...)."""
    trusts: list[Trust] = []
    for grant in grants:
        if not roles.grants_any(grant.role, IMPERSONATION_PERMISSIONS):
            continue
        for email in _targets(grant, emails, scopes):
            for member in grant.members:
                if member.startswith("deleted:"):
                    continue  # a deleted principal cannot act
                pool = wif_pool_of_member(member, providers.project_ids)
                if pool is not None:
                    trusts.extend(_federated(email, member, grant, providers, pool))
                    continue
                principal = normalise_member(member)
                if principal == email:
                    continue  # acting as oneself adds no path
                trusts.append(Trust(identity_id=email, principal=principal, kind=TrustKind.IMPERSONATE,
                                    conditions=grant.conditions,
                                    reason=f"IAM policy of {grant.resource}: {grant.role}"))
    return trusts
