"""End to end on the demo estate: SARIF of a real scan, baseline rescans, one added gap -> exactly one new.

Runs the real `nhiaudit scan` through the CLI (no mocks).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sarif_checks
import yaml
from typer.testing import CliRunner

from nhiaudit.cli import build_app

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "examples" / "demo" / "snapshot.json"
POLICY = ROOT / "examples" / "demo" / "policy.yaml"
GHOST = "arn:aws:iam::999999999999:role/e2e-ghost-agent"


def scan(*args: str) -> int:
    argv = ["scan", "--snapshot", str(SNAPSHOT), "--as-of", "2026-11-28", "--format", "json",
            "--fail-on", "info", "--quiet", *args]
    result = CliRunner().invoke(build_app(), argv)
    # CliRunner reports an uncaught exception as exit 1 too: only a deliberate exit counts.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), f"exit {result.exit_code}: {result.output}"
    return result.exit_code


def findings(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["findings"]


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e")
    report = out / "first.json"
    sarif = out / "first.sarif"
    assert scan("--policy", str(POLICY), "--output", str(report), "--output-sarif", str(sarif)) == 1
    return report


def test_demo_sarif_is_valid_and_github_accepts_it(first):
    sarif = json.loads(first.with_suffix(".sarif").read_text(encoding="utf-8"))
    assert sarif_checks.schema_errors(sarif) == []
    assert sarif_checks.github_problems(sarif) == []
    assert len(sarif["runs"][0]["results"]) == len(findings(first)) > 0


def test_rescan_with_baseline_passes_with_nothing_new_and_the_same_fingerprints(first, tmp_path):
    second = tmp_path / "second.json"
    assert scan("--policy", str(POLICY), "--baseline", str(first), "--output", str(second)) == 0
    assert [f for f in findings(second) if f["status"] == "open"] == []
    fingerprints = sorted(f["fingerprint"] for f in findings(second))
    assert fingerprints == sorted(f["fingerprint"] for f in findings(first))


def test_one_added_gap_fails_with_exactly_one_new_finding(first, tmp_path):
    # Re-dumping the YAML moves every entry to another line: fingerprints must not care.
    policy = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    policy.setdefault("integrations", []).append(
        {"name": "e2e-ghost-agent", "kind": "agent", "owner": "e2e@example.com", "identities": [GHOST]}
    )
    changed = tmp_path / "policy.yaml"
    changed.write_text("# moved\n" * 7 + yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    third = tmp_path / "third.json"
    assert scan("--policy", str(changed), "--baseline", str(first), "--output", str(third)) == 1
    new = [f for f in findings(third) if f["status"] == "open"]
    assert len(new) == 1, new
    assert GHOST in json.dumps(new[0]) or new[0].get("integration") == "e2e-ghost-agent"
