"""Benchmark sharded collection (docs/sharding.md): collection time per account, and `snapshot merge` of
1,000 account snapshots.

    .venv/bin/python benchmarks/shard_merge_benchmark.py [--accounts 4 --merge-accounts 1000 --identities 40]

1. Seeds an organisation of `--accounts` accounts (management + members, a few identities each) into an
   in-process moto server and runs the real collector (`collect_aws`, --aws-org, one region) unsharded and
   as two shards: wall time per account. moto answers in microseconds, so this is nhiaudit's own cost per
   account; against AWS each account is bound by API latency, which is what sharding spreads over jobs.
2. Writes `--merge-accounts` synthetic shard snapshots (one account each: N = that many shards, each with
   `--identities` users, keys and policies) to a temporary directory and times `nhiaudit snapshot merge` as a
   CLI process (load, validate, merge, write) and the merge alone in-process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ONE_REGION = (b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><regionInfo><item>'
              b"<regionName>us-east-1</regionName><optInStatus>opt-in-not-required</optInStatus></item>"
              b"</regionInfo></DescribeRegionsResponse>")


def _seed_org(url: str, members: int) -> list[str]:
    import boto3

    def client(service: str, account: str | None = None):
        base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        if account is not None:
            creds = base.client("sts", endpoint_url=url).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/seed", RoleSessionName="seed")["Credentials"]
            base = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                 aws_session_token=creds["SessionToken"], region_name="us-east-1")
        return base.client(service, endpoint_url=url, region_name="us-east-1")

    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    ids = [org.create_account(Email=f"m{i}@acme.example", AccountName=f"member-{i}")["CreateAccountStatus"]
           ["AccountId"] for i in range(members)]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for account in [None, *ids]:
        iam = client("iam", account)
        for i in range(5):
            iam.create_user(UserName=f"svc-{i}")
            iam.create_access_key(UserName=f"svc-{i}")
            iam.create_role(RoleName=f"worker-{i}", AssumeRolePolicyDocument=trust)
    return ids


def _front(url: str):
    """The tests' AwsFront: answers DescribeRegions with one region (moto lists 38), forwards the rest."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from aws_support import AwsFront, Response

    front = AwsFront(url).start()
    front.replay("ec2:DescribeRegions", lambda r: Response(200, ONE_REGION))
    return front


def collection_per_account(accounts: int) -> None:
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer
    from rich.console import Console

    from nhiaudit.connectors.aws.live import collect_aws
    from nhiaudit.connectors.options import AwsOptions
    from nhiaudit.sharding import Shard

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    front = _front(url)
    try:
        _seed_org(url, accounts - 1)
        env = {"AWS_ENDPOINT_URL": front.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
        os.environ.update(env)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        quiet = Console(quiet=True)
        runs = (("warm-up: imports, moto's first replies", [None]), ("unsharded", [None]),
                ("2 shards, one after the other", [Shard(0, 2), Shard(1, 2)]))
        for label, shards in runs:
            started = time.perf_counter()
            collected = 0
            for shard in shards:
                opts = AwsOptions(enabled=True, org=True, regions=("us-east-1",), shard=shard)
                collected += sum(1 for s in collect_aws(opts, 1, quiet) if s.sources)
            took = time.perf_counter() - started
            print(f"collect --aws-org ({label}, --concurrency 1): {collected} accounts in {took:.2f} s, "
                  f"{took / collected:.2f} s per account")
    finally:
        front.stop()
        server.stop()


def _account_snapshot(index: int, count: int, accounts: list[str], identities: int) -> dict:
    from nhiaudit.inventory.model import (
        Credential,
        CredentialType,
        Identity,
        IdentityKind,
        Policy,
        Provider,
        SourceInfo,
        Statement,
    )
    from nhiaudit.inventory.snapshot import ShardInfo, ShardScope, Snapshot

    account = accounts[index]
    read = (Statement(actions=("s3:GetObject",)),)
    people = []
    for i in range(identities):
        arn = f"arn:aws:iam::{account}:user/svc-{i}"
        people.append(Identity(id=arn, provider=Provider.AWS, account=account, kind=IdentityKind.USER,
                               name=f"svc-{i}", policy_ids=(f"{arn}/inline",)))
    snapshot = Snapshot(
        sources=[SourceInfo(provider=Provider.AWS, account=account, method="synthetic")],
        identities=people,
        credentials=[Credential(id=f"AKIA{index:08d}{i:08d}", identity_id=p.id, provider=Provider.AWS,
                                type=CredentialType.ACCESS_KEY) for i, p in enumerate(people)],
        policies=[Policy(id=f"{p.id}/inline", provider=Provider.AWS, name="inline", kind="inline", statements=read)
                  for p in people],
        shard=ShardInfo(index=index, count=count, scopes=(ShardScope(
            provider=Provider.AWS, organization="o-benchmark000", enumerated=tuple(accounts),
            assigned=(account,)),)),
    )
    return json.loads(snapshot.to_json())


def merge_time(accounts: int, identities: int) -> None:
    from nhiaudit.inventory.snapshot import load_snapshot
    from nhiaudit.shard_merge import merge_shards

    ids = [f"{100000000000 + i:012d}" for i in range(accounts)]
    with tempfile.TemporaryDirectory(prefix="nhiaudit-merge-") as tmp:
        where = Path(tmp)
        template = _account_snapshot(0, accounts, ids, identities)
        started = time.perf_counter()
        paths = []
        for index in range(accounts):  # one real snapshot, renamed per account (building 1,000 is not the point)
            text = json.dumps(template).replace(ids[0], ids[index])
            data = json.loads(text)
            data["shard"]["index"] = index
            data["shard"]["scopes"][0]["enumerated"] = ids
            path = where / f"shard-{index:04d}.json"
            path.write_text(json.dumps(data))
            paths.append(path)
        size = sum(p.stat().st_size for p in paths)
        print(f"wrote {accounts} shard snapshots ({identities} identities each, {size / 2**20:.0f} MiB) in "
              f"{time.perf_counter() - started:.1f} s")
        out = where / "merged.json"
        for run in range(3):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "nhiaudit", "snapshot", "merge", *map(str, paths), "-o",
                                   str(out), "--quiet"], capture_output=True, text=True)
            took = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                raise SystemExit(done.returncode)
            print(f"nhiaudit snapshot merge ({accounts} files) as a CLI process, run {run + 1}: {took:.2f} s")
        named = [(str(p), load_snapshot(p)) for p in paths]
        started = time.perf_counter()
        result = merge_shards(named)
        merged = time.perf_counter() - started
        print(f"merge_shards alone (validation + merge, files already loaded): {merged:.2f} s; "
              f"{len(result.snapshot.identities)} identities, complete={result.complete}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=4, help="accounts in the moto organisation")
    parser.add_argument("--merge-accounts", type=int, default=1000, help="shard snapshots to merge")
    parser.add_argument("--identities", type=int, default=40, help="identities per synthetic account")
    args = parser.parse_args()
    collection_per_account(max(2, args.accounts))
    merge_time(args.merge_accounts, args.identities)
    return 0


if __name__ == "__main__":
    sys.exit(main())
