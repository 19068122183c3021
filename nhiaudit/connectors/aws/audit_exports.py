"""Import of the AWS CLI outputs that say what an account records: `aws cloudtrail describe-trails`,
`get-trail-status` (TRAIL=FILE: the output does not name the trail), `get-event-selectors`, and
`aws bedrock get-model-invocation-logging-configuration` (REGION=FILE: the output names no region).
The same raw shapes as live collection (connectors/aws/audit_logging.py transforms both)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.assemble import RawAccount
from nhiaudit.connectors.aws.audit_logging import MAX_TRAILS, REGION
from nhiaudit.connectors.aws.raw import account_of
from nhiaudit.connectors.interface import ExportFile
from nhiaudit.errors import InputError
from nhiaudit.inventory.audit_model import AuditKind

TRAILS = "aws-cloudtrail-trails"
TRAIL_STATUS = "aws-cloudtrail-trail-status"
EVENT_SELECTORS = "aws-cloudtrail-event-selectors"
INVOCATION_LOGGING = "aws-bedrock-invocation-logging"
EVENT_DATA_STORES = "aws-cloudtrail-event-data-stores"
EVENT_DATA_STORE = "aws-cloudtrail-event-data-store"

AUDIT_SHAPES = {
    TRAILS: export_shapes.CLOUDTRAIL_TRAILS,
    TRAIL_STATUS: export_shapes.CLOUDTRAIL_TRAIL_STATUS,
    EVENT_SELECTORS: export_shapes.CLOUDTRAIL_EVENT_SELECTORS,
    INVOCATION_LOGGING: export_shapes.BEDROCK_INVOCATION_LOGGING,
    EVENT_DATA_STORE: export_shapes.CLOUDTRAIL_EVENT_DATA_STORE,
    EVENT_DATA_STORES: export_shapes.CLOUDTRAIL_EVENT_DATA_STORES,
}
AUDIT_FORMATS = {
    TRAILS: "aws cloudtrail describe-trails > file.json (once per region with single-region trails)",
    TRAIL_STATUS: "aws cloudtrail get-trail-status --name TRAIL > file.json, imported as TRAIL=file.json "
                  "(the trail's name or ARN)",
    EVENT_SELECTORS: "aws cloudtrail get-event-selectors --trail-name TRAIL > file.json",
    INVOCATION_LOGGING: "aws bedrock get-model-invocation-logging-configuration --region REGION > file.json, "
                        "imported as REGION=file.json",
    EVENT_DATA_STORES: "aws cloudtrail list-event-data-stores > file.json (once per region with stores)",
    EVENT_DATA_STORE: "aws cloudtrail get-event-data-store --event-data-store ARN > file.json",
}
# Read after every other AWS file: they attach to accounts the other files name.
AUDIT_ORDER = {TRAILS: 6, EVENT_DATA_STORES: 6, EVENT_SELECTORS: 7, TRAIL_STATUS: 7, INVOCATION_LOGGING: 7,
               EVENT_DATA_STORE: 7}

_TRAIL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$")
_TRAIL_ARN = re.compile(r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail/[A-Za-z0-9._-]{3,128}$")

AccountOf = Callable[[str, ExportFile], RawAccount]


def check_target(target: str) -> str | None:
    """None when `target` can be an AWS TARGET: a region, a trail name or a trail ARN."""
    if REGION.match(target) or _TRAIL_NAME.match(target) or _TRAIL_ARN.match(target):
        return None
    return f"{target!r} is not an AWS TARGET: expected a region or a CloudTrail trail name or ARN"


def detect_audit(file: ExportFile) -> str | None:
    data = file.data
    if not isinstance(data, Mapping):
        return None
    if isinstance(data.get("trailList"), list):
        return TRAILS
    if "TrailARN" in data and ("EventSelectors" in data or "AdvancedEventSelectors" in data):
        return EVENT_SELECTORS
    if "IsLogging" in data:
        return TRAIL_STATUS
    if isinstance(data.get("EventDataStores"), list):
        return EVENT_DATA_STORES
    if "EventDataStoreArn" in data:
        return EVENT_DATA_STORE
    if "loggingConfig" in data or (data == {} and file.target is not None and REGION.match(file.target)):
        return INVOCATION_LOGGING
    return None


def _one_account(accounts: dict[str, RawAccount], file: ExportFile, what: str) -> str:
    if len(accounts) != 1:
        found = ", ".join(sorted(accounts)) or "none"
        raise InputError.single(file.path, f"{what} names no account and the import holds {len(accounts)} AWS "
                                f"accounts ({found}); import it with one account's other files at a time")
    return next(iter(accounts))


def _trails_account(file: ExportFile, accounts: dict[str, RawAccount]) -> str:
    """describe-trails lists organisation trails under the management account's ARN, so the account is the one
    the import is about; without other files, the one account its trails name."""
    if accounts:
        return _one_account(accounts, file, "aws cloudtrail describe-trails")
    owners = {account_of(str(t["TrailARN"])) for t in file.data["trailList"]}
    if len(owners) != 1:
        raise InputError.single(file.path, "aws cloudtrail describe-trails: import it with the account's "
                                "authorization details (its trails name no single account)")
    return owners.pop()


def _trail_owner(accounts: dict[str, RawAccount], file: ExportFile, name: str) -> tuple[RawAccount, str]:
    found = [(raw, arn) for raw in accounts.values() for arn, t in raw.trails.items()
             if name in (arn, str(t.get("Name")))]
    if len(found) != 1:
        problem = "is in no imported aws cloudtrail describe-trails" if not found else \
            "names trails of several accounts; use its ARN"
        raise InputError.single(file.path, f"trail {name!r} {problem}")
    return found[0]


def add_audit_files(files: list[tuple[str, ExportFile]], accounts: dict[str, RawAccount], account: AccountOf) -> None:
    listed: dict[str, set[str]] = {}  # account -> event data store ARNs its listings name
    for kind, file in sorted(files, key=lambda f: AUDIT_ORDER[f[0]]):
        data: Mapping[str, Any] = file.data
        if kind == TRAILS:
            raw = account(_trails_account(file, accounts), file)
            for trail in data["trailList"]:
                raw.trails.setdefault(str(trail["TrailARN"]), trail)
            if len(raw.trails) > MAX_TRAILS:
                raise InputError.single(file.path, f"more than {MAX_TRAILS} trails in one account")
            raw.audit_listed.add(AuditKind.CLOUDTRAIL_TRAIL.value)
        elif kind == EVENT_SELECTORS:
            raw, arn = _trail_owner(accounts, file, str(data["TrailARN"]))
            raw.trail_selectors[arn] = data
            account(raw.account, file)
        elif kind == TRAIL_STATUS:
            if file.target is None:
                raise InputError.single(file.path, "aws cloudtrail get-trail-status does not name its trail: "
                                        "import it as TRAIL=FILE (the trail's name or ARN)")
            raw, arn = _trail_owner(accounts, file, file.target)
            raw.trail_status[arn] = data
            account(raw.account, file)
        elif kind == EVENT_DATA_STORES:
            raw = account(_one_account(accounts, file, "aws cloudtrail list-event-data-stores"), file)
            raw.audit_listed.add(AuditKind.CLOUDTRAIL_EVENT_DATA_STORE.value)
            listed.setdefault(raw.account, set()).update(str(s["EventDataStoreArn"]) for s in data["EventDataStores"])
        elif kind == EVENT_DATA_STORE:
            arn = str(data["EventDataStoreArn"])
            owners = [a for a, arns in listed.items() if arn in arns] or \
                [_one_account(accounts, file, "aws cloudtrail get-event-data-store")]
            account(owners[0], file).event_data_stores[arn] = data
        else:
            if file.target is None or not REGION.match(file.target):
                raise InputError.single(file.path, "aws bedrock get-model-invocation-logging-configuration "
                                        "names no region: import it as REGION=FILE (e.g. us-east-1=FILE)")
            raw = account(_one_account(accounts, file, "aws bedrock get-model-invocation-logging-configuration"),
                          file)
            raw.invocation_logging[file.target] = data
    for acct, arns in sorted(listed.items()):
        missing = sorted(arns - set(accounts[acct].event_data_stores))
        if missing:
            first = next(f for k, f in files if k == EVENT_DATA_STORES)
            raise InputError.single(first.path, f"event data store {missing[0]} is listed but not described: import "
                                    "aws cloudtrail get-event-data-store --event-data-store ARN output too")
