"""Rule documentation as Markdown (for `rules show`, docs/rules and SARIF help)."""

from __future__ import annotations

from nhiaudit.rules_engine.model import Rule


def rule_markdown(rule: Rule) -> str:
    fw = rule.frameworks
    parts = [
        f"# {rule.id}: {rule.title}",
        f"**Category** `{rule.category.value}` · **Severity** `{rule.severity.value}` · "
        f"**Subject** `{rule.subject.value}`",
        "## What it does", rule.description.strip(),
        "## Why is this bad", rule.rationale.strip(),
        "## How to fix", rule.remediation.strip(),
    ]
    if rule.example.strip():
        parts += ["## Example", f"```yaml\n{rule.example.strip()}\n```"]
    if rule.references:
        parts += ["## References", "\n".join(f"- {r}" for r in rule.references)]
    parts += ["## Frameworks", f"- OWASP NHI Top 10: {', '.join(fw.owasp_nhi) or '-'}",
              f"- NIST CSF 2.0: {', '.join(fw.nist_csf) or '-'}"]
    return "\n\n".join(parts) + "\n"
