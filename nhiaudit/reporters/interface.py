"""What every reporter shares: the output formats, the render context and rule documentation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

from nhiaudit.findings import Finding, Severity
from nhiaudit.reporters.formats import OutputFormat

if TYPE_CHECKING:
    from nhiaudit.policy.model import WrittenPolicy
    from nhiaudit.report import Report

# GitHub rejects SARIF runs with more results than this.
GITHUB_MAX_RESULTS_PER_RUN = 25_000
# GitHub's $GITHUB_STEP_SUMMARY limit is 1 MiB per step; stay below it so other steps can add a line.
GITHUB_STEP_SUMMARY_BUDGET = 1_000_000


@dataclass(frozen=True)
class RuleDoc:
    """Rule documentation as reporters need it, independent of the rule engine's classes."""

    id: str
    title: str = ""
    category: str = ""
    severity: Severity = Severity.MEDIUM
    description: str = ""
    rationale: str = ""
    remediation: str = ""
    example: str = ""
    references: tuple[str, ...] = ()
    frameworks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    help_uri: str | None = None

    @classmethod
    def coerce(cls, obj: Any) -> RuleDoc:
        """Build from a RuleDoc, a report `rules` dict (optionally with a nested `docs` dict) or any
        object with the rule engine's attribute names."""
        if isinstance(obj, RuleDoc):
            return obj
        if isinstance(obj, Mapping):
            data = dict(obj)
            nested = data.pop("docs", None)
            if isinstance(nested, Mapping):
                data = {**nested, **{k: v for k, v in data.items() if v not in (None, "", [], {})}}
        else:
            data = {name: getattr(obj, name, None) for name in cls.__dataclass_fields__}
        return cls(
            id=str(data.get("id") or ""),
            title=_text(data.get("title")),
            category=_text(data.get("category")),
            severity=_severity(data.get("severity")),
            description=_text(data.get("description")),
            rationale=_text(data.get("rationale")),
            remediation=_text(data.get("remediation")),
            example=_text(data.get("example")),
            references=tuple(str(r) for r in (data.get("references") or ()) if r),
            frameworks={str(k): tuple(map(str, v or ())) for k, v in _mapping(data.get("frameworks"))},
            help_uri=_text(data.get("help_uri")) or None,
        )

    @classmethod
    def from_finding(cls, finding: Finding) -> RuleDoc:
        """Last resort for a finding whose rule is documented nowhere."""
        return cls(
            id=finding.rule_id,
            title=finding.title,
            category=str(finding.category),
            severity=finding.severity,
            remediation=finding.remediation or "",
            frameworks={k: tuple(v) for k, v in finding.frameworks.items()},
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _mapping(value: Any) -> list[tuple[Any, Any]]:
    return list(value.items()) if isinstance(value, Mapping) else []


def _severity(value: Any) -> Severity:
    try:
        return Severity(str(value).lower()) if value is not None else Severity.MEDIUM
    except ValueError:
        return Severity.MEDIUM


@dataclass(frozen=True, eq=False)
class RenderContext:
    """Everything a reporter needs besides the report itself.

    `warnings` is the one mutable part: reporters append messages (e.g. "SARIF capped at 25,000
    results") and the caller prints them on stderr after rendering.
    """

    policy: WrittenPolicy | None = None
    # SARIF uris and GitLab Code Quality paths are relative to this; None: the git root above the cwd, else the cwd.
    sarif_root: Path | None = None
    # Physical location for findings when there is no policy file at all (e.g. the snapshot path).
    fallback_artifact: Path | str | None = None
    # rule id -> RuleDoc, engine Rule or dict; overrides the report's own `rules` entries.
    rules: Mapping[str, Any] = field(default_factory=dict)
    # The baseline report applied to this report, if any (SARIF baselineState, Markdown wording).
    baseline: Path | None = None
    # Overrides the SARIF automationDetails.id (the code scanning category).
    sarif_category: str | None = None
    max_sarif_results: int = GITHUB_MAX_RESULTS_PER_RUN
    markdown_max_bytes: int = GITHUB_STEP_SUMMARY_BUDGET
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def rule_docs(report: Report, context: RenderContext) -> dict[str, RuleDoc]:
    """Rule docs for the report: its own `rules`, then the context's, then stubs for undocumented ids."""
    docs: dict[str, RuleDoc] = {}
    for raw in report.rules:
        doc = RuleDoc.coerce(raw)
        if doc.id:
            docs[doc.id] = doc
    for rule_id, raw in context.rules.items():
        doc = RuleDoc.coerce(raw)
        docs[rule_id] = doc if doc.id == rule_id else RuleDoc.coerce({**_as_dict(doc), "id": rule_id})
    for finding in report.findings:
        if finding.rule_id not in docs:
            docs[finding.rule_id] = RuleDoc.from_finding(finding)
    return docs


def _as_dict(doc: RuleDoc) -> dict[str, Any]:
    return {name: getattr(doc, name) for name in RuleDoc.__dataclass_fields__}


class Reporter(ABC):
    @abstractmethod
    def render(self, report: Report, context: RenderContext) -> str:
        """The whole document as text (ending with a newline)."""

    def chunks(self, report: Report, context: RenderContext) -> Iterator[str]:
        """The document in pieces, in order: joined, they are exactly `render`'s text. Reporters of documents
        that grow with the estate (JSON, SARIF) override this so a report is never held as one string."""
        yield self.render(report, context)


def get_reporter(fmt: OutputFormat | str) -> Reporter:
    fmt = OutputFormat(fmt)
    match fmt:
        case OutputFormat.TABLE:
            from nhiaudit.reporters.table import TableReporter

            return TableReporter()
        case OutputFormat.JSON:
            from nhiaudit.reporters.json_report import JsonReporter

            return JsonReporter()
        case OutputFormat.SARIF:
            from nhiaudit.reporters.sarif import SarifReporter

            return SarifReporter()
        case OutputFormat.MARKDOWN:
            from nhiaudit.reporters.markdown import MarkdownReporter

            return MarkdownReporter()
        case OutputFormat.HTML:
            from nhiaudit.reporters.html import HtmlReporter

            return HtmlReporter()
        case OutputFormat.GITLAB_CODEQUALITY:
            from nhiaudit.reporters.gitlab_codequality import GitLabCodeQualityReporter

            return GitLabCodeQualityReporter()
        case _:
            assert_never(fmt)
