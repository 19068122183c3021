"""The explicit shapes of AWS exports (and API replies) nhiaudit reads, as JSON Schema files in `schemas/`.

`check(kind, data)` raises RawDataError with the path of the first wrong value (live collection can call it
per reply); `problems(kind, data)` lists every problem (file import reports them with line and column).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError, arn_parts, decode_document, parse_time
from nhiaudit.jsonshape import Check, Compiler, ShapeProblem, problems_of

AUTHORIZATION_DETAILS = "authorization-details"
ACCESS_KEYS = "access-keys"
LAMBDA_FUNCTIONS = "lambda-functions"
EC2_INSTANCES = "ec2-instances"
CREDENTIAL_REPORT = "credential-report"
POLICY_DOCUMENT = "iam-policy-document"
ORGANIZATION_ACCOUNTS = "organization-accounts"
LIST_ROLES = "list-roles"
ECS_TASK_DEFINITION = "ecs-task-definition"
BEDROCK_AGENT = "bedrock-agent"
SAGEMAKER_NOTEBOOK = "sagemaker-notebook-instance"
BEDROCK_KNOWLEDGE_BASE = "bedrock-knowledge-base"
BEDROCK_KNOWLEDGE_BASES = "bedrock-knowledge-bases"
EKS_POD_IDENTITY = "eks-pod-identity-association"
EKS_POD_IDENTITIES = "eks-pod-identity-associations"
SAGEMAKER_ENDPOINT = "sagemaker-endpoint"
SAGEMAKER_ENDPOINTS = "sagemaker-endpoints"
SAGEMAKER_ENDPOINT_CONFIG = "sagemaker-endpoint-config"
SAGEMAKER_MODEL = "sagemaker-model"
CLOUDTRAIL_TRAILS = "cloudtrail-trails"
CLOUDTRAIL_TRAIL_STATUS = "cloudtrail-trail-status"
CLOUDTRAIL_EVENT_SELECTORS = "cloudtrail-event-selectors"
BEDROCK_INVOCATION_LOGGING = "bedrock-invocation-logging"
CLOUDTRAIL_EVENT_DATA_STORE = "cloudtrail-event-data-store"
CLOUDTRAIL_EVENT_DATA_STORES = "cloudtrail-event-data-stores"


def _date(value: str) -> str | None:
    try:
        parse_time(value)
    except RawDataError as exc:
        return str(exc)
    return None


def _arn(value: str) -> str | None:
    try:
        arn_parts(value)
    except RawDataError as exc:
        return str(exc)
    return None


def schema_files() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every shape (also what the tests give the `jsonschema` library)."""
    folder = resources.files("nhiaudit.connectors.aws") / "schemas"
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".schema.json")
    }


FORMATS = {"aws-date-time": _date, "aws-arn": _arn}


@cache
def _checks() -> dict[str, Check]:
    compiler = Compiler(schema_files(), FORMATS, decoder=decode_document)
    return {
        name: compiler.compile(f"{name}.schema.json")
        for name in (AUTHORIZATION_DETAILS, ACCESS_KEYS, LAMBDA_FUNCTIONS, EC2_INSTANCES, CREDENTIAL_REPORT,
                     POLICY_DOCUMENT, ORGANIZATION_ACCOUNTS, ECS_TASK_DEFINITION, LIST_ROLES,
                     BEDROCK_AGENT, SAGEMAKER_NOTEBOOK, BEDROCK_KNOWLEDGE_BASE, BEDROCK_KNOWLEDGE_BASES,
                     EKS_POD_IDENTITY, EKS_POD_IDENTITIES, SAGEMAKER_ENDPOINT, SAGEMAKER_ENDPOINTS,
                     SAGEMAKER_ENDPOINT_CONFIG, SAGEMAKER_MODEL, CLOUDTRAIL_TRAILS, CLOUDTRAIL_TRAIL_STATUS,
                     CLOUDTRAIL_EVENT_SELECTORS, BEDROCK_INVOCATION_LOGGING, CLOUDTRAIL_EVENT_DATA_STORE,
                     CLOUDTRAIL_EVENT_DATA_STORES)
    }


def problems(kind: str, data: Any) -> list[ShapeProblem]:
    return problems_of(_checks()[kind], data)


def check(kind: str, data: Any) -> None:
    found = problems(kind, data)
    if found:
        raise RawDataError(found[0].message, found[0].path)
