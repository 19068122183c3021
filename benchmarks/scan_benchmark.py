"""Scan benchmark: time per stage of an offline scan of a synthetic estate (in this process, plus the analysis
workers it forks on large estates: NHIAUDIT_JOBS=1 measures one core).

    .venv/bin/python benchmarks/scan_benchmark.py [--identities 10000] [--resource-policies N]

Target (issue 2): a 10,000-identity snapshot scans in under 10 s. Prints the figure, the per-stage split
(load, graph, facts, rules, findings, report) and the peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_estate import generate
from resource_estate import add_bucket_policies

from nhiaudit.analysis import StageTimer
from nhiaudit.atomic_write import write_chunks_atomic
from nhiaudit.inventory.snapshot import load_snapshot
from nhiaudit.reporters.interface import RenderContext, get_reporter
from nhiaudit.scan import run_scan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--resource-policies", type=int, default=0, help="bucket policies on the systems' buckets")
    parser.add_argument("--deny-every", type=int, default=10, help="every Nth bucket policy has a NotPrincipal Deny")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        snapshot, policy_text = generate(args.identities)
        if args.resource_policies:
            snapshot = add_bucket_policies(snapshot, args.resource_policies, deny_every=args.deny_every)
        snap_path, policy_path = Path(tmp) / "snapshot.json", Path(tmp) / "policy.yaml"
        snapshot.write(snap_path)
        policy_path.write_text(policy_text, encoding="utf-8")
        timer = StageTimer()
        start = time.perf_counter()
        loaded = timer.run("load", load_snapshot, snap_path)
        result = run_scan(loaded, policy_path, [], date(2026, 11, 28), timer)
        # Written piece by piece to a file, as the CLI does (the report is never one string).
        timer.run("report", write_chunks_atomic, Path(tmp) / "report.json",
                  get_reporter("json").chunks(result.report, RenderContext()))
        total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest forked worker
    print(f"identities={args.identities} resource_policies={args.resource_policies} "
          f"findings={len(result.report.findings)} total={total:.2f}s "
          f"peak_rss={peak:.0f}MiB largest_worker_rss={worker:.0f}MiB (shares its parent's pages until written)")
    print("stages: " + ", ".join(f"{k}={v:.2f}s" for k, v in timer.seconds.items()))


if __name__ == "__main__":
    main()
