"""IAM get functions: a fixed number of calls per account (plus paging), never one call per role or policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from nhiaudit.connectors.aws.deadline import Deadline
from nhiaudit.connectors.aws.raw import RawDataError
from nhiaudit.connectors.aws.shapes import reply_list, reply_lists, reply_object, reply_str

GAAD_FILTER = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]
GAAD_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
REPORT_STATES = ("STARTED", "INPROGRESS", "COMPLETE")


class ReportTimeout(Exception):
    """The credential report was still being generated when polling gave up."""

    def __init__(self, waited_seconds: float) -> None:
        super().__init__(waited_seconds)
        self.waited_seconds = waited_seconds

    def __str__(self) -> str:
        return f"credential report not ready after {self.waited_seconds:.3g} s"


def get_authorization_details(client: Any, page_size: int = 1000) -> list[dict[str, Any]]:
    """Every raw GetAccountAuthorizationDetails page: users, groups, roles, all managed policies."""
    pages = client.get_paginator("get_account_authorization_details").paginate(
        Filter=GAAD_FILTER, PaginationConfig={"PageSize": page_size}
    )
    return [{k: v for k, v in reply_lists(page, GAAD_LISTS).items() if k != "ResponseMetadata"} for page in pages]


def start_credential_report(client: Any) -> str:
    """Ask IAM for a fresh report (IAM reuses one younger than 4 hours). Returns the State."""
    state = reply_str(client.generate_credential_report(), "State")
    if state not in REPORT_STATES:
        raise RawDataError(f"malformed reply: unknown credential report State {state[:40]!r}")
    return state


def get_credential_report(
    client: Any,
    state: str,
    delays: Sequence[float],
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
) -> bytes:
    """Poll with backoff until the report is COMPLETE, then download it (CSV bytes). Polling stops at the
    collection's deadline (DeadlineExceeded) as well as after the last delay (ReportTimeout)."""
    waited = 0.0
    pending = iter(delays)
    while True:
        if state == "COMPLETE":
            try:
                content = reply_object(client.get_credential_report()).get("Content")
                if not isinstance(content, bytes | bytearray):
                    raise RawDataError("malformed reply: the credential report has no Content")
                return bytes(content)
            except ClientError as exc:
                # Expired or not yet visible: generate again and keep polling.
                if exc.response.get("Error", {}).get("Code") not in (
                    "ReportInProgress",
                    "ReportExpired",
                    "ReportNotPresent",
                ):
                    raise
        delay = next(pending, None)
        if delay is None:
            raise ReportTimeout(waited)
        if deadline is not None:
            deadline.sleep(delay, sleep)
        else:
            sleep(delay)
        waited += delay
        state = start_credential_report(client)


def get_access_keys(client: Any, user_name: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_access_keys").paginate(UserName=user_name)
    return [key for page in pages for key in reply_list(page, "AccessKeyMetadata")]


def get_access_key_last_used(client: Any, access_key_id: str) -> dict[str, Any]:
    response = reply_object(client.get_access_key_last_used(AccessKeyId=access_key_id))
    if not isinstance(response.get("AccessKeyLastUsed"), dict):
        raise RawDataError("malformed reply: no AccessKeyLastUsed")
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}
