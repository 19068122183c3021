"""GCP: a role binding on a project / folder / organization narrowed by an IAM condition to the `may_reach`
resources it serves today.

For each unconditional binding of a declared service account on a scope that reaches a `may_reach` system,
the replacement binds the same role to the same members on the same scope with the condition
`resource.name == "N" || resource.name.startsWith("N/")` per reached resource (a pattern's literal prefix
up to its first wildcard otherwise, e.g. `projects/_/buckets/acme-pii` for `acme-pii*`): Cloud Storage and
the other services that support the resource name attribute then grant only there. Basic roles (Owner,
Editor, Viewer) take no condition: they are listed, not rewritten. A binding whose permissions reach
nothing in may_reach is left alone (the deny policy, not a condition, keeps it away from must_not_reach).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nhiaudit.enforce.model import Compaction, Guardrail, GuardrailKind, SystemGrant, Target
from nhiaudit.enforce.names import slug
from nhiaudit.inventory.model import Identity, Policy, Provider
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.gcp_names import is_scope, name_key, split_name

BINDING_PREFIX = "nhiaudit-binding"
BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
CONDITION_TITLE = "nhiaudit-may-reach"
MAX_LOGICAL_OPERATORS = 12  # IAM conditions: at most 12 logical operators in one expression
_WILDCARD = re.compile(r"[*?]")
# Resource names written into a CEL string literal: anything else is not narrowed (never escaped by guess).
_CEL_SAFE = re.compile(r"^[A-Za-z0-9._~:@+=/-]{1,1000}$")


def condition_clause(pattern: str) -> str | None:
    """The `resource.name` clause for a canonical pattern, None when no safe narrowing exists."""
    _, path = split_name(pattern)
    path = name_key(path)  # IAM conditions name every bucket `projects/_/buckets/NAME`, whatever its project
    wild = _WILDCARD.search(path)
    prefix = path[: wild.start()] if wild else path
    if not _CEL_SAFE.match(prefix) or prefix.count("/") < 1 or (is_scope(prefix.rstrip("/")) and wild):
        return None
    if wild:
        return f'resource.name.startsWith("{prefix}")'
    return f'resource.name == "{prefix}" || resource.name.startsWith("{prefix}/")'


def _scope_binding(policy: Policy | None) -> str | None:
    """The scope of an unconditional GCP role binding on a project / folder / organization, else None."""
    if policy is None or policy.provider is not Provider.GCP or policy.kind != "role" or not policy.statements:
        return None
    resources = {r for s in policy.statements for r in s.resources}
    if len(resources) != 1 or any(s.conditions for s in policy.statements):
        return None
    (scope,) = resources
    return scope if is_scope(scope) else None


def binding_guardrails(integrations: tuple[str, ...], members: list[Identity], may: dict[str, tuple[str, ...]],
                       evaluator: Evaluator, policies: Mapping[str, Policy]) -> tuple[list[Guardrail], list[str]]:
    """The narrowed bindings, and the notes on bindings that cannot be narrowed."""
    found: dict[str, dict] = {}  # binding policy id -> scope, role, members, systems, clauses
    notes: list[str] = []
    for member in sorted(members, key=lambda m: m.id):
        for pid in member.policy_ids:
            scope = _scope_binding(policies.get(pid))
            if scope is None:
                continue
            probe = member.model_copy(update={"policy_ids": (pid,), "boundary_policy_id": None})
            reached = {(system, p) for system, pats in may.items() for p in pats
                       if evaluator.reach(probe, (p,)) is not None}
            if not reached:
                continue
            role = policies[pid].name
            entry = found.setdefault(pid, {"scope": scope, "role": role, "members": {}, "reached": set()})
            entry["members"][member.id] = member
            entry["reached"] |= reached
    out = []
    label = "+".join(integrations)
    for pid, entry in sorted(found.items()):
        role, scope = entry["role"], entry["scope"]
        reached = sorted(entry["reached"])
        if role in BASIC_ROLES:
            notes.append(f"{role} on {scope} reaches may_reach {', '.join(sorted({s for s, _ in reached}))}: a basic "
                         "role takes no IAM condition; replace it with a predefined role, then narrow that")
            continue
        clauses = [condition_clause(p) for _, p in reached]
        if any(c is None for c in clauses):
            notes.append(f"{role} on {scope}: a may_reach pattern gives no resource name to narrow it to; left as is")
            continue
        operators = sum(c.count("||") + 1 for c in set(clauses)) - 1  # type: ignore[union-attr]
        if operators > MAX_LOGICAL_OPERATORS:
            notes.append(f"{role} on {scope}: narrowing it to {len(set(clauses))} resource names needs {operators} "
                         f"logical operators, IAM conditions allow {MAX_LOGICAL_OPERATORS}: group the may_reach "
                         "resources under fewer prefixes; left as is")
            continue
        out.append(_guardrail(pid, label, integrations, scope, role, [m for _, m in sorted(entry["members"].items())],
                              reached, sorted(set(clauses))))  # type: ignore[arg-type]
    return out, notes


def _guardrail(pid: str, label: str, integrations: tuple[str, ...], scope: str, role: str, members: list[Identity],
               reached: list[tuple[str, str]], clauses: list[str]) -> Guardrail:
    expression = " || ".join(clauses)
    emails = [f"serviceAccount:{m.id}" for m in members]
    systems = sorted({s for s, _ in reached})
    document = {
        "resource": scope,
        "add": {"role": role, "members": emails,
                "condition": {"title": CONDITION_TITLE,
                              "description": f"nhiaudit enforce: may_reach of {', '.join(integrations)}"[:256],
                              "expression": expression}},
        "remove": {"role": role, "members": emails, "condition": None},
    }
    name = f"{BINDING_PREFIX}-{slug(f'{label}:{role}@{scope}', 80)}"
    grants = {}
    for system, pattern in reached:
        grants.setdefault(system, []).append(pattern)
    return Guardrail(
        kind=GuardrailKind.GCP_CONDITIONAL_BINDING, name=name, integrations=integrations, document=document,
        size=len(expression), limit=0, compaction=Compaction.EXACT,
        targets=tuple(Target(identity_id=m.id, name=m.name, kind="serviceAccount", account=m.account,
                             existing_boundary=None, command=None) for m in members),
        grants=tuple(SystemGrant(s, tuple(p), ()) for s, p in sorted(grants.items())),
        notes=(f"replaces the unconditional binding of {role} on {scope} (may_reach: {', '.join(systems)}); "
               "everything else the role gives there is taken away",),
        replaces=(pid,))
