"""Live AWS collection: one account, an assumed role, or every account of the organisation in parallel."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound
from rich.console import Console

from nhiaudit.connectors.aws.account import CollectSettings, collect_account, describe_error, failed_account
from nhiaudit.connectors.aws.progress import AccountProgress
from nhiaudit.connectors.aws.raw import arn_parts
from nhiaudit.connectors.aws.readonly import ReadOnlyViolation, RequestLog
from nhiaudit.connectors.aws.session import Clients, assumed_session, base_session
from nhiaudit.connectors.options import AwsOptions
from nhiaudit.errors import CollectionError, UsageError
from nhiaudit.inventory.snapshot import Snapshot

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,512}$")


@dataclass(frozen=True)
class _Target:
    account: str
    name: str | None
    role_arn: str | None  # None: use the caller's own credentials


def _check(opts: AwsOptions) -> None:
    bad = [r for r in opts.regions if not _REGION.match(r)]
    if bad:
        raise UsageError(f"--aws-regions: not a region name: {', '.join(bad)}")
    if opts.org and not _ROLE_NAME.match(opts.org_role):
        raise UsageError(f"--aws-org-role must be a role name (or path/name), got {opts.org_role!r}")
    if opts.role_arn:
        try:
            arn_parts(opts.role_arn)
        except ValueError:
            raise UsageError(f"--aws-role-arn is not an ARN: {opts.role_arn!r}") from None


def _open(
    opts: AwsOptions, logs: tuple[RequestLog, ...], settings: CollectSettings
) -> tuple[Clients, Any, dict]:
    """Base credentials (optionally via --aws-role-arn), a shared STS client and the caller identity."""
    try:
        clients = Clients(base_session(opts.profile), logs, settings.inner_concurrency + 2)
        sts = clients.client("sts")
        if opts.role_arn:
            clients = Clients(
                assumed_session(sts, opts.role_arn, clients.region, clients.session),
                logs,
                settings.inner_concurrency + 2,
            )
            sts = clients.client("sts")
        return clients, sts, sts.get_caller_identity()
    except ProfileNotFound as exc:
        raise UsageError(f"--aws-profile: {exc}") from None
    except NoCredentialsError:
        raise CollectionError(
            "no AWS credentials found (tried --aws-profile, environment, SSO, container and instance role)"
        ) from None
    except (ClientError, BotoCoreError) as exc:
        what = f"assuming {opts.role_arn}" if opts.role_arn else "checking the AWS credentials"
        raise CollectionError(f"{what} failed: {describe_error(exc)}") from None


def _targets(opts: AwsOptions, clients: Clients, caller: dict) -> list[_Target]:
    account = str(caller["Account"])
    if not opts.org:
        return [_Target(account, None, None)]
    partition = arn_parts(str(caller["Arn"]))[0]
    try:
        pages = clients.client("organizations").get_paginator("list_accounts").paginate()
        accounts = [a for page in pages for a in page.get("Accounts", []) if a.get("Status") == "ACTIVE"]
    except (ClientError, BotoCoreError) as exc:
        raise CollectionError(f"listing the organisation's accounts failed: {describe_error(exc)}") from None
    role = opts.org_role.strip("/")
    return [
        _Target(
            str(a["Id"]),
            a.get("Name"),
            None if str(a["Id"]) == account else f"arn:{partition}:iam::{a['Id']}:role/{role}",
        )
        for a in sorted(accounts, key=lambda a: str(a["Id"]))
    ]


def _collect_target(
    target: _Target,
    own: Clients,
    sts: Any,
    regions: tuple[str, ...],
    settings: CollectSettings,
    logs: tuple[RequestLog, ...],
) -> Snapshot:
    started = time.monotonic()
    mine = RequestLog()
    how = f"via {target.role_arn}" if target.role_arn else "with the caller's credentials"
    if target.role_arn:
        try:
            # `sts` is shared by every account task (clients are thread-safe, sessions are not).
            session = assumed_session(sts, target.role_arn, own.region, own.session)
        except (ClientError, BotoCoreError) as exc:
            return failed_account(target.account, "sts:AssumeRole", exc, how)
        clients = Clients(session, (*logs, mine), settings.inner_concurrency + 2)
    else:
        clients = Clients(own.session, (*logs, mine), settings.inner_concurrency + 2)
    try:
        snapshot = collect_account(clients, target.account, regions, settings, how)
    except ReadOnlyViolation:
        raise  # a bug in nhiaudit: stop everything
    except Exception as exc:  # one account's unexpected data must not lose the other accounts
        return failed_account(target.account, "nhiaudit:collect", exc, how)
    took = time.monotonic() - started
    snapshot.sources = [
        s.model_copy(update={"detail": f"{how}; {mine.total} API requests in {took:.1f} s"})
        for s in snapshot.sources
    ]
    return snapshot


def collect_aws(
    opts: AwsOptions,
    concurrency: int,
    console: Console,
    *,
    request_log: RequestLog | None = None,
    settings: CollectSettings | None = None,
) -> list[Snapshot]:
    """One snapshot per account. A failed account becomes a snapshot holding only its CollectionIssue;
    CollectionError is raised only when nothing can be collected (no credentials, org listing denied)."""
    _check(opts)
    settings = settings or CollectSettings()
    logs = (request_log,) if request_log else ()
    own, sts, caller = _open(opts, logs, settings)
    targets = _targets(opts, own, caller)
    snapshots: list[Snapshot] = []
    with (
        AccountProgress(console, len(targets)) as progress,
        ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="nhiaudit-aws") as pool,
    ):
        futures = {
            pool.submit(_collect_target, t, own, sts, opts.regions, settings, logs): t for t in targets
        }
        for future in as_completed(futures):
            snapshot = future.result()
            progress.done(futures[future].account, futures[future].name, snapshot)
            snapshots.append(snapshot)
    order = {t.account: i for i, t in enumerate(targets)}
    return sorted(snapshots, key=lambda s: order.get(s.sources[0].account if s.sources else "", 0))
