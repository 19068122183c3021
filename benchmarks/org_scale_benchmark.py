"""The synthetic organisation-wide estate (generate_estate.py) scanned by the real CLI, as users run it.

    .venv/bin/python benchmarks/org_scale_benchmark.py [--identities 100000] [--runs 1]
        [--nhiaudit "env PYTHONPATH=/tmp/old .venv/bin/python -m nhiaudit"] [--baseline CMD]

Writes the snapshot and policy to a scratch directory (not timed), then runs `nhiaudit scan --snapshot S
--policy P --format json -o FILE` per run and prints wall and CPU time, the peak RSS of the largest process,
the findings count and digest (same digest: same findings). Timed runs are not sampled: reading the page
tables of a few GiB of processes every half second takes a core of a 2-core machine (at 100,000 identities,
a third more CPU). One more run samples the peak PSS of the process tree (the analysis forks workers:
NHIAUDIT_JOBS=1 measures one process), in-memory files included. `--baseline CMD` runs another CLI
alternately (the machine's speed drifts) and prints the ratio of the medians. Issue 17 targets: 100,000
identities <= 25 s and <= 2 GiB; 300,000 runs on a 24 GiB machine.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_estate import generate

from benchmarks.one_account_benchmark import findings_digest, scan_once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identities", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="timed runs (0: only the run sampling memory)")
    parser.add_argument("--nhiaudit", default="", help="the CLI to run (default: this interpreter -m nhiaudit)")
    parser.add_argument("--baseline", default="", help="another CLI (e.g. an older checkout), run alternately")
    args = parser.parse_args(argv)
    command = shlex.split(args.nhiaudit) if args.nhiaudit else [sys.executable, "-m", "nhiaudit"]
    with tempfile.TemporaryDirectory() as tmp:
        snapshot, policy_text = generate(args.identities)
        snap, policy = Path(tmp) / "snapshot.json", Path(tmp) / "policy.yaml"
        snapshot.write(snap)
        policy.write_text(policy_text, encoding="utf-8")
        del snapshot
        out = Path(tmp) / "report.json"
        inputs = ["--snapshot", str(snap), "--policy", str(policy)]
        clis = {"this CLI": command, **({"baseline": shlex.split(args.baseline)} if args.baseline else {})}
        walls: dict[str, list[float]] = {name: [] for name in clis}
        for _ in range(args.runs):
            for name, cli in clis.items():
                wall, cpu, rss, _, status = scan_once(cli, inputs, "json", out, sample_pss=False)
                walls[name].append(wall)
                count, digest = findings_digest(out)
                print(f"{name}: {args.identities} identities: wall {wall:.1f} s (CPU {cpu:.1f} s), peak RSS "
                      f"{rss:.0f} MiB, exit {status}, findings={count} digest={digest}", flush=True)
        for name, times in walls.items() if args.runs else ():
            print(f"{name}: wall min {min(times):.1f} / median {statistics.median(times):.1f} / max "
                  f"{max(times):.1f} s over {len(times)} run(s)")
        if args.baseline and args.runs:
            ratio = statistics.median(walls["this CLI"]) / statistics.median(walls["baseline"])
            print(f"this CLI / baseline (medians): {ratio:.3f}")
        _, _, rss, pss, _ = scan_once(command, inputs, "json", out)
        print(f"memory (one sampled run): peak RSS {rss:.0f} MiB, process tree PSS {pss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
