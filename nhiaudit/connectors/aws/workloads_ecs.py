"""ECS task definitions as workloads: the task role (what the containers' code runs as) and, marked apart,
the execution role (what the ECS agent uses to pull images and read secrets). Get + transform."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.shapes import reply_list
from nhiaudit.inventory.model import Provider, Workload

ECS_TASK = "ecs_task"
ECS_TASK_EXECUTION = "ecs_task_execution"
# Families described per region: one DescribeTaskDefinition each, so the bound caps the requests.
MAX_TASK_FAMILIES = 200
EXECUTION_SUFFIX = "#execution"  # workload ids are unique: the execution role's workload gets its own


@dataclass(frozen=True)
class Listing:
    """One region's described resources (for ECS: each family's latest ACTIVE revision), how many listed ones
    were left out beyond the bound, and the describes that failed."""

    definitions: tuple[Mapping[str, Any], ...]
    left_out: int = 0
    failed: tuple[tuple[str, BaseException], ...] = ()  # (name of what was described, why it failed)
    truncated: tuple[str, ...] = ()  # other bounds that cut the listing, in words ("3 clusters in ...")


def describe_each(
    keys: list[str],
    describe: Callable[[str], Mapping[str, Any]],
    failures: tuple[type[BaseException], ...],
    limit: int,
    shown: Callable[[str], str] = str,
) -> Listing:
    """Describe the first `limit` keys, one request each; a describe that raises one of `failures` is recorded
    and the others are kept."""
    definitions, failed = [], []
    for key in keys[:limit]:
        try:
            definitions.append(describe(key))
        except failures as exc:
            failed.append((shown(key), exc))
    return Listing(tuple(definitions), max(0, len(keys) - limit), tuple(failed))


@contextmanager
def reading(operation: str) -> Iterator[None]:
    """Name the API operation a failure inside belongs to, for a chain of reads (botocore's ClientError names
    it already; a reply of the wrong shape does not). workloads_described records the issue under it."""
    try:
        yield
    except Exception as exc:
        if not isinstance(getattr(exc, "operation_name", None), str):
            exc.operation_name = operation  # type: ignore[attr-defined]
        raise


# ---- get: API calls, raw dicts out ----------------------------------------------------------------


def latest_revisions(arns: Iterable[str]) -> list[str]:
    """Each family's highest revision (arn:...:task-definition/FAMILY:REVISION), sorted by family."""
    best: dict[str, tuple[int, str]] = {}
    for arn in arns:
        resource = arn_parts(arn)[4]
        family, sep, revision = resource.removeprefix("task-definition/").rpartition(":")
        if not sep or not revision.isdigit() or not resource.startswith("task-definition/"):
            raise RawDataError(f"not a task definition ARN: {arn[:200]!r}")
        number = int(revision)
        if family not in best or best[family][0] < number:
            best[family] = (number, arn)
    return [best[f][1] for f in sorted(best)]


def get_ecs_task_definitions(
    client: Any, failures: tuple[type[BaseException], ...], limit: int = MAX_TASK_FAMILIES
) -> Listing:
    """List the region's ACTIVE task definitions, then describe each family's latest revision (up to `limit`).
    A describe that raises one of `failures` is recorded and the others are kept; a failed listing raises."""
    pages = client.get_paginator("list_task_definitions").paginate(
        status="ACTIVE", PaginationConfig={"PageSize": 100}
    )
    arns = [arn for page in pages for arn in reply_list(page, "taskDefinitionArns")]
    if not all(isinstance(a, str) for a in arns):
        raise RawDataError("malformed reply: a task definition ARN is not a string")
    return describe_each(latest_revisions(arns), lambda arn: describe_task_definition(client, arn), failures, limit,
                         lambda arn: arn.rsplit("/", 1)[-1])


def describe_task_definition(client: Any, arn: str) -> Mapping[str, Any]:
    reply = dict(client.describe_task_definition(taskDefinition=arn))
    reply.pop("ResponseMetadata", None)
    export_shapes.check(export_shapes.ECS_TASK_DEFINITION, reply)
    return dict(reply["taskDefinition"])


# ---- transform: pure ------------------------------------------------------------------------------


def _role_arn(value: str, partition: str, account: str) -> str:
    """ECS accepts a role name where it asks for an ARN; the name is a role of the task's account."""
    return value if value.startswith("arn:") else f"arn:{partition}:iam::{account}:role/{value}"


def transform_ecs_task_definitions(definitions: Iterable[Mapping[str, Any]]) -> list[Workload]:
    out: list[Workload] = []
    for td in definitions:
        arn = str(td["taskDefinitionArn"])
        partition, _, region, account, _ = arn_parts(arn)
        family = str(td.get("family") or arn.rsplit("/", 1)[-1])
        for field, kind, suffix in (("taskRoleArn", ECS_TASK, ""),
                                    ("executionRoleArn", ECS_TASK_EXECUTION, EXECUTION_SUFFIX)):
            role = td.get(field)
            if not role:
                continue
            out.append(
                Workload(
                    id=arn + suffix,
                    provider=Provider.AWS,
                    account=account,
                    kind=kind,
                    name=family,
                    identity_id=_role_arn(str(role), partition, account),
                    region=region or None,
                )
            )
    return out
