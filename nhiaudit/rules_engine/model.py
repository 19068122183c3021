"""A rule: metadata, docs and CEL logic over documented facts (see docs/rules.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from nhiaudit.facts.schema import SubjectKind
from nhiaudit.findings import Category, Severity


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeverityOverride(_Strict):
    when: str = Field(description="CEL expression; the first true one sets the severity.")
    severity: Severity


class RuleCase(_Strict):
    """A rule's own test case: a (partial) subject and whether the rule must fire on it."""

    name: str
    expect: Literal["fail", "pass"]
    subject: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)


class Frameworks(_Strict):
    owasp_nhi: list[str] = Field(default_factory=list, description="OWASP NHI Top 10 2025 ids, e.g. NHI7:2025")
    nist_csf: list[str] = Field(default_factory=list, description="NIST CSF 2.0 subcategories, e.g. PR.AA-01")


class RuleOverride(_Strict):
    """A rules file that changes a rule loaded before it: whether it runs, and the severity of its findings."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{1,63}$")
    enabled: bool | None = None
    severity: Severity | None = None


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{1,63}$")
    title: str = Field(min_length=1)
    category: Category
    severity: Severity
    subject: SubjectKind
    when: str = Field(min_length=1, description="CEL: true when the subject (or item) violates the rule.")
    for_each: str | None = Field(None, description="CEL list; the rule is evaluated once per element (`item`).")
    message: str = Field(min_length=1, description="Template with {subject.x}, {item.x}, {params.x}.")
    evidence: dict[str, str] = Field(default_factory=dict, description="name -> CEL expression")
    severity_overrides: list[SeverityOverride] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    description: str = Field(min_length=1, description="What it does.")
    rationale: str = Field(min_length=1, description="Why is this bad.")
    remediation: str = Field(min_length=1, description="How to fix (CLI / Terraform snippets welcome).")
    example: str = ""
    references: list[str] = Field(default_factory=list)
    frameworks: Frameworks = Field(default_factory=Frameworks)
    help_uri: str | None = None
    tests: list[RuleCase] = Field(default_factory=list)

    _source_file: str = PrivateAttr(default="")

    @property
    def source_file(self) -> str:
        return self._source_file

    def doc(self) -> dict[str, Any]:
        """The metadata reports carry for each rule (SARIF help, Markdown, JSON)."""
        return {
            "id": self.id, "title": self.title, "category": self.category.value, "severity": self.severity.value,
            "description": self.description, "rationale": self.rationale, "remediation": self.remediation,
            "example": self.example, "references": list(self.references),
            "frameworks": self.frameworks.model_dump(), "help_uri": self.help_uri,
        }
