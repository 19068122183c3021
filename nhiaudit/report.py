"""The scan report: the JSON contract (docs/report.schema.json) that every reporter renders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from nhiaudit.findings import Finding, FindingStatus, Severity
from nhiaudit.inventory.model import CollectionIssue

REPORT_SCHEMA_VERSION = 1


class CollectionStatus(BaseModel):
    complete: bool = True
    errors: list[CollectionIssue] = Field(default_factory=list)
    sources: list[dict[str, Any]] = Field(default_factory=list)


class AccessPath(BaseModel):
    """The four questions for one AI access path (one identity of one integration)."""

    integration: str | None  # None: undeclared (shadow AI)
    identity: str
    identity_name: str
    provider: str
    workloads: list[str] = Field(default_factory=list)
    credentials: list[dict[str, Any]] = Field(default_factory=list)  # id, type, age_days, static, expires
    reachable_systems: list[dict[str, Any]] = Field(default_factory=list)  # name, access, verdict, path
    can_invoke_ai: bool = False


class Summary(BaseModel):
    identities: int = 0
    credentials: int = 0
    integrations: int = 0
    findings: int = 0
    by_severity: dict[str, int] = Field(default_factory=dict)
    by_status: dict[str, int] = Field(default_factory=dict)
    by_category: dict[str, int] = Field(default_factory=dict)


class Report(BaseModel):
    schema_version: int = REPORT_SCHEMA_VERSION
    tool: dict[str, str] = Field(default_factory=dict)
    generated_at: datetime
    as_of: date
    policy_file: str | None = None
    collection: CollectionStatus = Field(default_factory=CollectionStatus)
    summary: Summary = Field(default_factory=Summary)
    access_paths: list[AccessPath] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    rules: list[dict[str, Any]] = Field(default_factory=list)  # id, title, category, severity, docs

    def failing(self, threshold: Severity | None) -> list[Finding]:
        """Open findings at or above `threshold` (None: nothing fails)."""
        if threshold is None:
            return []
        return [
            f for f in self.findings
            if f.status == FindingStatus.OPEN and f.severity.rank >= threshold.rank
        ]
