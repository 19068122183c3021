"""Provider-neutral records of what a cloud records about itself: audit trails, model invocation logging,
audit configs and diagnostic settings (`Snapshot.audit_settings`).

Each record says where it applies and what it covers in a form analysis can evaluate without the provider's
raw shape (nhiaudit/facts/audit_coverage.py). A value nhiaudit could not read is None ("unknown"), never
False: a denied read must not look like "not logged"."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from nhiaudit.inventory.model import Provider


class AuditKind(StrEnum):
    CLOUDTRAIL_TRAIL = "cloudtrail_trail"
    CLOUDTRAIL_EVENT_DATA_STORE = "cloudtrail_event_data_store"
    BEDROCK_INVOCATION_LOGGING = "bedrock_invocation_logging"
    GCP_AUDIT_CONFIG = "gcp_audit_config"
    AZURE_DIAGNOSTIC_SETTING = "azure_diagnostic_setting"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuditSelector(_Record):
    """One CloudTrail event selector, normalised: a basic EventSelector becomes one management selector and
    one data selector per DataResources entry; an advanced selector keeps its field conditions.

    Fields of one selector are ANDed, selectors are ORed (AWS's semantics). A selector on a field nhiaudit does
    not evaluate (eventName, userIdentity.arn, ...) is listed in `unevaluated`: coverage through it is unknown.
    """

    category: Literal["management", "data"]
    read: bool = True  # read-only events recorded
    write: bool = True  # write events recorded
    resource_types: tuple[str, ...] = ()  # data: AWS::S3::Object, AWS::Lambda::Function ...; () any type
    arn_starts_with: tuple[str, ...] = ()  # resources.ARN StartsWith (basic: DataResources.Values); () any
    arn_equals: tuple[str, ...] = ()
    arn_not_starts_with: tuple[str, ...] = ()
    arn_not_equals: tuple[str, ...] = ()
    excluded_sources: tuple[str, ...] = ()  # management: event sources left out (kms.amazonaws.com)
    included_sources: tuple[str, ...] = ()  # advanced: eventSource Equals (only these); () any
    unevaluated: tuple[str, ...] = ()  # fields with conditions nhiaudit does not evaluate


class GcpServiceAudit(_Record):
    """One `auditConfigs` entry of a project / folder / organisation IAM policy."""

    service: str  # allServices or SERVICE.googleapis.com
    resource: str  # where it is set: projects/ID, folders/N, organizations/N
    log_types: tuple[str, ...] = ()  # ADMIN_READ, DATA_READ, DATA_WRITE
    # log type -> members whose calls are not logged (user:, serviceAccount:, group:, domain:)
    exempted: dict[str, tuple[str, ...]] = {}


class AuditLogSetting(_Record):
    provider: Provider
    account: str  # AWS account / GCP project / Azure subscription whose collection saw it
    kind: AuditKind
    id: str  # trail ARN, "bedrock-invocation-logging:REGION", projects/P, diagnostic setting id
    name: str
    # AWS: the regions it records (a single-region trail: its home region; Bedrock: its region); () with
    # multi_region means every region.
    regions: tuple[str, ...] = ()
    multi_region: bool = False
    organization: bool = False  # an organisation trail (applies to every member account)
    logging: bool | None = None  # on (trail IsLogging, Bedrock config present); None: not read
    destination: str | None = None  # S3 bucket, CloudWatch log group, workspace ... (never a secret)
    # CloudTrail: what it records; None: the selectors were not read (unknown).
    selectors: tuple[AuditSelector, ...] | None = None
    # Bedrock: which invocation data is delivered (text, image, embedding, video).
    delivers: tuple[str, ...] = ()
    services: tuple[GcpServiceAudit, ...] = ()  # GCP: the audit configs in force on the project
    resource_id: str | None = None  # Azure: the resource the setting is on
    categories: tuple[str, ...] = ()  # Azure: log categories / category groups enabled
