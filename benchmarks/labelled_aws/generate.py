"""Generate the labelled AWS benchmark estate.

    .venv/bin/python benchmarks/labelled_aws/generate.py --principals 3000 --accounts 3 --out /tmp/labelled

Writes, under --out: `aws/<account>/authorization-details.json` (`aws iam get-account-authorization-details`)
and `aws/<account>/credential-report.csv` (the decoded credential report) per account, `policy.yaml` (the
written AI-usage policy) and `manifest.json` (every planted finding as {subject, rule, family, why}, and
every principal with its ground-truth class, shape and traits). Deterministic: the same arguments give the
same bytes. Scan it with `nhiaudit scan --import OUT/aws/<account> ... --policy OUT/policy.yaml --as-of
<manifest as_of>`, or score a scan with benchmarks/labelled_precision.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks.labelled_aws` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.labelled_aws.estate import DEFAULT_AS_OF, DEFAULT_SEED, EstateTooSmall, build_estate
from benchmarks.labelled_aws.render import write


def generate(out: Path, principals: int = 3000, accounts: int = 3, seed: int = DEFAULT_SEED,
             as_of: str = DEFAULT_AS_OF) -> dict:
    """Build and write the estate; returns the manifest."""
    return write(build_estate(principals, accounts, seed, as_of), out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--principals", type=int, default=3000, help="IAM users and roles in all (default 3000)")
    parser.add_argument("--accounts", type=int, default=3, help="AWS accounts (default 3)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--as-of", default=DEFAULT_AS_OF, help="the scan date the ages are relative to")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    try:
        data = generate(args.out, args.principals, args.accounts, args.seed, args.as_of)
    except EstateTooSmall as exc:
        print(f"generate.py: {exc}", file=sys.stderr)
        return 2
    print(f"{len(data['principals'])} principals in {len(data['accounts'])} account(s), "
          f"{len(data['findings'])} planted findings -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
