"""Fail fast: a bad policy, rule directory, rule switch or live option stops the run before the first request
to any cloud. boto3 (real, through the real CLI) is pointed at a local endpoint that records every request
and answers none of them usefully; the runs that must fail are required to leave it untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_support import AwsFront, aws_environment
from typer.testing import CliRunner

from nhiaudit.cli import build_app

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "demo" / "policy.yaml"
AWS = ["--aws", "--aws-regions", "us-east-1", "-q"]


@pytest.fixture
def front(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsFront]:
    """Every AWS client goes here; it records the request and answers 400 (nothing recorded)."""
    endpoint = AwsFront().start()
    aws_environment(monkeypatch, endpoint.url, tmp_path)
    try:
        yield endpoint
    finally:
        endpoint.stop()


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args))


def bad_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.read_text(encoding="utf-8").replace("may_reach:", "may_reech:", 1), encoding="utf-8")
    return path


def test_the_endpoint_sees_a_live_scan_with_a_good_policy(front: AwsFront) -> None:
    """The control: with nothing wrong, the scan does reach the endpoint (so silence below means something)."""
    result = run("scan", *AWS, "--policy", str(POLICY), "--as-of", "2026-11-28")
    assert result.exit_code == 3, result.output  # the endpoint answers nothing useful: collection failed
    assert front.operations()[:1] == ["sts:GetCallerIdentity"]


@pytest.mark.parametrize("command", ["scan", "explain", "graph"])
def test_an_invalid_policy_stops_before_any_request(front: AwsFront, tmp_path: Path, command: str) -> None:
    extra = ["support-copilot"] if command == "explain" else []
    result = run(command, *AWS, "--policy", str(bad_policy(tmp_path)), *extra)
    assert result.exit_code == 2, result.output
    assert "may_reech" in result.stderr and str(tmp_path / "policy.yaml") in result.stderr
    assert front.operations() == []


def test_bad_rules_and_rule_switches_stop_before_any_request(front: AwsFront, tmp_path: Path) -> None:
    broken = tmp_path / "rules"
    broken.mkdir()
    (broken / "mine.yaml").write_text("id: my-rule\ntitle: half a rule\n", encoding="utf-8")
    for args, message in (
        (["--rules", str(broken)], "missing required field(s)"),
        (["--rules", str(tmp_path / "absent")], "rules directory not found"),
        (["--skip-rule", "admin-acess"], "did you mean 'admin-access'?"),
        (["--only-rule", "nope"], "--only-rule: no rule 'nope'"),
    ):
        result = run("scan", *AWS, "--policy", str(POLICY), *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)
    assert front.operations() == []


def test_a_bad_option_of_one_source_stops_every_source(front: AwsFront, tmp_path: Path) -> None:
    """Azure's options are checked before AWS collects anything (sources run one after another)."""
    for command in ("scan", "collect"):
        result = run(command, *AWS, "--azure", "--azure-cloud", "mars", "-o", str(tmp_path / f"{command}.out"))
        assert result.exit_code == 2 and "--azure-cloud must be one of" in result.stderr, result.output
    assert front.operations() == []
    assert not list(tmp_path.iterdir())
