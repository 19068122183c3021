"""Helpers for the GCP and Azure `nhiaudit enforce` tests: the real CLI, scans of a snapshot, and the
written policies the planted estates are enforced against."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from nhiaudit.cli import build_app

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(build_app(), [*args, "--quiet"], env=env)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def enforce_json(snapshot: Path, policy: Path, as_of: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = cli("enforce", "--snapshot", str(snapshot), "--policy", str(policy), "--as-of", as_of,
                 "--format", "json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout), result.output


def scan(snapshot: Path, policy: Path, as_of: str, out: Path) -> dict[str, Any]:
    result = cli("scan", "--snapshot", str(snapshot), "--policy", str(policy), "--as-of", as_of, "--format", "json",
                 "--fail-on", "none", "-o", str(out))
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def findings(report: dict[str, Any], identity: str) -> set[str]:
    return {f["rule_id"] for f in report["findings"] if (f["identity"] or {}).get("id") == identity}


def access(report: dict[str, Any], identity: str) -> dict[str, str]:
    """system -> access level the identity has there (allowed or forbidden alike)."""
    return {r["system"]: r["access"] for p in report["access_paths"] if p["identity"] == identity
            for r in p["reachable_systems"]}


def checks(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["guardrail"]: c for c in data["verification"]["checks"]}


def of_kind(data: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: g for name, g in data["guardrails"].items() if g["kind"] == kind}


def validate_schema(data: dict[str, Any]) -> list[Any]:
    import jsonschema

    schema = json.loads((ROOT / "docs" / "enforce.schema.json").read_text(encoding="utf-8"))
    return list(jsonschema.validators.validator_for(schema)(schema).iter_errors(data))
