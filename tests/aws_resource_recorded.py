"""Recorded resource-policy replies (fixtures/aws/resource-policies, account 111122223333) for a front with no
upstream: two pages of buckets (one with a policy granting a partner account's role, Block Public Access and an
ACL; one with none of them), two pages of KMS keys in us-east-1 (a customer managed key with a policy and a
cross-account grant, and an AWS managed key), a Lambda policy for one of list-functions.json's functions,
empty Secrets Manager, SQS (a reply without QueueUrls, as AWS sends it) and SNS listings, and two pages of
SageMaker model package groups in us-east-1 (`fraud-models`, whose policy grants the partner role, and
`churn-models`, which has none: SageMaker's ValidationException "Cannot find resource policy")."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlparse

from aws_support import FIXTURES, AwsFront, Request, Response, error_response

RECORDED = FIXTURES / "resource-policies"
JSON = "application/x-amz-json-1.1"
CLAIMS = "claims-data-111122223333"
CUSTOMER_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PARTNER = "arn:aws:iam::444455556666:role/partner-agent"
GROUPS = "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/"

# Requests the recorded resources cause (DescribeRegions gives two regions: eu-west-1 and us-east-1).
RECORDED_REQUESTS = {
    "s3:ListAllMyBuckets": 2, "s3:GetAccountPublicAccessBlock": 1,
    "s3:GetBucketPolicy": 2, "s3:GetBucketPublicAccessBlock": 2, "s3:GetBucketAcl": 2,
    "kms:ListKeys": 3, "kms:DescribeKey": 2, "kms:GetKeyPolicy": 1, "kms:ListGrants": 1,
    "secretsmanager:ListSecrets": 2, "sqs:ListQueues": 2, "sns:ListTopics": 2, "lambda:GetPolicy": 2,
    "sagemaker:ListModelPackageGroups": 3, "sagemaker:GetModelPackageGroupPolicy": 2,
}


def _file(name: str, content_type: str = JSON) -> Response:
    return Response(200, (RECORDED / name).read_bytes(), content_type)


def _region(req: Request) -> str:
    match = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", req.headers["authorization"])
    return match.group(1) if match else ""


def _bucket(req: Request) -> str:
    return urlparse(req.path).path.strip("/")


def _list_buckets(req: Request) -> Response:
    page = 2 if req.params.get("continuation-token") == "s3-page-2" else 1
    return _file(f"s3-list-buckets-page-{page}.xml", "application/xml")


def _bucket_policy(req: Request) -> Response:
    if _bucket(req) == CLAIMS:
        return _file("s3-get-bucket-policy-claims-data.json", "application/json")
    return error_response(req, "NoSuchBucketPolicy", "The bucket policy does not exist", 404)


def _bucket_block(req: Request) -> Response:
    if _bucket(req) == CLAIMS:
        return _file("s3-get-public-access-block-claims-data.xml", "application/xml")
    return error_response(req, "NoSuchPublicAccessBlockConfiguration",
                          "The public access block configuration was not found", 404)


def _list_keys(req: Request) -> Response:
    if _region(req) != "us-east-1":
        return Response(200, b'{"Keys": [], "Truncated": false}', JSON)
    return _file("kms-list-keys-page-2.json" if req.params.get("Marker") == "kms-page-2" else
                 "kms-list-keys-page-1.json")


def _describe_key(req: Request) -> Response:
    return _file(f"kms-describe-key-{req.params['KeyId'].rsplit('/', 1)[-1]}.json")


def _function_policy(req: Request) -> Response:
    name = unquote(urlparse(req.path).path).split("/")[-2].rsplit(":", 1)[-1]
    if name == "support-copilot":
        return _file("lambda-get-policy-support-copilot.json", "application/json")
    return error_response(req, "ResourceNotFoundException", "No policy is associated with the given resource",
                          404)


def _list_groups(req: Request) -> Response:
    if _region(req) != "us-east-1":
        return Response(200, b'{"ModelPackageGroupSummaryList": []}', JSON)
    page = 2 if req.params.get("NextToken") == "sagemaker-page-2" else 1
    return _file(f"sagemaker-list-model-package-groups-page-{page}.json")


def _group_policy(req: Request) -> Response:
    name = req.params["ModelPackageGroupName"]
    if name == "fraud-models":
        return _file("sagemaker-get-model-package-group-policy-fraud-models.json")
    return error_response(req, "ValidationException", f"Cannot find resource policy for: {GROUPS}{name}", 400)


def record_resource_policies(front: AwsFront) -> None:
    front.replay("s3:ListAllMyBuckets", _list_buckets)
    front.replay("s3:GetAccountPublicAccessBlock", lambda r: error_response(
        r, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found", 404))
    front.replay("s3:GetBucketPolicy", _bucket_policy)
    front.replay("s3:GetBucketPublicAccessBlock", _bucket_block)
    front.replay("s3:GetBucketAcl", lambda r: _file("s3-get-bucket-acl.xml", "application/xml"))
    front.replay("kms:ListKeys", _list_keys)
    front.replay("kms:DescribeKey", _describe_key)
    front.replay("kms:GetKeyPolicy", lambda r: _file("kms-get-key-policy.json"))
    front.replay("kms:ListGrants", lambda r: _file("kms-list-grants-reply.json"))
    front.replay("secretsmanager:ListSecrets", lambda r: Response(200, b'{"SecretList": []}', JSON))
    front.replay("sqs:ListQueues", lambda r: Response(200, b"{}", "application/x-amz-json-1.0"))
    front.replay("sns:ListTopics", lambda r: Response(200, (
        b'<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListTopicsResult><Topics/>'
        b"</ListTopicsResult><ResponseMetadata><RequestId>fixture</RequestId></ResponseMetadata>"
        b"</ListTopicsResponse>")))
    front.replay("lambda:GetPolicy", _function_policy)
    front.replay("sagemaker:ListModelPackageGroups", _list_groups)
    front.replay("sagemaker:GetModelPackageGroupPolicy", _group_policy)
