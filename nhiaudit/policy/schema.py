"""JSON Schema of the written policy, generated from the pydantic model (docs/policy.schema.json is its
output; a test keeps the two identical). Regenerate: `nhiaudit policy schema -o docs/policy.schema.json`."""

from __future__ import annotations

import json
from typing import Any

from nhiaudit.findings import Category
from nhiaudit.policy.model import WrittenPolicy

SCHEMA_ID = "urn:nhiaudit:schema:policy:1"
"""Stable identifier of format version 1 (a name, never fetched: editors read the schema file itself)."""

# Hover help for fields the model leaves undescribed (a description set on the model wins).
_DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("", "version"): "Policy format version. Always 1.",
    ("", "defaults"): "Policy-wide defaults; integrations inherit what they do not set.",
    (
        "",
        "systems",
    ): "Downstream systems, by name. Integrations refer to these names in may_reach / must_not_reach.",
    ("", "integrations"): "Approved AI agents, copilots and integrations. Any AI-capable identity not listed "
    "here is shadow AI.",
    ("", "exceptions"): "Time-bound, owned, reasoned exceptions. Expired exceptions no longer apply.",
    ("Defaults", "credentials"): "Credential rules for every integration (and for undeclared identities).",
    ("Defaults", "audit"): "What the cloud must record of every AI access path (and of undeclared AI-capable "
    "identities): model calls, secret reads, data access.",
    ("Defaults", "gcp"): "Google Cloud settings: the organisation's own domains.",
    ("Defaults", "classification"): "How identities are told apart as used by people (human) or by software "
    "(nhi): which tags say so.",
    ("System", "description"): "Free text.",
    ("System", "resources"): "Resource patterns (ARNs, GCP resource names, Entra ids, API scopes); "
    "`*` and `?` globs (in GCP names and Azure ids `*` stays within one `/` segment, `**` crosses them).",
    ("Integration", "name"): "Unique name of the integration (used in findings and reports).",
    ("Integration", "owner"): "Team or person accountable, e.g. an email address.",
    ("Integration", "purpose"): "The declared task.",
    ("Integration", "environment"): "e.g. prod, staging, dev",
    ("Integration", "credentials"): "Overrides of defaults.credentials for this integration.",
    ("Integration", "audit"): "Overrides of defaults.audit for this integration.",
    ("PolicyException", "reason"): "Why the exception is acceptable.",
    ("PolicyException", "owner"): "Who answers for it and renews or removes it.",
    ("PolicyException", "expires"): "Last day the exception applies (YYYY-MM-DD).",
}


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the written policy, for editors and CI."""
    schema = WrittenPolicy.model_json_schema()
    for (model, prop), text in _DESCRIPTIONS.items():
        target = schema if not model else schema["$defs"][model]
        target["properties"][prop].setdefault("description", text)
    # Editors offer these as completions; rule ids are accepted too, so this is no enum.
    schema["$defs"]["PolicyException"]["properties"]["rule"]["examples"] = [c.value for c in Category]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "nhiaudit written AI-usage policy",
        "description": "Which AI integrations are approved, through which non-human identities, and what "
        "they may reach. See docs/policy.md.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def policy_json_schema_text() -> str:
    """The schema as written to docs/policy.schema.json (stable formatting, trailing newline)."""
    return json.dumps(policy_json_schema(), indent=2, ensure_ascii=False) + "\n"
