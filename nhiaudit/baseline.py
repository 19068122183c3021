"""Baselines: findings already present in an earlier report do not fail CI again.

Matching is by fingerprint (rule + identifying fields, never line numbers or dates), so a
reworded message or a moved policy entry keeps its baseline entry.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.findings import FindingStatus
from nhiaudit.limits import MAX_REPORT_BYTES, read_text_limited
from nhiaudit.report import REPORT_SCHEMA_VERSION, Report


def load_report(path: Path, what: str = "report") -> Report:
    """Load an nhiaudit JSON report (from `scan --format json` / `--output-json`); InputError when bad."""
    text = read_text_limited(path, MAX_REPORT_BYTES, what)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError.single(path, f"{what} is not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    if not isinstance(data, dict) or "findings" not in data:
        raise InputError.single(path, f"{what} is not an nhiaudit JSON report (no `findings`)")
    version = data.get("schema_version")
    if version != REPORT_SCHEMA_VERSION:
        raise InputError.single(
            path, f"{what} has schema_version {version!r}; this nhiaudit reads {REPORT_SCHEMA_VERSION}"
        )
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        problems = [
            InputProblem(
                SourceLocation(str(path)),
                f"not a valid nhiaudit {what}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
            )
            for err in exc.errors()[:20]
        ]
        raise InputError(problems) from None


def baseline_fingerprints(baseline: Report) -> frozenset[str]:
    """Fingerprints a later scan may treat as known.

    Findings that were *excepted* in the baseline are left out: when their exception expires the
    finding must fail again, not hide behind the baseline.
    """
    return frozenset(f.fingerprint for f in baseline.findings if f.status != FindingStatus.EXCEPTED)


def apply_baseline(report: Report, baseline_path: Path) -> Report:
    """A copy of `report` whose open findings present in the baseline report are `baselined`."""
    known = baseline_fingerprints(load_report(baseline_path, "baseline"))
    marked = {"status": FindingStatus.BASELINED, "status_reason": f"present in baseline {baseline_path.name}"}
    findings = [
        f.model_copy(update=marked)
        if f.status == FindingStatus.OPEN and f.fingerprint in known
        else f
        for f in report.findings
    ]
    by_status = {status.value: n for status, n in Counter(f.status for f in findings).items()}
    summary = report.summary.model_copy(update={"by_status": by_status})
    return report.model_copy(update={"findings": findings, "summary": summary})
