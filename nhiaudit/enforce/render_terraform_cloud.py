"""`--format terraform` blocks of the GCP and Azure guardrails: `google_iam_deny_policy`,
`google_{project,folder,organization}_iam_member` with a `condition {}` block, `azurerm_role_assignment`;
the Graph permissions to remove as comments with their commands (removing a grant is no resource).

The same escaping as render_terraform.py: quoted strings through `hcl_string`, comments through `hcl_comment`.
"""

from __future__ import annotations

from collections.abc import Callable

from nhiaudit.enforce.gcp_deny import attachment_point
from nhiaudit.enforce.model import Guardrail, GuardrailKind
from nhiaudit.enforce.names import tf_label
from nhiaudit.enforce.render_terraform import hcl_attributes, hcl_comment, hcl_string


def _list(items: list[str]) -> str:
    return "[" + ", ".join(hcl_string(i) for i in items) + "]"


def _deny(g: Guardrail) -> list[str]:
    lines = [hcl_comment(f"IAM deny policy for {', '.join(g.integrations)}: must not reach "
                         f"{', '.join(g.denied_systems)}."),
             *(hcl_comment(n) for n in g.notes if not n.startswith("apply: ")),
             f'resource "google_iam_deny_policy" "{tf_label(g.name)}" {{']
    lines += hcl_attributes([("parent", f"urlencode({hcl_string(attachment_point(g.attachment or ''))})"),
                          ("name", hcl_string(g.name)),
                          ("display_name", hcl_string(g.document["displayName"]))])
    for entry in g.document["rules"]:
        rule = entry["denyRule"]
        lines += ["  rules {", "    deny_rule {"]
        lines += hcl_attributes([("denied_principals", _list(rule["deniedPrincipals"])),
                              ("denied_permissions", _list(rule["deniedPermissions"]))], indent="      ")
        lines += ["    }", "  }"]
    lines.append("}")
    return lines


def _binding(g: Guardrail) -> list[str]:
    resource = g.document["resource"]
    add = g.document["add"]
    kind, _, ident = resource.partition("/")
    where = {"projects": ("google_project_iam_member", "project", ident),
             "folders": ("google_folder_iam_member", "folder", resource),
             "organizations": ("google_organization_iam_member", "org_id", ident)}[kind]
    lines = [hcl_comment(f"{add['role']} on {resource} narrowed to the may_reach resources of "
                         f"{', '.join(g.integrations)}."),
             hcl_comment("Remove the unconditional binding of the same role for these members in the same change.")]
    lines.append(f'resource "{where[0]}" "{tf_label(g.name)}" {{')
    lines += hcl_attributes([("for_each", f"toset({_list(add['members'])})"), (where[1], hcl_string(where[2])),
                          ("role", hcl_string(add["role"])), ("member", "each.value")])
    lines.append("  condition {")
    cond = add["condition"]
    lines += hcl_attributes([("title", hcl_string(cond["title"])), ("description", hcl_string(cond["description"])),
                          ("expression", hcl_string(cond["expression"]))], indent="    ")
    lines += ["  }", "}"]
    return lines


def _assignment(g: Guardrail) -> list[str]:
    old = g.document["replaces"]
    lines = [hcl_comment(f"{old['roleDefinitionName']} narrowed from {old['scope']} for {', '.join(g.integrations)}."),
             hcl_comment(f"Remove the assignment it replaces in the same change: {old['id']}")]
    for n, a in enumerate(g.document["assignments"]):
        label = tf_label(g.name) + (f"_{n}" if len(g.document["assignments"]) > 1 else "")
        pairs = [("scope", hcl_string(a["scope"])), ("role_definition_name", hcl_string(a["roleDefinitionName"])),
                 ("principal_id", hcl_string(a["principalId"])), ("principal_type", hcl_string(a["principalType"]))]
        if a.get("condition"):
            pairs += [("condition", hcl_string(a["condition"])),
                      ("condition_version", hcl_string(a["conditionVersion"]))]
        lines += [f'resource "azurerm_role_assignment" "{label}" {{', *hcl_attributes(pairs), "}"]
    return lines


def _graph(g: Guardrail) -> list[str]:
    lines = [hcl_comment(f"Microsoft Graph permissions of {', '.join(g.integrations)} that no may_reach system "
                         "allows: remove them (no resource; run these once):")]
    for r in g.document["remove"]:
        lines.append(hcl_comment(f"  {r['identity']}: {', '.join(r['remove'])} on {r['resource']} ({r['type']} "
                                 f"{r['grant']})"))
        lines.append(hcl_comment(f"    {r['command']}" if r["command"] else "    (no command: check the ids)"))
    return lines


_BLOCKS: dict[GuardrailKind, Callable[[Guardrail], list[str]]] = {
    GuardrailKind.GCP_DENY_POLICY: _deny, GuardrailKind.GCP_CONDITIONAL_BINDING: _binding,
    GuardrailKind.AZURE_ROLE_ASSIGNMENT: _assignment, GuardrailKind.AZURE_GRAPH_REMOVAL: _graph,
}


def cloud_blocks(guardrails: tuple[Guardrail, ...]) -> list[list[str]]:
    return [_BLOCKS[g.kind](g) for g in guardrails if g.kind in _BLOCKS]
