"""Precision and recall of nhiaudit per rule family on the labelled AWS estate (issue 11).

    .venv/bin/python benchmarks/labelled_precision.py                       # generate 3,000 principals, scan, score
    .venv/bin/python benchmarks/labelled_precision.py --estate /tmp/labelled --show 5
    .venv/bin/python benchmarks/labelled_precision.py --nhiaudit "/old/checkout/.venv/bin/nhiaudit"

Generates the estate (benchmarks/labelled_aws/generate.py) or reads one (--estate DIR), runs the real CLI as
a subprocess (`collect --import <account directory> --import TARGET=FILE...` per account, then `scan
--snapshot <each> --policy policy.yaml --as-of <manifest as_of> --format json`) and compares the findings with
the manifest on (subject, rule) pairs. Prints one table per family, one per rule, the false positives /
negatives counted per planted shape, and up to --show examples of each. Same estate and same nhiaudit -> same output.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.labelled_aws.estate import DEFAULT_SEED
from benchmarks.labelled_aws.generate import generate
from benchmarks.labelled_aws.score import Score, render, score

DEFAULT_NHIAUDIT = str(Path(sys.executable).with_name("nhiaudit"))


class ScanFailed(RuntimeError):
    """The CLI did not produce a report."""


def _run(cmd: list[str], cwd: str, produces: Path) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode not in (0, 1) or not produces.exists():
        raise ScanFailed(f"{shlex.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[:2000]}")


def scan(estate: Path, manifest: dict[str, Any], nhiaudit: str) -> dict[str, Any]:
    """`nhiaudit collect` of each account's exports (CloudTrail and Bedrock outputs name no account: they are
    imported with one account's files at a time), then `nhiaudit scan` of the snapshots; returns the JSON
    report."""
    estate = estate.resolve()  # the CLI runs in a scratch directory (`python -m` puts the cwd on sys.path)
    cli = shlex.split(nhiaudit)
    with tempfile.TemporaryDirectory() as tmp:
        snapshots: list[str] = []
        for account in manifest["accounts"]:
            imports = ["--import", str(estate / "aws" / account["id"])]
            for arg in account.get("imports", []):
                target, _, path = arg.partition("=")
                imports += ["--import", f"{target}={estate / path}"]
            snapshot = Path(tmp) / f"{account['id']}.json"
            _run([*cli, "collect", *imports, "--output", str(snapshot), "--quiet"], tmp, snapshot)
            snapshots += ["--snapshot", str(snapshot)]
        report = Path(tmp) / "report.json"
        _run([*cli, "scan", *snapshots, "--policy", str(estate / manifest["policy"]), "--as-of", manifest["as_of"],
              "--format", "json", "--output", str(report), "--fail-on", "none", "--quiet"], tmp, report)
        return json.loads(report.read_text(encoding="utf-8"))


def measure(estate: Path, nhiaudit: str = DEFAULT_NHIAUDIT) -> tuple[Score, dict[str, Any], dict[str, Any]]:
    """(score, manifest, report) of one scan of the estate."""
    manifest = json.loads((estate / "manifest.json").read_text(encoding="utf-8"))
    report = scan(estate, manifest, nhiaudit)
    return score(manifest, report), manifest, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--estate", type=Path, help="an estate written by generate.py (default: generate one)")
    parser.add_argument("--principals", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--nhiaudit", default=DEFAULT_NHIAUDIT, help="the CLI to measure (a command line)")
    parser.add_argument("--show", type=int, default=3, help="examples of FP and FN per rule (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        estate = args.estate
        if estate is None:
            estate = Path(tmp) / "estate"
            generate(estate, args.principals, args.accounts, args.seed)
        try:
            result, manifest, report = measure(estate, args.nhiaudit)
        except ScanFailed as exc:
            print(f"labelled_precision.py: {exc}", file=sys.stderr)
            return 2
    print(f"{len(manifest['principals'])} principals, {len(manifest['accounts'])} account(s), "
          f"{len(manifest['findings'])} planted findings, {len(report.get('findings', []))} findings reported "
          f"({len(result.reported)} distinct subject/rule pairs)\n")
    sys.stdout.write(render(result, manifest, report, args.show))
    return 0


if __name__ == "__main__":
    sys.exit(main())
