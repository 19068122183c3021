"""GitLab Code Quality: the Code Climate JSON subset GitLab shows in the merge request widget (every tier).

An array of issues with `description`, `check_name`, `fingerprint`, `severity` and `location.path` +
`location.lines.begin` (docs.gitlab.com, "Code Quality report format"; other Code Climate fields are
ignored by GitLab). Findings are about cloud identities, not files, so each issue points at the written
policy line the finding is about, exactly as the SARIF result does (nhiaudit/reporters/locations.py).

Only open findings are issues: the report has no way to say "accepted", and an excepted or baselined finding
listed as a violation would drown the ones that fail the job. GitLab compares the issues of the merge
request's pipeline with the target branch's by fingerprint, so the finding's stable fingerprint is used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from nhiaudit.findings import Finding, FindingStatus, Severity
from nhiaudit.report import Report
from nhiaudit.reporters.interface import RenderContext, Reporter
from nhiaudit.reporters.locations import PolicyLocator
from nhiaudit.textsafe import json_safe, terminal_safe

# Five severities onto GitLab's five, in order, so none is merged with another.
SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}
PLACEHOLDER_PATH = "nhiaudit"
LABEL = "GitLab Code Quality"


class GitLabCodeQualityReporter(Reporter):
    def render(self, report: Report, context: RenderContext) -> str:
        return "".join(self.chunks(report, context))

    def chunks(self, report: Report, context: RenderContext) -> Iterator[str]:
        # The bytes of json.dumps(issues, indent=2, ensure_ascii=False), one issue at a time.
        locator = PolicyLocator(report, context, LABEL, "the merge request")
        separator = "[\n"
        for finding in report.findings:
            if finding.status != FindingStatus.OPEN:
                continue
            text = json.dumps(issue(finding, locator), indent=2, ensure_ascii=False)
            yield json_safe(separator + "  " + text.replace("\n", "\n  "))
            separator = ",\n"
        yield "[]\n" if separator == "[\n" else "\n]\n"


def issue(finding: Finding, locator: PolicyLocator) -> dict[str, Any]:
    place = locator.place(finding)
    if place is None:
        locator.context.warn(f"{LABEL}: no policy file or snapshot; issues point at the placeholder path "
                             f"'{PLACEHOLDER_PATH}'")
    path, line = (place.path, place.line) if place is not None else (PLACEHOLDER_PATH, 1)
    return {
        "type": "issue",
        "check_name": finding.rule_id,
        "description": _description(finding),
        "categories": ["Security"],
        "fingerprint": finding.fingerprint,
        "severity": SEVERITY[finding.severity],
        "location": {"path": path, "lines": {"begin": line}},
    }


def _description(finding: Finding) -> str:
    """The message on one line, naming the identity; control, bidi and invisible characters from the estate
    are shown as visible escapes (GitLab shows the text as is)."""
    text = finding.message
    ident = finding.identity
    if ident is not None and ident.id not in text and ident.name not in text:
        text += f" (identity {ident.id})"
    return terminal_safe(text)
