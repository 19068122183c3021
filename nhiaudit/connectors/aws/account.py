"""Collect one account: a fixed set of calls, each failure recorded as a CollectionIssue, never fatal.

A call fails on its own: an AWS error, a network error or timeout, an unreadable or malformed reply, or the
collection's --timeout. Only ReadOnlyViolation (a bug in nhiaudit) and interrupts stop the account."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from nhiaudit.connectors.aws import iam as iam_api
from nhiaudit.connectors.aws.assemble import RawAccount, assemble_account
from nhiaudit.connectors.aws.audit_collect import AUDIT_PARTS, start_audit
from nhiaudit.connectors.aws.deadline import Deadline, DeadlineExceeded
from nhiaudit.connectors.aws.iam import ReportTimeout
from nhiaudit.connectors.aws.readonly import ReadOnlyViolation
from nhiaudit.connectors.aws.resource_policies_live import MAX_READS, start_resource_policies
from nhiaudit.connectors.aws.roles import get_role_sessions
from nhiaudit.connectors.aws.session import CONNECT_TIMEOUT, READ_TIMEOUT, CallTimeouts, Clients
from nhiaudit.connectors.aws.transform_credentials import (
    ReportRow,
    keys_needing_last_used,
    parse_credential_report,
)
from nhiaudit.connectors.aws.transform_iam import merge_authorization_pages
from nhiaudit.connectors.aws.user_data import MAX_INSTANCES, get_user_data, instance_keys
from nhiaudit.connectors.aws.workloads import get_ec2_instances, get_enabled_regions, get_lambda_functions
from nhiaudit.connectors.aws.workloads_described import DESCRIBED_PARTS, start_described
from nhiaudit.inventory.model import CollectionIssue, Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.textsafe import one_line

T = TypeVar("T")

MISSING_GAAD = "users, groups, roles, their policies and trust policies"
MISSING_REPORT = "console password use, MFA and access-key last use from the credential report"
MISSING_KEYS = "access key ids and creation dates"
MISSING_KEY_USE = "access key last use (service and region)"
MISSING_SESSIONS = "role session lifetimes (MaxSessionDuration)"
MISSING_REGIONS = "the account's enabled regions (workloads were read from the default region only)"
MISSING_FUNCTIONS = "Lambda execution roles"
MISSING_INSTANCES = "EC2 instance profile associations"
MISSING_USER_DATA = "credentials in EC2 user data"

# What one failed call can raise. ResponseParserError (an HTML page or an empty body where XML/JSON was
# expected) is not a BotoCoreError; replies of an unexpected shape raise RawDataError (a ValueError) in
# nhiaudit's checks, and KeyError/TypeError/AttributeError/IndexError in botocore's parsers
# (e.g. `{"Functions": "x"}` from ListFunctions).
CALL_FAILURES: tuple[type[BaseException], ...] = (
    ClientError,
    BotoCoreError,
    ResponseParserError,
    ReportTimeout,
    DeadlineExceeded,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
)


@dataclass(frozen=True)
class CollectSettings:
    gaad_page_size: int = 1000
    # Credential report polling backoff, in seconds (about two minutes in all).
    report_poll_delays: tuple[float, ...] = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 30, 30)
    inner_concurrency: int = 8  # per-user and per-region calls of one account
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT  # per socket read; capped by --timeout
    # After --timeout, how long accounts may take to finish the calls in flight (None: one read timeout).
    grace: float | None = None
    resource_policy_reads: int = MAX_READS  # resources whose policy is read, per service and region
    resource_patterns: tuple[str, ...] = ()  # the written policy's system patterns: read those resources first

    @property
    def timeouts(self) -> CallTimeouts:
        return CallTimeouts(self.connect_timeout, self.read_timeout)

    def grace_seconds(self, deadline: Deadline) -> float:
        return self.timeouts.within(deadline).read + 1 if self.grace is None else self.grace


def describe_error(exc: BaseException) -> str:
    """A one-line message without request details (no credentials are ever part of it)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        text = f"{err.get('Code', 'Error')}: {err.get('Message', '')}".rstrip(": ")
    elif isinstance(exc, ResponseParserError):
        # botocore appends the raw body after "Further retries may succeed"; leave it out.
        text = "unreadable reply: " + str(exc).split("Further retries", 1)[0].strip().rstrip(".,:")
    elif isinstance(exc, KeyError):
        text = f"malformed reply: no {exc.args[0] if exc.args else 'expected'} member"
    elif isinstance(exc, TypeError | AttributeError | IndexError):
        text = f"malformed reply: {exc}"
    else:
        text = str(exc) or type(exc).__name__
    return one_line(text)


