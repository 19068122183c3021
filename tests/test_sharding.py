"""`collect --shard I/N` and `snapshot merge` (docs/sharding.md): an organisation of six accounts or more in moto,
collected in three shards, merges into the estate an unsharded collection reads; missing shards are exit 3
and contradicting shards exit 2. The CI recipes in examples/ci/ are run as written, against moto."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_support import MOTO_ACCOUNT, Moto, Response, aws_environment, backdate_key, days_ago, moto  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot
from nhiaudit.sharding import Shard, shard_of

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "policies" / "minimal.yaml"
GITHUB_RECIPE = ROOT / "examples" / "ci" / "github-actions-sharded.yml"
K8S_COLLECT = ROOT / "examples" / "ci" / "kubernetes-collect-job.yaml"
K8S_MERGE = ROOT / "examples" / "ci" / "kubernetes-merge-job.yaml"
SHARDS = 3
AS_OF = "2030-01-01"
ONE_REGION = (b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><regionInfo><item>'
              b"<regionName>us-east-1</regionName><optInStatus>opt-in-not-required</optInStatus></item>"
              b"</regionInfo></DescribeRegionsResponse>")


def cli(*args: str) -> Any:
    return CliRunner().invoke(build_app(), list(args))


# ---- the organisation and its collections (once per module) ------------------------------------------

def _seed_org(moto: Moto) -> list[str]:  # noqa: F811
    """The management account and five members or more, each with a key-holding user and a role. Moto picks
    the members' ids at random: more are made until every shard holds one (five left shard 1 empty in one
    run in eight)."""
    moto.reset()
    client = moto.client("organizations")
    client.create_organization(FeatureSet="ALL")
    members: list[str] = []
    while len(members) < 5 or not set(range(1, SHARDS)) <= {shard_of(a, SHARDS, MOTO_ACCOUNT) for a in members}:
        assert len(members) < 40, "moto's account ids never fill every shard"
        members.append(client.create_account(Email=f"member{len(members)}@acme.example",
                                             AccountName=f"member-{len(members)}")["CreateAccountStatus"]["AccountId"])
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    admin = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    for account in [MOTO_ACCOUNT, *members]:
        iam = moto.client("iam", None if account == MOTO_ACCOUNT else account)
        iam.create_user(UserName="svc")
        iam.create_access_key(UserName="svc")
        iam.put_user_policy(UserName="svc", PolicyName="everything", PolicyDocument=admin)
        iam.create_role(RoleName=f"worker-{account}", AssumeRolePolicyDocument=trust)
        backdate_key("svc", days_ago(400), days_ago(200), account=account)
    return sorted([MOTO_ACCOUNT, *members])


class Org:
    def __init__(self, moto: Moto, accounts: list[str], where: Path) -> None:  # noqa: F811
        self.moto, self.accounts, self.where = moto, accounts, where
        self.shards = [where / f"shard-{i}.json" for i in range(SHARDS)]
        self.whole = where / "whole.json"


@pytest.fixture(scope="module")
def org(moto: Moto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:  # noqa: F811
    """Seeded once; every shard and an unsharded collection of it, written once (collection is read-only)."""
    where = tmp_path_factory.mktemp("sharding")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")  # small accounts: a fast module
        accounts = _seed_org(moto)
        aws_environment(env, moto.front.url, where)
        moto.front.replay("ec2:DescribeRegions", lambda r: Response(200, ONE_REGION))  # not moto's 38 regions
        found = Org(moto, accounts, where)
        result = cli("collect", "--aws-org", "--concurrency", "3", "-o", str(found.whole))
        assert result.exit_code == 0, result.output
        for index, path in enumerate(found.shards):
            result = cli("collect", "--aws-org", "--concurrency", "3", "--shard", f"{index}/{SHARDS}", "-o", str(path))
            assert result.exit_code == 0, result.output
        yield found


@pytest.fixture
def aws(org: Org, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Org:
    """The environment of `org` for tests that collect again (the front keeps answering DescribeRegions)."""
    aws_environment(monkeypatch, org.moto.front.url, tmp_path)
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    return org


def findings_of(snapshot: Path, as_of: str | None = AS_OF) -> list[dict[str, Any]]:
    dated = ["--as-of", as_of] if as_of else []
    result = cli("scan", "--snapshot", str(snapshot), "--policy", str(POLICY), *dated, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["findings"]


def merge(*paths: Path, out: Path) -> Any:
    return cli("snapshot", "merge", *map(str, paths), "-o", str(out))


# ---- the shard option ----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["0/0", "3/2", "2/2", "1", "a/b", "-1/3", "1/3/4", ""])
def test_malformed_shards_are_usage_errors(spec: str) -> None:
    result = cli("collect", "--aws-org", "--shard", spec)
    assert result.exit_code == 2, result.output
    assert "--shard" in result.stderr


@pytest.mark.parametrize("sources", [["--aws"], ["--aws-profile", "x"], ["--gcp-project", "my-project-1"],
                                     ["--azure"], ["--import", "README.md", "--aws-org"]])
def test_shard_needs_an_enumerating_source(sources: list[str]) -> None:
    result = cli("collect", *sources, "--shard", "0/2")
    assert result.exit_code == 2, result.output
    assert "--shard" in result.stderr


def test_assignment_is_fixed_and_does_not_depend_on_the_hash_seed() -> None:
    accounts = ["123456789012", "210987654321", "000000000001", "999999999999"]
    # Pinned: a change would move accounts between the shards of a matrix half-way through an upgrade.
    assert [shard_of(a, 3) for a in accounts] == [1, 2, 2, 1]
    assert [shard_of(a, 3, pinned="123456789012") for a in accounts] == [0, 2, 2, 1]
    code = f"from nhiaudit.sharding import shard_of; print([shard_of(a, 7) for a in {accounts!r}])"
    seen = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout for seed in ("0", "1", "4242")}
    assert seen == {f"{[shard_of(a, 7) for a in accounts]}\n"}
    assert Shard.parse(" 2 / 5 ") == Shard(2, 5) and str(Shard(2, 5)) == "2/5"


# ---- collection in shards ---------------------------------------------------------------------------------

def test_every_account_is_in_exactly_one_shard(org: Org) -> None:
    shards = [load_snapshot(p) for p in org.shards]
    collected: list[str] = []
    for index, snap in enumerate(shards):
        assert snap.shard is not None and (snap.shard.index, snap.shard.count) == (index, SHARDS)
        (scope,) = snap.shard.scopes
        assert list(scope.enumerated) == org.accounts  # every shard records the whole organisation
        assert [s.account for s in snap.sources] == list(scope.assigned)
        assert {i.account for i in snap.identities} == set(scope.assigned)
        assert list(scope.assigned) == sorted(a for a in org.accounts if shard_of(a, SHARDS, MOTO_ACCOUNT) == index)
        collected += scope.assigned
    assert sorted(collected) == org.accounts
    assert MOTO_ACCOUNT in shards[0].shard.scopes[0].assigned  # the enumerating (management) account
    assert "shard" not in json.loads(org.whole.read_text())  # unsharded snapshots keep their shape


def test_assignment_is_the_same_in_another_process_and_seed(aws: Org, tmp_path: Path) -> None:
    out = tmp_path / "again.json"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-m", "nhiaudit", "collect", "--aws-org", "--quiet", "--shard", f"1/{SHARDS}",
                    "-o", str(out)], env=env, check=True, capture_output=True)
    again, before = load_snapshot(out).shard, load_snapshot(aws.shards[1]).shard
    assert again is not None and before is not None and again.scopes == before.scopes


def test_merged_shards_give_the_findings_of_one_collection(org: Org, tmp_path: Path) -> None:
    merged = tmp_path / "merged.json"
    result = merge(*org.shards, out=merged)
    assert result.exit_code == 0, result.output
    whole, joined = load_snapshot(org.whole), load_snapshot(merged)
    assert joined.shard is None and not joined.collection_issues
    assert sorted(s.account for s in joined.sources) == org.accounts
    assert sorted(i.id for i in joined.identities) == sorted(i.id for i in whole.identities)
    expected = findings_of(org.whole)
    assert expected  # the admin users and their old keys
    canonical = sorted(json.dumps(f, sort_keys=True) for f in findings_of(merged))
    assert canonical == sorted(json.dumps(f, sort_keys=True) for f in expected)
    # Deterministic: the same bytes whatever order the shards are given in.
    again = tmp_path / "again.json"
    assert merge(*reversed(org.shards), out=again).exit_code == 0
    assert again.read_bytes() == merged.read_bytes()


def test_a_missing_shard_is_incomplete_and_names_its_accounts(org: Org, tmp_path: Path) -> None:
    merged = tmp_path / "merged.json"
    result = merge(org.shards[0], org.shards[2], out=merged)
    assert result.exit_code == 3, result.output
    lost = sorted(load_snapshot(org.shards[1]).shard.scopes[0].assigned)
    assert lost  # shard 1 of the seeded organisation is not empty
    assert f"1/{SHARDS}" in result.stderr and all(a in result.stderr for a in lost)
    snap = load_snapshot(merged)  # still written
    assert sorted(i.account for i in snap.collection_issues) == lost
    assert all(i.operation == "nhiaudit:snapshot-merge" and i.missing == f"everything in account {i.account}"
               for i in snap.collection_issues)
    scanned = cli("scan", "--snapshot", str(merged), "--policy", str(POLICY), "--as-of", AS_OF, "--fail-on", "none")
    assert scanned.exit_code == 3, scanned.output  # the merged snapshot is incomplete for `scan` too


def _edited(source: Path, target: Path, edit: Any) -> Path:
    data = json.loads(source.read_text())
    edit(data["shard"])
    target.write_text(json.dumps(data))
    return target


def _set_count(shard: dict[str, Any]) -> None:
    shard["count"] = SHARDS + 1


def _drop_account(shard: dict[str, Any]) -> None:
    shard["scopes"][0]["enumerated"] = shard["scopes"][0]["enumerated"][1:]


def _other_org(shard: dict[str, Any]) -> None:
    shard["scopes"][0]["organization"] = "o-somebodyelse0"


@pytest.mark.parametrize(("edit", "says"), [(_set_count, "share N"), (_drop_account, "different account lists"),
                                            (_other_org, "different organisations")])
def test_shards_that_disagree_are_a_usage_error(org: Org, tmp_path: Path, edit: Any, says: str) -> None:
    odd = _edited(org.shards[2], tmp_path / "odd.json", edit)
    out = tmp_path / "merged.json"
    result = merge(org.shards[0], org.shards[1], odd, out=out)
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "odd.json" in result.stderr and "shard-0.json" in result.stderr
    assert not out.exists()


def test_overlapping_or_repeated_shards_are_a_usage_error(org: Org, tmp_path: Path) -> None:
    out = tmp_path / "merged.json"
    copy = tmp_path / "copy.json"
    copy.write_bytes(org.shards[1].read_bytes())
    result = merge(org.shards[1], copy, out=out)
    assert result.exit_code == 2 and "are both shard 1/3" in result.stderr and "copy.json" in result.stderr

    stolen = load_snapshot(org.shards[0]).shard.scopes[0].assigned[0]

    def steal(shard: dict[str, Any]) -> None:
        shard["scopes"][0]["assigned"] = sorted([*shard["scopes"][0]["assigned"], stolen])

    greedy = _edited(org.shards[1], tmp_path / "greedy.json", steal)
    result = merge(org.shards[0], greedy, org.shards[2], out=out)
    assert result.exit_code == 2 and f"account {stolen} is in both" in result.stderr and "greedy.json" in result.stderr

    result = merge(org.shards[0], org.whole, out=out)
    assert result.exit_code == 2 and "whole.json: not a shard snapshot" in result.stderr
    assert not out.exists()


# ---- the CI recipes, run as written ------------------------------------------------------------------------

def _bash(script: str, cwd: Path, **env: str) -> int:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # `nhiaudit` of this checkout
    done = subprocess.run(["bash", "-ec", script], cwd=cwd, env={**os.environ, "PATH": path, **env},
                          capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr  # 1: findings at or above --fail-on
    return done.returncode


def _step(job: dict[str, Any], command: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if command in s.get("run", "")]
    return step


def test_github_actions_matrix_recipe(aws: Org, tmp_path: Path) -> None:
    workflow = yaml.safe_load(GITHUB_RECIPE.read_text())
    collect, final = workflow["jobs"]["collect"], workflow["jobs"]["merge-and-scan"]
    shards = collect["strategy"]["matrix"]["shard"]
    assert shards == list(range(len(shards))) and collect["strategy"]["fail-fast"] is False
    assert final["needs"] == "collect" and final["if"] == "always()"
    run = _step(collect, "nhiaudit collect")["run"]
    assert '--aws-org' in run and '--shard "${{ matrix.shard }}/${{ strategy.job-total }}"' in run
    upload = _step_using(collect, "actions/upload-artifact")["with"]
    download = _step_using(final, "actions/download-artifact")["with"]
    assert upload["path"] == "shard-${{ matrix.shard }}.json" and download["pattern"] == "nhiaudit-shard-*"
    # The jobs as GitHub runs them, with this checkout's nhiaudit and moto's organisation of six accounts or more.
    work = tmp_path / "runner"
    (work / download["path"]).mkdir(parents=True)
    for shard in range(SHARDS):
        script = run.replace("${{ matrix.shard }}", str(shard)).replace("${{ strategy.job-total }}", str(SHARDS))
        _bash(script, work)
        (work / f"shard-{shard}.json").rename(work / download["path"] / f"shard-{shard}.json")
    _bash(_step(final, "nhiaudit snapshot merge")["run"], work)
    scan = _step(final, "nhiaudit scan --snapshot merged.json")["run"]
    policy = work / final["env"]["POLICY"]
    policy.parent.mkdir(parents=True)
    policy.write_bytes(POLICY.read_bytes())
    _bash(scan, work, GITHUB_OUTPUT=str(tmp_path / "outputs"), POLICY=final["env"]["POLICY"])
    assert re.fullmatch(r"status=[01]\n", (tmp_path / "outputs").read_text())
    merged = load_snapshot(work / "merged.json")
    assert sorted(s.account for s in merged.sources) == aws.accounts and not merged.collection_issues
    report = json.loads((work / "nhiaudit.json").read_text())
    expected = findings_of(aws.whole, as_of=None)  # the recipe scans as of today
    assert [f["fingerprint"] for f in report["findings"]] == [f["fingerprint"] for f in expected]


def _step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith(action)]
    return step


def _container(manifest: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    job = yaml.safe_load(manifest.read_text())
    assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/bin/sh", "-c"]
    return job, container, {e["name"]: e["value"] for e in container["env"]}


def test_kubernetes_indexed_job_recipe(aws: Org, tmp_path: Path) -> None:
    job, collect, env = _container(K8S_COLLECT)
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == int(env["SHARDS"])
    (script,) = collect["args"]
    assert '--shard "${JOB_COMPLETION_INDEX}/${SHARDS}"' in script
    shard_dir = tmp_path / "shards"
    shard_dir.mkdir()
    for index in range(SHARDS):  # the pods, as the Job controller starts them
        _bash(script, tmp_path, JOB_COMPLETION_INDEX=str(index), SHARDS=str(SHARDS), SHARD_DIR=str(shard_dir))
    assert sorted(p.name for p in shard_dir.iterdir()) == [f"shard-{i}.json" for i in range(SHARDS)]
    _, final, final_env = _container(K8S_MERGE)
    assert final_env["SHARD_DIR"] == env["SHARD_DIR"]
    (script,) = final["args"]
    _bash(script, tmp_path, SHARD_DIR=str(shard_dir), POLICY=str(POLICY))
    merged = load_snapshot(shard_dir / "merged.json")
    assert sorted(s.account for s in merged.sources) == aws.accounts and not merged.collection_issues
    assert json.loads((shard_dir / "nhiaudit.json").read_text())["findings"]


def test_merging_one_shard_of_one(tmp_path: Path) -> None:
    """N = 1 is a valid (if pointless) sharding; an empty shard merges too."""
    from nhiaudit.inventory.snapshot import ShardInfo, ShardScope
    from nhiaudit.shard_merge import merge_shards

    scope = ShardScope(provider="aws", organization="o-example0000", enumerated=("111111111111",),
                       assigned=("111111111111",))
    only = Snapshot(shard=ShardInfo(index=0, count=1, scopes=(scope,)))
    result = merge_shards([("only.json", only)])
    assert result.complete and result.snapshot.shard is None and result.count == 1


def test_gcp_projects_are_split_the_same_way() -> None:
    """GCP: the enumerated projects are split like AWS accounts; shard 0 alone reports the enumeration's
    issues, so the merge holds each of them once."""
    from nhiaudit.connectors.gcp.live import _shard
    from nhiaudit.connectors.options import GcpOptions
    from nhiaudit.inventory.model import CollectionIssue, Provider

    projects = [f"project-{i:03d}" for i in range(30)]
    issue = CollectionIssue(provider=Provider.GCP, account="folders/7", operation="resourcemanager.projects.list",
                            message="denied")
    seen: list[str] = []
    for index in range(SHARDS):
        opts = GcpOptions(enabled=True, organization="123", folders=("7",), shard=Shard(index, SHARDS))
        mine, issues, (record,) = _shard(opts, projects, [issue])
        (scope,) = record.shard.scopes
        assert scope.organization == "organizations/123,folders/7" and list(scope.enumerated) == projects
        assert mine == list(scope.assigned) == [p for p in projects if shard_of(p, SHARDS) == index]
        assert issues == ([issue] if index == 0 else [])
        seen += mine
    assert sorted(seen) == projects
    assert _shard(GcpOptions(enabled=True, organization="123"), projects, [issue]) == (projects, [issue], [])


def test_shards_keep_one_copy_of_the_organisation_and_must_agree_on_it(org: Org, tmp_path: Path) -> None:
    merged = tmp_path / "merged.json"
    assert merge(*org.shards, out=merged).exit_code == 0
    (organization,) = load_snapshot(merged).aws_organizations  # every shard read it: one copy
    assert organization == load_snapshot(org.whole).aws_organizations[0]
    data = json.loads(org.shards[2].read_text())
    data["aws_organizations"][0]["accounts"] = data["aws_organizations"][0]["accounts"][1:]  # another OU tree
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(data))
    result = merge(org.shards[0], org.shards[1], odd, out=tmp_path / "out.json")
    assert result.exit_code == 2 and "different SCPs, RCPs or OU trees" in result.stderr, result.output
