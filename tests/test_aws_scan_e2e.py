"""`nhiaudit scan --aws --policy P --format json` against a moto estate with planted gaps: every gap is
found with the right category, the clean identities have nothing, and the CLI exports give the same."""

from __future__ import annotations

import json
from collections import defaultdict

import aws_planted as planted
import pytest
from aws_support import Moto, aws_environment, export_like_cli, moto  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app


@pytest.fixture(scope="module")
def estate(moto: Moto) -> Moto:  # noqa: F811
    moto.reset()
    planted.seed_planted(moto)
    return moto


@pytest.fixture(scope="module")
def live(estate: Moto, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict]:
    with pytest.MonkeyPatch.context() as env:
        tmp = tmp_path_factory.mktemp("live")
        estate.front.reset()
        aws_environment(env, estate.front.url, tmp)
        return scan(tmp, "--aws", "--aws-regions", "us-east-1")


def scan(tmp_path, *source: str) -> tuple[int, dict]:
    policy = planted.write_policy(tmp_path)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), ["scan", *source, "--policy", str(policy), "--format", "json",
                                              "--fail-on", "none", "-o", str(out), "--quiet"])
    assert out.exists(), result.output
    return result.exit_code, json.loads(out.read_text())


def categories(report: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for finding in report["findings"]:
        found[(finding.get("identity") or {}).get("id", "")].add(finding["category"])
    return found


def test_scan_finds_every_planted_gap_and_nothing_on_clean_identities(live):
    code, report = live
    assert code == 0 and report["collection"]["complete"]
    found = categories(report)
    missing = {who: sorted(want - found[who]) for who, want in planted.EXPECTED.items() if want - found[who]}
    noisy = {who: sorted(found[who]) for who in planted.CLEAN if found[who]}
    assert not missing and not noisy, f"planted gaps not found: {missing}; findings on clean identities: {noisy}"
    assert "stale-policy" in {f["category"] for f in report["findings"]}  # the ghost integration


def test_scan_of_cli_exports_finds_the_same(estate, live, tmp_path):
    files = export_like_cli(estate, tmp_path / "exports", key_users=list(planted.USERS))
    functions = estate.client("lambda").list_functions()["Functions"]
    (tmp_path / "exports" / "functions.json").write_text(json.dumps({"Functions": functions}))
    args = [a for f in [*files, tmp_path / "exports" / "functions.json"] for a in ("--import", str(f))]
    _, imported = scan(tmp_path, *args)

    def keyed(report: dict) -> set[tuple]:
        return {(f["rule_id"], f["category"], (f.get("identity") or {}).get("id"), f.get("credential_id"))
                for f in report["findings"]}

    assert keyed(imported) == keyed(live[1]) and imported["findings"]
