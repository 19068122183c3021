"""Shared by the cloud semantics tests: scan a planted snapshot with a policy through the real CLI."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot


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


def finding_identity(finding: dict[str, Any]) -> str:
    return (finding.get("identity") or {}).get("id") or ""


def rules_by_identity(report: dict[str, Any]) -> dict[str, set[str]]:
    """Rule ids per identity id ('' for findings without an identity)."""
    found: dict[str, set[str]] = defaultdict(set)
    for finding in report["findings"]:
        found[finding_identity(finding)].add(finding["rule_id"])
    return dict(found)


def keyed(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(rule id, identity id, fingerprint) of every finding, sorted: what live and import must share."""
    return sorted((f["rule_id"], finding_identity(f), f["fingerprint"]) for f in report["findings"])


def one(report: dict[str, Any], rule: str, who: str) -> dict[str, Any]:
    """The single finding of `rule` on identity `who`."""
    hits = [f for f in report["findings"] if f["rule_id"] == rule and finding_identity(f) == who]
    assert len(hits) == 1, (rule, who, hits)
    return hits[0]


def run(*args: str) -> Any:
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False)


DEMO_ROOT = Path(__file__).resolve().parent.parent
# The bundled demo estate and policy, as scan/explain/baseline options.
DEMO_ARGS = ["--snapshot", str(DEMO_ROOT / "examples/demo/snapshot.json"),
             "--policy", str(DEMO_ROOT / "examples/demo/policy.yaml"), "--as-of", "2026-11-28"]


def run_cli(*args: str) -> Any:
    """The CLI's result; an exception other than its exit is a test failure (a crash, not a user error)."""
    result = CliRunner().invoke(build_app(), list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def collect(tmp_path: Path, *imports: str) -> tuple[Any, Snapshot | None]:
    """`nhiaudit collect` of the imports, and the snapshot it wrote (None when it wrote none)."""
    out = tmp_path / "snap.json"
    result = run("collect", *imports, "-o", str(out))
    return result, (load_snapshot(out) if out.exists() else None)


def shape_checks_in_a_child(monkeypatch: Any) -> list[int]:
    """Make every import's shape check run in a forked child (as a large export's does); the list returned
    gains an element per child started."""
    from nhiaudit import forked
    from nhiaudit.connectors import interface

    started: list[int] = []
    real_start = forked.ForkedWork.start
    monkeypatch.setattr(forked.ForkedWork, "start", staticmethod(lambda work: started.append(1) or real_start(work)))
    monkeypatch.setattr(interface, "SHAPE_CHECK_FORK_SIZE", 0)
    monkeypatch.setattr(forked, "only_thread", lambda: True)  # whatever other tests left running
    monkeypatch.setenv(forked.JOBS_ENV, "2")
    return started
