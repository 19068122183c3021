"""Live reading of an account's audit settings, started on the account's pool beside the workload calls:
DescribeTrails and GetModelInvocationLoggingConfiguration in every region read, then GetTrailStatus and
GetEventSelectors once per trail (in its home region). Each failure is a CollectionIssue: unknown, never
"not logged" (nhiaudit/facts/audit_coverage.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from nhiaudit.connectors.aws.assemble import RawAccount
from nhiaudit.connectors.aws.audit_logging import (
    get_event_data_store,
    get_event_data_stores,
    get_event_selectors,
    get_invocation_logging,
    get_trail_status,
    get_trails,
    home_region,
)
from nhiaudit.connectors.aws.session import Clients
from nhiaudit.connectors.aws.workloads_described import IssueRecorder
from nhiaudit.inventory.audit_model import AuditKind

MISSING_TRAILS = "CloudTrail trails (whether secret reads and data access are logged)"
MISSING_TRAIL_STATUS = "whether CloudTrail trails are logging"
MISSING_SELECTORS = "which events CloudTrail trails record (event selectors)"
MISSING_INVOCATION_LOGGING = "Bedrock model invocation logging"
MISSING_EVENT_DATA_STORES = "CloudTrail Lake event data stores (whether secret reads and data access are recorded)"

# Part of RawAccount, the call it came from, what is missing without it, its empty value (account.py's _PARTS).
AUDIT_PARTS: tuple[tuple[str, str, str, Any], ...] = (
    ("trail_selectors", "cloudtrail:GetEventSelectors", MISSING_SELECTORS, dict),
    ("trail_status", "cloudtrail:GetTrailStatus", MISSING_TRAIL_STATUS, dict),
    ("trails", "cloudtrail:DescribeTrails", MISSING_TRAILS, dict),
    ("invocation_logging", "bedrock:GetModelInvocationLoggingConfiguration", MISSING_INVOCATION_LOGGING, dict),
    ("event_data_stores", "cloudtrail:GetEventDataStore", MISSING_EVENT_DATA_STORES, dict),
)


def start_audit(
    clients: Clients, regions: tuple[str, ...], issues: IssueRecorder, pool: ThreadPoolExecutor
) -> Callable[[RawAccount], None]:
    """Start the per-region reads; the returned function (called on the account's own thread) waits for them,
    reads each trail's status and selectors, and adds everything to `raw`."""
    # Clients are created here, in the account's own thread (boto3 sessions are not thread-safe).
    trail_clients = {r: clients.client("cloudtrail", r) for r in regions}
    bedrock_clients = {r: clients.client("bedrock", r) for r in regions}
    listings = issues.start_many("cloudtrail:DescribeTrails", MISSING_TRAILS, lambda r: get_trails(trail_clients[r]),
                                 list(regions), pool, clients.deadline)
    stores = issues.start_many("cloudtrail:ListEventDataStores", MISSING_EVENT_DATA_STORES,
                               lambda r: get_event_data_stores(trail_clients[r]), list(regions), pool,
                               clients.deadline)
    logging = issues.start_many("bedrock:GetModelInvocationLoggingConfiguration", MISSING_INVOCATION_LOGGING,
                                lambda r: get_invocation_logging(bedrock_clients[r]), list(regions), pool,
                                clients.deadline)

    def finish(raw: RawAccount) -> None:
        raw.audit_listed.update((AuditKind.CLOUDTRAIL_TRAIL.value, AuditKind.BEDROCK_INVOCATION_LOGGING.value,
                                 AuditKind.CLOUDTRAIL_EVENT_DATA_STORE.value))
        raw.invocation_logging.update(logging())
        by_region: Mapping[str, list[Mapping[str, Any]]] = listings()
        where: dict[str, str] = {}  # trail ARN -> region whose client asks about it
        for region in regions:
            for trail in by_region.get(region, ()):
                arn = str(trail["TrailARN"])
                raw.trails.setdefault(arn, trail)
                home = home_region(trail)
                where[arn] = home if home in trail_clients else where.get(arn, region)
        arns = sorted(raw.trails)
        raw.trail_status.update(issues.start_many(
            "cloudtrail:GetTrailStatus", MISSING_TRAIL_STATUS,
            lambda arn: get_trail_status(trail_clients[where[arn]], arn), arns, pool, clients.deadline)())
        store_region = {arn: region for region, found in sorted(stores().items()) for arn in found}
        store_region = {a: (home if (home := a.split(":")[3]) in trail_clients else r) for a, r in store_region.items()}
        raw.event_data_stores.update(issues.start_many(
            "cloudtrail:GetEventDataStore", MISSING_EVENT_DATA_STORES,
            lambda arn: get_event_data_store(trail_clients[store_region[arn]], arn), sorted(store_region), pool,
            clients.deadline)())
        raw.trail_selectors.update(issues.start_many(
            "cloudtrail:GetEventSelectors", MISSING_SELECTORS,
            lambda arn: get_event_selectors(trail_clients[where[arn]], arn), arns, pool, clients.deadline)())

    return finish
