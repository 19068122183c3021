"""Live AWS collection: one account, an assumed role, or every account of the organisation in parallel.

The whole collection runs under one deadline (`--timeout`): after it no call starts, accounts still
running get one read timeout to finish the calls in flight, and whatever is left is recorded as cut off."""

from __future__ import annotations

import re
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import NoCredentialsError, ProfileNotFound
from rich.console import Console

from nhiaudit.connectors.aws.account import (
    CALL_FAILURES,
    CollectSettings,
    collect_account,
    describe_error,
    failed_account,
)
from nhiaudit.connectors.aws.deadline import Deadline, DeadlineExceeded
from nhiaudit.connectors.aws.org_collect import collect_guardrails
from nhiaudit.connectors.aws.organization import organization_of
from nhiaudit.connectors.aws.progress import AccountProgress
from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.readonly import ReadOnlyViolation, RequestLog
from nhiaudit.connectors.aws.session import Clients, assumed_session, base_session
from nhiaudit.connectors.aws.shapes import reply_list, reply_str
from nhiaudit.connectors.options import AwsOptions
from nhiaudit.errors import CollectionError, UsageError
from nhiaudit.inventory.model import Provider
from nhiaudit.inventory.snapshot import ShardInfo, ShardScope, Snapshot

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,512}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class _Target:
    account: str
    name: str | None
    role_arn: str | None  # None: use the caller's own credentials
    organization_id: str | None = None  # from the account's ARN (--aws-org), for aws:PrincipalOrgID


def check_options(opts: AwsOptions) -> None:
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
    if not opts.timeout >= 1:
        raise UsageError(f"--timeout must be at least 1 second, got {opts.timeout:g}")
    if opts.shard is not None and not opts.org:
        raise UsageError("--shard splits an organisation's accounts: give --aws-org")


def _caller(reply: Any) -> dict[str, str]:
    """GetCallerIdentity's Account and Arn, checked: they name every account and partition that follows."""
    account, arn = reply_str(reply, "Account"), reply_str(reply, "Arn")
    if not _ACCOUNT_ID.match(account):
        raise RawDataError("malformed reply: Account is not a 12-digit account id")
    arn_parts(arn)
    return {"Account": account, "Arn": arn}


def _open(
    opts: AwsOptions, logs: tuple[RequestLog, ...], settings: CollectSettings, deadline: Deadline
) -> tuple[Clients, Any, dict[str, str]]:
    """Base credentials (optionally via --aws-role-arn), a shared STS client and the caller identity."""

    def clients_for(session: Any) -> Clients:
        return Clients(session, logs, settings.inner_concurrency + 2, deadline, settings.timeouts)

    try:
        clients = clients_for(base_session(opts.profile))
        sts = clients.client("sts")
        if opts.role_arn:
            clients = clients_for(assumed_session(sts, opts.role_arn, clients.region, clients.session))
            sts = clients.client("sts")
        return clients, sts, _caller(sts.get_caller_identity())
    except ProfileNotFound as exc:
        raise UsageError(f"--aws-profile: {exc}") from None
    except NoCredentialsError:
        raise CollectionError(
            "no AWS credentials found (tried --aws-profile, environment, SSO, container and instance role)"
        ) from None
    except ReadOnlyViolation:
        raise
    except CALL_FAILURES as exc:
        what = f"assuming {opts.role_arn}" if opts.role_arn else "checking the AWS credentials"
        raise CollectionError(f"{what} failed: {describe_error(exc)}") from None


def _targets(opts: AwsOptions, clients: Clients, caller: dict[str, str]) -> list[_Target]:
    account = caller["Account"]
    if not opts.org:
        return [_Target(account, None, None)]
    partition = arn_parts(caller["Arn"])[0]
    try:
        pages = clients.client("organizations").get_paginator("list_accounts").paginate()
        accounts = [a for page in pages for a in reply_list(page, "Accounts")]
        if not all(isinstance(a, dict) and _ACCOUNT_ID.match(str(a.get("Id", ""))) for a in accounts):
            raise RawDataError("malformed reply: an account without a 12-digit Id")
    except ReadOnlyViolation:
        raise
    except CALL_FAILURES as exc:
        raise CollectionError(f"listing the organisation's accounts failed: {describe_error(exc)}") from None
    role = opts.org_role.strip("/")
    active = [a for a in accounts if a.get("Status") == "ACTIVE"]
    return [
        _Target(
            str(a["Id"]),
            a.get("Name") if isinstance(a.get("Name"), str) else None,
            None if str(a["Id"]) == account else f"arn:{partition}:iam::{a['Id']}:role/{role}",
            organization_of(a),
        )
        for a in sorted(active, key=lambda a: str(a["Id"]))
    ]


