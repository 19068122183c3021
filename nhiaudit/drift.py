"""Drift between two scan reports: new, fixed and unchanged findings, matched by fingerprint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhiaudit.baseline import load_report
from nhiaudit.findings import Finding, FindingStatus
from nhiaudit.report import Report
from nhiaudit.reporters.markdown import code, esc, sort_key


@dataclass(frozen=True)
class Unchanged:
    old: Finding
    new: Finding

    @property
    def changes(self) -> dict[str, tuple[str, str]]:
        """Fields worth a reviewer's attention that differ between the two runs. Open -> baselined is not
        one: the finding is the same, only accepted since (the way back, baselined -> open, fails CI again
        and is listed)."""
        pairs = {
            "severity": (str(self.old.severity), str(self.new.severity)),
            "status": (str(self.old.status), str(self.new.status)),
        }
        if self.old.status == FindingStatus.OPEN and self.new.status == FindingStatus.BASELINED:
            del pairs["status"]
        return {k: v for k, v in pairs.items() if v[0] != v[1]}


@dataclass(frozen=True)
class Drift:
    old_label: str
    new_label: str
    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    unchanged: tuple[Unchanged, ...]


def diff_reports(old: Report, new: Report, old_label: str = "old", new_label: str = "new") -> Drift:
    """Linear in the number of findings: one dict per side."""
    old_by_fp = {f.fingerprint: f for f in old.findings}
    new_by_fp = {f.fingerprint: f for f in new.findings}
    return Drift(
        old_label=old_label,
        new_label=new_label,
        new=tuple(sorted((f for fp, f in new_by_fp.items() if fp not in old_by_fp), key=sort_key)),
        fixed=tuple(sorted((f for fp, f in old_by_fp.items() if fp not in new_by_fp), key=sort_key)),
        unchanged=tuple(
            sorted(
                (Unchanged(old_by_fp[fp], f) for fp, f in new_by_fp.items() if fp in old_by_fp),
                key=lambda u: sort_key(u.new),
            )
        ),
    )


def diff_files(old_path: Path, new_path: Path) -> Drift:
    return diff_reports(load_report(old_path, "old report"), load_report(new_path, "new report"),
                        str(old_path), str(new_path))


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "fingerprint": f.fingerprint,
        "rule_id": f.rule_id,
        "category": str(f.category),
        "severity": str(f.severity),
        "status": str(f.status),
        "identity": f.identity.id if f.identity else None,
        "credential_id": f.credential_id,
        "integration": f.integration,
        "message": f.message,
    }


def drift_json(drift: Drift) -> str:
    doc = {
        "old": drift.old_label,
        "new": drift.new_label,
        "counts": {"new": len(drift.new), "fixed": len(drift.fixed), "unchanged": len(drift.unchanged)},
        "new_findings": [_finding_json(f) for f in drift.new],
        "fixed_findings": [_finding_json(f) for f in drift.fixed],
        "unchanged_findings": [
            {**_finding_json(u.new), "changes": {k: {"old": a, "new": b} for k, (a, b) in u.changes.items()}}
            for u in drift.unchanged
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _row(f: Finding, note: str = "") -> str:
    ident = code(f.identity.id) if f.identity else "—"
    cells = [str(f.severity), code(f.rule_id), esc(f.integration or "—"), ident, esc(f.message), note]
    return "| " + " | ".join(cells) + " |"


def drift_markdown(drift: Drift) -> str:
    lines = [
        f"## nhiaudit diff: {len(drift.new)} new, {len(drift.fixed)} fixed, {len(drift.unchanged)} unchanged",
        "",
        f"{code(Path(drift.old_label).name)} → {code(Path(drift.new_label).name)}",
    ]
    head = ["| Severity | Rule | Integration | Identity | Finding | Note |", "|---|---|---|---|---|---|"]
    for title, rows in (
        ("New", [_row(f, f.status) for f in drift.new]),
        ("Fixed", [_row(f) for f in drift.fixed]),
    ):
        if rows:
            lines += ["", f"### {title} ({len(rows)})", "", *head, *rows]
    changed = [u for u in drift.unchanged if u.changes]
    if changed:
        notes = [_row(u.new, esc(", ".join(f"{k} {a} → {b}" for k, (a, b) in u.changes.items())))
                 for u in changed]
        lines += ["", f"### Unchanged but different ({len(changed)})", "", *head, *notes]
    return "\n".join(lines) + "\n"
