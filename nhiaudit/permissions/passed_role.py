"""What an `iam:PassRole` request carries when a role is passed to a service, for its condition keys.

`iam:PassedToService` is the service principal that will assume the role. `iam:AssociatedResourceArn` is
the ARN of the resource the role is attached to (AWS: every service that sets `iam:PassedToService` sets
it too), a resource the caller creates and names, so any ARN of its type (`Chosen`): the Lambda function,
EC2 instance, CloudFormation stack... an escalation technique creates.

Left unknown (the grant stays conditional): services whose request shape is not documented clearly
enough. CodeBuild does not send `iam:PassedToService` (IAM user guide); Data Pipeline's associated
resource is not documented.
"""

from __future__ import annotations

from typing import Final

from nhiaudit.permissions.aws_conditions import Chosen, Value

PASSED_TO_SERVICE: Final = "iam:PassedToService"
ASSOCIATED_RESOURCE: Final = "iam:AssociatedResourceArn"

# Service principal -> ARNs of the resources a technique creates with the passed role (`aws*`: every partition).
_RESOURCE_GLOBS: Final[dict[str, str]] = {
    "lambda.amazonaws.com": "arn:aws*:lambda:*:*:function:*",
    "ec2.amazonaws.com": "arn:aws*:ec2:*:*:instance/*",
    "cloudformation.amazonaws.com": "arn:aws*:cloudformation:*:*:stack/*",
    "glue.amazonaws.com": "arn:aws*:glue:*:*:*",  # jobs and development endpoints
    "ecs-tasks.amazonaws.com": "arn:aws*:ecs:*:*:task-definition/*",
    "sagemaker.amazonaws.com": "arn:aws*:sagemaker:*:*:notebook-instance/*",
}
_UNKNOWN_SERVICES: Final = frozenset({"codebuild.amazonaws.com"})


def passed_role_request(service: str) -> dict[str, frozenset[Value]]:
    """Request facts of passing a role to `service` ({}: nothing known)."""
    if service in _UNKNOWN_SERVICES:
        return {}
    facts: dict[str, frozenset[Value]] = {PASSED_TO_SERVICE: frozenset({service})}
    glob = _RESOURCE_GLOBS.get(service)
    if glob is not None:
        facts[ASSOCIATED_RESOURCE] = frozenset({Chosen(glob)})
    return facts