class _Issues:
    def __init__(self, account: str) -> None:
        self.account = account
        self.items: list[CollectionIssue] = []

    def add(self, operation: str, message: str, missing: str) -> None:
        self.items.append(
            CollectionIssue(
                provider=Provider.AWS,
                account=self.account,
                operation=operation,
                message=message,
                missing=missing,
            )
        )

    def attempt(self, operation: str, missing: str, fn: Callable[..., T], *args: Any) -> T | None:
        try:
            return fn(*args)
        except ReadOnlyViolation:
            raise  # a bug in nhiaudit, never a per-call failure (it is a CollectionError, not listed below)
        except CALL_FAILURES as exc:
            self.add(operation, describe_error(exc), missing)
            return None

    def start_many(
        self,
        operation: str,
        missing: str,
        fn: Callable[[str], T],
        keys: list[str],
        pool: ThreadPoolExecutor,
        deadline: Deadline | None = None,
    ) -> Callable[[], dict[str, T]]:
        """Start fn for each key on the pool; the returned function waits for them. Failures become one
        issue naming the keys that failed. Keys whose turn comes after the deadline are not started."""
        failures: list[tuple[str, BaseException]] = []

        def one(key: str) -> tuple[str, T] | None:
            try:
                if deadline is not None:
                    deadline.check()
                return key, fn(key)
            except ReadOnlyViolation:
                raise
            except CALL_FAILURES as exc:
                failures.append((key, exc))
                return None

        futures = [pool.submit(one, key) for key in keys]

        def gather() -> dict[str, T]:
            results = dict(r for r in (f.result() for f in futures) if r is not None)
            if failures:
                names = sorted(k for k, _ in failures)
                shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
                self.add(
                    operation,
                    f"{describe_error(failures[0][1])} ({len(failures)} of {len(keys)} calls: {shown})",
                    missing,
                )
            return results

        return gather

    def attempt_many(
        self,
        operation: str,
        missing: str,
        fn: Callable[[str], T],
        keys: list[str],
        pool: ThreadPoolExecutor,
        deadline: Deadline | None = None,
    ) -> dict[str, T]:
        return self.start_many(operation, missing, fn, keys, pool, deadline)()


def collect_account(
    clients: Clients, account: str, regions: tuple[str, ...], settings: CollectSettings, detail: str
) -> Snapshot:
    issues = _Issues(account)
    raw = RawAccount(account=account, issues=issues.items)
    iam = clients.client("iam")
    deadline = clients.deadline
    started = datetime.now(UTC)
    with ThreadPoolExecutor(settings.inner_concurrency, thread_name_prefix=f"nhiaudit-{account}") as pool:
        # Regional workload calls run on the pool while IAM is read; the credential report is generated
        # on AWS's side while authorization details are fetched.
        finish_workloads = _start_workloads(clients, regions, issues, pool, settings)
        sessions = pool.submit(
            issues.attempt, "iam:ListRoles", MISSING_SESSIONS, get_role_sessions, iam, settings.gaad_page_size
        )
        state = issues.attempt("iam:GenerateCredentialReport", MISSING_REPORT, iam_api.start_credential_report, iam)
        pages = issues.attempt(
            "iam:GetAccountAuthorizationDetails",
            MISSING_GAAD,
            iam_api.get_authorization_details,
            iam,
            settings.gaad_page_size,
        )
        if pages is not None:
            raw.authorization_details = issues.attempt(
                "iam:GetAccountAuthorizationDetails", MISSING_GAAD, merge_authorization_pages, pages
            )
        if state is not None:
            content = issues.attempt(
                "iam:GetCredentialReport",
                MISSING_REPORT,
                iam_api.get_credential_report,
                iam,
                state,
                settings.report_poll_delays,
                time.sleep,
                deadline,
            )
            if content is not None:
                raw.report_rows = issues.attempt(
                    "iam:GetCredentialReport", MISSING_REPORT, parse_credential_report, content
                )
        _collect_keys(iam, raw, issues, pool, deadline)
        raw.role_sessions = sessions.result() or {}
        finish_workloads(raw)
    source = SourceInfo(provider=Provider.AWS, account=account, method="live", collected_at=started, detail=detail)
    return _assemble(raw, source, issues)


