"""Import of resource-policy exports (AWS CLI output), into RawResourcePolicy like live collection.

| export | names its resource? |
|---|---|
| `aws s3api get-bucket-policy` `{"Policy": "..."}` | no: `--import arn:aws:s3:::BUCKET=FILE` |
| `aws kms get-key-policy` `{"Policy": "...", "PolicyName": "default"}` | no: `--import KEY_ARN=FILE` |
| `aws lambda get-policy` `{"Policy": "...", "RevisionId": "..."}` | its statements' Resource (one function), or ARN= |
| `aws secretsmanager get-resource-policy` `{"ARN", "Name", "ResourcePolicy"}` | yes (ARN) |
| `aws sqs get-queue-attributes` / `aws sns get-topic-attributes` `{"Attributes"}` | QueueArn / TopicArn, or ARN= |
| `aws s3api get-public-access-block` / `aws s3control get-public-access-block` | no: bucket ARN= or ACCOUNT= |
| `aws s3api get-bucket-acl` `{"Owner", "Grants"}` | no: `--import arn:aws:s3:::BUCKET=FILE` |
| `aws kms list-grants` `{"Grants": [{"KeyId": ARN, ...}]}` | yes (KeyId) |
| `aws sagemaker get-model-package-group-policy` `{"ResourcePolicy": "..."}` | no: `--import GROUP_ARN=FILE` |

S3 ARNs carry no account. The bucket's owner is the account written in the TARGET's account field
(`arn:aws:s3::222222222222:BUCKET=FILE`; the record keeps the standard `arn:aws:s3:::BUCKET`), else the account of
the authorization details imported with it when there is exactly one, else the file is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError, arn_parts, decode_document
from nhiaudit.connectors.aws.resource_raw import RawResourcePolicy
from nhiaudit.connectors.interface import ExportFile
from nhiaudit.errors import InputError

POLICY = "aws-resource-policy"
SECRET_POLICY = "aws-secret-resource-policy"
ATTRIBUTES = "aws-queue-or-topic-attributes"
PUBLIC_ACCESS_BLOCK = "aws-public-access-block"
BUCKET_ACL = "aws-bucket-acl"
KMS_GRANTS = "aws-kms-grants"
GROUP_POLICY = "aws-model-package-group-policy"
RESOURCE_KINDS = (POLICY, SECRET_POLICY, ATTRIBUTES, PUBLIC_ACCESS_BLOCK, BUCKET_ACL, KMS_GRANTS, GROUP_POLICY)
FORMATS = {
    POLICY: "aws s3api get-bucket-policy / aws kms get-key-policy / aws lambda get-policy > file.json, "
            "given as --import RESOURCE_ARN=FILE (S3: arn:aws:s3::OWNER_ACCOUNT:BUCKET when several accounts)",
    SECRET_POLICY: "aws secretsmanager get-resource-policy --secret-id ID > file.json",
    ATTRIBUTES: "aws sqs get-queue-attributes --attribute-names Policy QueueArn / aws sns get-topic-attributes",
    PUBLIC_ACCESS_BLOCK: "aws s3api get-public-access-block (as BUCKET_ARN=FILE) or aws s3control "
                         "get-public-access-block (as ACCOUNT_ID=FILE)",
    BUCKET_ACL: "aws s3api get-bucket-acl --bucket B, given as --import arn:aws:s3:::B=FILE",
    KMS_GRANTS: "aws kms list-grants --key-id KEY_ARN > file.json",
    GROUP_POLICY: "aws sagemaker get-model-package-group-policy --model-package-group-name NAME, given as "
                  "--import MODEL_PACKAGE_GROUP_ARN=FILE",
}
_ACCOUNT_ID = re.compile(r"^\d{12}$")
# Where each service keeps its resource in the ARN (the resource part's prefix).
_RESOURCE_FORMS = {"s3": "", "kms": "key/", "lambda": "function:", "sqs": "", "sns": "",
                   "secretsmanager": "secret:", "sagemaker": "model-package-group/"}


def target_problem(target: str) -> str | None:
    """None when `target` can be an AWS TARGET: an ARN, or a 12-digit account id (s3control output)."""
    if _ACCOUNT_ID.match(target):
        return None
    try:
        arn_parts(target)
    except RawDataError:
        return f"{target[:200]!r} is not an AWS TARGET: expected a resource ARN or a 12-digit account id"
    return None


def detect(data: Any) -> str | None:
    if not isinstance(data, Mapping):
        return None
    if "Policy" in data and set(data) <= {"Policy", "PolicyName", "RevisionId"}:
        return POLICY
    if "ARN" in data and "Name" in data and set(data) <= {"ARN", "Name", "ResourcePolicy"}:
        return SECRET_POLICY
    if isinstance(data.get("Attributes"), Mapping) and set(data) == {"Attributes"}:
        return ATTRIBUTES
    if "PublicAccessBlockConfiguration" in data and len(data) == 1:
        return PUBLIC_ACCESS_BLOCK
    if isinstance(data.get("Grants"), list):
        return BUCKET_ACL if "Owner" in data else KMS_GRANTS
    if set(data) == {"ResourcePolicy"}:
        return GROUP_POLICY
    return None


@dataclass
class _Resource:
    service: str
    arn: str
    account: str
    region: str | None
    policy: str | Mapping[str, Any] | None = None
    policy_read: bool = False  # a policy export (possibly "no policy") was imported
    extra: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


@dataclass
class ResourceImports:
    """Resource exports of one import, combined per resource (a bucket's policy, ACL and Block Public Access
    may come in three files), then handed to each owner's RawAccount."""

    gaad_accounts: Callable[[], list[str]]  # accounts whose authorization details are imported
    resources: dict[str, _Resource] = field(default_factory=dict)
    account_blocks: dict[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)  # s3control, by account

    def add(self, kind: str, file: ExportFile) -> None:
        data = file.data
        if kind == POLICY:
            self._policy(file, _text(data, "Policy"))
        elif kind == SECRET_POLICY:
            arn = _string(data, "ARN")
            self._set(file, self._resource(file, arn, "secretsmanager"), "policy",
                      _text(data, "ResourcePolicy") if data.get("ResourcePolicy") is not None else None)
        elif kind == GROUP_POLICY:
            resource = self._resource(file, self._need_target(file, "the model package group ARN"), "sagemaker")
            self._set(file, resource, "policy", _text(data, "ResourcePolicy"))
        elif kind == ATTRIBUTES:
            attributes = data["Attributes"]
            named = attributes.get("QueueArn") or attributes.get("TopicArn")
            arn = file.target or (str(named) if isinstance(named, str) else None)
            if arn is None:
                raise InputError.single(file.path, "these attributes name no QueueArn or TopicArn: import the file "
                                        "as --import QUEUE_OR_TOPIC_ARN=FILE")
            resource = self._resource(file, arn, None)
            if resource.service not in ("sqs", "sns"):
                raise InputError.single(file.path, f"{arn[:200]!r} is not an SQS queue or SNS topic ARN")
            policy = attributes.get("Policy")
            if policy is not None and not isinstance(policy, str | Mapping):
                raise RawDataError("expected the policy document (a JSON string)", ("Attributes", "Policy"))
            self._set(file, resource, "policy", policy)
        elif kind == PUBLIC_ACCESS_BLOCK:
            config = data["PublicAccessBlockConfiguration"]
            if not isinstance(config, Mapping):
                raise RawDataError("expected an object", ("PublicAccessBlockConfiguration",))
            if file.target is not None and _ACCOUNT_ID.match(file.target):
                self.account_blocks[file.target] = (config, str(file.path))
            else:
                resource = self._resource(file, self._need_target(file, "the bucket ARN (or an account id for "
                                                                  "s3control output)"), "s3")
                self._set(file, resource, "PublicAccessBlockConfiguration", config)
        elif kind == BUCKET_ACL:
            resource = self._resource(file, self._need_target(file, "the bucket ARN"), "s3")
            self._set(file, resource, "Grants", data["Grants"])
            self._set(file, resource, "Owner", data["Owner"])
        else:
            self._grants(file, data["Grants"])

    def raws(self) -> list[tuple[str, RawResourcePolicy, list[str]]]:
        """(owner account, raw policy, its files), sorted by resource."""
        out = []
        for arn, r in sorted(self.resources.items()):
            extra = dict(r.extra)
            block = self.account_blocks.get(r.account)
            if r.service == "s3" and block is not None:
                extra["AccountPublicAccessBlockConfiguration"] = block[0]
            out.append((r.account, RawResourcePolicy(service=r.service, resource_arn=arn, account=r.account,
                                                     region=r.region, policy=r.policy, extra=extra), r.files))
        return out

    # --- helpers ---------------------------------------------------------------------------------------

    def _policy(self, file: ExportFile, policy: str | Mapping[str, Any]) -> None:
        arn = file.target
        if arn is None and "RevisionId" in file.data and isinstance(policy, str):
            arn = _lambda_function(policy)
        if arn is None:
            raise InputError.single(file.path, "this policy does not say which resource it belongs to: import it as "
                                    "--import RESOURCE_ARN=FILE (e.g. arn:aws:s3:::BUCKET=bucket-policy.json)")
        resource = self._resource(file, arn, None)
        if resource.service in ("sqs", "sns", "secretsmanager"):
            raise InputError.single(file.path, f"a {resource.service} policy comes from its own command "
                                    "(get-queue-attributes, get-topic-attributes, get-resource-policy)")
        self._set(file, resource, "policy", policy)

    def _grants(self, file: ExportFile, grants: list[Any]) -> None:
        by_key: dict[str, list[Any]] = {}
        for i, grant in enumerate(grants):
            key = grant.get("KeyId") if isinstance(grant, Mapping) else None
            if not isinstance(key, str):
                raise RawDataError("a grant needs a KeyId (the key ARN)", ("Grants", i))
            by_key.setdefault(file.target or key, []).append(grant)
            if file.target is not None and key != file.target:
                raise RawDataError(f"grant of key {key[:200]!r}, not of {file.target[:200]!r}", ("Grants", i, "KeyId"))
        if not grants and file.target is not None:
            by_key[file.target] = []
        for arn, items in by_key.items():
            resource = self._resource(file, arn, "kms")
            self._set(file, resource, "Grants", [*resource.extra.get("Grants", []), *items], merge=True)

    def _need_target(self, file: ExportFile, what: str) -> str:
        if file.target is None:
            raise InputError.single(file.path, f"this export does not say which resource it is about: import it as "
                                    f"--import TARGET=FILE with TARGET {what}")
        return file.target

    def _resource(self, file: ExportFile, arn: str, service: str | None) -> _Resource:
        try:
            partition, arn_service, region, account, rest = arn_parts(arn)
        except RawDataError:
            raise InputError.single(file.path, f"{arn[:200]!r} is not an ARN") from None
        form = _RESOURCE_FORMS.get(arn_service)
        if form is None or not rest.startswith(form) or (service is not None and arn_service != service):
            wanted = f"an {service} ARN" if service else "the ARN of an S3 bucket, KMS key, Lambda function, SQS " \
                "queue, SNS topic, secret or SageMaker model package group"
            raise InputError.single(file.path, f"{arn[:200]!r} is not {wanted}")
        if arn_service == "s3":
            if "/" in rest or not rest:
                raise InputError.single(file.path, f"{arn[:200]!r} is not a bucket ARN (arn:aws:s3:::BUCKET)")
            account = account or self._bucket_owner(file)
            arn, region = f"arn:{partition}:s3:::{rest}", None
        if not _ACCOUNT_ID.match(account):
            raise InputError.single(file.path, f"{arn[:200]!r} names no 12-digit account")
        resource = self.resources.setdefault(arn, _Resource(arn_service, arn, account, region or None))
        if resource.account != account:
            raise InputError.single(file.path, f"{arn[:200]!r} is imported for accounts {resource.account} and "
                                    f"{account}")
        if str(file.path) not in resource.files:
            resource.files.append(str(file.path))
        return resource

    def _bucket_owner(self, file: ExportFile) -> str:
        accounts = self.gaad_accounts()
        if len(accounts) == 1:
            return accounts[0]
        found = ", ".join(sorted(accounts)) or "none"
        raise InputError.single(
            file.path, "S3 bucket ARNs carry no account, and the import holds authorization details of "
            f"{len(accounts)} accounts ({found}): name the bucket's owner in the TARGET, "
            "--import arn:aws:s3::ACCOUNT_ID:BUCKET=FILE")

    def _set(self, file: ExportFile, resource: _Resource, key: str, value: Any, *, merge: bool = False) -> None:
        held = resource.policy_read if key == "policy" else key in resource.extra
        if held and not merge:
            raise InputError.single(file.path, f"{resource.arn[:200]} already has its {key} from "
                                    f"{', '.join(resource.files[:-1]) or 'another file'}")
        if key == "policy":
            resource.policy, resource.policy_read = value, True
        else:
            resource.extra[key] = value


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise RawDataError("expected a string", (key,))
    return value


def _text(data: Mapping[str, Any], key: str) -> str | Mapping[str, Any]:
    """A policy document as the CLI prints it (a JSON string); an object is accepted (the transform decodes both)."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else _string(data, key)


def _lambda_function(policy: str) -> str | None:
    """The one function a Lambda policy's statements name (their Resource), or None."""
    try:
        doc = decode_document(policy)
    except RawDataError:
        return None
    statements = doc.get("Statement")
    items = statements if isinstance(statements, list) else [statements]
    found = {s.get("Resource") for s in items if isinstance(s, Mapping)}
    if len(found) == 1:
        (only,) = found
        if isinstance(only, str) and ":lambda:" in only and ":function:" in only:
            return ":".join(only.split(":")[:7])  # without a version or alias qualifier
    return None
