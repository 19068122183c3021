"""The provider-neutral inventory model.

Everything analysis needs is in these records, so a snapshot can be scanned offline.
Secret values are never part of the model: credentials carry ids and fingerprints only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Provider(StrEnum):
    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


class IdentityKind(StrEnum):
    USER = "user"  # AWS IAM user
    ROLE = "role"  # AWS IAM role
    SERVICE_ACCOUNT = "service_account"  # GCP service account
    SERVICE_PRINCIPAL = "service_principal"  # Entra ID service principal
    MANAGED_IDENTITY = "managed_identity"  # Azure managed identity
    APPLICATION = "application"  # Entra ID app registration
    OTHER = "other"


class CredentialType(StrEnum):
    ACCESS_KEY = "access_key"
    SA_KEY = "sa_key"
    CLIENT_SECRET = "client_secret"
    CERTIFICATE = "certificate"
    TOKEN = "token"
    PASSWORD = "password"
    FEDERATED = "federated"


# Credential types that are long-lived secrets a workload has to store ("static keys").
STATIC_CREDENTIAL_TYPES = frozenset(
    {CredentialType.ACCESS_KEY, CredentialType.SA_KEY, CredentialType.CLIENT_SECRET, CredentialType.CERTIFICATE,
     CredentialType.TOKEN}
)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HumanUse(_Record):
    """Signs that a person uses the identity interactively."""

    console_password: bool = False
    password_last_used: datetime | None = None
    mfa_active: bool = False
    interactive_sign_in: datetime | None = None


class Identity(_Record):
    id: str  # ARN, service-account email, or Entra object id
    provider: Provider
    account: str  # AWS account id, GCP project id, Entra tenant id
    kind: IdentityKind
    name: str
    created: datetime | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    owner: str | None = None
    last_activity: datetime | None = None
    last_activity_detail: str | None = None  # e.g. "sts.amazonaws.com in us-east-1"
    policy_ids: tuple[str, ...] = ()  # policies granting permissions (incl. via groups)
    policy_sources: dict[str, str] = Field(default_factory=dict)  # policy id -> how attached ("group:devs")
    boundary_policy_id: str | None = None  # AWS permissions boundary
    human_use: HumanUse | None = None
    disabled: bool = False
    attributes: dict[str, str] = Field(default_factory=dict)  # provider-specific extras (path, app id...)


class Credential(_Record):
    id: str  # access key id, SA key name, secret keyId: never a secret value
    identity_id: str
    provider: Provider
    type: CredentialType
    created: datetime | None = None
    expires: datetime | None = None
    last_used: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None
    active: bool = True
    managed_by: Literal["user", "system"] = "user"
    fingerprint: str | None = None  # e.g. a hash used to spot one secret shared by several identities


class Statement(_Record):
    """One normalised permission statement (AWS IAM shape; GCP/Azure role permissions map onto it)."""

    effect: Literal["Allow", "Deny"] = "Allow"
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ("*",)
    not_resources: tuple[str, ...] = ()
    conditions: dict[str, Any] = Field(default_factory=dict)
    sid: str | None = None


class Policy(_Record):
    """A permission document, stored once and referenced by id from every identity it is attached to."""

    id: str  # policy ARN, "inline:<identity id>:<name>", GCP role name, Azure role definition id
    provider: Provider
    name: str
    kind: Literal["managed", "customer", "inline", "role", "boundary"] = "customer"
    statements: tuple[Statement, ...] = ()
    # GCP binding: its members that are no service account (`user:`, `group:`, `domain:`, `allUsers`,
    # `allAuthenticatedUsers`, `principal://`, `principalSet://`), sorted; service accounts hold the policy
    # through `Identity.policy_ids` instead. Lets rules see principals outside the inventory (facts/gcp_facts.py).
    principals: tuple[str, ...] = ()


class PolicyAttachment(_Record):
    """A policy attached to an identity that another snapshot holds: a GCP binding in project B naming a
    service account of project A. merge_snapshots adds it to the identity's policy_ids / policy_sources."""

    identity_id: str
    policy_id: str
    source: str  # as in Identity.policy_sources ("binding on projects/B")


class TrustKind(StrEnum):
    ASSUME_ROLE = "assume_role"  # AWS sts:AssumeRole trust policy
    IMPERSONATE = "impersonate"  # GCP TokenCreator / serviceAccountUser
    OWNER = "owner"  # Entra application/service principal owner
    FEDERATED = "federated"  # OIDC/SAML federation (web identity, federated credential)
    SERVICE = "service"  # a cloud service may act as the identity (lambda.amazonaws.com)


