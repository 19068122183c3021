"""Resource-based policies in the AWS APIs' own shapes: what live collection reads and what file imports
hold, before the pure transform turns them into inventory records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RawResourcePolicy:
    service: str  # "s3" | "kms" | "secretsmanager" | "lambda" | "sqs" | "sns" | "sagemaker"
    resource_arn: str  # the resource the policy is attached to
    account: str  # the account that owns the resource
    region: str | None  # None where the ARN has no region (S3)
    # The policy document as the API returns it (a JSON string in every one of these APIs); None: the resource
    # has no policy (S3 NoSuchBucketPolicy, Lambda ResourceNotFoundException on GetPolicy, no ResourcePolicy).
    policy: str | Mapping[str, Any] | None
    # Other state in the API's own shapes, keyed by the reply member's name: s3 "PublicAccessBlockConfiguration"
    # (GetPublicAccessBlock), "AccountPublicAccessBlockConfiguration" (s3control GetPublicAccessBlock),
    # "Grants" and "Owner" (GetBucketAcl); kms "Grants" (ListGrants), "KeyMetadata" (DescribeKey).
    extra: Mapping[str, Any] = field(default_factory=dict)
