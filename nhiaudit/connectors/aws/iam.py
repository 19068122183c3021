"""IAM get functions: a fixed number of calls per account (plus paging), never one call per role or policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

GAAD_FILTER = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]


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
    return [{k: v for k, v in page.items() if k != "ResponseMetadata"} for page in pages]


def start_credential_report(client: Any) -> str:
    """Ask IAM for a fresh report (IAM reuses one younger than 4 hours). Returns the State."""
    return str(client.generate_credential_report().get("State", ""))


def get_credential_report(
    client: Any,
    state: str,
    delays: Sequence[float],
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """Poll with backoff until the report is COMPLETE, then download it (CSV bytes)."""
    waited = 0.0
    pending = iter(delays)
    while True:
        if state == "COMPLETE":
            try:
                return bytes(client.get_credential_report()["Content"])
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
        sleep(delay)
        waited += delay
        state = start_credential_report(client)


def get_access_keys(client: Any, user_name: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_access_keys").paginate(UserName=user_name)
    return [key for page in pages for key in page.get("AccessKeyMetadata", [])]


def get_access_key_last_used(client: Any, access_key_id: str) -> dict[str, Any]:
    response = client.get_access_key_last_used(AccessKeyId=access_key_id)
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}
