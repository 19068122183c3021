"""Loading one large AWS account's exports (`--import`), in process: the shape check in a forked child beside
the transform, against the check first (as for small files).

    .venv/bin/python benchmarks/import_load_benchmark.py [--size 5000/2000/1000] [--runs 10]

Writes one account of `one_account_estate.py` (users / roles / policies) to a scratch directory, then loads it
with `connectors.imports.import_files` alternately both ways and prints min / median wall time of each, and
checks that both give the same snapshot. Loading is the serial stage between start-up and the analysis.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.one_account_benchmark import write_estate
from nhiaudit import forked
from nhiaudit.connectors import interface
from nhiaudit.connectors.imports import import_files

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="5000/2000/1000", help="users/roles/policies")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    users, roles, policies = (int(n) for n in args.size.split("/"))
    fork_size = interface.SHAPE_CHECK_FORK_SIZE
    modes = {"check first": 1 << 62, "check in a child": 0}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    dumps: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "account"
        write_estate(folder, users, roles, policies)
        size = sum(p.stat().st_size for p in folder.iterdir() if p.suffix == ".json")
        print(f"{users} users / {roles} roles / {policies} policies: {size / 1e6:.1f} MB of JSON "
              f"(a child is used from {fork_size / 2**20:.0f} MiB); forking possible: {forked.can_fork()}")
        for _ in range(args.runs):
            for mode, threshold in modes.items():
                interface.SHAPE_CHECK_FORK_SIZE = threshold
                gc.disable()  # as the CLI loads (estate.load_estate pauses the collector)
                start = time.perf_counter()
                snapshot = import_files([folder])
                times[mode].append(time.perf_counter() - start)
                gc.enable()
                # Same content apart from the time each snapshot was made.
                dumps.setdefault(mode, snapshot.model_copy(update={"generated_at": EPOCH}).to_json())
                del snapshot
                gc.collect()
    interface.SHAPE_CHECK_FORK_SIZE = fork_size
    for mode, values in times.items():
        print(f"{mode}: min {min(values):.3f} s / median {statistics.median(values):.3f} s over {len(values)} runs")
    print("same snapshot both ways:", dumps["check first"] == dumps["check in a child"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
