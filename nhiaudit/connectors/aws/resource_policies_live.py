"""Resource-based policies, live: which resources are read, within which bounds, and the CollectionIssues.

Per service (S3 once per account; KMS, Secrets Manager, SQS and SNS per region; Lambda per region from the
ListFunctions reply the workloads already read) one paginated listing, then the policy reads of at most
`limit` resources: those a written-policy system names first, then the others by ARN. Whatever a bound
leaves out is a "truncated" CollectionIssue (the scan is incomplete, exit 3), never a silent cut. A failed read
loses that resource only (a failed secondary read, e.g. GetBucketAcl, only that state of it).
SageMaker model package groups are read per region too (resource_policies_sagemaker.py).

Kept apart from account.py, which passes in its issue recorder, call failures and error wording."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from nhiaudit.connectors.aws.assemble import RawAccount
from nhiaudit.connectors.aws.deadline import DeadlineExceeded
from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.readonly import ReadOnlyViolation, iam_action
from nhiaudit.connectors.aws.resource_policies_get import (
    MAX_LISTED,
    Listed,
    Secondary,
    get_account_public_access_block,
    list_buckets,
    list_keys,
    list_queues,
    list_secrets,
    list_topics,
    listed_functions,
    read_bucket,
    read_function,
    read_key,
    read_queue,
    read_secret,
    read_topic,
)
from nhiaudit.connectors.aws.resource_policies_sagemaker import list_model_package_groups, read_model_package_group
from nhiaudit.connectors.aws.resource_raw import RawResourcePolicy
from nhiaudit.connectors.aws.session import Clients
from nhiaudit.connectors.aws.workloads_described import IssueRecorder
from nhiaudit.permissions.patterns import globs_intersect, resources_intersect
from nhiaudit.textsafe import one_line

T = TypeVar("T")

# Resources whose policy is read, per service and region (S3: per account). Each read is one request (S3:
# three, GetBucketPolicy, GetPublicAccessBlock and GetBucketAcl; KMS: three, DescribeKey, GetKeyPolicy and
# ListGrants), so this bounds the requests resource policies add.
MAX_READS = 200
GLOBAL = "all regions"  # what an S3 issue names in place of a region


@dataclass(frozen=True)
class PolicySource:
    service: str  # RawResourcePolicy.service and the boto3 client name
    list_operation: str  # IAM action of the listing (an issue's operation)
    read_operation: str  # IAM action of the main read
    noun: str  # what one read covers, plural
    missing: str  # what a failure leaves out


Reader = Callable[[Any, Listed, Secondary], RawResourcePolicy | None]


@dataclass(frozen=True)
class RegionalSource(PolicySource):
    """A service listed and read per region on its own (S3 reads need the account's Block Public Access
    settings, and Lambda functions come from the workloads' listing: both are wired in `_start`)."""

    list: Callable[[Any, str], tuple[list[Listed], bool]]
    read: Reader


S3 = PolicySource("s3", "s3:ListAllMyBuckets", "s3:GetBucketPolicy", "buckets",
                  "S3 bucket policies, ACLs and Block Public Access settings")
LAMBDA = PolicySource("lambda", "lambda:ListFunctions", "lambda:GetPolicy", "functions", "Lambda function policies")
REGIONAL: tuple[RegionalSource, ...] = (
    RegionalSource("kms", "kms:ListKeys", "kms:GetKeyPolicy", "keys", "KMS key policies and grants", list_keys,
                 read_key),
    RegionalSource("secretsmanager", "secretsmanager:ListSecrets", "secretsmanager:GetResourcePolicy", "secrets",
                 "Secrets Manager resource policies", list_secrets, read_secret),
    RegionalSource("sqs", "sqs:ListQueues", "sqs:GetQueueAttributes", "queues", "SQS queue policies", list_queues,
                 read_queue),
    RegionalSource("sns", "sns:ListTopics", "sns:GetTopicAttributes", "topics", "SNS topic policies", list_topics,
                 read_topic),
    RegionalSource("sagemaker", "sagemaker:ListModelPackageGroups", "sagemaker:GetModelPackageGroupPolicy",
                 "model package groups", "SageMaker model package group policies", list_model_package_groups,
                 read_model_package_group),
)


# Every operation whose failure an issue of resource-policy collection can name.
OPERATIONS: frozenset[str] = frozenset(
    {op for s in (S3, LAMBDA, *REGIONAL) for op in (s.list_operation, s.read_operation)} - {"lambda:ListFunctions"}
    | {"s3:GetBucketPublicAccessBlock", "s3:GetBucketAcl", "s3:GetAccountPublicAccessBlock", "kms:DescribeKey",
       "kms:ListGrants"}
)


@dataclass
class Outcome:
    """The reads of one service in one region."""

    policies: list[RawResourcePolicy] = field(default_factory=list)
    unlisted: bool = False  # the listing stopped at MAX_LISTED
    left_out: int = 0  # listed, beyond the read bound
    left_out_named: int = 0  # of those, named by the written policy
    not_reached: int = 0  # not read: the collection's deadline passed
    failed: list[tuple[str, str, BaseException]] = field(default_factory=list)  # (IAM action, ARN, why)


def named(arn: str, patterns: Sequence[str]) -> bool:
    """Does a written-policy system pattern name the resource (or, for a bucket, its objects)?"""
    return any(resources_intersect(p, arn) or resources_intersect(p, arn + "/*") for p in patterns)


def patterns_for(service: str, patterns: Sequence[str]) -> list[str]:
    """The patterns that can name one of the service's ARNs: thousands of resources are then matched against
    a handful of patterns, not the whole policy's."""
    return [p for p in patterns
            if p == "*" or (p.count(":") >= 5 and globs_intersect(p.split(":", 5)[2], service))]


def in_read_order(listed: Sequence[Listed], patterns: Sequence[str]) -> list[tuple[bool, Listed]]:
    """Resources the written policy names first, then the others; each group by ARN (deterministic)."""
    return sorted(((named(r.arn, patterns), r) for r in listed), key=lambda nr: (not nr[0], nr[1].arn))


def read_all(client_for: Callable[[Listed], Any], source: PolicySource, read: Reader, listed: Sequence[Listed],
             unlisted: bool, limit: int, patterns: Sequence[str],
             failures: tuple[type[BaseException], ...]) -> Outcome:
    marked = in_read_order(listed, patterns_for(source.service, patterns))
    ordered = [r for _, r in marked]
    outcome = Outcome(unlisted=unlisted, left_out=max(0, len(ordered) - limit),
                      left_out_named=sum(1 for is_named, _ in marked[limit:] if is_named))
    for index, resource in enumerate(ordered[:limit]):

        def secondary(operation: str, call: Callable[[], T], arn: str = resource.arn) -> T | None:
            try:
                return call()
            except ReadOnlyViolation:
                raise  # a bug in nhiaudit, never a per-call failure
            except failures as exc:
                if isinstance(exc, DeadlineExceeded):
                    raise
                outcome.failed.append((operation, arn, exc))
                return None

        try:
            policy = read(client_for(resource), resource, secondary)
        except ReadOnlyViolation:
            raise
        except failures as exc:
            outcome.failed.append((_operation_of(source, exc), resource.arn, exc))
            if isinstance(exc, DeadlineExceeded):
                outcome.not_reached = min(limit, len(ordered)) - index - 1
                break
            continue
        if policy is not None:
            outcome.policies.append(policy)
    return outcome


def start_resource_policies(
    clients: Clients,
    account: str,
    regions: tuple[str, ...],
    issues: IssueRecorder,
    pool: ThreadPoolExecutor,
    failures: tuple[type[BaseException], ...],
    describe_error: Callable[[BaseException], str],
    limit: int = MAX_READS,
    patterns: tuple[str, ...] = (),
) -> Callable[[RawAccount, Mapping[str, list[Mapping[str, Any]]]], None]:
    """Start the S3 and the regional services' listings and reads on the pool. The returned function takes the
    region -> ListFunctions reply of the workloads, reads those functions' policies and adds everything to raw.

    The clients (a dozen service models to load, seconds on a busy machine) are made on the pool too, so the
    account's IAM calls, which the rest of the account waits for, start at once."""
    setup = pool.submit(_start, clients, account, regions, issues, pool, failures, describe_error, limit, patterns)

    def finish(raw: RawAccount, functions: Mapping[str, list[Mapping[str, Any]]]) -> None:
        started, lambdas = setup.result()

        def function_reads(region: str) -> Outcome:
            listed = listed_functions(functions.get(region) or [], region)
            return read_all(lambda _: lambdas[region], LAMBDA, read_function, listed, False, limit, patterns,
                            failures)

        with_functions = [r for r in regions if functions.get(r)]
        gather = issues.start_many(LAMBDA.read_operation, LAMBDA.missing, function_reads, with_functions, pool,
                                   clients.deadline)
        outcomes = [(source, wait()) for source, wait in started] + [(LAMBDA, gather())]
        read: list[RawResourcePolicy] = []
        for source, by_key in outcomes:
            for key in sorted(by_key):
                read.extend(by_key[key].policies)
                _record(issues, source, key, by_key[key], limit, describe_error)
        raw.resource_policies.extend(sorted(read, key=lambda p: (p.service, p.region or "", p.resource_arn)))

    return finish


Started = list[tuple[PolicySource, Callable[[], dict[str, Outcome]]]]


def _start(clients: Clients, account: str, regions: tuple[str, ...], issues: IssueRecorder, pool: ThreadPoolExecutor,
           failures: tuple[type[BaseException], ...], describe_error: Callable[[BaseException], str], limit: int,
           patterns: tuple[str, ...]) -> tuple[Started, dict[str, Any]]:
    """Make the clients, start every listing on the pool; the started tasks and the Lambda clients by region."""
    deadline = clients.deadline
    s3_by_region = {r: clients.client("s3", r) for r in dict.fromkeys((clients.region, *regions))}
    s3control = clients.client("s3control")
    started: Started = []

    def s3_reads(_: str) -> Outcome:
        default = s3_by_region[clients.region]
        buckets, unlisted = list_buckets(default, clients.region)
        block = _account_block(s3control, account, issues, failures, describe_error)
        # ListBuckets names each bucket's region: its reads go there (no redirect round trip).
        return read_all(lambda b: s3_by_region.get(b.region or "", default), S3,
                        lambda c, b, s: read_bucket(c, b, account, block, s), buckets, unlisted, limit,
                        patterns, failures)

    started.append((S3, issues.start_many(S3.list_operation, S3.missing, s3_reads, [GLOBAL], pool, deadline)))
    for source in REGIONAL:
        by_region = {r: clients.client(source.service, r) for r in regions}

        def regional(region: str, s: RegionalSource = source, c: dict[str, Any] = by_region) -> Outcome:
            listed, unlisted = s.list(c[region], region)
            return read_all(lambda _: c[region], s, s.read, listed, unlisted, limit, patterns, failures)

        started.append((source, issues.start_many(source.list_operation, source.missing, regional, list(regions),
                                                  pool, deadline)))
    return started, {r: clients.client("lambda", r) for r in regions}


def _operation_of(source: PolicySource, exc: BaseException) -> str:
    """The IAM action of the call that failed (a resource's read can be several calls: KMS DescribeKey, then
    GetKeyPolicy); the service's main read when the failure does not say."""
    operation = getattr(exc, "operation_name", None) if isinstance(exc, ClientError) else None
    return iam_action(source.service, operation) if isinstance(operation, str) and operation else \
        source.read_operation


def _account_block(s3control: Any, account: str, issues: IssueRecorder, failures: tuple[type[BaseException], ...],
                   describe_error: Callable[[BaseException], str]) -> Mapping[str, Any] | None:
    try:
        return get_account_public_access_block(s3control, account)
    except ReadOnlyViolation:
        raise
    except failures as exc:
        issues.add("s3:GetAccountPublicAccessBlock", describe_error(exc),
                   "the account's S3 Block Public Access settings")
        return None


def _record(issues: IssueRecorder, source: PolicySource, where: str, outcome: Outcome, limit: int,
            describe_error: Callable[[BaseException], str]) -> None:
    noun, missing = source.noun, source.missing
    if outcome.unlisted:
        issues.add(source.list_operation, f"truncated: more than {MAX_LISTED} {noun} in {where}; the others were "
                   "not listed", missing)
    if outcome.left_out:
        of_them = f" ({outcome.left_out_named} of them named by the written policy)" if outcome.left_out_named else ""
        issues.add(source.read_operation, f"truncated: {outcome.left_out} {noun} in {where} beyond the first "
                   f"{limit} were not read{of_them}", missing)
    if outcome.not_reached:
        issues.add(source.read_operation, f"{outcome.not_reached} more {noun} in {where} were not read: the "
                   "collection's time ran out", missing)
    by_operation: dict[str, list[tuple[str, BaseException]]] = defaultdict(list)
    for operation, arn, exc in outcome.failed:
        by_operation[operation].append((_short(arn), exc))
    for operation in sorted(by_operation):
        failed = by_operation[operation]
        names = ", ".join(name for name, _ in failed[:10]) + (", ..." if len(failed) > 10 else "")
        issues.add(operation, one_line(f"{describe_error(failed[0][1])} ({len(failed)} {noun} in {where}: {names})"),
                   missing)


def _short(arn: str) -> str:
    """A resource's name for a message: the ARN's resource part (a queue URL's last segment)."""
    try:
        resource = arn_parts(arn)[4]
    except RawDataError:
        return arn.rsplit("/", 1)[-1][:200]
    return resource.split(":", 1)[-1].split("/", 1)[-1][:200] if ":" in resource or "/" in resource else resource
