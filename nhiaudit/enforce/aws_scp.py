"""AWS: a service control policy that denies AI model invocation to principals no declared integration tags.

Actions: the AWS entries of rules/data/ai_capability.yaml (the data the undeclared-AI rules use). Condition:
`StringNotEquals aws:PrincipalTag/nhiaudit:integration [the AI-using integrations' tag values]`, so a
principal without the tag, or with a value naming no integration allowed an AI model, is denied (for a
single-valued key, a negated operator matches when the key is absent: IAM User Guide, "Condition operators").
When the value list would not fit the SCP limit, the condition falls back to `Null` (tag absent), and the
plan says so. No resource control policy is generated: RCPs do not cover Bedrock or SageMaker invocation.

SCPs do not restrict service-linked roles or the management account; the documents say so. Whether the SCP
closes each undeclared-AI finding, and keeps each declared identity's AI use, is checked by re-analysis
(verify_scp.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nhiaudit.enforce.aws_document import POLICY_VERSION, SCP_LIMIT, DocumentTooLarge, document_size
from nhiaudit.enforce.model import INTEGRATION_TAG, Compaction, Guardrail, GuardrailKind, TagAssignment
from nhiaudit.enforce.names import is_iam_name, shell_words, tag_value
from nhiaudit.inventory.model import Identity, IdentityKind, Provider
from nhiaudit.policy.model import WrittenPolicy

SCP_NAME = "nhiaudit-deny-undeclared-ai"


def ai_integrations(policy: WrittenPolicy) -> list[str]:
    """Integrations with AWS identities (`arn:` entries) whose may_reach names an AI-model system: the ones
    the SCP lets call models. Read from the written policy alone, so the SCP changes only when it does."""
    models = {name for name, s in policy.systems.items() if (s.kind or "").lower() == "ai-model"}
    return sorted(i.name for i in policy.integrations
                  if models & set(i.may_reach) and any(p.startswith("arn:") for p in i.identities))


def scp_guardrail(policy: WrittenPolicy, ai_actions: list[str]) -> Guardrail:
    allowed = ai_integrations(policy)
    values = sorted({tag_value(n) for n in allowed})
    actions = sorted(set(ai_actions))
    key = f"aws:PrincipalTag/{INTEGRATION_TAG}"
    notes = []

    def document(condition: dict[str, Any]) -> dict[str, Any]:
        return {"Version": POLICY_VERSION, "Statement": [{
            "Sid": "DenyAIToUndeclaredPrincipals", "Effect": "Deny", "Action": actions, "Resource": "*",
            "Condition": condition}]}

    doc = document({"StringNotEquals": {key: values}}) if values else document({"Null": {key: "true"}})
    if document_size(doc) > SCP_LIMIT:
        doc = document({"Null": {key: "true"}})
        notes.append(f"{len(values)} integration names do not fit the SCP limit: any principal carrying the "
                     f"{INTEGRATION_TAG} tag passes, whatever its value")
    size = document_size(doc)
    if size > SCP_LIMIT:  # only with an AI capability list far beyond today's
        raise DocumentTooLarge(f"the AI invocation SCP is {size:,} characters, over AWS's {SCP_LIMIT:,}")
    if not values:
        notes.append("no integration may reach an AI-model system: every AI invocation is denied")
    return Guardrail(kind=GuardrailKind.SERVICE_CONTROL_POLICY, name=SCP_NAME, integrations=tuple(allowed),
                     document=doc, size=size, limit=SCP_LIMIT, compaction=Compaction.EXACT, notes=tuple(notes))


def tag_assignments(policy: WrittenPolicy, bindings: Mapping[str, list[str]],
                    identities: Mapping[str, Identity]) -> list[TagAssignment]:
    """The tag each AWS role or user of an AI-using integration needs for the SCP to let it call models."""
    allowed = set(ai_integrations(policy))
    out = []
    for iid in sorted(bindings):
        identity = identities.get(iid)
        names = sorted(set(bindings[iid]) & allowed)
        if identity is None or identity.provider is not Provider.AWS or not names:
            continue
        if identity.kind not in (IdentityKind.ROLE, IdentityKind.USER):
            continue
        value = tag_value(names[0])
        note = (f"declared by {', '.join(names)}: a tag holds one value, {value!r} is used (any declared value "
                "passes the SCP)") if len(names) > 1 else None
        kind = "role" if identity.kind is IdentityKind.ROLE else "user"
        tags = f'[{{"Key":"{INTEGRATION_TAG}","Value":{_json_string(value)}}}]'
        command = (shell_words("aws", "iam", f"tag-{kind}", f"--{kind}-name", identity.name, "--tags", tags)
                   if is_iam_name(identity.name) else None)
        if command is None:
            note = "its name is no valid IAM name: tag it by hand after checking it"
        out.append(TagAssignment(identity_id=iid, value=value, command=command, note=note))
    return out


def _json_string(value: str) -> str:
    return json.dumps(value)
