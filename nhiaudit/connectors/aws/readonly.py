"""Read-only by construction: every client nhiaudit creates refuses operations outside an allowlist.

The guard runs on botocore's `before-parameter-build` event, i.e. before the request is serialised,
signed or sent, so a refused operation never reaches AWS.
"""

from __future__ import annotations

from typing import Any

from nhiaudit.connectors.counting import RequestCounter
from nhiaudit.errors import CollectionError

# (botocore service name, operation name). Every operation here is "List" or "Read" in AWS's service
# authorization reference, except sts:AssumeRole, which only obtains credentials for the audited account.
ALLOWED_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("sts", "GetCallerIdentity"),
        ("sts", "AssumeRole"),
        ("organizations", "ListAccounts"),
        ("organizations", "ListRoots"),
        ("organizations", "ListPolicies"),
        ("organizations", "DescribePolicy"),
        ("organizations", "ListTargetsForPolicy"),
        ("organizations", "ListOrganizationalUnitsForParent"),
        ("organizations", "ListAccountsForParent"),
        ("iam", "GetAccountAuthorizationDetails"),
        ("iam", "GenerateCredentialReport"),
        ("iam", "GetCredentialReport"),
        ("iam", "ListAccessKeys"),
        ("iam", "GetAccessKeyLastUsed"),
        ("iam", "ListRoles"),
        ("ec2", "DescribeRegions"),
        ("ec2", "DescribeInstances"),
        ("ec2", "DescribeInstanceAttribute"),  # userData only (connectors/aws/user_data.py)
        ("ecs", "ListTaskDefinitions"),
        ("ecs", "DescribeTaskDefinition"),
        ("bedrock-agent", "ListAgents"),
        ("bedrock-agent", "GetAgent"),
        ("sagemaker", "ListNotebookInstances"),
        ("sagemaker", "DescribeNotebookInstance"),
        ("lambda", "ListFunctions"),
        ("bedrock-agent", "ListKnowledgeBases"),
        ("bedrock-agent", "GetKnowledgeBase"),
        ("eks", "ListClusters"),
        ("eks", "ListPodIdentityAssociations"),
        ("eks", "DescribePodIdentityAssociation"),
        ("sagemaker", "ListEndpoints"),
        ("sagemaker", "DescribeEndpoint"),
        ("sagemaker", "DescribeEndpointConfig"),
        ("sagemaker", "DescribeModel"),
        # Resource-based policies (resource_policies*.py)
        ("s3", "ListBuckets"),
        ("s3", "GetBucketPolicy"),
        ("s3", "GetBucketAcl"),
        ("s3", "GetPublicAccessBlock"),
        ("s3control", "GetPublicAccessBlock"),
        ("kms", "ListKeys"),
        ("kms", "DescribeKey"),
        ("kms", "GetKeyPolicy"),
        ("kms", "ListGrants"),
        ("secretsmanager", "ListSecrets"),
        ("secretsmanager", "GetResourcePolicy"),
        ("lambda", "GetPolicy"),
        ("sqs", "ListQueues"),
        ("sqs", "GetQueueAttributes"),
        ("sns", "ListTopics"),
        ("sns", "GetTopicAttributes"),
        ("sagemaker", "ListModelPackageGroups"),
        ("sagemaker", "GetModelPackageGroupPolicy"),
        ("ssm", "DescribeParameters"),
        ("cloudformation", "DescribeStacks"),
        ("ssm", "GetParameters"),  # String / StringList only, WithDecryption=False (connectors/aws/sightings.py)
        ("cloudtrail", "DescribeTrails"),
        ("cloudtrail", "GetTrailStatus"),
        ("cloudtrail", "GetEventSelectors"),
        ("cloudtrail", "ListEventDataStores"),
        ("cloudtrail", "GetEventDataStore"),
        ("bedrock", "GetModelInvocationLoggingConfiguration"),
    }
)

# botocore service names whose IAM action prefix differs from the service name.
_IAM_PREFIX: dict[str, str] = {"bedrock-agent": "bedrock", "s3control": "s3"}
# Operations whose IAM action is named differently from the operation (AWS service authorization reference).
_IAM_ACTION: dict[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
}


def iam_action(service: str, operation: str) -> str:
    """The IAM action that authorises `operation`, e.g. ("iam", "ListAccessKeys") -> "iam:ListAccessKeys"."""
    return _IAM_ACTION.get((service, operation)) or f"{_IAM_PREFIX.get(service, service)}:{operation}"


def allowed_iam_actions() -> frozenset[str]:
    return frozenset(iam_action(s, o) for s, o in ALLOWED_OPERATIONS)


class ReadOnlyViolation(CollectionError):
    """nhiaudit tried to call an AWS operation outside its read-only allowlist (a bug, never sent)."""


def refuse_unlisted(model: Any, **_: Any) -> None:
    """botocore `before-parameter-build` handler: raise before anything is serialised or sent."""
    service = model.service_model.service_name
    if (service, model.name) not in ALLOWED_OPERATIONS:
        raise ReadOnlyViolation(
            f"refused {iam_action(service, model.name)}: nhiaudit only calls read operations "
            "(see docs/aws-permissions.md)"
        )


def install_guard(events: Any) -> None:
    """Register the guard first on a botocore event emitter (a session's or a client's)."""
    events.register_first("before-parameter-build", refuse_unlisted, unique_id="nhiaudit-readonly-guard")


class RequestLog(RequestCounter):
    """The request count, fed by botocore's `before-send` (every HTTP attempt, retries included)."""

    def on_send(self, event_name: str, **_: Any) -> None:
        # event_name is "before-send.<service id>.<Operation>"
        _, service, operation = event_name.split(".", 2)
        self.add(f"{service}:{operation}")

    def install(self, events: Any) -> None:
        events.register("before-send", self.on_send, unique_id=f"nhiaudit-request-log-{id(self)}")
