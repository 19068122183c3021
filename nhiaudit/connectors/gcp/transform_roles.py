"""Role definitions: the estate's (live get_role or imported describe/list output) over the shipped
predefined roles (rules/data/gcp_roles.yaml), and the question "does this role grant that permission"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from nhiaudit.connectors.gcp.transform_common import GcpDataError
from nhiaudit.permissions.patterns import glob_match


@dataclass(frozen=True)
class RoleDef:
    """What a role grants: an Allow of `permissions` (patterns) minus `excluded` (NotAction)."""

    name: str
    permissions: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    source: str = "estate"  # "estate" or "shipped"

    def grants(self, permission: str) -> bool:
        return any(glob_match(p, permission) for p in self.permissions) and not any(
            glob_match(x, permission) for x in self.excluded
        )


@cache
def shipped_roles() -> dict[str, RoleDef]:
    """rules/data/gcp_roles.yaml, read once."""
    import yaml

    from nhiaudit.rules_engine.loader import shipped_rules_dir

    path = shipped_rules_dir() / "data" / "gcp_roles.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return {
        name: RoleDef(name, tuple(entry.get("permissions") or ()), tuple(entry.get("excluded_permissions") or ()),
                      "shipped")
        for name, entry in data.items()
    }


def role_from_raw(name: str, role: Mapping[str, Any]) -> RoleDef | None:
    """A Role resource's definition; None when it carries no permissions (the BASIC view that
    `gcloud iam roles list` prints) or is deleted, so a shipped definition can stand in."""
    if role.get("deleted"):
        return None
    perms = role.get("includedPermissions")
    if perms is None:
        return None
    if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
        raise GcpDataError("expected a list of permission names", ("includedPermissions",))
    return RoleDef(name, tuple(sorted(set(perms))))


class RoleBook:
    """Role name -> definition, the estate's roles first, then the shipped ones."""

    def __init__(self, raw_roles: Mapping[str, Mapping[str, Any]]) -> None:
        self._roles: dict[str, RoleDef] = {}
        self.deleted: set[str] = set()
        for name, role in sorted(raw_roles.items()):
            try:
                found = role_from_raw(name, role)
            except GcpDataError as exc:
                raise exc.within("roles", name) from None
            if found is not None:
                self._roles[name] = found
            elif role.get("deleted"):
                self.deleted.add(name)

    def get(self, name: str) -> RoleDef | None:
        if name in self._roles:
            return self._roles[name]
        if name in self.deleted:
            return None  # a deleted custom role grants nothing, even if a binding still names it
        return shipped_roles().get(name)

    def grants_any(self, name: str, permissions: frozenset[str]) -> bool:
        role = self.get(name)
        return role is not None and any(role.grants(p) for p in sorted(permissions))
