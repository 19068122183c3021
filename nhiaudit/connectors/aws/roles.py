"""Role session lifetime: each role's MaxSessionDuration, which GetAccountAuthorizationDetails does not carry.

Live: ListRoles pages (one paginated call per account, never one call per role). Import: `aws iam list-roles`
output beside the authorization details. Both give the same map, applied to the roles by `assemble`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.raw import RawDataError
from nhiaudit.inventory.model import Identity, IdentityKind

# Identity.attributes key (attributes are strings): the role's MaxSessionDuration in seconds.
SESSION_ATTRIBUTE = "max_session_seconds"
# AWS allows 3,600 to 43,200 seconds; anything beyond a day is refused as not AWS's shape.
_MAX_SECONDS = 86_400


def get_role_sessions(client: Any, page_size: int = 1000) -> dict[str, int]:
    """Role ARN -> MaxSessionDuration (seconds), from every ListRoles page."""
    pages = client.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": page_size})
    roles: list[Mapping[str, Any]] = []
    for page in pages:
        export_shapes.check(export_shapes.LIST_ROLES, page)  # a garbled page fails the call, not "no roles"
        roles.extend(page["Roles"])
    return session_limits(roles)


def session_limits(roles: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Role ARN -> MaxSessionDuration of ListRoles items (shape-checked); roles without one are left out."""
    found: dict[str, int] = {}
    for index, role in enumerate(roles):
        seconds = role.get("MaxSessionDuration")
        if seconds is None:
            continue
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds <= _MAX_SECONDS:
            raise RawDataError(f"MaxSessionDuration {str(seconds)[:20]} is not 1 to {_MAX_SECONDS} seconds",
                               ("Roles", index, "MaxSessionDuration"))
        found[str(role["Arn"])] = seconds
    return found


def with_session_limits(identities: Iterable[Identity], limits: Mapping[str, int]) -> list[Identity]:
    """The identities, each role with a known MaxSessionDuration carrying it as an attribute."""
    out = []
    for identity in identities:
        seconds = limits.get(identity.id) if identity.kind == IdentityKind.ROLE else None
        if seconds is not None:
            identity = identity.model_copy(
                update={"attributes": {**identity.attributes, SESSION_ATTRIBUTE: str(seconds)}}
            )
        out.append(identity)
    return out