_SHAPE_FAILURES = (ValueError, KeyError, TypeError, AttributeError, IndexError)  # RawDataError is a ValueError

# Each part of RawAccount, the call it came from, and its value when left out.
_PARTS: tuple[tuple[str, str, str, Any], ...] = (
    ("lambda_functions", "lambda:ListFunctions", MISSING_FUNCTIONS, list),
    ("ec2_reservations", "ec2:DescribeInstances", MISSING_INSTANCES, list),
    ("ec2_user_data", "ec2:DescribeInstanceAttribute", MISSING_USER_DATA, dict),
    *DESCRIBED_PARTS,  # ECS task definitions, Bedrock agents, SageMaker notebooks
    ("resource_policies", "nhiaudit:resource-policies", "resource-based policies (buckets, keys, secrets...)", list),
    *AUDIT_PARTS,  # CloudTrail trails, Bedrock model invocation logging
    ("key_last_used", "iam:GetAccessKeyLastUsed", MISSING_KEY_USE, dict),
    ("access_keys", "iam:ListAccessKeys", MISSING_KEYS, dict),
    ("role_sessions", "iam:ListRoles", MISSING_SESSIONS, dict),
    ("report_rows", "iam:GetCredentialReport", MISSING_REPORT, lambda: None),
    ("authorization_details", "iam:GetAccountAuthorizationDetails", MISSING_GAAD, lambda: None),
)


def _assemble(raw: RawAccount, source: SourceInfo, issues: _Issues) -> Snapshot:
    """Assemble; if one call's data has a shape the transforms refuse, leave that part out (recorded as a
    failure of that call) so the rest of the account is kept."""
    try:
        return assemble_account(raw, source)
    except _SHAPE_FAILURES as exc:
        first = exc
    for name, operation, missing, empty in _PARTS:
        if getattr(raw, name) in (None, [], {}):
            continue
        issues_before = len(issues.items)
        issues.add(operation, f"malformed reply: {describe_error(first)}", missing)
        try:
            return assemble_account(replace(raw, **{name: empty()}), source)
        except _SHAPE_FAILURES:
            del issues.items[issues_before:]
    raise first  # more than one part is malformed: the caller records the account as failed


def _collect_keys(
    iam: Any, raw: RawAccount, issues: _Issues, pool: ThreadPoolExecutor, deadline: Deadline | None
) -> None:
    details = raw.authorization_details or {}
    users = [
        u["UserName"]
        for u in details.get("UserDetailList") or []
        if isinstance(u, dict) and isinstance(u.get("UserName"), str)
    ]
    rows: dict[str, ReportRow] = {r.user: r for r in raw.report_rows or []}
    if raw.report_rows is not None:
        # Users the report shows with keys, plus users created after the report was generated.
        wanted = [u for u in users if u not in rows or rows[u].has_keys]
        wanted += [r.user for r in rows.values() if r.has_keys and r.user not in wanted]
    else:
        wanted = users  # without the report every user has to be asked
    raw.access_keys = issues.attempt_many(
        "iam:ListAccessKeys", MISSING_KEYS, lambda u: iam_api.get_access_keys(iam, u), wanted, pool, deadline
    )
    key_ids = issues.attempt("iam:ListAccessKeys", MISSING_KEY_USE, keys_needing_last_used, rows, raw.access_keys) or []
    raw.key_last_used = issues.attempt_many(
        "iam:GetAccessKeyLastUsed",
        MISSING_KEY_USE,
        lambda k: iam_api.get_access_key_last_used(iam, k),
        key_ids,
        pool,
        deadline,
    )


