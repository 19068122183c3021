"""What an AWS account records: CloudTrail trails (DescribeTrails with shadow trails, GetTrailStatus,
GetEventSelectors) and Bedrock model invocation logging (GetModelInvocationLoggingConfiguration, per region).
Get (raw dicts, shape-checked) + pure transforms to AuditLogSetting records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.audit_selectors import DEFAULT_SELECTORS, normalise_selectors
from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.shapes import reply_list
from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting
from nhiaudit.inventory.model import Provider

MAX_TRAILS = 250  # per account (AWS allows 5 per region, plus organisation trails)
MAX_EVENT_DATA_STORES = 100  # per region (AWS allows 10)
# Event data store Status -> whether it ingests events (None: a transition, unknown).
_INGESTING = {"ENABLED": True, "STOPPED_INGESTION": False, "PENDING_DELETION": False}
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_DELIVERY = (("textDataDeliveryEnabled", "text"), ("imageDataDeliveryEnabled", "image"),
             ("embeddingDataDeliveryEnabled", "embedding"), ("videoDataDeliveryEnabled", "video"))


# ---- get: API calls, raw dicts out ----------------------------------------------------------------


def _checked(kind: str, reply: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(reply)
    data.pop("ResponseMetadata", None)
    export_shapes.check(kind, data)
    return data


def get_trails(client: Any) -> list[Mapping[str, Any]]:
    """The trails that apply in the client's region: its own, multi-region ones of other regions and
    organisation trails (includeShadowTrails). Not paginated by AWS."""
    trails = _checked(export_shapes.CLOUDTRAIL_TRAILS, client.describe_trails(includeShadowTrails=True))["trailList"]
    if len(trails) > MAX_TRAILS:
        raise RawDataError(f"more than {MAX_TRAILS} trails")
    return trails


def get_trail_status(client: Any, trail_arn: str) -> dict[str, Any]:
    return _checked(export_shapes.CLOUDTRAIL_TRAIL_STATUS, client.get_trail_status(Name=trail_arn))


def get_event_selectors(client: Any, trail_arn: str) -> dict[str, Any]:
    return _checked(export_shapes.CLOUDTRAIL_EVENT_SELECTORS, client.get_event_selectors(TrailName=trail_arn))


def get_event_data_stores(client: Any) -> list[str]:
    """ARNs of the region's CloudTrail Lake event data stores (ListEventDataStores, every page, bounded)."""
    arns: list[str] = []
    token = None
    while True:
        reply = client.list_event_data_stores(**({"NextToken": token} if token else {}))
        for item in reply_list(reply, "EventDataStores"):
            arn = item.get("EventDataStoreArn") if isinstance(item, Mapping) else None
            if not isinstance(arn, str):
                raise RawDataError("malformed reply: an event data store without EventDataStoreArn")
            arns.append(arn)
        token = reply.get("NextToken")
        if not token:
            return sorted(set(arns))
        if len(arns) > MAX_EVENT_DATA_STORES:
            raise RawDataError(f"more than {MAX_EVENT_DATA_STORES} event data stores")


def get_event_data_store(client: Any, arn: str) -> dict[str, Any]:
    return _checked(export_shapes.CLOUDTRAIL_EVENT_DATA_STORE, client.get_event_data_store(EventDataStore=arn))


def get_invocation_logging(client: Any) -> dict[str, Any]:
    return _checked(export_shapes.BEDROCK_INVOCATION_LOGGING, client.get_model_invocation_logging_configuration())


def home_region(trail: Mapping[str, Any]) -> str:
    """The trail's home region (HomeRegion, else its ARN's region); '' when neither is a region name."""
    region = str(trail.get("HomeRegion") or "")
    if not REGION.match(region):
        region = arn_parts(str(trail["TrailARN"]))[2]
    return region if REGION.match(region) else ""


# ---- transform: pure ------------------------------------------------------------------------------


