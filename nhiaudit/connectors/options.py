"""Options for live collection, shared by `scan`, `collect`, `explain` and `graph`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nhiaudit.sharding import Shard


@dataclass(frozen=True)
class AwsOptions:
    enabled: bool = False
    profile: str | None = None
    role_arn: str | None = None
    org: bool = False
    org_role: str = "OrganizationAccountAccessRole"
    regions: tuple[str, ...] = ()  # empty: the account's enabled regions
    timeout: float = 900.0  # seconds for the whole live collection (--timeout)
    shard: Shard | None = None  # collect --shard: only this shard of the organisation's accounts (--aws-org)
    # The written policy's system patterns (scan): those resources' resource-based policies are read first.
    resource_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class GcpOptions:
    enabled: bool = False
    projects: tuple[str, ...] = ()  # --gcp-project (repeatable)
    organization: str | None = None  # --gcp-organization: its active projects, recursively
    folders: tuple[str, ...] = ()  # --gcp-folder (repeatable): their active projects, recursively
    domains: tuple[str, ...] = ()  # --gcp-domain: the organisation's own domains (principals outside are foreign)
    impersonate: str | None = None  # --gcp-impersonate: collect as this service account
    timeout: float = 900.0  # seconds for the whole live collection (--timeout)
    shard: Shard | None = None  # collect --shard: only this shard of the enumerated projects


@dataclass(frozen=True)
class AzureOptions:
    enabled: bool = False
    tenant: str | None = None  # --azure-tenant: tenant id or domain; default: the credential's tenant
    subscriptions: tuple[str, ...] = ()  # --azure-subscription (repeatable); empty: every readable one
    cloud: str = "public"  # --azure-cloud: public, usgov or china
    timeout: float = 900.0  # seconds for the whole live collection (--timeout)


@dataclass(frozen=True)
class LiveOptions:
    aws: AwsOptions = field(default_factory=AwsOptions)
    gcp: GcpOptions = field(default_factory=GcpOptions)
    azure: AzureOptions = field(default_factory=AzureOptions)
    concurrency: int = 8
    quiet: bool = False

    @property
    def any(self) -> bool:
        return self.aws.enabled or self.gcp.enabled or self.azure.enabled