class Trust(_Record):
    """`principal` may act as `identity_id`."""

    identity_id: str
    principal: str  # ARN, "arn:aws:iam::123:root", "*", service name, SA email, OIDC issuer
    kind: TrustKind
    conditions: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""  # human-readable source, e.g. "trust policy of role/x, statement 0"


class Workload(_Record):
    id: str
    provider: Provider
    account: str
    # lambda, ec2_instance, ecs_task, ecs_task_execution, bedrock_agent, sagemaker_notebook, gce_instance,
    # cloud_run, azure_vm, ... (bedrock_knowledge_base, sagemaker_endpoint, eks_service_account, eks_pod_identity)
    kind: str
    name: str
    identity_id: str
    region: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class DelegatedGrant(_Record):
    """An OAuth2 permission grant or app role assignment held by a client identity."""

    id: str
    provider: Provider
    identity_id: str  # the client (service principal) holding the grant
    resource: str  # resource application, e.g. "Microsoft Graph", "Azure OpenAI"
    scopes: tuple[str, ...] = ()
    consent_type: str | None = None  # AllPrincipals | Principal | application
    principal_id: str | None = None


class SourceInfo(_Record):
    provider: Provider
    account: str
    method: Literal["live", "import", "demo", "synthetic"] = "live"
    collected_at: datetime | None = None
    detail: str | None = None
    # GCP: the project's ancestry, nearest first ("folders/N", ..., "organizations/N"), so bindings on a
    # folder or organisation reach the project's resources. Empty: unknown (or not GCP).
    ancestors: tuple[str, ...] = ()
    # GCP: the primary domain of the project's organisation (its Organization's display name), when known.
    # Members of it are inside the organisation (facts `outside_domains`); None: unknown (or not GCP).
    organization_domain: str | None = None
    # AWS: the id of the account's organisation (`o-...`), when the collection knows it (`--aws-org`: the ARN
    # of each account `organizations:ListAccounts` returns; import: `aws organizations list-accounts`). It
    # decides `aws:PrincipalOrgID` conditions for the account's principals; None: unknown (or not AWS).
    organization_id: str | None = None
    # False when the source holds no record of credential use at all (GCP without Policy Analyzer
    # activities): "never used" cannot be told from "not known", so no credential is reported unused.
    usage_recorded: bool = True
    # Workload kinds (`Workload.kind`: lambda, ec2_instance, gce_instance, azure_vm, ...) this source listed
    # completely, sorted; an empty listing counts. A kind not named here was not listed (not collected, or its
    # call failed), so "no such workload" is unknown rather than a fact (latent escalation says which).
    collected: tuple[str, ...] = ()
    # Audit settings (`AuditLogSetting.kind`: cloudtrail_trail, bedrock_invocation_logging, ...) this source
    # read completely, sorted. A kind not named here was not read or a call failed: "not logged" is unknown.
    audit_collected: tuple[str, ...] = ()


class CollectionIssue(_Record):
    """A call that failed or was denied; the snapshot is incomplete for what it names."""

    provider: Provider
    account: str
    operation: str
    message: str
    missing: str | None = None  # what analysis lacks because of it


class CredentialSighting(_Record):
    """A credential-shaped value seen in plain text: a file of a scanned repository (`scan --secrets-in`), a
    commit of its history, or a cloud configuration (a Lambda environment variable, an SSM String parameter).
    Never the value: the credential's public id, or a short hash prefix of a value that is itself secret."""

    # aws_access_key_id, aws_secret_access_key, gcp_service_account_key, azure_client_secret (secrets/detect.py)
    detector: str
    key_id: str | None = None  # access key id, GCP private_key_id: public identifiers
    value_hash: str | None = None  # "sha256:" + first 12 hex digits of a secret value
    hint: str | None = None  # Entra secret: its first three characters, as Microsoft Graph shows them
    principal: str | None = None  # GCP client_email / Azure client id written next to it
    tenant: str | None = None  # Azure tenant id written next to it
    secret_nearby: bool = False  # the key id's secret half is written next to it
    # file, git_commit, lambda_environment, ecs_task_environment, ssm_parameter, cloudformation_stack,
    # ec2_user_data, cloud_run_environment, cloud_function_environment, app_service_settings
    location_kind: str
    location: str  # file path (as scanned) or the resource ARN
    line: int | None = None  # 1-based line in the file (the commit's version of it for git_commit)
    commit: str | None = None  # git commit that added the line
    field: str | None = None  # environment variable / container name, parameter name
    provider: Provider | None = None  # cloud locations: where it was seen
    account: str | None = None
    region: str | None = None
