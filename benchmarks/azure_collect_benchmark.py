"""Benchmark live Azure collection against the in-test servers: Graph / ARM requests and wall time for one
tenant.

    .venv/bin/python benchmarks/azure_collect_benchmark.py [--service-principals 5000]

Starts the in-test HTTPS token authority and the Graph / ARM fakes of tests/azure_support.py on 127.0.0.1
(not timed), then runs the real collector (`collect_azure`: azure-identity's EnvironmentCredential, httpx, the
read-only guard, paging through `@odata.nextLink`) and prints the number of requests per route and the wall
time. Nested lists (owners, app role assignments, federated credentials) come through `$expand` on the paged
lists, so the Graph request count grows with pages of 100 service principals, not with service principals.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-principals", type=int, default=5000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from azure_support import AzureServers
    from test_azure_live import estate

    from nhiaudit.connectors.azure.live import collect_azure
    from nhiaudit.connectors.options import AzureOptions

    fake = estate(extra_sps=max(0, args.service_principals - 3))  # the estate has 3 SPs of its own
    with tempfile.TemporaryDirectory() as tmp:
        servers = AzureServers(fake, Path(tmp))
        os.environ.update(servers.env)
        try:
            started = time.perf_counter()
            [snapshot] = collect_azure(AzureOptions(enabled=True, timeout=600))
            took = time.perf_counter() - started
        finally:
            servers.close()
    routes: Counter[str] = Counter(f"{surface} {method} {urlsplit(path).path}"
                                   for surface, method, path in fake.requests)
    for route, n in sorted(routes.items()):
        print(f"{n:6d}  {route}")
    graph = sum(n for r, n in routes.items() if r.startswith("graph "))
    arm = sum(n for r, n in routes.items() if r.startswith("arm "))
    print(f"service principals: {len(snapshot.identities)}  Graph requests: {graph}  ARM requests: {arm}  "
          f"tokens: {len(servers.issued)}  time: {took:.2f} s")


if __name__ == "__main__":
    main()
