"""Shared by the cloud semantics tests: scan a planted snapshot with a policy through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.snapshot import Snapshot


def scan_planted(tmp: Path, snapshot: Snapshot, policy: str, as_of: str) -> dict[str, Any]:
    """The JSON report of `nhiaudit scan` on the snapshot and policy (which must have findings: exit 1)."""
    snapshot.write(tmp / "snapshot.json")
    (tmp / "policy.yaml").write_text(policy, encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["scan", "--snapshot", str(tmp / "snapshot.json"), "--policy",
                                              str(tmp / "policy.yaml"), "--as-of", as_of, "--format", "json"])
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def findings(report: dict[str, Any], rule: str | None = None, who: str | None = None) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if (rule is None or f["rule_id"] == rule)
            and (who is None or f["identity"]["id"] == who)]


def systems_hit(report: dict[str, Any], who: str) -> set[str]:
    return {f["evidence"]["system"] for f in findings(report, "scope-forbidden-system", who)}
