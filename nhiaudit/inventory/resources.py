"""Resource-based policies: who a resource itself lets in (an S3 bucket policy and ACL, a KMS key policy and its
grants, a secret's, function's, queue's or topic's policy). Records of the inventory, kept in the snapshot."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nhiaudit.inventory.model import Provider, Statement, _Record

# How a principal is written in a ResourceStatement: IAM ARNs and "*" as they are (an account id as its root
# ARN), and the other principal kinds with a prefix, so they can never be mistaken for an identity id.
SERVICE_PREFIX = "service:"  # {"Service": "lambda.amazonaws.com"}
FEDERATED_PREFIX = "federated:"  # {"Federated": "cognito-identity.amazonaws.com"}
CANONICAL_PREFIX = "canonical:"  # {"CanonicalUser": "79a5..."} and S3 ACL grantees by canonical id
UNIQUE_ID_PREFIX = "unique-id:"  # "AROA..." / "AIDA...": the principal was deleted; AWS shows its unique id


class ResourceStatement(_Record):
    """One statement of a resource policy, with the principals it names (or, `not_principal`, excludes)."""

    index: int  # position in the document (grants and ACL entries: position in their list)
    origin: Literal["policy", "acl", "grant"] = "policy"
    principals: tuple[str, ...] = ()
    not_principal: bool = False
    statement: Statement
    note: str | None = None  # e.g. "S3 ACL grant to AllUsers", "KMS grant 0a1b..."


class PublicAccessBlock(_Record):
    """S3 Block Public Access, for a bucket or an account (absent settings are off, as in AWS)."""

    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False


class ResourcePolicy(_Record):
    """The resource policy (and, for S3, ACL and Block Public Access; for KMS, grants) of one resource."""

    id: str  # the resource ARN (S3: arn:aws:s3:::bucket, without account)
    provider: Provider = Provider.AWS
    account: str  # the account that owns the resource
    service: str  # s3, kms, secretsmanager, lambda, sqs, sns, sagemaker
    region: str | None = None
    statements: tuple[ResourceStatement, ...] = ()
    has_policy: bool = True  # False: the resource has no policy document (only ACL / grants, or nothing)
    public_access_block: PublicAccessBlock | None = None  # the bucket's own; None: none or not read
    account_public_access_block: PublicAccessBlock | None = None  # the owner account's; None: none or not read
    omitted: int = Field(default=0, ge=0)  # statements, principals or grants past the bounds, left out
