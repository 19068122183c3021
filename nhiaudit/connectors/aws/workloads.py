"""Workloads that run as an IAM role: Lambda execution roles and EC2 instance profiles (get + transform)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError, arn_parts, tags_of
from nhiaudit.connectors.aws.shapes import reply_list
from nhiaudit.inventory.model import Provider, Workload

# Instances that can still run code; terminated ones keep their profile association for a while.
LIVE_INSTANCE_STATES = ("pending", "running", "stopping", "stopped")
_AZ_SUFFIX = re.compile(r"^(.*-\d+)[a-z]$")


# ---- get: API calls, raw dicts out ----------------------------------------------------------------


def get_enabled_regions(client: Any) -> list[str]:
    """Regions enabled for the account (opt-in regions only once opted in)."""
    regions = reply_list(client.describe_regions(AllRegions=False), "Regions")
    if not all(isinstance(r, dict) and isinstance(r.get("RegionName"), str) for r in regions):
        raise RawDataError("malformed reply: a region without RegionName")
    return sorted(r["RegionName"] for r in regions if r.get("OptInStatus") != "not-opted-in")


def get_lambda_functions(client: Any) -> list[dict[str, Any]]:
    # A 200 with an HTML body parses as {} here (REST-JSON): reply_list refuses it.
    pages = client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 50})
    return [fn for page in pages for fn in reply_list(page, "Functions")]


def get_ec2_instances(client: Any) -> list[dict[str, Any]]:
    """Raw reservations (the DescribeInstances shape) of instances that can still run."""
    pages = client.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": list(LIVE_INSTANCE_STATES)}],
        PaginationConfig={"PageSize": 1000},
    )
    return [r for page in pages for r in reply_list(page, "Reservations")]


# ---- transform: pure ------------------------------------------------------------------------------


def transform_lambda_functions(functions: Iterable[Mapping[str, Any]]) -> list[Workload]:
    out: list[Workload] = []
    for fn in functions:
        arn = str(fn.get("FunctionArn"))
        role = fn.get("Role")
        if not role:
            continue
        _, _, region, account, _ = arn_parts(arn)
        out.append(
            Workload(
                id=arn,
                provider=Provider.AWS,
                account=account,
                kind="lambda",
                name=str(fn.get("FunctionName")),
                identity_id=str(role),
                region=region,
            )
        )
    return out


def region_of_instance(instance: Mapping[str, Any]) -> str | None:
    zone = str((instance.get("Placement") or {}).get("AvailabilityZone") or "")
    match = _AZ_SUFFIX.match(zone)
    return match.group(1) if match else None


def transform_ec2_reservations(
    reservations: Iterable[Mapping[str, Any]],
    profile_roles: Mapping[str, str],
    region: str | None = None,
) -> list[Workload]:
    """Instances with an instance profile whose role is known (profile ARN -> role ARN from GAAD)."""
    out: list[Workload] = []
    for reservation in reservations:
        account = str(reservation.get("OwnerId", ""))
        for instance in reservation.get("Instances") or []:
            profile = (instance.get("IamInstanceProfile") or {}).get("Arn")
            role = profile_roles.get(str(profile)) if profile else None
            if role is None:
                continue
            state = (instance.get("State") or {}).get("Name")
            if state and state not in LIVE_INSTANCE_STATES:
                continue
            where = region or region_of_instance(instance)
            owner = account or arn_parts(role)[3]
            partition = arn_parts(role)[0]
            instance_id = str(instance.get("InstanceId"))
            tags = tags_of(instance)
            out.append(
                Workload(
                    id=f"arn:{partition}:ec2:{where or ''}:{owner}:instance/{instance_id}",
                    provider=Provider.AWS,
                    account=owner,
                    kind="ec2_instance",
                    name=tags.get("Name") or instance_id,
                    identity_id=role,
                    region=where,
                    tags=tags,
                )
            )
    return out
