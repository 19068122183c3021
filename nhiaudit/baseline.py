"""Baselines: findings accepted once do not fail CI again.

Matching is by fingerprint (rule + identifying fields, never line numbers or dates), so a reworded message
or a moved policy entry keeps its baseline entry. A baseline is the minimal file of `nhiaudit baseline
create` (YAML or JSON, see baseline_file.py) or, as in earlier versions, a full JSON report.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from nhiaudit.baseline_file import (
    MAX_YAML_BASELINE_BYTES,
    MAX_YAML_BASELINE_NODES,
    Baseline,
    BaselineEntry,
    accepted_findings,
    baseline_from_data,
    entry_for,
    is_baseline_document,
)
from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.findings import Finding, FindingStatus
from nhiaudit.jsonlocate import line_column, locate, lone_surrogate_escape
from nhiaudit.limits import MAX_REPORT_BYTES, MAX_REPORTED_PROBLEMS, read_text_limited
from nhiaudit.report import REPORT_SCHEMA_VERSION, Report


def load_report(path: Path, what: str = "report") -> Report:
    """Load an nhiaudit JSON report (from `scan --format json` / `--output-json`); InputError when bad."""
    text = read_text_limited(path, MAX_REPORT_BYTES, what)
    data = _json(text, path, what)
    if is_baseline_document(data):
        raise InputError.single(path, f"{what} is a baseline file (`nhiaudit baseline create`), not a JSON "
                                      "report; compare reports from `nhiaudit scan --format json`")
    return _report(data, text, path, what)


def _json(text: str, path: Path, what: str) -> Any:
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise InputError.single(path, f"{what} is not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise InputError.single(path, f"{what} nests too deeply") from None
    bad = lone_surrogate_escape(text)
    if bad is not None:
        raise InputError.single(path, f"{what} holds a lone surrogate escape (not Unicode text)",
                                *line_column(text, bad))
    return data


def _report(data: Any, text: str, path: Path, what: str) -> Report:
    from pydantic import ValidationError

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
                SourceLocation(str(path), *locate(text, [p for p in err["loc"] if isinstance(p, str | int)])),
                f"not a valid nhiaudit {what}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
            )
            for err in exc.errors()[:MAX_REPORTED_PROBLEMS]
        ]
        raise InputError(problems) from None


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file in either format (detected from its content); InputError when bad."""
    text = read_text_limited(path, MAX_REPORT_BYTES, "baseline")
    data, parsed = None, False
    if path.suffix.lower() == ".json":
        data, parsed = _json(text, path, "baseline"), True
    elif text.lstrip("\ufeff \t\r\n").startswith("{"):
        with contextlib.suppress(InputError):  # JSON under another name? YAML flow style is not JSON
            data, parsed = _json(text, path, "baseline"), True
    if parsed:
        if is_baseline_document(data):
            return baseline_from_data(data, str(path), lambda p: locate(text, list(p)))
        report = _report(data, text, path, "baseline")
        return Baseline.of((entry_for(f, report.as_of) for f in accepted_findings(report.findings)), legacy=True)
    if len(text) > MAX_YAML_BASELINE_BYTES:
        raise InputError.single(path, f"baseline is larger than the limit of {MAX_YAML_BASELINE_BYTES} bytes "
                                      "for YAML; write large baselines as JSON (a `.json` name)")
    from nhiaudit.baseline_yaml import read_located_yaml

    data, where = read_located_yaml(text, str(path), MAX_YAML_BASELINE_NODES)
    if not isinstance(data, dict) or ("findings" not in data and "baseline_version" not in data):
        raise InputError.single(path, "baseline is neither a baseline file (`baseline_version`, `findings`) "
                                      "nor a JSON report", *where(()))
    return baseline_from_data(data, str(path), where)


def _status_reason(name: str, entry: BaselineEntry, legacy: bool) -> str:
    if legacy:
        return f"present in baseline {name}"
    reason = f"present in baseline {name} since {entry.first_seen.isoformat()}"
    return f"{reason}: {entry.reason}" if entry.reason else reason


def apply_baseline(report: Report, baseline_path: Path) -> Report:
    """A copy of `report` whose open findings present in the baseline are `baselined`."""
    baseline = load_baseline(baseline_path)
    known = baseline.by_fingerprint()
    findings = [
        f.model_copy(update={"status": FindingStatus.BASELINED,
                             "status_reason": _status_reason(baseline_path.name, known[f.fingerprint],
                                                             baseline.legacy)})
        if f.status == FindingStatus.OPEN and f.fingerprint in known
        else f
        for f in report.findings
    ]
    by_status = {status.value: n for status, n in Counter(f.status for f in findings).items()}
    summary = report.summary.model_copy(update={"by_status": by_status})
    return report.model_copy(update={"findings": findings, "summary": summary})


# --- create and update -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineChanges:
    """What `baseline update` would do: accept `added`, drop `dropped` (resolved or now excepted)."""

    kept: tuple[BaselineEntry, ...]
    added: tuple[BaselineEntry, ...]
    dropped: tuple[BaselineEntry, ...]

    @property
    def updated(self) -> Baseline:
        return Baseline.of((*self.kept, *self.added))

    @property
    def changed(self) -> bool:
        return bool(self.added or self.dropped)


def new_baseline(findings: Iterable[Finding], first_seen: date, reason: str | None = None) -> Baseline:
    """Every open finding of a scan, first seen on `first_seen`."""
    return Baseline.of(entry_for(f, first_seen, reason) for f in accepted_findings(findings))


def plan_update(baseline: Baseline, findings: Iterable[Finding], first_seen: date,
                reason: str | None = None) -> BaselineChanges:
    """Kept entries keep their first-seen date and reason; new findings are first seen on `first_seen`."""
    old = baseline.by_fingerprint()
    current = {f.fingerprint: f for f in accepted_findings(findings)}
    kept = [old[fp] for fp in current if fp in old]
    added = [entry_for(f, first_seen, reason) for fp, f in current.items() if fp not in old]
    dropped = [e for fp, e in old.items() if fp not in current]
    return BaselineChanges(Baseline.of(kept).entries, Baseline.of(added).entries, Baseline.of(dropped).entries)
