"""Option declarations shared by several commands (one definition, one help text)."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from nhiaudit.connectors.options import AwsOptions, AzureOptions, GcpOptions, LiveOptions
from nhiaudit.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from nhiaudit.inventory.snapshot import Snapshot
    from nhiaudit.policy.model import WrittenPolicy
    from nhiaudit.rules_engine.selection import RuleSelection

R = TypeVar("R")

SnapshotOpt = Annotated[
    list[Path] | None,
    typer.Option("--snapshot", "-s", metavar="FILE",
                 help="Snapshot JSON from `nhiaudit collect` (repeatable; merged)."),
]
ImportOpt = Annotated[
    list[Path] | None,
    typer.Option("--import", "-i", metavar="[TARGET=]PATH",
                 help="Provider export file or directory (repeatable; type detected from content). TARGET=FILE "
                 "says what an export is about when it does not (a GCP get-iam-policy: project id, folders/N, "
                 "organizations/N or service-account e-mail; an AWS bucket, key or function policy: the "
                 "resource ARN)."),
]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", "-p", metavar="FILE", help="Written AI-usage policy (YAML).")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", metavar="YYYY-MM-DD",
                 help="Evaluate as if on this date, for reproducible CI. Default: today."),
]
AwsOpt = Annotated[bool, typer.Option("--aws", help="Collect live from AWS (boto3 default credential chain).")]
AwsProfileOpt = Annotated[str | None, typer.Option("--aws-profile", metavar="NAME", help="AWS profile name.")]
AwsRoleOpt = Annotated[
    str | None, typer.Option("--aws-role-arn", metavar="ARN", help="Assume this role before collecting.")
]
AwsOrgOpt = Annotated[bool, typer.Option("--aws-org", help="Collect every account of the AWS organisation.")]
AwsOrgRoleOpt = Annotated[
    str, typer.Option("--aws-org-role", metavar="NAME", help="Role assumed in each member account with --aws-org.")
]
AwsRegionsOpt = Annotated[
    list[str] | None,
    typer.Option("--aws-regions", metavar="REGION", help="Regions for workloads (repeatable; default: enabled)."),
]
GcpOpt = Annotated[bool, typer.Option("--gcp", help="Collect live from GCP (Application Default Credentials).")]
GcpProjectOpt = Annotated[
    list[str] | None, typer.Option("--gcp-project", metavar="ID", help="GCP project id to collect (repeatable).")
]
GcpOrganizationOpt = Annotated[
    str | None,
    typer.Option("--gcp-organization", metavar="ID", help="Collect every active project of this organization."),
]
GcpFolderOpt = Annotated[
    list[str] | None,
    typer.Option("--gcp-folder", metavar="ID", help="Collect every active project below this folder (repeatable)."),
]
GcpDomainOpt = Annotated[
    list[str] | None,
    typer.Option("--gcp-domain", metavar="DOMAIN",
                 help="The organisation's own domain: members outside are foreign (repeatable)."),
]
GcpImpersonateOpt = Annotated[
    str | None,
    typer.Option("--gcp-impersonate", metavar="EMAIL", help="Collect as this service account (impersonation)."),
]
AzureOpt = Annotated[
    bool, typer.Option("--azure", help="Collect live from Entra ID and Azure (DefaultAzureCredential).")
]
AzureTenantOpt = Annotated[
    str | None,
    typer.Option("--azure-tenant", metavar="TENANT", help="Entra tenant id or domain (default: the credential's)."),
]
AzureSubscriptionOpt = Annotated[
    list[str] | None,
    typer.Option("--azure-subscription", metavar="ID",
                 help="Azure subscription id (repeatable; default: every readable one)."),
]
AzureCloudOpt = Annotated[
    str, typer.Option("--azure-cloud", metavar="public|usgov|china", help="Azure cloud.")
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", metavar="N", min=1, max=64, help="Accounts or projects collected at once.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=1,
        help="Seconds for the whole live collection; what is not read by then is reported as cut off.",
    ),
]



class SeverityLevel(StrEnum):
    """The finding severities, lowest first (the CLI's own copy: nhiaudit.findings imports pydantic)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class FailOn(StrEnum):
    """--fail-on: a severity, or `none` to never fail on findings. The same values in scan and diff."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    NONE = "none"

    @property
    def severity(self) -> str | None:
        """The threshold as a severity value, None for `none`."""
        return None if self is FailOn.NONE else self.value


FailOnOpt = Annotated[
    FailOn,
    typer.Option("--fail-on", case_sensitive=False,
                 help="Exit 1 when an open finding (for diff: a new one) is at or above this severity; "
                      "none: never."),
]
RulesDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", metavar="DIR", help="Extra rule directory (repeatable): new rules, replacements, "
                 "or short overrides (`id:` with `enabled:` / `severity:`)."),
]
SkipRuleOpt = Annotated[
    list[str] | None,
    typer.Option("--skip-rule", metavar="ID", help="Do not run this rule (repeatable)."),
]
OnlyRuleOpt = Annotated[
    list[str] | None,
    typer.Option("--only-rule", metavar="ID", help="Run only these rules (repeatable); a rule that is off by "
                 "default runs when named here."),
]
MinSeverityOpt = Annotated[
    SeverityLevel | None,
    typer.Option("--min-severity", case_sensitive=False, show_default=False,
                 help="Report only findings at or above this severity."),
]


def rule_selection(skip: list[str] | None, only: list[str] | None,
                   min_severity: SeverityLevel | None) -> RuleSelection:
    """--skip-rule, --only-rule and --min-severity as one value for the rule loader."""
    from nhiaudit.rules_engine.selection import RuleSelection

    return RuleSelection(skip=tuple(skip or ()), only=tuple(only or ()),
                         min_severity=min_severity.value if min_severity else None)


def deprecated_flag(old: str, new: str) -> None:
    """One line on stderr for a flag kept only so existing scripts keep working."""
    print(f"warning: {old} is deprecated; use {new}", file=sys.stderr)

def parse_as_of(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--as-of must be a date as YYYY-MM-DD, got {value!r}") from None


def live_options(
    aws: bool,
    aws_profile: str | None,
    aws_role_arn: str | None,
    aws_org: bool,
    aws_org_role: str,
    aws_regions: list[str] | None,
    concurrency: int,
    quiet: bool,
    timeout: float = 900.0,
    gcp: GcpOptions | None = None,
    azure: AzureOptions | None = None,
) -> LiveOptions:
    return LiveOptions(
        azure=replace(azure, timeout=timeout) if azure else AzureOptions(timeout=timeout),
        gcp=replace(gcp, timeout=timeout) if gcp else GcpOptions(timeout=timeout),
        aws=AwsOptions(
            enabled=aws or aws_org or bool(aws_role_arn) or bool(aws_profile),
            profile=aws_profile,
            role_arn=aws_role_arn,
            org=aws_org,
            org_role=aws_org_role,
            regions=tuple(aws_regions or ()),
            timeout=timeout,
        ),
        concurrency=concurrency,
        quiet=quiet,
    )


def gcp_options(values: dict[str, object]) -> GcpOptions:
    """--gcp and the options that imply it (a project, organization, folder or impersonation); --gcp-domain
    alone does not: it also serves imports and snapshots."""
    projects = tuple(values["gcp_project"] or ())  # type: ignore[call-overload]
    folders = tuple(values["gcp_folder"] or ())  # type: ignore[call-overload]
    organization, impersonate = values["gcp_organization"], values["gcp_impersonate"]
    return GcpOptions(
        enabled=bool(values["gcp"] or projects or folders or organization or impersonate),
        projects=projects,
        organization=organization if isinstance(organization, str) else None,
        folders=folders,
        domains=tuple(values["gcp_domain"] or ()),  # type: ignore[call-overload]
        impersonate=impersonate if isinstance(impersonate, str) else None,
    )


def azure_options(values: dict[str, object]) -> AzureOptions:
    """--azure and the options that imply it (a tenant or a subscription)."""
    subscriptions = tuple(values["azure_subscription"] or ())  # type: ignore[call-overload]
    tenant, cloud = values["azure_tenant"], values["azure_cloud"]
    return AzureOptions(
        enabled=bool(values["azure"] or subscriptions or tenant),
        tenant=tenant if isinstance(tenant, str) else None,
        subscriptions=subscriptions,
        cloud=cloud if isinstance(cloud, str) else "public",
    )


@dataclass(frozen=True)
class EstateInputs:
    """Where a command's estate comes from: snapshots, imported exports and live sources."""

    snapshots: list[Path]
    imports: list[Path]
    live: LiveOptions

    @property
    def quiet(self) -> bool:
        return self.live.quiet

    @property
    def any(self) -> bool:
        return bool(self.snapshots or self.imports or self.live.any)

    @property
    def first_file(self) -> Path | None:
        return (self.snapshots or self.imports or [None])[0]

    def for_policy(self, policy: WrittenPolicy) -> EstateInputs:
        """Live AWS collection reads the resource-based policies of what the written policy's systems name first
        (the ARN patterns; a bound may leave other resources unread)."""
        patterns = sorted({r for system in policy.systems.values() for r in system.resources
                           if r == "*" or r.startswith("arn:")})
        aws = replace(self.live.aws, resource_patterns=tuple(patterns))
        return replace(self, live=replace(self.live, aws=aws))

    def load(self, console: Console) -> Snapshot:
        from nhiaudit.estate import load_estate

        return load_estate(self.snapshots, self.imports, self.live, console)


# name, annotation, default: the options every estate-reading command shares, declared once.
_ESTATE_PARAMS: tuple[tuple[str, object, object], ...] = (
    ("snapshot", SnapshotOpt, None),
    ("imports", ImportOpt, None),
    ("aws", AwsOpt, False),
    ("aws_profile", AwsProfileOpt, None),
    ("aws_role_arn", AwsRoleOpt, None),
    ("aws_org", AwsOrgOpt, False),
    ("aws_org_role", AwsOrgRoleOpt, "OrganizationAccountAccessRole"),
    ("aws_regions", AwsRegionsOpt, None),
    ("gcp", GcpOpt, False),
    ("gcp_project", GcpProjectOpt, None),
    ("gcp_organization", GcpOrganizationOpt, None),
    ("gcp_folder", GcpFolderOpt, None),
    ("gcp_domain", GcpDomainOpt, None),
    ("gcp_impersonate", GcpImpersonateOpt, None),
    ("azure", AzureOpt, False),
    ("azure_tenant", AzureTenantOpt, None),
    ("azure_subscription", AzureSubscriptionOpt, None),
    ("azure_cloud", AzureCloudOpt, "public"),
    ("concurrency", ConcurrencyOpt, 8),
    ("timeout", TimeoutOpt, 900.0),
    ("quiet", QuietOpt, False),
)


def with_estate_inputs(func: Callable[..., R]) -> Callable[..., R]:
    """Add the shared input options to a command, which receives them as one `inputs: EstateInputs`."""
    signature = inspect.signature(func, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "inputs"]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
              for name, annotation, default in _ESTATE_PARAMS]

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> R:
        values = {name: kwargs.pop(name, default) for name, _, default in _ESTATE_PARAMS}
        live = live_options(values["aws"], values["aws_profile"], values["aws_role_arn"], values["aws_org"],
                            values["aws_org_role"], values["aws_regions"], values["concurrency"], values["quiet"],
                            values["timeout"], gcp_options(values), azure_options(values))
        inputs = EstateInputs(list(values["snapshot"] or []), list(values["imports"] or []), live)
        return func(*args, inputs=inputs, **kwargs)

    # Inputs first in --help, the command's own options next, live-connector options last.
    parameters = shared[:2] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared[2:]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    # Typer reads type hints too: give it the resolved ones, shared options included.
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    return wrapper