def _start_workloads(
    clients: Clients, regions: tuple[str, ...], issues: _Issues, pool: ThreadPoolExecutor, settings: CollectSettings
) -> Callable[[RawAccount], None]:
    if not regions:
        found = issues.attempt("ec2:DescribeRegions", MISSING_REGIONS, get_enabled_regions, clients.client("ec2"))
        regions = tuple(found) if found else (clients.region,)
    # Clients are created here, in the account's own thread (boto3 sessions are not thread-safe).
    lambdas = {r: clients.client("lambda", r) for r in regions}
    ec2s = {r: clients.client("ec2", r) for r in regions}
    functions = issues.start_many(
        "lambda:ListFunctions",
        MISSING_FUNCTIONS,
        lambda r: get_lambda_functions(lambdas[r]),
        list(regions),
        pool,
        clients.deadline,
    )
    instances = issues.start_many(
        "ec2:DescribeInstances",
        MISSING_INSTANCES,
        lambda r: get_ec2_instances(ec2s[r]),
        list(regions),
        pool,
        clients.deadline,
    )

    described = start_described(clients, regions, issues, pool, CALL_FAILURES, describe_error)
    resources = start_resource_policies(clients, issues.account, regions, issues, pool, CALL_FAILURES, describe_error,
                                        settings.resource_policy_reads, settings.resource_patterns)
    audit = start_audit(clients, regions, issues, pool)

    def finish(raw: RawAccount) -> None:
        by_region_functions, by_region_instances = functions(), instances()
        raw.listed.update(("lambda", "ec2_instance"))  # a failed region is an issue: assemble drops the kind
        for region in regions:
            raw.lambda_functions.extend(by_region_functions.get(region, []))
            raw.ec2_reservations.extend((region, res) for res in by_region_instances.get(region, []))
        _read_user_data(raw)
        described(raw)
        resources(raw, by_region_functions)  # Lambda policies of the functions listed above
        audit(raw)

    def _read_user_data(raw: RawAccount) -> None:
        """Each listed instance's user data, once the instances are known (one call each, bounded per region)."""
        keys, left_out = instance_keys(raw.ec2_reservations)
        if left_out:
            issues.add("ec2:DescribeInstanceAttribute", f"truncated: {left_out} instances beyond the first "
                       f"{MAX_INSTANCES} per region were not read", MISSING_USER_DATA)
        raw.ec2_user_data = issues.start_many(
            "ec2:DescribeInstanceAttribute", MISSING_USER_DATA,
            lambda key: get_user_data(ec2s[key.split("|", 1)[0]], key.rsplit("|", 1)[-1]), keys, pool,
            clients.deadline)()

    return finish


def failed_account(account: str, operation: str, error: BaseException | str, detail: str) -> Snapshot:
    """The snapshot of an account that could not be entered (or finished) at all."""
    issue = CollectionIssue(
        provider=Provider.AWS,
        account=account,
        operation=operation,
        message=error if isinstance(error, str) else describe_error(error),
        missing=f"everything in account {account}",
    )
    return Snapshot(
        sources=[
            SourceInfo(
                provider=Provider.AWS,
                account=account,
                method="live",
                collected_at=datetime.now(UTC),
                detail=detail,
            )
        ],
        collection_issues=[issue],
    )
