"""Findings: the rule engine's output and the reporters' input."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Category(StrEnum):
    """The stable finding vocabulary: categories keep their names across versions, so reports compare."""

    LONG_LIVED_CREDENTIAL = "long-lived-credential"
    UNUSED_CREDENTIAL = "unused-credential"
    OVERBROAD_PERMISSIONS = "overbroad-permissions"
    PRIVILEGE_ESCALATION = "privilege-escalation"
    SCOPE_DRIFT = "scope-drift"
    UNDECLARED_AI_IDENTITY = "undeclared-ai-identity"
    REUSED_IDENTITY = "reused-identity"
    ENVIRONMENT_CROSSING = "environment-crossing"
    HUMAN_USE_OF_NHI = "human-use-of-nhi"
    STATIC_CREDENTIAL_FORBIDDEN = "static-credential-forbidden"
    RISKY_TRUST = "risky-trust"
    STALE_POLICY = "stale-policy"
    AUDIT_GAP = "audit-gap"
    LEAKED_CREDENTIAL = "leaked-credential"


class FindingStatus(StrEnum):
    OPEN = "open"
    EXCEPTED = "excepted"
    BASELINED = "baselined"


class IdentityRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    provider: str
    account: str
    kind: str
    name: str


class PolicyLocation(BaseModel):
    """The line of the written policy a finding is about (for SARIF and editors)."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    entry: str  # "integration:support-copilot", "system:customer-pii", "exception:3", "policy"


class FileLocation(BaseModel):
    """A file line a finding is about, outside the policy: where a leaked credential is written."""

    model_config = ConfigDict(frozen=True)

    file: str  # as scanned (`--secrets-in` tree joined with the path inside it)
    line: int
    commit: str | None = None  # the commit that added it (the file may differ or be gone in the work tree)


class Finding(BaseModel):
    rule_id: str
    title: str
    category: Category
    severity: Severity
    identity: IdentityRef | None = None
    credential_id: str | None = None
    integration: str | None = None
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    frameworks: dict[str, list[str]] = Field(default_factory=dict)
    remediation: str | None = None
    fingerprint: str
    status: FindingStatus = FindingStatus.OPEN
    status_reason: str | None = None
    policy_location: PolicyLocation | None = None
    file_location: FileLocation | None = None


def fingerprint(rule_id: str, *identity_fields: str | None) -> str:
    """Stable across runs: only the rule and the identifying fields, never line numbers or dates."""
    material = "\x1f".join([rule_id, *(f or "" for f in identity_fields)])
    return hashlib.sha256(material.encode()).hexdigest()[:32]
