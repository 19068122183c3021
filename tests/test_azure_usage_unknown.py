"""Entra ID without the sign-in activity reports: nothing is called unused, because nothing is known."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from test_azure_imports import FIXTURES, TARGET_ARGS, TARGETED
from typer.testing import CliRunner

from nhiaudit.cli import build_app

UNUSED_RULES = {"identity-unused", "cred-unused"}


def scan(directory: Path) -> dict:
    result = CliRunner().invoke(build_app(), ["scan", "--import", str(directory), *TARGET_ARGS, "--as-of",
                                              "2026-11-28", "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def copy(tmp_path: Path, skip: tuple[str, ...]) -> Path:
    for path in FIXTURES.glob("*.json"):
        if path.name not in TARGETED and path.name not in skip:
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def unused(report: dict) -> set[str]:
    return {f["rule_id"] for f in report["findings"]} & UNUSED_RULES


def test_with_the_sign_in_reports_unused_identities_and_secrets_are_reported(tmp_path):
    assert unused(scan(copy(tmp_path, ()))) == UNUSED_RULES


def test_without_the_sign_in_reports_nothing_is_called_unused(tmp_path):
    report = scan(copy(tmp_path, ("graph-sp-signins.json", "graph-credential-signins.json")))
    assert unused(report) == set()
    assert report["findings"]  # everything else is still judged
    assert report["collection"]["sources"][0]["usage_recorded"] is False
