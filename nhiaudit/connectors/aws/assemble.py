"""Assemble one account's snapshot from raw parts. Shared by live collection and file import, so the two
give the same inventory for the same estate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.connectors.aws.audit_logging import (
    transform_event_data_stores,
    transform_invocation_logging,
    transform_trails,
)
from nhiaudit.connectors.aws.resource_raw import RawResourcePolicy
from nhiaudit.connectors.aws.roles import with_session_limits
from nhiaudit.connectors.aws.sightings import cfn_sightings, ecs_sightings, lambda_sightings, ssm_sightings
from nhiaudit.connectors.aws.transform_credentials import (
    ReportRow,
    minimal_user,
    transform_user_credentials,
    with_user_activity,
)
from nhiaudit.connectors.aws.transform_iam import IamInventory, transform_authorization_details
from nhiaudit.connectors.aws.transform_resources import transform_resource_policies
from nhiaudit.connectors.aws.user_data import user_data_sightings
from nhiaudit.connectors.aws.workloads import transform_ec2_reservations, transform_lambda_functions
from nhiaudit.connectors.aws.workloads_ai import (
    transform_bedrock_agents,
    transform_knowledge_bases,
    transform_notebook_instances,
)
from nhiaudit.connectors.aws.workloads_ecs import transform_ecs_task_definitions
from nhiaudit.connectors.aws.workloads_eks import transform_irsa, transform_pod_identity_associations
from nhiaudit.connectors.aws.workloads_sagemaker import transform_endpoints
from nhiaudit.inventory.model import CollectionIssue, Credential, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.secrets.sightings import sighting_order


@dataclass
class RawAccount:
    """Everything collected (or imported) for one account, still in raw AWS shapes."""

    account: str
    authorization_details: Mapping[str, Any] | None = None  # merged GAAD document; None: unavailable
    report_rows: list[ReportRow] | None = None  # None: no credential report
    access_keys: dict[str, list[Mapping[str, Any]]] = field(
        default_factory=dict
    )  # user name -> ListAccessKeys
    key_last_used: dict[str, Mapping[str, Any]] = field(
        default_factory=dict
    )  # key id -> GetAccessKeyLastUsed
    lambda_functions: list[Mapping[str, Any]] = field(default_factory=list)
    ec2_reservations: list[tuple[str | None, Mapping[str, Any]]] = field(
        default_factory=list
    )  # (region, raw)
    ecs_task_definitions: list[Mapping[str, Any]] = field(default_factory=list)  # DescribeTaskDefinition's
    bedrock_agents: list[Mapping[str, Any]] = field(default_factory=list)  # GetAgent's `agent`
    sagemaker_notebooks: list[Mapping[str, Any]] = field(default_factory=list)  # DescribeNotebookInstance
    role_sessions: dict[str, int] = field(default_factory=dict)  # role ARN -> MaxSessionDuration (ListRoles)
    knowledge_bases: list[Mapping[str, Any]] = field(default_factory=list)  # GetKnowledgeBase's `knowledgeBase`
    pod_identities: list[Mapping[str, Any]] = field(default_factory=list)  # DescribePodIdentityAssociation's
    sagemaker_endpoints: list[Mapping[str, Any]] = field(default_factory=list)  # workloads_sagemaker's chains
    resource_policies: list[RawResourcePolicy] = field(default_factory=list)  # bucket, key, secret... policies
    # String / StringList parameters with their values (GetParameters); only sightings leave the transform.
    ssm_parameters: list[Mapping[str, Any]] = field(default_factory=list)
    cfn_stacks: list[Mapping[str, Any]] = field(default_factory=list)  # DescribeStacks: parameters, outputs
    ec2_user_data: dict[str, str] = field(default_factory=dict)  # "region|owner|instance id" -> base64 user data
    issues: list[CollectionIssue] = field(default_factory=list)
    # Workload kinds whose listing was read (live: called; import: a listing of the account was imported, even
    # an empty one). A kind whose call failed (an issue for its operation) is left out of SourceInfo.collected.
    listed: set[str] = field(default_factory=set)
    # Audit settings (connectors/aws/audit_logging.py): trail ARN -> DescribeTrails entry / GetTrailStatus /
    # GetEventSelectors reply; region -> GetModelInvocationLoggingConfiguration reply.
    trails: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    trail_status: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    trail_selectors: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    invocation_logging: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    event_data_stores: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # ARN -> GetEventDataStore
    audit_listed: set[str] = field(default_factory=set)  # audit kinds read (as `listed` for workloads)


# Workload kind -> the calls a complete listing of it needs (every region's listing, and the region list).
WORKLOAD_LISTINGS: dict[str, tuple[str, ...]] = {
    "lambda": ("lambda:ListFunctions", "ec2:DescribeRegions"),
    "ec2_instance": ("ec2:DescribeInstances", "ec2:DescribeRegions"),
    "ecs_task": ("ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition", "ec2:DescribeRegions"),
    "ecs_task_execution": ("ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition", "ec2:DescribeRegions"),
    "bedrock_agent": ("bedrock:ListAgents", "bedrock:GetAgent", "ec2:DescribeRegions"),
    "sagemaker_notebook": ("sagemaker:ListNotebookInstances", "sagemaker:DescribeNotebookInstance",
                           "ec2:DescribeRegions"),
    "bedrock_knowledge_base": ("bedrock:ListKnowledgeBases", "bedrock:GetKnowledgeBase", "ec2:DescribeRegions"),
    "eks_pod_identity": ("eks:ListClusters", "eks:ListPodIdentityAssociations", "eks:DescribePodIdentityAssociation",
                         "ec2:DescribeRegions"),
    "sagemaker_endpoint": ("sagemaker:ListEndpoints", "sagemaker:DescribeEndpoint",
                           "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel", "ec2:DescribeRegions"),
    # IRSA service accounts come from the trust policies: complete when the authorization details are.
    "eks_service_account": ("iam:GetAccountAuthorizationDetails",),
}


# Audit kind -> the calls a complete reading of it needs.
AUDIT_LISTINGS: dict[str, tuple[str, ...]] = {
    "cloudtrail_trail": ("cloudtrail:DescribeTrails", "ec2:DescribeRegions"),
    "bedrock_invocation_logging": ("bedrock:GetModelInvocationLoggingConfiguration", "ec2:DescribeRegions"),
    "cloudtrail_event_data_store": ("cloudtrail:ListEventDataStores", "cloudtrail:GetEventDataStore",
                                    "ec2:DescribeRegions"),
}


def collected_audit_kinds(raw: RawAccount) -> tuple[str, ...]:
    failed = {i.operation for i in raw.issues}
    return tuple(sorted(k for k in raw.audit_listed if failed.isdisjoint(AUDIT_LISTINGS.get(k, ()))))


def collected_kinds(raw: RawAccount) -> tuple[str, ...]:
    """The workload kinds listed completely: read, and none of their calls failed."""
    failed = {i.operation for i in raw.issues}
    return tuple(sorted(k for k in raw.listed if failed.isdisjoint(WORKLOAD_LISTINGS.get(k, ()))))


def assemble_account(raw: RawAccount, source: SourceInfo) -> Snapshot:
    iam = (
        transform_authorization_details(raw.authorization_details)
        if raw.authorization_details is not None
        else IamInventory()
    )
    rows_by_arn: dict[str, ReportRow] = {r.arn: r for r in raw.report_rows or []}
    identities = list(iam.identities)
    if raw.authorization_details is None:
        identities.extend(minimal_user(r, raw.account) for r in rows_by_arn.values())

    credentials: list[Credential] = []
    updated = []
    for identity in with_session_limits(identities, raw.role_sessions):
        row = rows_by_arn.get(identity.id)
        keys: Sequence[Mapping[str, Any]] | None = raw.access_keys.get(identity.name)
        mine = (
            transform_user_credentials(identity.id, row, keys, raw.key_last_used)
            if identity.kind == "user"
            else []
        )
        credentials.extend(mine)
        updated.append(with_user_activity(identity, row, mine))

    workloads = transform_lambda_functions(raw.lambda_functions)
    for region, reservation in raw.ec2_reservations:
        workloads.extend(transform_ec2_reservations([reservation], iam.instance_profile_roles, region))
    workloads.extend(transform_ecs_task_definitions(raw.ecs_task_definitions))
    workloads.extend(transform_bedrock_agents(raw.bedrock_agents))
    workloads.extend(transform_notebook_instances(raw.sagemaker_notebooks))
    workloads.extend(transform_knowledge_bases(raw.knowledge_bases))
    workloads.extend(transform_pod_identity_associations(raw.pod_identities))
    workloads.extend(transform_endpoints(raw.sagemaker_endpoints))
    workloads.extend(transform_irsa(iam.trusts))

    resource_policies, resource_issues = transform_resource_policies(raw.resource_policies)

    sightings = [*lambda_sightings(raw.lambda_functions), *ecs_sightings(raw.ecs_task_definitions),
                 *ssm_sightings(raw.ssm_parameters), *cfn_sightings(raw.cfn_stacks),
                 *user_data_sightings(raw.ec2_user_data)]

    if raw.listed and not source.collected:
        source = source.model_copy(update={"collected": collected_kinds(raw)})
    if raw.audit_listed and not source.audit_collected:
        source = source.model_copy(update={"audit_collected": collected_audit_kinds(raw)})
    return Snapshot(
        sources=[source],
        identities=updated,
        credentials=credentials,
        policies=list(iam.policies),
        trusts=list(iam.trusts),
        workloads=workloads,
        collection_issues=list(raw.issues) + resource_issues,
        resource_policies=resource_policies,
        credential_sightings=sorted(sightings, key=sighting_order),
        audit_settings=[*transform_trails(raw.account, raw.trails, raw.trail_status, raw.trail_selectors),
                        *transform_invocation_logging(raw.account, raw.invocation_logging),
                        *transform_event_data_stores(raw.account, raw.event_data_stores)],
    )
