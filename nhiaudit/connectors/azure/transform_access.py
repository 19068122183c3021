"""Delegated grants (OAuth2 permission grants, app role assignments), Azure RBAC role assignments and
Entra directory role assignments (the mapping is in raw.py). Pure functions over raw Graph / ARM JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiaudit.connectors.azure.transform_common import (
    AzureDataError,
    arm_id,
    items_of,
    required,
    strings_of,
    text,
)
from nhiaudit.inventory.model import DelegatedGrant, Policy, Provider, Statement

DEFAULT_APP_ROLE = "00000000-0000-0000-0000-000000000000"  # "default access": an assignment without a role


def oauth2_grants(grants: list[Mapping[str, Any]], sp_names: Mapping[str, str]) -> list[DelegatedGrant]:
    """Delegated scopes. resource = the resource SP's display name (its object id when unknown)."""
    out = []
    for index, grant in enumerate(grants):
        try:
            resource_id = required(grant, "resourceId")
            out.append(DelegatedGrant(
                id=required(grant, "id"),
                provider=Provider.AZURE,
                identity_id=required(grant, "clientId"),
                resource=sp_names.get(resource_id, resource_id),
                scopes=tuple(s for s in (text(grant, "scope") or "").split() if s),
                consent_type=text(grant, "consentType"),
                principal_id=text(grant, "principalId"),
            ))
        except AzureDataError as exc:
            raise exc.within("oauth2_grants", index) from None
    return out


def app_role_values(service_principals: list[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """resource SP object id -> appRole id -> permission value (`Mail.Read`)."""
    out: dict[str, dict[str, str]] = {}
    for index, sp in enumerate(service_principals):
        try:
            roles = {}
            for r_index, role in enumerate(items_of(sp, "appRoles")):
                try:
                    role_id, value = text(role, "id"), text(role, "value")
                except AzureDataError as exc:
                    raise exc.within("appRoles", r_index) from None
                if role_id and value:
                    roles[role_id.lower()] = value
            if roles:
                out[required(sp, "id")] = roles
        except AzureDataError as exc:
            raise exc.within("service_principals", index) from None
    return out


def app_role_grants(assignments: Mapping[str, list[Mapping[str, Any]]],
                    roles: Mapping[str, Mapping[str, str]], sp_names: Mapping[str, str]) -> list[DelegatedGrant]:
    """Application permissions held by each SP; an app role id that no known resource SP defines stays as
    its id (never guessed)."""
    out = []
    for sp_id, held in sorted(assignments.items()):
        for index, assignment in enumerate(held):
            try:
                resource_id = required(assignment, "resourceId")
                role_id = (text(assignment, "appRoleId") or DEFAULT_APP_ROLE).lower()
                scopes: tuple[str, ...] = ()
                if role_id != DEFAULT_APP_ROLE:
                    scopes = (roles.get(resource_id, {}).get(role_id, role_id),)
                out.append(DelegatedGrant(
                    id=required(assignment, "id"),
                    provider=Provider.AZURE,
                    identity_id=text(assignment, "principalId") or sp_id,
                    resource=text(assignment, "resourceDisplayName") or sp_names.get(resource_id, resource_id),
                    scopes=scopes,
                    consent_type="application",
                ))
            except AzureDataError as exc:
                raise exc.within("app_role_assignments", sp_id, index) from None
    return out


def arm_fields(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """`az` prints ARM objects with `properties` flattened; raw ARM nests them. Read both."""
    props = item.get("properties")
    if isinstance(props, Mapping):
        return {**props, **{k: v for k, v in item.items() if k != "properties"}}
    return item


def definition_key(definition_id: str) -> str:
    """Role definitions are matched by their GUID: one definition has an id per subscription it is read in."""
    return definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def index_definitions(definitions: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for key, definition in definitions.items():
        flat = arm_fields(definition)
        out[definition_key(str(flat.get("name") or key))] = flat
        out.setdefault(definition_key(key), flat)
    return out


def rbac_policy(assignment: Mapping[str, Any],
                definitions: Mapping[str, Mapping[str, Any]]) -> tuple[Policy, str, bool]:
    """One role assignment as a policy on its scope, the principal (object id) that holds it, and whether its
    role definition was known. Without it the policy has no statements (its name still says the role)."""
    flat = arm_fields(assignment)
    assignment_id = arm_id(required(flat, "id"))
    principal = required(flat, "principalId")
    scope = arm_id(required(flat, "scope"))
    definition_id = required(flat, "roleDefinitionId")
    definition = definitions.get(definition_key(definition_id))
    name = text(flat, "roleDefinitionName")
    statements: list[Statement] = []
    conditions = {"azure:condition": flat["condition"]} if flat.get("condition") else {}
    if definition is not None:
        name = text(definition, "roleName") or name
        for index, block in enumerate(items_of(definition, "permissions")):
            try:
                actions = (*strings_of(block, "actions"), *strings_of(block, "dataActions"))
                not_actions = (*strings_of(block, "notActions"), *strings_of(block, "notDataActions"))
            except AzureDataError as exc:
                raise exc.within("permissions", index) from None
            statements.append(Statement(actions=actions, not_actions=not_actions, resources=(scope,),
                                        conditions=conditions))
    return Policy(id=assignment_id, provider=Provider.AZURE, name=name or definition_key(definition_id),
                  kind="role", statements=tuple(statements)), principal, definition is not None


def directory_role_policy(assignment: Mapping[str, Any]) -> tuple[Policy, str]:
    """One Entra directory role assignment (roleDefinition expanded) as a policy on its directory scope."""
    assignment_id = required(assignment, "id")
    principal = required(assignment, "principalId")
    scope = text(assignment, "directoryScopeId") or "/"
    definition = assignment.get("roleDefinition")
    if definition is not None and not isinstance(definition, Mapping):
        raise AzureDataError("expected an object", ("roleDefinition",))
    statements = []
    name = text(assignment, "roleDefinitionId") or assignment_id
    if definition:
        try:
            name = text(definition, "displayName") or name
            for index, block in enumerate(items_of(definition, "rolePermissions")):
                try:
                    actions = tuple(strings_of(block, "allowedResourceActions"))
                    condition = text(block, "condition")
                except AzureDataError as exc:
                    raise exc.within("rolePermissions", index) from None
                statements.append(Statement(actions=actions, resources=(scope,),
                                            conditions={"azure:condition": condition} if condition else {}))
        except AzureDataError as exc:
            raise exc.within("roleDefinition") from None
    return Policy(id=f"directoryRole:{assignment_id}", provider=Provider.AZURE, name=name, kind="role",
                  statements=tuple(statements)), principal
