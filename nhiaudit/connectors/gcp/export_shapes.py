"""The shapes of the gcloud exports (`--format=json`) nhiaudit reads, as JSON Schema (the subset
nhiaudit/jsonshape.py checks). Only fields the transforms read are described; anything else is ignored.

They live here as data rather than in `schemas/*.schema.json` files because the wheel's package data lists
only the AWS schema directory; `schemas()` returns them in the same form (the tests check them with the
`jsonschema` library too).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from nhiaudit.connectors.gcp.transform_common import GcpDataError, parse_time
from nhiaudit.jsonshape import Check, Compiler, ShapeProblem, problems_of

SERVICE_ACCOUNTS = "gcp-service-accounts"
KEYS = "gcp-sa-keys"
IAM_POLICY = "gcp-iam-policy"
ROLES = "gcp-roles"
ASSET_IAM = "gcp-asset-iam-policies"
WIF_PROVIDERS = "gcp-wif-providers"
ACTIVITIES = "gcp-activities"
INSTANCES = "gcp-compute-instances"
RUN_SERVICES = "gcp-run-services"
FUNCTIONS = "gcp-functions"
ASSET_EXPORT = "gcp-asset-export"
DENY_POLICIES = "gcp-deny-policies"
ORGANIZATIONS = "gcp-organizations"
EMPTY = "gcp-empty-list"

_STR = {"type": "string"}
_ORGANIZATION = re.compile(r"^organizations/[0-9]{1,32}$")
_STRINGS = {"type": "array", "items": _STR}
_TIME = {"type": "string", "format": "gcp-timestamp"}
_LABELS = {"type": "object", "additionalProperties": _STR}


def _list_of(item: dict[str, Any], expected: str) -> dict[str, Any]:
    """A gcloud list (a JSON array) of `item`s; a single item (a `describe`) is accepted too."""
    return {
        "if": {"type": "array"},
        "then": {"items": {"$ref": "#/$defs/item"}},
        "else": {"$ref": "#/$defs/item"},
        "$defs": {"item": {"x-expected": expected, **item}},
    }


_CONDITION = {"type": "object", "required": ["expression"], "properties": {"expression": _STR, "title": _STR}}
_POLICY = {
    "x-expected": "an IAM policy object (bindings, etag, version)",
    "type": "object",
    "properties": {
        "version": {"type": "integer"},
        "bindings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "members"],
                "properties": {"role": _STR, "members": _STRINGS, "condition": _CONDITION},
            },
        },
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {
    SERVICE_ACCOUNTS: _list_of({
        "type": "object",
        "required": ["email"],
        "properties": {"email": _STR, "name": _STR, "uniqueId": _STR, "displayName": _STR, "description": _STR,
                       "oauth2ClientId": _STR, "projectId": _STR, "disabled": {"type": "boolean"}},
    }, "a service account"),
    KEYS: _list_of({
        "type": "object",
        "required": ["name"],
        "properties": {"name": _STR, "validAfterTime": _TIME, "validBeforeTime": _TIME,
                       "keyType": {"enum": ["USER_MANAGED", "SYSTEM_MANAGED", "KEY_TYPE_UNSPECIFIED"]},
                       "keyOrigin": _STR, "disabled": {"type": "boolean"}},
    }, "a service account key"),
    IAM_POLICY: _POLICY,
    ROLES: _list_of({
        "type": "object",
        "required": ["name"],
        "properties": {"name": _STR, "title": _STR, "includedPermissions": _STRINGS, "stage": _STR,
                       "deleted": {"type": "boolean"}},
    }, "a role"),
    ASSET_IAM: _list_of({
        "type": "object",
        "required": ["resource", "policy"],
        "properties": {"resource": _STR, "project": _STR, "assetType": _STR, "folders": _STRINGS,
                       "organization": _STR, "policy": _POLICY},
    }, "an IAM policy search result"),
    WIF_PROVIDERS: _list_of({
        "type": "object",
        "required": ["name"],
        "properties": {"name": _STR, "attributeCondition": _STR, "attributeMapping": _LABELS, "state": _STR,
                       "disabled": {"type": "boolean"},
                       "oidc": {"type": "object", "properties": {"issuerUri": _STR, "allowedAudiences": _STRINGS}},
                       "aws": {"type": "object", "properties": {"accountId": _STR}}},
    }, "a workload identity pool provider"),
    ACTIVITIES: _list_of({
        "type": "object",
        "required": ["activityType", "activity"],
        "properties": {
            "activityType": {"enum": ["serviceAccountLastAuthentication", "serviceAccountKeyLastAuthentication"]},
            "fullResourceName": _STR,
            "activity": {
                "type": "object",
                "properties": {
                    "lastAuthenticatedTime": _TIME,
                    "serviceAccount": {"type": "object", "properties": {"fullResourceName": _STR,
                                                                        "serviceAccountId": _STR}},
                    "serviceAccountKey": {"type": "object", "properties": {"fullResourceName": _STR}},
                },
            },
        },
    }, "a Policy Analyzer activity"),
    INSTANCES: _list_of({
        "type": "object",
        "required": ["name", "zone"],
        "properties": {"name": _STR, "zone": _STR, "selfLink": _STR, "labels": _LABELS,
                       "serviceAccounts": {"type": "array", "items": {"type": "object", "properties": {
                           "email": _STR, "scopes": _STRINGS}}}},
    }, "a Compute Engine instance"),
    RUN_SERVICES: _list_of({
        "type": "object",
        "anyOf": [
            {"required": ["metadata", "spec"]},
            {"required": ["name"]},
        ],
        "x-anyOf": "expected a Cloud Run service (Knative `metadata`/`spec`, or the v2 `name`/`template`)",
        "properties": {
            "name": _STR,
            "labels": _LABELS,
            "template": {"type": "object", "properties": {"serviceAccount": _STR}},
            "metadata": {"type": "object", "required": ["name"], "properties": {
                "name": _STR, "namespace": _STR, "labels": _LABELS}},
            "spec": {"type": "object", "properties": {"template": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {"serviceAccountName": _STR}}}}}},
        },
    }, "a Cloud Run service"),
    FUNCTIONS: _list_of({
        "type": "object",
        "required": ["name"],
        "properties": {"name": _STR, "labels": _LABELS,
                       "serviceConfig": {"type": "object", "properties": {"serviceAccountEmail": _STR}}},
    }, "a Cloud Functions function"),
    ASSET_EXPORT: _list_of({
        "type": "object",
        "required": ["name", "assetType"],
        "properties": {"name": _STR, "assetType": _STR, "ancestors": _STRINGS, "iamPolicy": _POLICY,
                       "resource": {"type": "object", "properties": {"data": {"type": "object"}}}},
    }, "a Cloud Asset export line"),
    DENY_POLICIES: _list_of({
        "type": "object",
        "required": ["name"],
        "properties": {"name": _STR, "kind": _STR, "rules": {"type": "array", "items": {
            "type": "object",
            "properties": {"denyRule": {"type": "object", "properties": {
                "deniedPrincipals": _STRINGS, "exceptionPrincipals": _STRINGS, "deniedPermissions": _STRINGS,
                "exceptionPermissions": _STRINGS, "denialCondition": _CONDITION}}},
        }}},
    }, "an IAM deny policy"),
    ORGANIZATIONS: _list_of({
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "format": "gcp-organization"}, "displayName": _STR,
                       "directoryCustomerId": _STR, "state": _STR, "lifecycleState": _STR,
                       "owner": {"type": "object", "properties": {"directoryCustomerId": _STR}}},
    }, "an organization"),
}


def _timestamp(value: str) -> str | None:
    try:
        parse_time(value)
    except GcpDataError as exc:
        return str(exc)
    return None


def _organization(value: str) -> str | None:
    return None if _ORGANIZATION.match(value) else "expected organizations/NUMBER"


def schemas() -> dict[str, dict[str, Any]]:
    return {f"{name}.schema.json": schema for name, schema in SCHEMAS.items()}


@cache
def _checks() -> dict[str, Check]:
    compiler = Compiler(schemas(), {"gcp-timestamp": _timestamp, "gcp-organization": _organization})
    return {name: compiler.compile(f"{name}.schema.json") for name in SCHEMAS}


def problems(kind: str, data: Any) -> list[ShapeProblem]:
    if kind == EMPTY:
        return []
    return problems_of(_checks()[kind], data)


def check(kind: str, data: Any) -> None:
    found = problems(kind, data)
    if found:
        raise GcpDataError(found[0].message, found[0].path)
