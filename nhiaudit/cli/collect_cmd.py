"""`nhiaudit collect`: gather an inventory (live or from exports) into a snapshot JSON for offline scans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import EstateInputs, with_estate_inputs
from nhiaudit.errors import UsageError
from nhiaudit.exit_status import ExitStatus
from nhiaudit.textsafe import markup_safe

OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the snapshot JSON here (default: stdout).")
]


@handle_errors
@with_estate_inputs
def collect(inputs: EstateInputs, output: OutputOpt = None) -> None:
    """Collect identities, credentials, policies, trust and workloads into a snapshot JSON.

    Read-only. Exit status 3 when a source failed or was denied.

    The snapshot is still written then; its collection_issues name what is missing.
    """
    if not inputs.any:
        raise UsageError("nothing to collect: give --aws (or another --aws-* source) or --import FILE")
    refuse_overwriting_inputs([output], [*inputs.snapshots, *inputs.imports])
    console = stderr_console(inputs.quiet)
    snapshot = inputs.load(console)
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
