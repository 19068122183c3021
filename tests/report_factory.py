"""Small builders for Report objects, so reporter tests do not depend on a scan."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from nhiaudit.findings import (
    Category,
    Finding,
    FindingStatus,
    IdentityRef,
    PolicyLocation,
    Severity,
    fingerprint,
)
from nhiaudit.report import CollectionStatus, Report, Summary

ACCOUNT = "111122223333"
POLICY_FILE = "policy.yaml"


def rule_doc(rule_id: str, category: Category, severity: Severity, **extra: Any) -> dict[str, Any]:
    doc = {
        "id": rule_id,
        "title": f"Title of {rule_id}",
        "category": category.value,
        "severity": severity.value,
        "description": f"Finds {rule_id} problems.",
        "rationale": "Attackers love it.",
        "remediation": "Rotate the key.\n\n```sh\naws iam update-access-key --status Inactive\n```",
        "example": "integrations: []",
        "references": ["https://owasp.org/www-project-non-human-identities-top-10/2025/"],
        "frameworks": {"owasp_nhi": ["NHI7:2025"], "nist_csf": ["PR.AA-01"]},
        "help_uri": None,
    }
    doc.update(extra)
    return doc


def identity(name: str, account: str = ACCOUNT, kind: str = "role") -> IdentityRef:
    return IdentityRef(
        id=f"arn:aws:iam::{account}:{kind}/{name}", provider="aws", account=account, kind=kind, name=name
    )


def finding(
    rule_id: str = "long-lived-credential",
    name: str = "support-copilot",
    *,
    severity: Severity = Severity.HIGH,
    category: Category = Category.LONG_LIVED_CREDENTIAL,
    status: FindingStatus = FindingStatus.OPEN,
    status_reason: str | None = None,
    integration: str | None = "support-copilot",
    credential_id: str | None = None,
    line: int | None = 12,
    policy_file: str = POLICY_FILE,
    account: str = ACCOUNT,
    message: str | None = None,
    with_identity: bool = True,
) -> Finding:
    ident = identity(name, account) if with_identity else None
    location = None
    if line is not None:
        entry = f"integration:{integration}" if integration else "policy"
        location = PolicyLocation(file=policy_file, line=line, entry=entry)
    return Finding(
        rule_id=rule_id,
        title=f"Title of {rule_id}",
        category=category,
        severity=severity,
        identity=ident,
        credential_id=credential_id,
        integration=integration,
        message=message or f"{name}: {rule_id} violated",
        evidence={"age_days": 400},
        frameworks={"owasp_nhi": ["NHI7:2025"]},
        remediation="Rotate the key." if rule_id != "no-remediation" else None,
        fingerprint=fingerprint(rule_id, ident.id if ident else name, credential_id),
        status=status,
        status_reason=status_reason,
        policy_location=location,
    )


def report(findings: list[Finding], *, sources: list[tuple[str, str]] | None = None,
           rules: list[dict[str, Any]] | None = None, policy_file: str | None = POLICY_FILE) -> Report:
    if rules is None:
        seen: dict[str, dict[str, Any]] = {}
        for f in findings:
            seen.setdefault(f.rule_id, rule_doc(f.rule_id, f.category, f.severity))
        rules = list(seen.values())
    if sources is None:
        sources = [("aws", ACCOUNT)]
    return Report(
        tool={"name": "nhiaudit", "version": "0.1.0"},
        generated_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        as_of=date(2026, 11, 28),
        policy_file=policy_file,
        collection=CollectionStatus(
            complete=True,
            sources=[{"provider": p, "account": a, "method": "demo"} for p, a in sources],
        ),
        summary=Summary(identities=10, credentials=5, integrations=2, findings=len(findings)),
        findings=findings,
        rules=rules,
    )


def demo_report() -> Report:
    """A mix of every status, an undeclared identity (no policy line) and a policy-level finding."""
    return report([
        finding("long-lived-credential", "support-copilot", credential_id="AKIAEXAMPLE1", line=12),
        finding("scope-drift", "support-copilot", severity=Severity.CRITICAL, category=Category.SCOPE_DRIFT,
                line=14),
        finding("undeclared-ai-identity", "shadow-bot", severity=Severity.MEDIUM,
                category=Category.UNDECLARED_AI_IDENTITY, integration=None, line=None),
        finding("unused-credential", "legacy-smtp", severity=Severity.LOW,
                category=Category.UNUSED_CREDENTIAL, status=FindingStatus.EXCEPTED,
                status_reason="SMTP appliance; expires 2027-03-31 (it-ops)", integration=None, line=30),
        finding("stale-policy", "ghost", severity=Severity.INFO, category=Category.STALE_POLICY,
                integration="ghost-agent", with_identity=False, line=40),
    ])
