"""`--format plan` sections of the GCP and Azure guardrails (render_plan.py dispatches here).

Every value from the policy or the estate goes through `terminal_safe`."""

from __future__ import annotations

from collections.abc import Callable

from nhiaudit.enforce.model import Guardrail, GuardrailKind
from nhiaudit.textsafe import terminal_safe as safe

_HEADS = {
    GuardrailKind.GCP_DENY_POLICY: "GCP IAM deny policy",
    GuardrailKind.GCP_CONDITIONAL_BINDING: "GCP conditional role binding",
    GuardrailKind.AZURE_ROLE_ASSIGNMENT: "Azure role assignment, narrowed",
    GuardrailKind.AZURE_GRAPH_REMOVAL: "Azure Graph permissions to remove",
}


def _deny(g: Guardrail) -> list[str]:
    rule = g.document["rules"][0]["denyRule"]
    return [f"    denies: {safe(', '.join(g.denied_systems))} ({safe(', '.join(rule['deniedPermissions']))})"]


def _binding(g: Guardrail) -> list[str]:
    add = g.document["add"]
    return [f"    role {safe(add['role'])} on {safe(g.document['resource'])}",
            f"    condition: {safe(add['condition']['expression'])}"]


def _assignment(g: Guardrail) -> list[str]:
    lines = [f"    replaces: {safe(g.document['replaces']['roleDefinitionName'])} on "
             f"{safe(g.document['replaces']['scope'])}"]
    for a in g.document["assignments"]:
        lines.append(f"    assigns {safe(a['roleDefinitionName'])} on {safe(a['scope'])}")
        if a.get("condition"):
            lines.append(f"      condition (v{safe(a['conditionVersion'])}): {safe(a['condition'])}")
    return lines


def _graph(g: Guardrail) -> list[str]:
    lines = []
    for r in g.document["remove"]:
        lines.append(f"    remove {safe(', '.join(r['remove']))} on {safe(r['resource'])} from {safe(r['identity'])} "
                     f"({safe(r['type'])} {safe(r['grant'])})")
        lines.append(f"      {safe(r['command'])}" if r["command"] else
                     "      no command: an id does not have the shape Graph gives it (check it first)")
    return lines


_BODY: dict[GuardrailKind, Callable[[Guardrail], list[str]]] = {
    GuardrailKind.GCP_DENY_POLICY: _deny, GuardrailKind.GCP_CONDITIONAL_BINDING: _binding,
    GuardrailKind.AZURE_ROLE_ASSIGNMENT: _assignment, GuardrailKind.AZURE_GRAPH_REMOVAL: _graph,
}


def cloud_section(g: Guardrail, check_lines: list[str]) -> list[str]:
    lines = [f"~ {_HEADS[g.kind]} {safe(g.name)}  (integrations: {safe(', '.join(g.integrations))})"]
    lines += [f"    applies to: {safe(t.identity_id)}" for t in g.targets]
    lines += _BODY[g.kind](g)
    lines += [f"    keeps on {safe(s.system)}" for s in g.grants
              if g.kind is not GuardrailKind.GCP_DENY_POLICY]
    applies = [n for n in g.notes if n.startswith("apply: ")]
    lines += [f"    note: {safe(n)}" for n in g.notes if not n.startswith("apply: ")]
    lines += check_lines
    lines += [f"    {safe(n)}" for n in applies]
    return lines


def is_cloud(g: Guardrail) -> bool:
    return g.kind in _HEADS
