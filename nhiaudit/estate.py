"""One loading path for every command: snapshots, imported exports and live collection -> one Snapshot."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from nhiaudit.connectors.options import LiveOptions
from nhiaudit.errors import UsageError
from nhiaudit.gc_pause import paused_gc
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot, merge_snapshots


def check_live_options(live: LiveOptions) -> None:
    """UsageError for a bad option of any enabled live source (each connector checks its own again)."""
    if live.aws.enabled:
        from nhiaudit.connectors.aws.live import check_options as check_aws

        check_aws(live.aws)
    if live.gcp.enabled:
        from nhiaudit.connectors.gcp.live import check_options as check_gcp

        check_gcp(live.gcp)
    if live.azure.enabled:
        from nhiaudit.connectors.azure.live import check_options as check_azure

        check_azure(live.azure)


def load_estate(
    snapshot_paths: list[Path],
    import_paths: list[Path],
    live: LiveOptions,
    console: Console,
) -> Snapshot:
    check_live_options(live)  # every source's options, before the first request to any of them
    # Parsing and transforming files creates many long-lived objects and little garbage. (Live collection
    # keeps the collector: it waits on the network and its clients leave cyclic garbage behind.)
    with paused_gc():
        parts: list[Snapshot] = [load_snapshot(p) for p in snapshot_paths]
        if import_paths:
            from nhiaudit.connectors.imports import import_files  # lazy: only when used

            parts.append(import_files(import_paths))
    if live.aws.enabled:
        from nhiaudit.connectors.aws.live import collect_aws  # lazy: boto3 is heavy

        parts.extend(collect_aws(live.aws, concurrency=live.concurrency, console=console))
    if live.gcp.enabled:
        from nhiaudit.connectors.gcp.live import collect_gcp  # lazy: grpc and the Google clients are heavy

        parts.extend(collect_gcp(live.gcp, concurrency=live.concurrency, console=console))
    if live.azure.enabled:
        from nhiaudit.connectors.azure.live import collect_azure  # lazy: httpx and azure-identity

        parts.extend(collect_azure(live.azure, console=console, concurrency=live.concurrency))
    if not parts:
        raise UsageError("no input: give --snapshot FILE, --import FILE or a live source such as --aws, --gcp "
                         "or --azure")
    return merge_snapshots(parts)
