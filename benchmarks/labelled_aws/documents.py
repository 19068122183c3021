"""IAM policy and trust documents as AWS stores them, and the AWS-managed policies the estate attaches."""

from __future__ import annotations

from typing import Any

VERSION = "2012-10-17"
AWS_POLICY = "arn:aws:iam::aws:policy/"
ADMIN = AWS_POLICY + "AdministratorAccess"
LAMBDA_BASIC = AWS_POLICY + "service-role/AWSLambdaBasicExecutionRole"
ECS_EXECUTION = AWS_POLICY + "service-role/AmazonECSTaskExecutionRolePolicy"
SSM_CORE = AWS_POLICY + "AmazonSSMManagedInstanceCore"
S3_READ = AWS_POLICY + "AmazonS3ReadOnlyAccess"
CHANGE_PASSWORD = AWS_POLICY + "IAMUserChangePassword"
ECR_READ = AWS_POLICY + "AmazonEC2ContainerRegistryReadOnly"
POWER_USER = AWS_POLICY + "PowerUserAccess"

SERVICES = {"lambda": "lambda.amazonaws.com", "ecs": "ecs-tasks.amazonaws.com", "ec2": "ec2.amazonaws.com"}
GITHUB_ISSUER = "token.actions.githubusercontent.com"
MFA_PRESENT = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
MFA_RECENT = {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def allow(actions: str | list[str], resources: str | list[str], condition: dict[str, Any] | None = None,
          sid: str | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {}
    if sid:
        stmt["Sid"] = sid
    stmt.update({"Effect": "Allow", "Action": actions, "Resource": resources})
    if condition:
        stmt["Condition"] = condition
    return stmt


def trust(principal: dict[str, Any] | str, action: str = "sts:AssumeRole",
          condition: dict[str, Any] | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        stmt["Condition"] = condition
    return document(stmt)


def service_trust(service: str) -> dict[str, Any]:
    return trust({"Service": SERVICES[service]})


def github_trust(account: str, condition: dict[str, Any] | None) -> dict[str, Any]:
    provider = f"arn:aws:iam::{account}:oidc-provider/{GITHUB_ISSUER}"
    return trust({"Federated": provider}, "sts:AssumeRoleWithWebIdentity", condition)


# AWS-managed policies as GetAccountAuthorizationDetails returns them (documents abbreviated to the
# statements that matter, as in fixtures/aws/).
MANAGED: dict[str, dict[str, Any]] = {
    ADMIN: document(allow("*", "*")),
    LAMBDA_BASIC: document(allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "*")),
    ECS_EXECUTION: document(allow(["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                                   "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "logs:CreateLogStream",
                                   "logs:PutLogEvents"], "*")),
    SSM_CORE: document(
        allow(["ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
               "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
               "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory",
               "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
               "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation"], "*"),
        allow(["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"], "*"),
        allow(["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
               "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"], "*"),
    ),
    S3_READ: document(allow(["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*",
                             "s3-object-lambda:List*"], "*")),
    CHANGE_PASSWORD: document(allow(["iam:ChangePassword"], ["arn:aws:iam::*:user/${aws:username}"]),
                              allow(["iam:GetAccountPasswordPolicy"], "*")),
    POWER_USER: document(
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
        allow(["account:GetAccountInformation", "account:GetPrimaryEmail", "account:ListRegions",
               "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
               "organizations:DescribeOrganization"], "*"),
    ),
    ECR_READ: document(allow(["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                              "ecr:GetDownloadUrlForLayer", "ecr:GetRepositoryPolicy", "ecr:DescribeRepositories",
                              "ecr:ListImages", "ecr:DescribeImages", "ecr:BatchGetImage"], "*")),
}

def policy_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def policy_path(arn: str) -> str:
    """`arn:aws:iam::aws:policy/service-role/X` -> `/service-role/`."""
    rest = arn.split(":policy", 1)[1]
    return rest.rsplit("/", 1)[0] + "/"
