"""Credential-shaped values in AWS configuration that readers of it see: Lambda environment variables
(ListFunctions returns them), ECS container environments (DescribeTaskDefinition), SSM String / StringList
parameters (DescribeParameters, then GetParameters without decryption for those types only; a SecureString's
value is never requested), CloudFormation stack parameters and outputs (DescribeStacks; NoEcho parameters come
back as `****`). Get + pure transform; only sightings reach the snapshot, never a value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.shapes import reply_list
from nhiaudit.connectors.aws.workloads_ecs import Listing
from nhiaudit.inventory.model import CredentialSighting, Provider
from nhiaudit.secrets.sightings import mapping_sightings

MAX_PARAMETERS = 500  # String parameters read per region (GetParameters takes 10 names a request)
MAX_STACKS = 500  # CloudFormation stacks read per region
PLAIN_TYPES = ("String", "StringList")  # SecureString is never read


# ---- get: API calls, raw dicts out ----------------------------------------------------------------


def get_ssm_parameters(client: Any, failures: tuple[type[BaseException], ...],
                       limit: int = MAX_PARAMETERS) -> Listing:
    """The region's String and StringList parameters with their values (up to `limit`): listed by type, and the
    type checked again on every listed and every returned parameter before its value is kept."""
    pages = client.get_paginator("describe_parameters").paginate(
        ParameterFilters=[{"Key": "Type", "Option": "Equals", "Values": list(PLAIN_TYPES)}],
        PaginationConfig={"PageSize": 50},
    )
    names = []
    for page in pages:
        for entry in reply_list(page, "Parameters"):
            if not isinstance(entry, dict) or not isinstance(entry.get("Name"), str):
                raise RawDataError("malformed reply: a parameter without Name")
            if entry.get("Type") in PLAIN_TYPES:
                names.append(entry["Name"])
    names = sorted(set(names))
    kept, failed = [], []
    for start in range(0, min(len(names), limit), 10):
        batch = names[start:min(start + 10, limit)]
        try:
            reply = client.get_parameters(Names=batch, WithDecryption=False)
        except failures as exc:
            failed.append((batch[0], exc))
            continue
        for entry in reply_list(reply, "Parameters"):
            if isinstance(entry, dict) and entry.get("Type") in PLAIN_TYPES:
                kept.append({k: entry.get(k) for k in ("Name", "Type", "Value", "ARN")})
    return Listing(tuple(kept), max(0, len(names) - limit), tuple(failed))


def get_cfn_stacks(client: Any, failures: tuple[type[BaseException], ...], limit: int = MAX_STACKS) -> Listing:
    """The region's stacks with their parameters and outputs (up to `limit`; one listing, no describes)."""
    stacks: list[Mapping[str, Any]] = []
    for page in client.get_paginator("describe_stacks").paginate():
        for stack in reply_list(page, "Stacks"):
            if not isinstance(stack, dict) or not isinstance(stack.get("StackId"), str):
                raise RawDataError("malformed reply: a stack without StackId")
            stacks.append({k: stack.get(k) for k in ("StackId", "StackName", "Parameters", "Outputs")})
    return Listing(tuple(stacks[:limit]), max(0, len(stacks) - limit))


# ---- transform: pure ------------------------------------------------------------------------------


def lambda_sightings(functions: Iterable[Mapping[str, Any]]) -> list[CredentialSighting]:
    out: list[CredentialSighting] = []
    for fn in functions:
        variables = (fn.get("Environment") or {}).get("Variables") if isinstance(fn.get("Environment"), dict) else None
        if not isinstance(variables, dict) or not variables:
            continue
        arn = str(fn.get("FunctionArn"))
        _, _, region, account, _ = arn_parts(arn)
        out.extend(mapping_sightings(variables, location_kind="lambda_environment", location=arn,
                                     provider=Provider.AWS, account=account, region=region or None))
    return out


def ecs_sightings(definitions: Iterable[Mapping[str, Any]]) -> list[CredentialSighting]:
    """Each container's `environment` ({name, value} pairs); `secrets` entries are references, not values."""
    out: list[CredentialSighting] = []
    for td in definitions:
        arn = str(td.get("taskDefinitionArn"))
        _, _, region, account, _ = arn_parts(arn)
        for container in td.get("containerDefinitions") or []:
            if not isinstance(container, dict) or not isinstance(container.get("environment"), list):
                continue
            pairs = [(str(e.get("name")), e.get("value")) for e in container["environment"] if isinstance(e, dict)]
            out.extend(mapping_sightings(pairs, location_kind="ecs_task_environment", location=arn,
                                         provider=Provider.AWS, account=account, region=region or None,
                                         prefix=f"{container.get('name')}/"))
    return out


def ssm_sightings(parameters: Iterable[Mapping[str, Any]]) -> list[CredentialSighting]:
    """Parameters are read per path (`/app/azure/`), so a client id in one parameter is next to the client secret
    in its sibling; each sighting names its own parameter (location: its ARN, field: its name)."""
    by_path: dict[str, dict[str, Mapping[str, Any]]] = {}
    for param in parameters:
        if param.get("Type") not in PLAIN_TYPES or not isinstance(param.get("Value"), str):
            continue
        name = str(param.get("Name"))
        path, _, leaf = name.rpartition("/")
        by_path.setdefault(path, {})[leaf or name] = param
    out: list[CredentialSighting] = []
    for path in sorted(by_path):
        siblings = by_path[path]
        for seen in mapping_sightings({leaf: p["Value"] for leaf, p in siblings.items()},
                                      location_kind="ssm_parameter", location="", provider=Provider.AWS, account="",
                                      region=None):
            param = siblings[seen.field or ""]
            arn = str(param.get("ARN") or "")
            _, _, region, account, _ = arn_parts(arn)
            out.append(seen.model_copy(update={"location": arn, "field": str(param.get("Name")),
                                               "account": account, "region": region or None}))
    return out


def cfn_sightings(stacks: Iterable[Mapping[str, Any]]) -> list[CredentialSighting]:
    """A stack's parameters (the value given, and the value an SSM-typed parameter resolved to) and outputs,
    read together; each sighting names `Parameters/KEY` or `Outputs/KEY`."""
    out: list[CredentialSighting] = []
    for stack in stacks:
        arn = str(stack.get("StackId"))
        _, _, region, account, _ = arn_parts(arn)
        pairs: list[tuple[str, object]] = []
        for entry in stack.get("Parameters") or []:
            if isinstance(entry, dict):
                pairs.append((f"Parameters/{entry.get('ParameterKey')}", entry.get("ParameterValue")))
                if entry.get("ResolvedValue") is not None:
                    pairs.append((f"Parameters/{entry.get('ParameterKey')}/resolved", entry.get("ResolvedValue")))
        for entry in stack.get("Outputs") or []:
            if isinstance(entry, dict):
                pairs.append((f"Outputs/{entry.get('OutputKey')}", entry.get("OutputValue")))
        out.extend(mapping_sightings(pairs, location_kind="cloudformation_stack", location=arn,
                                     provider=Provider.AWS, account=account, region=region or None))
    return out
