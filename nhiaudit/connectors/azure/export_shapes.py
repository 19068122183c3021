"""The shapes of the Azure exports nhiaudit reads: `az ... --output json` lists and raw Microsoft Graph /
ARM list pages (`{"value": [...]}`), as JSON Schema for one record (the subset nhiaudit/jsonshape.py
checks). Only fields the transforms read are described; anything else is ignored. Detection by shape
(`kind_of_item`, `kind_of_context`) is here too, beside the shapes it relies on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from nhiaudit.connectors.azure.transform_common import AzureDataError, parse_time
from nhiaudit.jsonshape import Check, Compiler, ShapeProblem, problems_of

ACCOUNT = "azure-account"
SERVICE_PRINCIPALS = "azure-service-principals"
APPLICATIONS = "azure-applications"
FEDERATED_CREDENTIALS = "azure-federated-credentials"
IDENTITY_FEDERATED_CREDENTIALS = "azure-identity-federated-credentials"  # of user-assigned managed identities
OWNERS = "azure-owners"
APP_ROLE_ASSIGNMENTS = "azure-app-role-assignments"
OAUTH2_GRANTS = "azure-oauth2-grants"
DIRECTORY_ROLE_ASSIGNMENTS = "azure-directory-role-assignments"
ROLE_ASSIGNMENTS = "azure-role-assignments"
ROLE_DEFINITIONS = "azure-role-definitions"
IDENTITIES = "azure-identities"
RESOURCES = "azure-resources"
SP_SIGN_INS = "azure-sp-sign-ins"
CREDENTIAL_SIGN_INS = "azure-credential-sign-ins"
EMPTY = "azure-empty-page"
APP_SETTINGS = "azure-app-settings"  # of one App Service site (TARGET or the ARM reply's id)
DIAGNOSTIC_SETTINGS = "azure-diagnostic-settings"  # of one resource (TARGET or the settings' ids)

DIAGNOSTIC_SEGMENT = "/providers/microsoft.insights/diagnosticsettings/"

# Exports that do not name the object they list for (it comes from @odata.context or TARGET=FILE).
NESTED = frozenset({FEDERATED_CREDENTIALS, OWNERS})

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "azure-timestamp"}
_STRINGS = {"type": ["array", "null"], "items": _STR}
_BOOL = {"type": ["boolean", "null"]}
_ID = {"type": "string", "format": "azure-id"}
_OBJ = {"type": ["object", "null"]}
_CREDENTIAL = {"type": "object", "required": ["keyId"],
               "properties": {"keyId": _ID, "startDateTime": _TIME, "endDateTime": _TIME, "hint": _NSTR,
                              "customKeyIdentifier": _NSTR, "displayName": _NSTR}}
_PERMISSIONS = {"type": ["array", "null"], "items": {"type": "object", "properties": {
    "actions": _STRINGS, "notActions": _STRINGS, "dataActions": _STRINGS, "notDataActions": _STRINGS}}}
_MI_FIC = {"issuer": _STR, "subject": _NSTR, "audiences": _STRINGS, "name": _NSTR, "claimsMatchingExpression": _OBJ}
_ACTIVITY = {"type": ["object", "null"], "properties": {"lastSignInDateTime": _TIME}}
_ANY: dict[str, Any] = {}  # a setting's value: never described in a message (it may be a secret)
_DIAGNOSTIC = {"logs": {"type": ["array", "null"], "items": {"type": "object", "properties": {
    "category": _NSTR, "categoryGroup": _NSTR, "enabled": _BOOL}}}, "workspaceId": _NSTR,
    "storageAccountId": _NSTR, "eventHubAuthorizationRuleId": _NSTR, "marketplacePartnerId": _NSTR}


def _arm(flat: dict[str, Any], required: list[str], expected: str) -> dict[str, Any]:
    """An ARM object as `az` prints it (properties flattened) or as the REST API returns it (nested)."""
    return {
        "type": "object",
        "x-expected": expected,
        "if": {"type": "object", "required": ["properties"]},
        "then": {"type": "object", "required": ["id", "properties"], "properties": {
            "id": _ID, "properties": {"type": "object", "x-expected": expected, "required": required,
                                      "properties": flat}}},
        "else": {"type": "object", "required": ["id", *required], "properties": {"id": _ID, **flat}},
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    ACCOUNT: {"type": "object", "x-expected": "an `az account show` object", "required": ["tenantId"],
              "properties": {"tenantId": _ID, "id": _NSTR, "name": _NSTR}},
    SERVICE_PRINCIPALS: {
        "type": "object", "x-expected": "a service principal", "required": ["id"],
        "properties": {"id": _ID, "appId": _NSTR, "displayName": _NSTR, "servicePrincipalType": _NSTR,
                       "appOwnerOrganizationId": _NSTR, "accountEnabled": _BOOL, "tags": _STRINGS,
                       "signInAudience": _NSTR,
                       "appRoles": {"type": ["array", "null"], "items": {"type": "object", "properties": {
                           "id": _NSTR, "value": _NSTR}}}}},
    APPLICATIONS: {
        "type": "object", "x-expected": "an application", "required": ["id", "appId"],
        "properties": {"id": _ID, "appId": _ID, "displayName": _NSTR, "createdDateTime": _TIME,
                       "signInAudience": _NSTR,
                       "passwordCredentials": {"type": ["array", "null"], "items": _CREDENTIAL},
                       "keyCredentials": {"type": ["array", "null"], "items": _CREDENTIAL}}},
    FEDERATED_CREDENTIALS: {
        "type": "object", "x-expected": "a federated identity credential", "required": ["issuer"],
        "properties": {"issuer": _STR, "subject": _NSTR, "audiences": _STRINGS, "name": _NSTR, "id": _NSTR,
                       "claimsMatchingExpression": _OBJ}},
    # Like _arm, but `id` is optional: an export without it names its identity through TARGET=FILE.
    IDENTITY_FEDERATED_CREDENTIALS: {
        "type": "object", "x-expected": "a managed identity's federated identity credential",
        "if": {"type": "object", "required": ["properties"]},
        "then": {"type": "object", "required": ["properties"], "properties": {"id": _ID, "properties": {
            "type": "object", "x-expected": "a managed identity's federated identity credential",
            "required": ["issuer"], "properties": _MI_FIC}}},
        "else": {"type": "object", "required": ["issuer"], "properties": {"id": _ID, **_MI_FIC}}},
    OWNERS: {"type": "object", "x-expected": "a directory object", "required": ["id"],
             "properties": {"id": _ID, "@odata.type": _NSTR, "userPrincipalName": _NSTR, "displayName": _NSTR}},
    APP_ROLE_ASSIGNMENTS: {
        "type": "object", "x-expected": "an app role assignment", "required": ["id", "resourceId", "principalId"],
        "properties": {"id": _STR, "appRoleId": _NSTR, "resourceId": _ID, "principalId": _ID,
                       "resourceDisplayName": _NSTR}},
    OAUTH2_GRANTS: {
        "type": "object", "x-expected": "an OAuth2 permission grant", "required": ["id", "clientId", "resourceId"],
        "properties": {"id": _STR, "clientId": _ID, "resourceId": _ID, "consentType": _NSTR,
                       "principalId": _NSTR, "scope": _NSTR}},
    DIRECTORY_ROLE_ASSIGNMENTS: {
        "type": "object", "x-expected": "a directory role assignment", "required": ["id", "principalId"],
        "properties": {"id": _STR, "principalId": _ID, "directoryScopeId": _NSTR, "roleDefinitionId": _NSTR,
                       "roleDefinition": {"type": ["object", "null"], "properties": {
                           "displayName": _NSTR, "rolePermissions": {"type": ["array", "null"], "items": {
                               "type": "object", "properties": {"allowedResourceActions": _STRINGS,
                                                                "condition": _NSTR}}}}}}},
    ROLE_ASSIGNMENTS: _arm({"principalId": _ID, "roleDefinitionId": _STR, "scope": _STR, "condition": _NSTR,
                            "principalType": _NSTR, "roleDefinitionName": _NSTR},
                           ["principalId", "roleDefinitionId", "scope"], "a role assignment"),
    ROLE_DEFINITIONS: _arm({"roleName": _NSTR, "permissions": _PERMISSIONS}, [], "a role definition"),
    IDENTITIES: _arm({"principalId": _ID, "tenantId": _NSTR, "clientId": _NSTR}, ["principalId"],
                     "a user-assigned managed identity"),
    RESOURCES: {
        "type": "object", "x-expected": "an Azure resource", "required": ["id", "type"],
        "properties": {"id": _ID, "type": _STR, "name": _NSTR, "kind": _NSTR, "location": _NSTR,
                       "tags": {"type": ["object", "null"], "additionalProperties": _NSTR},
                       "identity": {"type": ["object", "null"], "properties": {
                           "principalId": _NSTR, "userAssignedIdentities": {
                               "type": ["object", "null"], "additionalProperties": {
                                   "type": ["object", "null"], "properties": {"principalId": _NSTR}}}}}}},
    SP_SIGN_INS: {
        "type": "object", "x-expected": "a service principal sign-in activity", "required": ["appId"],
        "properties": {"appId": _ID, "lastSignInActivity": _ACTIVITY, "delegatedClientSignInActivity": _ACTIVITY,
                       "delegatedResourceSignInActivity": _ACTIVITY,
                       "applicationAuthenticationClientSignInActivity": _ACTIVITY,
                       "applicationAuthenticationResourceSignInActivity": _ACTIVITY}},
    CREDENTIAL_SIGN_INS: {
        "type": "object", "x-expected": "an application credential sign-in activity", "required": ["keyId"],
        "properties": {"keyId": _ID, "signInDateTime": _TIME}},
    # `az webapp config appsettings list` records, or ARM's POST .../config/appsettings/list reply
    APP_SETTINGS: {
        "type": "object", "x-expected": "an App Service application setting",
        "if": {"type": "object", "required": ["properties"]},
        "then": {"type": "object", "required": ["id", "properties"], "properties": {"id": _ID, "properties": {
            "type": "object", "x-expected": "application settings", "additionalProperties": _ANY}}},
        "else": {"type": "object", "required": ["name"], "properties": {"name": _STR, "value": _ANY,
                                                                         "slotSetting": _BOOL}}},
    # `az monitor diagnostic-settings list` records (flat) or ARM's (with `properties`)
    DIAGNOSTIC_SETTINGS: {
        "type": "object", "x-expected": "a diagnostic setting",
        "if": {"type": "object", "required": ["properties"]},
        "then": {"type": "object", "properties": {"id": _ID, "name": _NSTR, "properties": {
            "type": "object", "x-expected": "a diagnostic setting", "properties": _DIAGNOSTIC}}},
        "else": {"type": "object", "properties": {"id": _ID, "name": _NSTR, **_DIAGNOSTIC}}},
}

# @odata.context fragments (after `$metadata#`) -> kind; `(...)` parents are stripped before matching.
_CONTEXTS = {
    "servicePrincipals": SERVICE_PRINCIPALS,
    "applications": APPLICATIONS,
    "applications/federatedIdentityCredentials": FEDERATED_CREDENTIALS,
    "applications/owners": OWNERS,
    "servicePrincipals/owners": OWNERS,
    "directoryObjects": OWNERS,  # GET .../owners answers with this context: the parent comes from TARGET
    "servicePrincipals/appRoleAssignments": APP_ROLE_ASSIGNMENTS,
    "oauth2PermissionGrants": OAUTH2_GRANTS,
    "servicePrincipals/oauth2PermissionGrants": OAUTH2_GRANTS,
    "roleManagement/directory/roleAssignments": DIRECTORY_ROLE_ASSIGNMENTS,
    "reports/servicePrincipalSignInActivities": SP_SIGN_INS,
    "reports/appCredentialSignInActivities": CREDENTIAL_SIGN_INS,
}
_PARENT = re.compile(r"\([^()]*\)")
_KEYED = re.compile(r"^[A-Za-z]+\((?:appId=)?'([^']+)'\)")
_SP_ACTIVITY_KEYS = ("lastSignInActivity", "applicationAuthenticationClientSignInActivity",
                     "delegatedClientSignInActivity")


def kind_of_context(context: str) -> tuple[str | None, str | None]:
    """(kind, parent id) named by a Graph page's @odata.context: `...$metadata#applications('ID')/owners`
    lists the owners of application ID. Parent: the quoted key, or the value of `appId='X'`."""
    fragment = context.partition("#")[2]
    match = _KEYED.search(fragment)
    parent = match.group(1) if match else None
    bare = fragment
    while _PARENT.search(bare):  # `(roleDefinition())` nests: strip innermost groups until none is left
        bare = _PARENT.sub("", bare)
    bare = bare.split("/$entity")[0]
    return _CONTEXTS.get(bare), parent


def kind_of_item(item: Any) -> str | None:
    """The export a record belongs to, from its own fields (az output carries no @odata.context)."""
    if not isinstance(item, Mapping):
        return None
    keys = set(item)
    props = item.get("properties")
    arm_type = str(item.get("type") or "").lower()
    if "@odata.type" in keys and "id" in keys:
        return OWNERS  # directory objects of mixed types: only nested lists (owners, members) carry the type
    if "servicePrincipalType" in keys and "id" in keys:
        return SERVICE_PRINCIPALS
    if "appId" in keys and keys & {"passwordCredentials", "keyCredentials", "requiredResourceAccess"}:
        return APPLICATIONS
    if arm_type == "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials":
        return IDENTITY_FEDERATED_CREDENTIALS  # before Graph's: `az identity federated-credential list` is flat
    if "issuer" in keys and ("subject" in keys or "claimsMatchingExpression" in keys) and "audiences" in keys:
        return FEDERATED_CREDENTIALS
    if {"appRoleId", "resourceId", "principalId"} <= keys:
        return APP_ROLE_ASSIGNMENTS
    if {"clientId", "consentType", "resourceId"} <= keys:
        return OAUTH2_GRANTS
    if {"directoryScopeId", "principalId"} <= keys:
        return DIRECTORY_ROLE_ASSIGNMENTS
    if arm_type == "microsoft.authorization/roleassignments" or (
            {"principalId", "roleDefinitionId", "scope"} <= keys and not isinstance(props, Mapping)):
        return ROLE_ASSIGNMENTS
    if arm_type == "microsoft.authorization/roledefinitions" or {"roleName", "permissions"} <= keys:
        return ROLE_DEFINITIONS
    if arm_type == "microsoft.managedidentity/userassignedidentities":
        return IDENTITIES
    if "tenantId" in keys and "environmentName" in keys:
        return ACCOUNT
    if "appId" in keys and keys & set(_SP_ACTIVITY_KEYS):
        return SP_SIGN_INS
    if "keyId" in keys and keys & {"signInDateTime", "credentialOrigin", "keyUsage"}:
        return CREDENTIAL_SIGN_INS
    if arm_type == "microsoft.insights/diagnosticsettings" or (
            DIAGNOSTIC_SEGMENT in str(item.get("id") or "").lower()):
        return DIAGNOSTIC_SETTINGS
    if ("slotSetting" in keys and keys <= {"name", "value", "slotSetting"}) or (
            arm_type == "microsoft.web/sites/config" and item.get("name") == "appsettings"):
        return APP_SETTINGS
    if "identity" in keys and str(item.get("id") or "").lower().startswith("/subscriptions/") and arm_type:
        return RESOURCES
    return None


def _timestamp(value: str) -> str | None:
    try:
        parse_time(value)
    except AzureDataError as exc:
        return str(exc)
    return None


def _identifier(value: str) -> str | None:
    return "expected a non-empty id" if not value.strip() else None


def schemas() -> dict[str, dict[str, Any]]:
    return {f"{name}.schema.json": schema for name, schema in SCHEMAS.items()}


@cache
def _checks() -> dict[str, Check]:
    compiler = Compiler(schemas(), {"azure-timestamp": _timestamp, "azure-id": _identifier})
    return {name: compiler.compile(f"{name}.schema.json") for name in SCHEMAS}


def problems(kind: str, item: Any) -> list[ShapeProblem]:
    """Problems of one record of an export of `kind`."""
    if kind == EMPTY:
        return []
    return problems_of(_checks()[kind], item)
