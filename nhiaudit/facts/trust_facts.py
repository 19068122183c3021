"""Who may act as an identity, as facts: one entry per trust record (AWS trust policy principal, GCP
impersonation binding, Entra owner or federated credential), with its conditions flattened."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from nhiaudit.facts.azure_facts import entra_federation_pin
from nhiaudit.facts.context import FactContext
from nhiaudit.facts.gcp_facts import federation_pin, outside_domains
from nhiaudit.facts.memo import memo
from nhiaudit.graph.trust import trust_in_force
from nhiaudit.graph.trust_conditions import pinned_keys
from nhiaudit.inventory.model import Identity, Provider, Trust, TrustKind
from nhiaudit.permissions.aws_conditions import parse_block
from nhiaudit.work_counter import count

_ACCOUNT_IN_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:(\d{12}):")
_BARE_ACCOUNT = re.compile(r"^\d{12}$")
_GCP_SA = re.compile(r"@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$")
# Principals that stand for anybody (AWS "*", GCP public members).
ANY_PRINCIPALS = frozenset({"*", "allUsers", "allAuthenticatedUsers"})


def principal_account(principal: str) -> str:
    """The account / project a principal belongs to: an AWS ARN's account, a GCP service account's
    project; '' when it names none ('*', service principals, OIDC issuers, ...)."""
    match = _ACCOUNT_IN_ARN.match(principal)
    if match:
        return match.group(1)
    if _BARE_ACCOUNT.match(principal):
        return principal
    gcp = _GCP_SA.search(principal)
    return gcp.group(1) if gcp else ""


def flatten_conditions(conditions: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """{"StringEquals": {"sts:ExternalId": "x"}} -> [{operator, key (lower case), values}]."""
    out = []
    for operator, block in conditions.items():
        if isinstance(block, dict):
            for key, value in block.items():
                values = value if isinstance(value, list | tuple) else [value]
                out.append({"operator": str(operator), "key": str(key).lower(),
                            "values": tuple(str(v) for v in values)})
        else:  # provider-neutral shapes: {"subject": "repo:acme/app:ref:refs/heads/main"}
            values = block if isinstance(block, list | tuple) else [block]
            out.append({"operator": "", "key": str(operator).lower(), "values": tuple(str(v) for v in values)})
    return tuple(out)


class _TrustIndex:
    def __init__(self, ctx: FactContext) -> None:
        snapshot = ctx.estate.snapshot
        self.by_identity: dict[str, list[Trust]] = defaultdict(list)
        for trust in snapshot.trusts:
            if trust_in_force(trust, ctx.evaluator.now):  # an expired GCP binding lets nobody act as it
                self.by_identity[trust.identity_id].append(trust)
        self.domains = ctx.gcp_domains
        self.known_accounts = {i.account for i in snapshot.identities} | {s.account for s in snapshot.sources}
        self.identities = ctx.estate.identities


def _index(ctx: FactContext) -> _TrustIndex:
    return memo(ctx, "trust_index", lambda: _TrustIndex(ctx))


def trust_facts(ctx: FactContext, identity: Identity) -> tuple[dict[str, Any], ...]:
    index = _index(ctx)
    trusts = index.by_identity.get(identity.id)
    if not trusts:
        return ()
    count("trust_facts.per_identity", len(trusts))
    out = []
    for trust in trusts:
        account = principal_account(trust.principal)
        known = trust.principal in index.identities
        cross = bool(account) and account != identity.account
        entra = identity.provider is Provider.AZURE and trust.kind is TrustKind.FEDERATED
        external = (trust.principal in ANY_PRINCIPALS or trust.kind is TrustKind.FEDERATED or cross
                    or (trust.kind in (TrustKind.IMPERSONATE, TrustKind.OWNER) and not known))
        out.append({
            "principal": trust.principal, "kind": trust.kind.value, "reason": trust.reason,
            "conditions": flatten_conditions(trust.conditions),
            # Keys a clause requires with a listed value (StringEquals sts:ExternalId, ...); a Null, negated,
            # IfExists or bare-wildcard clause pins nothing.
            "pins": pinned_keys(parse_block(trust.conditions))
            if trust.conditions and identity.provider is Provider.AWS else (),
            "principal_account": account,
            "cross_account": cross,
            "foreign": bool(account) and account not in index.known_accounts,
            "principal_known": known,
            "external": external,
            "outside_domains": outside_domains(trust.principal, index.domains),
            "federation_pin": entra_federation_pin(trust) if entra else federation_pin(trust),
            "entra_federated": entra,
            "key": f"{trust.kind.value}|{trust.principal}|{trust.reason}",  # stable finding identity
        })
    return tuple(out)
