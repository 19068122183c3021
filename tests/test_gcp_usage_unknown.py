"""A key with no recorded use is "unused" only where use is recorded at all: never guessed from a gap."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from nhiaudit.cli import build_app

FIXTURES = Path("fixtures/gcp")


def scan(directory: Path) -> dict:
    result = CliRunner().invoke(build_app(), ["scan", "--import", str(directory), "--as-of", "2026-11-28",
                                              "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def unused(report: dict) -> set[str]:
    return {f["identity"]["name"] for f in report["findings"] if f["rule_id"] == "cred-unused"}


def test_recorded_key_use_reports_unused_keys():
    assert unused(scan(FIXTURES)) == {"batch-scorer", "vertex-summariser"}


def test_without_key_activities_no_key_is_called_unused(tmp_path):
    for path in FIXTURES.glob("*.json"):
        if "activity" not in path.name:
            shutil.copy(path, tmp_path / path.name)
    report = scan(tmp_path)
    assert unused(report) == set()
    assert {f["rule_id"] for f in report["findings"]} >= {"cred-too-old"}  # the rest is still judged
    (source,) = report["collection"]["sources"]
    assert "key use" in source["detail"] and "no key is reported unused" in source["detail"]


def test_service_account_activities_alone_do_not_record_key_use(tmp_path):
    for path in FIXTURES.glob("*.json"):
        if path.name != "activity-keys.json":
            shutil.copy(path, tmp_path / path.name)
    assert unused(scan(tmp_path)) == set()
