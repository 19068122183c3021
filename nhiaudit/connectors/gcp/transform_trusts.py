"""Who may act as each service account: impersonation trusts from bindings of act-as roles on the SA or
on an ancestor scope, and federated trusts for workload identity pool principals granted those roles."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any

from nhiaudit.connectors.gcp.transform_bindings import Grant
from nhiaudit.connectors.gcp.transform_common import GcpDataError, normalise_member, sa_of_resource
from nhiaudit.connectors.gcp.transform_roles import RoleBook
from nhiaudit.inventory.model import Trust, TrustKind
from nhiaudit.permissions.conditions import evaluate_condition

IMPERSONATION_PERMISSIONS = frozenset({
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.actAs",
    "iam.serviceAccounts.signJwt",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.getOpenIdToken",
    "iam.serviceAccounts.implicitDelegation",
    "iam.serviceAccountKeys.create",
})
_IAM_HOST = "//iam.googleapis.com/"
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


class SaTargets:
    """The project's service accounts that a binding lets its members act as.

    A binding on the SA itself targets that SA; one on the project or an ancestor targets every SA of the
    project, unless its condition (evaluated without a clock: time clauses are left to analysis) confines it
    to resource names or services that exclude service accounts, e.g. `resource.name.startsWith(
    "projects/_/buckets/b")`. Narrowing by an SA name prefix uses bisection over sorted names, so the cost of
    a grant is its selected SAs, not a pass over all of them. `visited` counts the SAs handed out (tests)."""

    def __init__(self, emails: Sequence[str], unique_ids: Mapping[str, str], scopes: frozenset[str],
                 project_id: str, project_number: str | None) -> None:
        self.emails = sorted(emails)
        self._ids = sorted(unique_ids.items())
        self._id_keys = [k for k, _ in self._ids]
        self.scopes = scopes
        self._bases = tuple(f"projects/{p}/serviceAccounts/" for p in dict.fromkeys(
            [project_id, "-", *([project_number] if project_number else [])]))
        self.visited = 0

    def __call__(self, grant: Grant) -> list[str]:
        own = sa_of_resource(grant.resource)
        if own is None and grant.resource not in self.scopes:
            return []
        chosen = self._allowed(grant)
        if own is not None:
            found = [own] if chosen is None or own in chosen else []
        else:
            found = self.emails if chosen is None else sorted(chosen)
        self.visited += len(found)
        return found

    def _allowed(self, grant: Grant) -> set[str] | None:
        """The SAs the condition allows (None: all of them)."""
        if not grant.condition:
            return None
        verdict = evaluate_condition(grant.condition.get("expression", ""), None)
        if verdict.services is not None and "iam." not in verdict.services:
            return set()
        if verdict.resources is None:
            return None
        out: set[str] = set()
        for pattern in verdict.resources:
            literal, star, _ = pattern.partition("*")
            literal = literal.removeprefix(_IAM_HOST)
            for base in self._bases:
                if literal.startswith(base):
                    rest = literal[len(base):]
                    if "/" not in rest:
                        out.update(self._prefixed(rest) if star else self._prefixed(rest, exact=True))
                elif star and base.startswith(literal):
                    return None  # a prefix above the SAs (`projects/P/`): every SA
        return out

    def _prefixed(self, rest: str, exact: bool = False) -> list[str]:
        """SAs whose e-mail or unique id starts with (or, exact, equals) `rest`."""
        out = []
        for keys, values in ((self.emails, self.emails), (self._id_keys, [e for _, e in self._ids])):
            i = bisect_left(keys, rest)
            while i < len(keys) and keys[i].startswith(rest):
                if not exact or keys[i] == rest:
                    out.append(values[i])
                i += 1
        return out


def impersonation_trusts(
    grants: Sequence[Grant],
    roles: RoleBook,
    targets: SaTargets,
    providers: Providers,
) -> list[Trust]:
    """One trust per (target SA, member) of every binding whose role lets its members act as an SA."""
    trusts: list[Trust] = []
    for grant in grants:
        if not roles.grants_any(grant.role, IMPERSONATION_PERMISSIONS):
            continue
        chosen = targets(grant)
        if not chosen:
            continue
        reason = f"IAM policy of {grant.resource}: {grant.role}"
        conditions = grant.conditions
        members = []  # per member once, not per target: (member, pool or None, principal)
        for member in grant.members:
            if member.startswith("deleted:"):
                continue  # a deleted principal cannot act
            members.append((member, wif_pool_of_member(member, providers.project_ids), normalise_member(member)))
        for email in chosen:
            for member, pool, principal in members:
                if pool is not None:
                    trusts.extend(_federated(email, member, grant, providers, pool))
                elif principal != email:  # acting as oneself adds no path
                    trusts.append(Trust(identity_id=email, principal=principal, kind=TrustKind.IMPERSONATE,
                                        conditions=conditions, reason=reason))
    return trusts
