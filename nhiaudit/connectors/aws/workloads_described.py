"""Workloads read by listing a region's resources and describing each one (ECS task definitions, Bedrock
agents, SageMaker notebook instances): one table of what to call, started on the account's pool.

Kept apart from account.py, which passes in its issue recorder, call failures and error wording."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from nhiaudit.connectors.aws.assemble import RawAccount
from nhiaudit.connectors.aws.readonly import iam_action
from nhiaudit.connectors.aws.session import Clients
from nhiaudit.connectors.aws.sightings import MAX_PARAMETERS, MAX_STACKS, get_cfn_stacks, get_ssm_parameters
from nhiaudit.connectors.aws.workloads_ai import (
    BEDROCK_AGENT,
    BEDROCK_KNOWLEDGE_BASE,
    MAX_PER_REGION,
    SAGEMAKER_NOTEBOOK,
    get_bedrock_agents,
    get_knowledge_bases,
    get_notebook_instances,
)
from nhiaudit.connectors.aws.workloads_ecs import (
    ECS_TASK,
    ECS_TASK_EXECUTION,
    MAX_TASK_FAMILIES,
    Listing,
    get_ecs_task_definitions,
)
from nhiaudit.connectors.aws.workloads_eks import (
    EKS_POD_IDENTITY,
    EKS_SERVICE_ACCOUNT,
    MAX_ASSOCIATIONS,
    get_pod_identity_associations,
)
from nhiaudit.connectors.aws.workloads_sagemaker import MAX_ENDPOINTS, SAGEMAKER_ENDPOINT, get_endpoints
from nhiaudit.textsafe import one_line


class IssueRecorder(Protocol):
    def add(self, operation: str, message: str, missing: str) -> None: ...

    def start_many(self, operation: str, missing: str, fn: Callable[[str], Any], keys: list[str],
                   pool: ThreadPoolExecutor, deadline: Any = None) -> Callable[[], dict[str, Any]]: ...


@dataclass(frozen=True)
class Described:
    service: str  # boto3 client name
    list_operation: str  # IAM action of the listing (an issue's operation)
    describe_operation: str
    missing: str  # what a failure leaves out
    noun: str  # what one describe reads, plural
    limit: int
    raw_field: str  # RawAccount list the descriptions go to
    kinds: tuple[str, ...]  # workload kinds the listing covers
    get: Callable[[Any, tuple[type[BaseException], ...]], Listing]


DESCRIBED: tuple[Described, ...] = (
    Described("ecs", "ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition",
              "ECS task definitions' task and execution roles", "task definition families", MAX_TASK_FAMILIES,
              "ecs_task_definitions", (ECS_TASK, ECS_TASK_EXECUTION), get_ecs_task_definitions),
    Described("bedrock-agent", "bedrock:ListAgents", "bedrock:GetAgent", "Bedrock agents' service roles",
              "agents", MAX_PER_REGION, "bedrock_agents", (BEDROCK_AGENT,), get_bedrock_agents),
    Described("sagemaker", "sagemaker:ListNotebookInstances", "sagemaker:DescribeNotebookInstance",
              "SageMaker notebook instances' execution roles", "notebook instances", MAX_PER_REGION,
              "sagemaker_notebooks", (SAGEMAKER_NOTEBOOK,), get_notebook_instances),
    Described("bedrock-agent", "bedrock:ListKnowledgeBases", "bedrock:GetKnowledgeBase",
              "Bedrock knowledge bases' service roles", "knowledge bases", MAX_PER_REGION, "knowledge_bases",
              (BEDROCK_KNOWLEDGE_BASE,), get_knowledge_bases),
    Described("eks", "eks:ListClusters", "eks:DescribePodIdentityAssociation",
              "EKS Pod Identity associations' roles", "pod identity associations", MAX_ASSOCIATIONS,
              "pod_identities", (EKS_POD_IDENTITY,), get_pod_identity_associations),
    Described("sagemaker", "sagemaker:ListEndpoints", "sagemaker:DescribeEndpoint",
              "SageMaker endpoints' execution roles", "endpoints", MAX_ENDPOINTS, "sagemaker_endpoints",
              (SAGEMAKER_ENDPOINT,), get_endpoints),
    # Not a workload: String parameters' values, read for credential sightings (docs/secrets.md).
    Described("ssm", "ssm:DescribeParameters", "ssm:GetParameters", "credentials in SSM String parameters",
              "String parameters", MAX_PARAMETERS, "ssm_parameters", (), get_ssm_parameters),
    Described("cloudformation", "cloudformation:DescribeStacks", "cloudformation:DescribeStacks",
              "credentials in CloudFormation stack parameters and outputs", "stacks", MAX_STACKS, "cfn_stacks", (),
              get_cfn_stacks),
)

# Part of RawAccount, the call it came from and what is missing without it (account.py's _PARTS).
DESCRIBED_PARTS: tuple[tuple[str, str, str, Any], ...] = tuple(
    (d.raw_field, d.describe_operation, d.missing, list) for d in DESCRIBED
)


def start_described(
    clients: Clients,
    regions: tuple[str, ...],
    issues: IssueRecorder,
    pool: ThreadPoolExecutor,
    failures: tuple[type[BaseException], ...],
    describe_error: Callable[[BaseException], str],
) -> Callable[[RawAccount], None]:
    """Start every service's per-region listing and describes; the returned function adds the results."""
    started = []
    for spec in DESCRIBED:
        # Clients are created here, in the account's own thread (boto3 sessions are not thread-safe).
        by_region = {r: clients.client(spec.service, r) for r in regions}
        gather = issues.start_many(spec.list_operation, spec.missing,
                                   lambda r, s=spec, c=by_region: s.get(c[r], failures),
                                   list(regions), pool, clients.deadline)
        started.append((spec, gather))

    def finish(raw: RawAccount) -> None:
        raw.listed.add(EKS_SERVICE_ACCOUNT)  # IRSA: from the trust policies (dropped if GAAD fails)
        for spec, gather in started:
            results: dict[str, Listing] = gather()
            raw.listed.update(spec.kinds)  # a failed region is an issue: assemble drops the kinds
            for region in regions:
                if region in results:
                    _add(raw, issues, spec, region, results[region], describe_error)

    return finish


