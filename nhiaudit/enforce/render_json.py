"""`--format json`: the guardrails (documents keyed by name, with their integrations and targets), the tag
assignments, and the verification. ASCII-escaped JSON, so no estate name can carry a control character."""

from __future__ import annotations

import json
from typing import Any

from nhiaudit.enforce.model import EnforcePlan, Guardrail, GuardrailCheck

SCHEMA_VERSION = 1


def _guardrail(g: Guardrail) -> dict[str, Any]:
    return {
        "kind": g.kind.value, "name": g.name, "integrations": list(g.integrations), "size": g.size,
        "limit": g.limit, "compaction": g.compaction.value,
        "targets": [{"identity": t.identity_id, "name": t.name, "kind": t.kind, "account": t.account,
                     "replaces_boundary": t.existing_boundary, "command": t.command} for t in g.targets],
        "allows": [{"system": s.system, "resources": list(s.patterns), "actions": list(s.actions)} for s in g.grants],
        "denies": list(g.denied_systems), "notes": list(g.notes), "document": g.document,
        **({"attachment": g.attachment} if g.attachment else {}),
        **({"replaces": list(g.replaces)} if g.replaces else {}),
    }


def _check(c: GuardrailCheck) -> dict[str, Any]:
    def changes(items: tuple) -> list[dict[str, Any]]:
        return [{"identity": a.identity_id, "system": a.system, "before": a.before, "after": a.after,
                 "via_chain": a.via_chain} for a in items]

    return {"guardrail": c.guardrail, "evaluated": c.evaluated, "holds": c.holds, "closed": list(c.closed),
            "remaining": list(c.remaining), "unclosable": list(c.unclosable), "removed": changes(c.removed),
            "lost": changes(c.lost), "broken": list(c.broken), "note": c.note}


def guardrails_data(plan: EnforcePlan) -> dict[str, Any]:
    """What is committed and compared by `--check`: the documents and whom they apply to."""
    return {
        "guardrails": {g.name: _guardrail(g) for g in plan.guardrails},
        "tags": [{"identity": t.identity_id, "key": "nhiaudit:integration", "value": t.value, "command": t.command,
                  "note": t.note} for t in plan.tags],
    }


def render_json(plan: EnforcePlan) -> str:
    data = {"schema_version": SCHEMA_VERSION, "tool": "nhiaudit enforce", **guardrails_data(plan),
            "verification": {"verified": plan.verified, "categories": list(plan.checked_categories),
                             "checks": [_check(c) for c in plan.checks]},
            "skipped": list(plan.skipped)}
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"
