"""The synthetic organisation-wide estate (generate_estate.py) scanned by the real CLI, as users run it.

    .venv/bin/python benchmarks/org_scale_benchmark.py [--identities 100000] [--runs 1]
        [--nhiaudit "env PYTHONPATH=/tmp/old .venv/bin/python -m nhiaudit"]

Writes the snapshot and policy to a scratch directory (not timed), then runs `nhiaudit scan --snapshot S
--policy P --format json -o FILE` per run and prints wall and CPU time, the peak RSS of the largest process
and the sampled peak PSS of the process tree (the analysis forks workers: NHIAUDIT_JOBS=1 measures one
process), the findings count and digest (same digest: same findings). Issue 17 targets: 100,000 identities
<= 25 s and <= 2 GiB; 300,000 runs on a 24 GiB machine.
"""

from __future__ import annotations

import argparse
import shlex
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
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--nhiaudit", default="", help="the CLI to run (default: this interpreter -m nhiaudit)")
    args = parser.parse_args(argv)
    command = shlex.split(args.nhiaudit) if args.nhiaudit else [sys.executable, "-m", "nhiaudit"]
    with tempfile.TemporaryDirectory() as tmp:
        snapshot, policy_text = generate(args.identities)
        snap, policy = Path(tmp) / "snapshot.json", Path(tmp) / "policy.yaml"
        snapshot.write(snap)
        policy.write_text(policy_text, encoding="utf-8")
        del snapshot
        out = Path(tmp) / "report.json"
        for _ in range(args.runs):
            wall, cpu, rss, pss, status = scan_once(command, ["--snapshot", str(snap), "--policy", str(policy)],
                                                    "json", out)
            count, digest = findings_digest(out)
            print(f"{args.identities} identities: wall {wall:.1f} s (CPU {cpu:.1f} s), peak RSS {rss:.0f} MiB "
                  f"(process tree PSS {pss:.0f} MiB), exit {status}, findings={count} digest={digest}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
