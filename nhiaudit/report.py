"""The scan report: the JSON contract (docs/report.schema.json) that every reporter renders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from nhiaudit.findings import Finding, FindingStatus, Severity
from nhiaudit.inventory.model import CollectionIssue

if TYPE_CHECKING:
    from nhiaudit.permissions.unknown_actions import UnknownAction

REPORT_SCHEMA_VERSION = 1


MAX_LISTED_WARNINGS = 1000  # warnings listed in a report; `unknown_actions` counts them all


class CollectionWarning(BaseModel):
    """Something in the collected data the analysis could not use, reported once per scan. Today: an AWS action
    name the installed action catalogue does not know (it grants no access level on its own)."""

    kind: Literal["unknown_action"] = "unknown_action"
    provider: str = "aws"
    policy_id: str
    policy_name: str
    statement_index: int
    sid: str | None = None
    element: Literal["Action", "NotAction"] = "Action"
    action: str
    message: str

    @property
    def where(self) -> str:
        """`policy NAME statement SID` (an inline policy by its id, which names its identity)."""
        name = self.policy_id if self.policy_id.startswith("inline:") else self.policy_name
        return f"policy {name} statement {self.sid or self.statement_index}"


def unknown_action_warnings(found: Sequence[UnknownAction]) -> list[CollectionWarning]:
    """One warning per unknown action entry, the first MAX_LISTED_WARNINGS of them (the count is separate)."""
    return [
        CollectionWarning(
            policy_id=u.policy_id, policy_name=u.policy_name, statement_index=u.statement_index, sid=u.sid,
            element="NotAction" if u.element == "NotAction" else "Action", action=u.action,
            message=f"policy {u.policy_name} ({u.policy_id}) statement {u.statement}: {u.element} {u.action} is "
                    "not an IAM action the installed catalogue knows; ignored (it grants no access level)",
        )
        for u in found[:MAX_LISTED_WARNINGS]
    ]


class CollectionStatus(BaseModel):
    complete: bool = True
    errors: list[CollectionIssue] = Field(default_factory=list)
    sources: list[dict[str, Any]] = Field(default_factory=list)
    # At most MAX_LISTED_WARNINGS, sorted by policy, statement and action; they never make the collection
    # incomplete (exit status 3 is for failed calls only).
    warnings: list[CollectionWarning] = Field(default_factory=list)
    unknown_actions: int = 0  # every unknown action entry (policy, statement, action), listed or not


class SecretsScan(BaseModel):
    """What `scan --secrets-in` read and what it skipped (docs/secrets.md): skipped files are reported, not lost."""

    trees: list[str] = Field(default_factory=list)
    history: bool = False
    files_read: int = 0
    commits_read: int = 0
    sightings: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)  # reason -> count
    skipped_examples: dict[str, list[str]] = Field(default_factory=dict)  # reason -> first paths


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
    secrets_scan: SecretsScan | None = None  # `scan --secrets-in` only

    def failing(self, threshold: Severity | None) -> list[Finding]:
        """Open findings at or above `threshold` (None: nothing fails)."""
        if threshold is None:
            return []
        return [
            f for f in self.findings
            if f.status == FindingStatus.OPEN and f.severity.rank >= threshold.rank
        ]
