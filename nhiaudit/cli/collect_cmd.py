"""`nhiaudit collect`: gather an inventory (live or from exports) into a snapshot JSON for offline scans."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import EstateInputs, with_estate_inputs
from nhiaudit.connectors.options import LiveOptions
from nhiaudit.errors import UsageError
from nhiaudit.exit_status import ExitStatus
from nhiaudit.textsafe import markup_safe

OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", metavar="FILE",
                              help="Write the snapshot JSON here (default: stdout).")
]
ShardOpt = Annotated[
    str | None,
    typer.Option("--shard", metavar="I/N",
                 help="Collect only shard I (from 0) of N of the enumerated accounts (--aws-org) or projects "
                      "(--gcp-organization, --gcp-folder); join the shards with `nhiaudit snapshot merge`."),
]


def _sharded(inputs: EstateInputs, spec: str | None) -> EstateInputs:
    """The inputs with --shard applied to every live source; UsageError when a source cannot be split."""
    if spec is None:
        return inputs
    from nhiaudit.sharding import Shard

    shard = Shard.parse(spec)
    live = inputs.live
    if inputs.snapshots or inputs.imports:
        raise UsageError("--shard splits a live collection: it cannot be combined with --snapshot or --import")
    if live.azure.enabled:
        raise UsageError("--shard is not supported with --azure yet: a tenant's subscriptions are collected "
                         "with its directory in one job")
    if live.aws.enabled and not live.aws.org:
        raise UsageError("--shard splits an organisation's accounts: give --aws-org (not a single account)")
    gcp_enumerates = bool(live.gcp.organization or live.gcp.folders)
    if live.gcp.enabled and not gcp_enumerates:
        raise UsageError("--shard splits enumerated projects: give --gcp-organization or --gcp-folder")
    if not (live.aws.org or gcp_enumerates):
        raise UsageError("--shard needs a source that enumerates accounts: --aws-org, --gcp-organization or "
                         "--gcp-folder")
    sharded = LiveOptions(aws=replace(live.aws, shard=shard), gcp=replace(live.gcp, shard=shard),
                          azure=live.azure, concurrency=live.concurrency, quiet=live.quiet)
    return replace(inputs, live=sharded)


@handle_errors
@with_estate_inputs
def collect(inputs: EstateInputs, output: OutputOpt = None, shard: ShardOpt = None) -> None:
    """Collect identities, credentials, policies, trust and workloads into a snapshot JSON.

    Read-only. Exit status 3 when a source failed or was denied.

    The snapshot is still written then; its collection_issues name what is missing.
    """
    if not inputs.any:
        raise UsageError("nothing to collect: give --aws (or another --aws-* source) or --import FILE")
    inputs = _sharded(inputs, shard)
    refuse_overwriting_inputs([output], [*inputs.snapshots, *inputs.imports])
    from nhiaudit.cli.progress import stage_progress
    from nhiaudit.cli.verbose import describe_inputs

    console = stderr_console(inputs.quiet)
    with stage_progress(console, quiet=inputs.quiet, plan=describe_inputs(inputs)) as timer:  # -v, terminal
        snapshot = timer.run("load", inputs.load, console)
    write_output(snapshot.to_json(), output)
    if snapshot.collection_issues:
        if not inputs.quiet:
            console.print(
                f"[yellow]incomplete[/yellow]: {len(snapshot.collection_issues)} collection issue(s); "
                "see collection_issues in the snapshot"
            )
        raise typer.Exit(ExitStatus.INCOMPLETE)
    if output is not None and not inputs.quiet:
        console.print(
            f"wrote {markup_safe(output)}: {len(snapshot.identities)} identities, "
            f"{len(snapshot.credentials)} credentials, {len(snapshot.policies)} policies, "
            f"{len(snapshot.workloads)} workloads"
        )


def register(app: typer.Typer) -> None:
    app.command("collect")(collect)
