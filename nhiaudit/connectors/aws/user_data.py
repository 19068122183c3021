"""EC2 user data, read for credentials written into it (`ec2:DescribeInstanceAttribute`, attribute userData, one
call per instance DescribeInstances listed, at most MAX_INSTANCES per region). Base64, possibly gzip-compressed
(cloud-init accepts both): decoded within bounds. Get + pure transform; only sightings reach the snapshot."""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError
from nhiaudit.inventory.model import CredentialSighting, Provider
from nhiaudit.secrets.detect import scan_text
from nhiaudit.secrets.sightings import sighting_of

MAX_INSTANCES = 200  # per region
MAX_ENCODED = 64 * 1024  # AWS caps user data at 16 KB before base64
MAX_DECODED = 1024 * 1024  # after gzip


def instance_keys(reservations: Iterable[tuple[str | None, Mapping[str, Any]]]) -> tuple[list[str], int]:
    """`region|owner|instance id` of the listed instances, at most MAX_INSTANCES per region, sorted; and how many
    were left out."""
    by_region: dict[str, set[str]] = {}
    for region, reservation in reservations:
        owner = str(reservation.get("OwnerId") or "")
        for instance in reservation.get("Instances") or []:
            if isinstance(instance, dict) and isinstance(instance.get("InstanceId"), str):
                by_region.setdefault(region or "", set()).add(f"{region or ''}|{owner}|{instance['InstanceId']}")
    keys, left_out = [], 0
    for region in sorted(by_region):
        ordered = sorted(by_region[region])
        keys.extend(ordered[:MAX_INSTANCES])
        left_out += max(0, len(ordered) - MAX_INSTANCES)
    return keys, left_out


def get_user_data(client: Any, instance_id: str) -> str:
    """The instance's user data as the API returns it (base64), '' when it has none."""
    reply = client.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    value = (reply.get("UserData") or {}).get("Value") if isinstance(reply, dict) else None
    if value is not None and not isinstance(value, str):
        raise RawDataError("malformed reply: UserData.Value is not a string")
    return value or ""


def _decoded(encoded: str) -> str | None:
    if not encoded or len(encoded) > MAX_ENCODED:
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if data[:2] == b"\x1f\x8b":
        try:
            data = zlib.decompressobj(wbits=31).decompress(data, MAX_DECODED)
        except zlib.error:
            return None
    return data.decode("utf-8", "replace")


def user_data_sightings(user_data: Mapping[str, str]) -> list[CredentialSighting]:
    out: list[CredentialSighting] = []
    for key in sorted(user_data):
        region, owner, instance_id = key.split("|", 2)
        text = _decoded(user_data[key])
        if text is None:
            continue
        arn = f"arn:aws:ec2:{region}:{owner}:instance/{instance_id}"
        out.extend(sighting_of(hit, location_kind="ec2_user_data", location=arn, line=hit.line,
                               provider=Provider.AWS, account=owner, region=region or None)
                   for hit in scan_text(text))
    return out
