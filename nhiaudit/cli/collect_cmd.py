"""`nhiaudit collect`: gather an inventory (live or from exports) into a snapshot JSON for offline scans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, stderr_console, write_output
from nhiaudit.cli.options import (
    AwsOpt,
    AwsOrgOpt,
    AwsOrgRoleOpt,
    AwsProfileOpt,
    AwsRegionsOpt,
    AwsRoleOpt,
    ConcurrencyOpt,
    ImportOpt,
    QuietOpt,
    SnapshotOpt,
    live_options,
)
from nhiaudit.errors import UsageError
from nhiaudit.exit_status import ExitStatus

OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the snapshot JSON here (default: stdout).")
]


@handle_errors
def collect(
    aws: AwsOpt = False,
    aws_profile: AwsProfileOpt = None,
    aws_role_arn: AwsRoleOpt = None,
    aws_org: AwsOrgOpt = False,
    aws_org_role: AwsOrgRoleOpt = "OrganizationAccountAccessRole",
    aws_regions: AwsRegionsOpt = None,
    concurrency: ConcurrencyOpt = 8,
    import_paths: ImportOpt = None,
    snapshot_paths: SnapshotOpt = None,
    output: OutputOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Collect identities, credentials, policies, trust and workloads into a snapshot JSON.

    Read-only. Exit status 3 when a source failed or was denied.

    The snapshot is still written then; its collection_issues name what is missing.
    """
    from nhiaudit.estate import load_estate

    live = live_options(
        aws, aws_profile, aws_role_arn, aws_org, aws_org_role, aws_regions, concurrency, quiet
    )
    if not live.any and not import_paths and not snapshot_paths:
        raise UsageError("nothing to collect: give --aws (or another --aws-* source) or --import FILE")
    console = stderr_console(quiet)
    snapshot = load_estate(list(snapshot_paths or []), list(import_paths or []), live, console)
    write_output(snapshot.to_json(), output)
    if snapshot.collection_issues:
        if not quiet:
            console.print(
                f"[yellow]incomplete[/yellow]: {len(snapshot.collection_issues)} collection issue(s); "
                "see collection_issues in the snapshot"
            )
        raise typer.Exit(ExitStatus.INCOMPLETE)
    if output is not None and not quiet:
        console.print(
            f"wrote {output}: {len(snapshot.identities)} identities, "
            f"{len(snapshot.credentials)} credentials, {len(snapshot.policies)} policies, "
            f"{len(snapshot.workloads)} workloads"
        )


def register(app: typer.Typer) -> None:
    app.command("collect")(collect)
