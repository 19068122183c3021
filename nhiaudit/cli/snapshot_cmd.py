"""`nhiaudit snapshot merge`: join the shard snapshots of `collect --shard I/N` jobs (docs/sharding.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.exit_status import ExitStatus
from nhiaudit.textsafe import markup_safe

ShardsArg = Annotated[list[Path], typer.Argument(help="Shard snapshots from `nhiaudit collect --shard I/N`.",
                                                 metavar="SHARD.json...", show_default=False)]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", metavar="FILE",
                              help="Write the merged snapshot JSON here (default: stdout).")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")]


@handle_errors
def merge(shards: ShardsArg, output: OutputOpt = None, quiet: QuietOpt = False) -> None:
    """Merge the shards of one sharded collection into one snapshot for `scan --snapshot`.

    Shards that disagree (N, organisation, account list) or overlap: exit status 2, nothing written.

    Missing shards or accounts: exit status 3; the merged snapshot is still written and names them.
    """
    from nhiaudit.gc_pause import paused_gc
    from nhiaudit.inventory.snapshot import load_snapshot
    from nhiaudit.shard_merge import merge_shards

    refuse_overwriting_inputs([output], shards)
    with paused_gc():  # parsing creates many long-lived objects
        named = [(str(path), load_snapshot(path)) for path in shards]
    result = merge_shards(named)
    write_output(result.snapshot.to_json(), output)
    console = stderr_console(quiet)
    if result.missing_shards:
        absent = ", ".join(f"{i}/{result.count}" for i in result.missing_shards)
        console.print(f"[yellow]incomplete[/yellow]: shard(s) not merged: {absent}")
    if result.missing_accounts:
        names = ", ".join(f"{p.value} {markup_safe(a)}" for p, a in result.missing_accounts[:20])
        more = len(result.missing_accounts) - 20
        console.print(f"[yellow]incomplete[/yellow]: {len(result.missing_accounts)} account(s) in no merged "
                      f"shard: {names}{f' and {more} more' if more > 0 else ''}")
    if not result.complete or result.snapshot.collection_issues:
        if result.complete:
            console.print(f"[yellow]incomplete[/yellow]: {len(result.snapshot.collection_issues)} collection "
                          "issue(s); see collection_issues in the snapshot")
        raise typer.Exit(ExitStatus.INCOMPLETE)
    if output is not None:
        console.print(f"wrote {markup_safe(output)}: {len(named)} shard(s) of {result.count}, "
                      f"{len(result.snapshot.identities)} identities")


def register(app: typer.Typer) -> None:
    snapshot = typer.Typer(name="snapshot", help="Work with snapshot files (merge the shards of a collection).",
                           no_args_is_help=True)
    snapshot.command("merge")(merge)
    app.add_typer(snapshot, name="snapshot")
