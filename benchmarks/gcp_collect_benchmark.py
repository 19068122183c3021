"""Benchmark live GCP collection against the in-test servers: API requests and wall time for one project.

    .venv/bin/python benchmarks/gcp_collect_benchmark.py [--service-accounts 1000 --bindings 3000]

Starts the in-test IAM gRPC server and REST servers of tests/gcp_support.py on 127.0.0.1 (not timed), then
runs the real collector (`collect_gcp`: google-cloud-iam's IAMClient over gRPC, Resource Manager v3's REST
client, AuthorizedSession for the REST-only APIs, the read-only guard, retries) and prints the number of
requests per method and the wall time. The request count grows with service accounts (one key list and
one IAM policy per SA, one list page per 100 SAs), never with bindings. It also prints the time spent
assembling the snapshot from the raw data (`assemble_project`), which is linear in service accounts, bindings
and members (the estate's 3,000 bindings are confined by their conditions to buckets: they target no SA).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-accounts", type=int, default=1000)
    parser.add_argument("--bindings", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8, help="per-SA calls in flight")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from gcp_support import GcpServers, big_estate
    from rich.console import Console

    import nhiaudit.connectors.gcp.assemble as assemble_module
    from nhiaudit.connectors.gcp.clients import RequestCounter
    from nhiaudit.connectors.gcp.live import collect_gcp
    from nhiaudit.connectors.options import GcpOptions

    assembling: list[float] = []
    assemble = assemble_module.assemble_project

    def timed_assemble(raw, source):  # collect_project imports it at call time: this wrapper is what runs
        started = time.perf_counter()
        try:
            return assemble(raw, source)
        finally:
            assembling.append(time.perf_counter() - started)

    assemble_module.assemble_project = timed_assemble
    fake = big_estate(args.service_accounts, args.bindings)
    with GcpServers(fake) as servers:
        counter = RequestCounter()
        started = time.perf_counter()
        [snapshot] = collect_gcp(GcpOptions(enabled=True, projects=("acme-big-prod",)), 1,
                                 Console(stderr=True, quiet=True), counter=counter, env=servers.env,
                                 inner_concurrency=args.concurrency)
        took = time.perf_counter() - started
    per_method: Counter[str] = Counter()
    for label, n in counter.snapshot().items():
        # group REST paths by their last segment (the method), gRPC by method name
        per_method[re.sub(r"^(GET|POST) .*/", r"\1 .../", label)] += n
    print(f"{args.service_accounts} service accounts, {args.bindings} bindings: "
          f"{counter.total} API requests in {took:.1f} s")
    print(f"  {len(snapshot.identities)} identities, {len(snapshot.credentials)} keys, "
          f"{len(snapshot.policies)} policies, {len(snapshot.trusts)} trusts, "
          f"{len(snapshot.collection_issues)} collection issues")
    print(f"  assemble_project: {sum(assembling):.2f} s")
    for label, n in sorted(per_method.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:6d}  {label}")


if __name__ == "__main__":
    main()
