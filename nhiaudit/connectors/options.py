"""Options for live collection, shared by `scan`, `collect`, `explain` and `graph`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AwsOptions:
    enabled: bool = False
    profile: str | None = None
    role_arn: str | None = None
    org: bool = False
    org_role: str = "OrganizationAccountAccessRole"
    regions: tuple[str, ...] = ()  # empty: the account's enabled regions
    timeout: float = 900.0  # seconds for the whole live collection (--timeout)


@dataclass(frozen=True)
class LiveOptions:
    aws: AwsOptions = field(default_factory=AwsOptions)
    concurrency: int = 8
    quiet: bool = False

    @property
    def any(self) -> bool:
        return self.aws.enabled
