"""Owner trusts (owners of an application or service principal can add credentials to it: they may act as
it) and federated trusts (federated identity credentials). Pure functions over raw Graph JSON (raw.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiaudit.connectors.azure.transform_common import AzureDataError, required, strings_of, text
from nhiaudit.inventory.model import Trust, TrustKind


def owner_trusts(sp_id: str, owners: list[Mapping[str, Any]], what: str) -> list[Trust]:
    """`what`: "application NAME" or "service principal NAME", for the reason."""
    out = []
    for index, owner in enumerate(owners):
        try:
            principal = required(owner, "id")
            kind = (text(owner, "@odata.type") or "").rsplit(".", 1)[-1]
        except AzureDataError as exc:
            raise exc.within(index) from None
        conditions = {"owner_type": kind} if kind else {}
        out.append(Trust(identity_id=sp_id, principal=principal, kind=TrustKind.OWNER, conditions=conditions,
                         reason=f"owner of {what}"))
    return out


def federated_trusts(sp_id: str, credentials: list[Mapping[str, Any]], app_name: str,
                     owner: str = "application") -> list[Trust]:
    """`owner`: "application" (Graph) or "managed identity" (ARM, whose fields may sit under `properties`)."""
    out = []
    for index, raw in enumerate(credentials):
        try:
            fic = _flat(raw)
            issuer = required(fic, "issuer")
            conditions: dict[str, Any] = {"audiences": strings_of(fic, "audiences")}
            subject = text(fic, "subject")
            if subject is not None:
                conditions["subject"] = subject
            expression = fic.get("claimsMatchingExpression")
            if expression is not None:
                if not isinstance(expression, Mapping):
                    raise AzureDataError("expected an object", ("claimsMatchingExpression",))
                conditions["claimsMatchingExpression"] = dict(expression)
            name = text(fic, "name") or text(fic, "id") or str(index)
        except AzureDataError as exc:
            raise exc.within(index) from None
        out.append(Trust(identity_id=sp_id, principal=issuer, kind=TrustKind.FEDERATED,
                         conditions=dict(sorted(conditions.items())),
                         reason=f"federated credential {name} of {owner} {app_name}"))
    return out


def _flat(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """ARM nests a resource's fields under `properties` (az prints them flattened); Graph never does."""
    if not isinstance(item, Mapping):
        raise AzureDataError("expected an object", ())
    props = item.get("properties")
    return {**props, **{k: v for k, v in item.items() if k != "properties"}} if isinstance(props, Mapping) else item
