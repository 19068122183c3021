"""Option declarations shared by several commands (one definition, one help text)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.connectors.options import AwsOptions, LiveOptions
from nhiaudit.errors import UsageError

SnapshotOpt = Annotated[
    list[Path] | None,
    typer.Option("--snapshot", "-s", help="Snapshot JSON from `nhiaudit collect` (repeatable; merged)."),
]
ImportOpt = Annotated[
    list[Path] | None,
    typer.Option("--import", "-i", help="Provider export file (repeatable; type detected from content)."),
]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", "-p", help="Written AI-usage policy (YAML).")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluate as if on this date (YYYY-MM-DD), for reproducible CI. Default: today."),
]
AwsOpt = Annotated[bool, typer.Option("--aws", help="Collect live from AWS (boto3 default credential chain).")]
AwsProfileOpt = Annotated[str | None, typer.Option("--aws-profile", help="AWS profile name.")]
AwsRoleOpt = Annotated[str | None, typer.Option("--aws-role-arn", help="Assume this role before collecting.")]
AwsOrgOpt = Annotated[bool, typer.Option("--aws-org", help="Collect every account of the AWS organisation.")]
AwsOrgRoleOpt = Annotated[
    str, typer.Option("--aws-org-role", help="Role assumed in each member account with --aws-org.")
]
AwsRegionsOpt = Annotated[
    list[str] | None, typer.Option("--aws-regions", help="Regions for workloads (repeatable; default: enabled).")
]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, max=64, help="Accounts collected at once.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]


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
) -> LiveOptions:
    return LiveOptions(
        aws=AwsOptions(
            enabled=aws or aws_org or bool(aws_role_arn) or bool(aws_profile),
            profile=aws_profile,
            role_arn=aws_role_arn,
            org=aws_org,
            org_role=aws_org_role,
            regions=tuple(aws_regions or ()),
        ),
        concurrency=concurrency,
        quiet=quiet,
    )
