"""Guardrails benchmark: the same synthetic estate scanned without and with an organisation's SCPs and RCPs
(every account a member: FullAWSAccess everywhere, a region lock with a break-glass exception on one OU, an
allow-list OU holding half the accounts, an RCP Deny on the other OU), to show the caps keep the scan linear.

    .venv/bin/python benchmarks/guardrails_benchmark.py [--identities 5000]

Prints the wall time of each scan and its finding count.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_estate import generate

from nhiaudit.inventory.model import Statement
from nhiaudit.inventory.organization import AwsOrganization, OrgAccount, OrgPolicy
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.scan import run_scan

MGMT, ORG, ROOT, OPEN, LOCKED = "999999999999", "o-benchmark0", "r-bench", "ou-bench-open0000", "ou-bench-locked00"


def organization(accounts: list[str]) -> AwsOrganization:
    locked = set(accounts[::2])
    paths = [OrgAccount(account=a, parents=(ROOT, LOCKED if a in locked else OPEN)) for a in accounts]

    def policy(pid: str, targets: tuple[str, ...], *statements: Statement, kind: str = "SERVICE_CONTROL_POLICY"):
        return OrgPolicy(id=pid, arn=f"arn:aws:organizations::{MGMT}:policy/{ORG}/x/{pid}", name=pid, type=kind,
                         statements=statements, targets=targets)

    full = policy("p-FullAWSAccess", (ROOT, OPEN, *accounts), Statement(actions=("*",), resources=("*",)))
    region = policy("p-regionlock", (OPEN,), Statement(effect="Deny", actions=("bedrock:*",), conditions={
        "StringNotEquals": {"aws:RequestedRegion": "us-east-1"},
        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/breakglass"}}))
    allow_list = policy("p-allowlist", (LOCKED,), Statement(actions=("s3:*", "dynamodb:*", "sts:*")))
    rcp = policy("p-rcpdeny", (OPEN,), Statement(effect="Deny", actions=("s3:*",), conditions={
        "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG}}), kind="RESOURCE_CONTROL_POLICY")
    return AwsOrganization(id=ORG, management_account=MGMT, policies=(full, region, allow_list, rcp),
                           accounts=tuple(paths))


def timed(snapshot: Snapshot, policy: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = run_scan(snapshot, policy, [], date(2026, 11, 28))
    return time.perf_counter() - start, len(result.report.findings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--identities", type=int, default=5_000)
    args = parser.parse_args()
    snapshot, policy_text = generate(args.identities)
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.yaml"
        policy.write_text(policy_text, encoding="utf-8")
        plain = timed(snapshot, policy)
        accounts = sorted({s.account for s in snapshot.sources} | {i.account for i in snapshot.identities})
        capped = timed(snapshot.model_copy(update={"aws_organizations": [organization(accounts)]}), policy)
    print(f"identities={args.identities} accounts={len(accounts)}")
    print(f"without guardrails: {plain[0]:.2f}s, {plain[1]} findings")
    print(f"with SCPs and RCPs: {capped[0]:.2f}s, {capped[1]} findings")


if __name__ == "__main__":
    main()
