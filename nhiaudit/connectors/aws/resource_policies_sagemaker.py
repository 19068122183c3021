"""SageMaker model package group policies, live: ListModelPackageGroups per region, then
GetModelPackageGroupPolicy per group (the only SageMaker resource that takes a resource-based policy).

Get only, like resource_policies_get.py: the API's own shapes in, RawResourcePolicy("sagemaker", ...) out."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from nhiaudit.connectors.aws.raw import RawDataError
from nhiaudit.connectors.aws.resource_policies_get import (
    Listed,
    Secondary,
    account_of_resource,
    error_code,
    listed_pages,
    named_objects,
    policy_text,
)
from nhiaudit.connectors.aws.resource_raw import RawResourcePolicy
from nhiaudit.connectors.aws.shapes import reply_object

# botocore's EntityName and ModelPackageGroupArn patterns: a group name AWS listed has no `/`, `:` or control
# character, so it is sent as-is. Its ARN must name it (SageMaker lowercases the name in ARNs) and the region
# listed: a summary pairing a name with another group's ARN would have one group's policy recorded as another's.
_GROUP_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_GROUP_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]{1,64}):\d{12}:model-package-group/([^/\s]{1,63})")
# GetModelPackageGroupPolicy documents no error codes: SageMaker answers ValidationException for a group
# without a policy ("Cannot find resource policy for: ARN") and for one deleted since the listing ("Cannot find
# Model Package Group"), the two messages the AWS provider for Terraform and the CloudFormation resource
# provider for AWS::SageMaker::ModelPackageGroup treat as "not found".
_NO_POLICY = "Cannot find resource policy"
_NO_GROUP = "Cannot find Model Package Group"


def list_model_package_groups(sagemaker: Any, region: str) -> tuple[list[Listed], bool]:
    """The region's own model package groups (not those other accounts share with it: their policies are the
    owners' to read)."""
    items, more = listed_pages(sagemaker, "list_model_package_groups", "ModelPackageGroupSummaryList", MaxResults=100)
    groups = named_objects(named_objects(items, "ModelPackageGroupArn", "a model package group"),
                           "ModelPackageGroupName", "a model package group")
    bad = next((g for g in groups if not _is_group(g["ModelPackageGroupName"], g["ModelPackageGroupArn"], region)),
               None)
    if bad is not None:
        raise RawDataError(f"malformed reply: not a model package group: {bad['ModelPackageGroupArn'][:200]!r}")
    return [Listed(str(g["ModelPackageGroupArn"]), str(g["ModelPackageGroupName"]), region) for g in groups], more


def _is_group(name: str, arn: str, region: str) -> bool:
    match = _GROUP_ARN.fullmatch(arn)
    return bool(_GROUP_NAME.fullmatch(name) and match and match.group(1) == region
                and match.group(2).lower() == name.lower())


def read_model_package_group(sagemaker: Any, group: Listed, secondary: Secondary) -> RawResourcePolicy | None:
    """The group's policy (None: it has none); None for a group deleted since the listing."""
    try:
        reply = reply_object(sagemaker.get_model_package_group_policy(ModelPackageGroupName=group.key))
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if error_code(exc) == "ValidationException" and _NO_GROUP in message:
            return None
        if error_code(exc) == "ValidationException" and _NO_POLICY in message:
            return RawResourcePolicy("sagemaker", group.arn, account_of_resource(group.arn), group.region, None)
        raise
    policy = policy_text(reply.get("ResourcePolicy"), group.arn)
    return RawResourcePolicy("sagemaker", group.arn, account_of_resource(group.arn), group.region, policy)
