"""Findings are built without pydantic's validation (`FindingsBuilder.build` uses `model_construct`: one finding
per violation, hundreds of thousands on a large estate). Every field is typed by the builder; this test
re-validates every finding of the demo estate (all three clouds' rules, exceptions, integrations) and of a
generated one-account estate, so a field handed over with a wrong type (a str for an enum, a list for a model)
fails here."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.one_account_estate import authorization_details, credential_report  # noqa: E402
from nhiaudit.connectors.imports import import_files  # noqa: E402
from nhiaudit.findings import Finding  # noqa: E402
from nhiaudit.inventory.snapshot import load_snapshot  # noqa: E402
from nhiaudit.scan import run_scan  # noqa: E402

DEMO = ROOT / "examples" / "demo"


def _generated(tmp_path: Path):
    (tmp_path / "authorization-details.json").write_text(json.dumps(authorization_details(80, 40, 20)))
    (tmp_path / "credential-report.csv").write_text(credential_report(80))
    return import_files([tmp_path]), None


@pytest.mark.parametrize("estate", ["demo", "generated"])
def test_every_finding_is_what_validation_would_build(tmp_path: Path, estate: str) -> None:
    if estate == "demo":
        snapshot, policy = load_snapshot(DEMO / "snapshot.json"), DEMO / "policy.yaml"
    else:
        snapshot, policy = _generated(tmp_path)
    findings = run_scan(snapshot, policy, [], date(2026, 11, 28)).report.findings
    assert len(findings) > 20 and any(f.status.value == "excepted" for f in findings) == (estate == "demo")
    for finding in findings:
        valid = Finding.model_validate(finding.model_dump())
        assert valid == finding, finding.rule_id
        # Equality alone would take the text "high" for Severity.HIGH (a str enum): the types must match too.
        assert {k: type(getattr(valid, k)) for k in Finding.model_fields} == {
            k: type(getattr(finding, k)) for k in Finding.model_fields}, finding.rule_id