def _trail_destination(trail: Mapping[str, Any]) -> str | None:
    parts = []
    if trail.get("S3BucketName"):
        parts.append(f"s3://{trail['S3BucketName']}")
    if trail.get("CloudWatchLogsLogGroupArn"):
        parts.append(str(trail["CloudWatchLogsLogGroupArn"]))
    return ", ".join(parts) or None


def transform_trails(account: str, trails: Mapping[str, Mapping[str, Any]], statuses: Mapping[str, Mapping[str, Any]],
                     selectors: Mapping[str, Mapping[str, Any]]) -> list[AuditLogSetting]:
    """One record per trail (keyed by TrailARN). A trail whose status was not read has logging None; whose
    selectors were not read, selectors None, unless DescribeTrails says it has none of its own
    (HasCustomEventSelectors false: every management event, no data events)."""
    out = []
    for arn, trail in sorted(trails.items()):
        multi = bool(trail.get("IsMultiRegionTrail"))
        region = home_region(trail)
        status = statuses.get(arn)
        if arn in selectors:
            found: Any = normalise_selectors(selectors[arn])
        elif trail.get("HasCustomEventSelectors") is False:
            found = DEFAULT_SELECTORS
        else:
            found = None
        out.append(AuditLogSetting(
            provider=Provider.AWS, account=account, kind=AuditKind.CLOUDTRAIL_TRAIL, id=arn,
            name=str(trail.get("Name") or arn), regions=() if multi or not region else (region,),
            multi_region=multi, organization=bool(trail.get("IsOrganizationTrail")),
            logging=bool(status["IsLogging"]) if status is not None else None,
            destination=_trail_destination(trail), selectors=found,
        ))
    return out


def transform_event_data_stores(account: str, stores: Mapping[str, Mapping[str, Any]]) -> list[AuditLogSetting]:
    """One record per CloudTrail Lake event data store: like a trail, with advanced selectors only; it records
    while its Status is ENABLED."""
    out = []
    for arn, store in sorted(stores.items()):
        multi = bool(store.get("MultiRegionEnabled"))
        region = arn_parts(arn)[2]
        out.append(AuditLogSetting(
            provider=Provider.AWS, account=account, kind=AuditKind.CLOUDTRAIL_EVENT_DATA_STORE, id=arn,
            name=str(store.get("Name") or arn), regions=() if multi or not REGION.match(region) else (region,),
            multi_region=multi, organization=bool(store.get("OrganizationEnabled")),
            logging=_INGESTING.get(str(store.get("Status") or "")), destination="CloudTrail Lake",
            selectors=normalise_selectors({"AdvancedEventSelectors": store.get("AdvancedEventSelectors") or []}),
        ))
    return out


def invocation_logging_id(region: str) -> str:
    return f"bedrock-invocation-logging:{region}"


def transform_invocation_logging(account: str, by_region: Mapping[str, Mapping[str, Any]]) -> list[AuditLogSetting]:
    """One record per region read: logging is on when the configuration names a destination (S3 bucket or
    CloudWatch log group); `{}` (no loggingConfig) is off."""
    out = []
    for region, reply in sorted(by_region.items()):
        config = reply.get("loggingConfig") or {}
        s3 = config.get("s3Config") or {}
        logs = config.get("cloudWatchConfig") or {}
        where = []
        if s3.get("bucketName"):
            where.append(f"s3://{s3['bucketName']}/{s3.get('keyPrefix') or ''}".rstrip("/"))
        if logs.get("logGroupName"):
            where.append(f"CloudWatch Logs {logs['logGroupName']}")
        out.append(AuditLogSetting(
            provider=Provider.AWS, account=account, kind=AuditKind.BEDROCK_INVOCATION_LOGGING,
            id=invocation_logging_id(region), name=f"Bedrock model invocation logging in {region}",
            regions=(region,), logging=bool(where), destination=", ".join(where) or None,
            delivers=tuple(name for key, name in _DELIVERY if config.get(key)),
        ))
    return out