def _shard(opts: AwsOptions, targets: list[_Target], caller: str) -> tuple[list[_Target], list[Snapshot]]:
    """This shard's targets (the caller's own account in shard 0), and the record of the shard: every
    account listed, so `snapshot merge` can name those no shard collected."""
    if opts.shard is None:
        return targets, []
    mine = set(opts.shard.select((t.account for t in targets), pinned=caller))
    orgs = sorted({t.organization_id for t in targets if t.organization_id})
    scope = ShardScope(provider=Provider.AWS, organization=",".join(orgs) or f"organisation of account {caller}",
                       enumerated=tuple(sorted(t.account for t in targets)), assigned=tuple(sorted(mine)))
    record = Snapshot(shard=ShardInfo(index=opts.shard.index, count=opts.shard.count, scopes=(scope,)))
    return [t for t in targets if t.account in mine], [record]


def _how(target: _Target) -> str:
    return f"via {target.role_arn}" if target.role_arn else "with the caller's credentials"


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
    how = _how(target)
    session = own.session
    if target.role_arn:
        try:
            # `sts` is shared by every account task (clients are thread-safe, sessions are not).
            session = assumed_session(sts, target.role_arn, own.region, own.session)
        except ReadOnlyViolation:
            raise
        except CALL_FAILURES as exc:
            return failed_account(target.account, "sts:AssumeRole", exc, how)
    clients = Clients(session, (*logs, mine), settings.inner_concurrency + 2, own.deadline, settings.timeouts)
    try:
        snapshot = collect_account(clients, target.account, regions, settings, how)
    except ReadOnlyViolation:
        raise  # a bug in nhiaudit: stop everything
    except Exception as exc:  # one account's unexpected data must not lose the other accounts
        return failed_account(target.account, "nhiaudit:collect", exc, how)
    took = time.monotonic() - started
    snapshot.sources = [
        s.model_copy(update={"detail": f"{how}; {mine.total} API requests in {took:.1f} s",
                             "organization_id": target.organization_id})
        for s in snapshot.sources
    ]
    return snapshot


def _cut_off(target: _Target, future: Future[Snapshot], deadline: Deadline) -> Snapshot:
    state = "was not started" if future.cancel() else "was still being read"
    message = f"{DeadlineExceeded(deadline.seconds)}: the account {state}"
    return failed_account(target.account, "nhiaudit:collect", message, _how(target))


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
    check_options(opts)
    settings = settings or CollectSettings()
    if opts.resource_patterns:
        settings = replace(settings, resource_patterns=opts.resource_patterns)
    deadline = Deadline(opts.timeout)
    # Every request is counted for the progress line: one large account is a single bar step, but its
    # requests (pages, key lookups, regions) show that collection moves.
    progress_log = RequestLog()
    logs = (progress_log, request_log) if request_log else (progress_log,)
    own, sts, caller = _open(opts, logs, settings, deadline)
    targets, shard_record = _shard(opts, _targets(opts, own, caller), caller["Account"])
    guardrails = [collect_guardrails(own, caller["Account"])] if opts.org else []  # SCPs and RCPs
    snapshots: list[Snapshot] = []
    # Not a `with` block: its exit would wait for accounts stuck past the deadline.
    pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="nhiaudit-aws")
    try:
        with AccountProgress(console, len(targets), requests=progress_log) as progress:
            futures = {pool.submit(_collect_target, t, own, sts, opts.regions, settings, logs): t for t in targets}
            pending = set(futures)
            while pending:
                # Accounts stop calling at the deadline; the grace lets calls in flight end and be recorded.
                left = deadline.remaining() + settings.grace_seconds(deadline)
                done, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
                finished = [(f, f.result()) for f in done]
                if not done:
                    finished = [(f, _cut_off(futures[f], f, deadline)) for f in pending]
                    pending = set()
                for future, snapshot in finished:
                    progress.done(futures[future].account, futures[future].name, snapshot)
                    snapshots.append(snapshot)
    finally:
        # Threads still in a socket read end by themselves within one read timeout.
        pool.shutdown(wait=False, cancel_futures=True)
    order = {t.account: i for i, t in enumerate(targets)}
    ordered = sorted(snapshots, key=lambda s: order.get(s.sources[0].account if s.sources else "", 0))
    return ordered + guardrails + shard_record