def _add(raw: RawAccount, issues: IssueRecorder, spec: Described, region: str, listing: Listing,
         describe_error: Callable[[BaseException], str]) -> None:
    getattr(raw, spec.raw_field).extend(listing.definitions)
    if listing.left_out:
        issues.add(spec.list_operation, f"truncated: {listing.left_out} {spec.noun} in {region} beyond the first "
                   f"{spec.limit} were not described", spec.missing)
    for message in listing.truncated:
        issues.add(spec.list_operation, f"truncated: {message} in {region}", spec.missing)
    for operation, failed in _by_operation(spec, listing.failed).items():
        names = ", ".join(name for name, _ in failed[:10])
        more = ", ..." if len(failed) > 10 else ""
        issues.add(operation, one_line(f"{describe_error(failed[0][1])} "
                   f"({len(failed)} {spec.noun} in {region}: {names}{more})"), spec.missing)


def _by_operation(spec: Described, failed: tuple[tuple[str, BaseException], ...]
                  ) -> dict[str, list[tuple[str, BaseException]]]:
    """Failures grouped by the call that failed: a chain of reads (a SageMaker endpoint's config and model, an
    EKS cluster's associations) names the read that was refused; anything else is the describe's."""
    grouped: dict[str, list[tuple[str, BaseException]]] = {}
    for name, exc in failed:
        operation = getattr(exc, "operation_name", None)
        action = iam_action(spec.service, operation) if isinstance(operation, str) else spec.describe_operation
        grouped.setdefault(action, []).append((name, exc))
    return dict(sorted(grouped.items()))
