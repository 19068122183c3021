"""Reverse path query benchmark: `nhiaudit explain --can-reach SYSTEM` on a synthetic estate.

    .venv/bin/python benchmarks/can_reach_benchmark.py [--identities 10000] [--system sys2] [--runs 3]

Target (issue 6): on the 10,000-identity snapshot, --can-reach answers in under 2 s including load.
Prints, per system: the wall time of the real CLI in a fresh process (interpreter start, imports, snapshot
and policy load, graph, query, JSON written to a file; best of --runs), and an in-process split by stage.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_estate import generate

AS_OF = "2026-11-28"
TARGET_SECONDS = 2.0


def cli_seconds(snap: Path, policy: Path, system: str, out: Path, runs: int) -> float:
    argv = [sys.executable, "-m", "nhiaudit", "explain", "--can-reach", system, "--snapshot", str(snap),
            "--policy", str(policy), "--as-of", AS_OF, "--format", "json", "--output", str(out), "--quiet"]
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def stages(snap: Path, policy: Path, system: str) -> tuple[dict[str, float], int]:
    from nhiaudit.analysis import StageTimer
    from nhiaudit.explain.build import can_reach
    from nhiaudit.explain.inputs import prepare_inputs
    from nhiaudit.explain.render import render
    from nhiaudit.inventory.snapshot import load_snapshot

    timer = StageTimer()
    snapshot = timer.run("snapshot", load_snapshot, snap)
    prepared = prepare_inputs(snapshot, policy, [], date.fromisoformat(AS_OF), with_findings=False, timer=timer,
                              only_system=system)
    result = timer.run("query", can_reach, prepared.context, prepared.system)
    timer.run("render", render, result, "json")
    return timer.seconds, len(result.identities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--system", action="append", help="System to query (repeatable; default: sys2, models)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        snapshot, policy_text = generate(args.identities)
        snap, policy, out = Path(tmp) / "snapshot.json", Path(tmp) / "policy.yaml", Path(tmp) / "answer.json"
        snapshot.write(snap)
        policy.write_text(policy_text, encoding="utf-8")
        worst = 0.0
        for system in args.system or ["sys2", "models"]:
            wall = cli_seconds(snap, policy, system, out, args.runs)
            split, found = stages(snap, policy, system)
            worst = max(worst, wall)
            print(f"identities={args.identities} system={system} reachers={found} cli_wall={wall:.2f}s "
                  f"(best of {args.runs})")
            print("  in-process: " + ", ".join(f"{k}={v:.2f}s" for k, v in split.items()))
    verdict = "meets" if worst < TARGET_SECONDS else "MISSES"
    print(f"slowest --can-reach: {worst:.2f}s; {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
