"""Azure guardrails: role assignments narrowed in scope to the `may_reach` resources they serve today, with an
ABAC condition where the data actions support one (Storage blob containers), and the Microsoft Graph
permissions outside the policy to remove (azure_graph.py).

A role assignment of a declared identity whose scope reaches a may_reach resource is replaced by one
assignment of the same role per reached resource pattern, at the narrowest scope the pattern gives: its
literal segments up to the first wildcard (a wildcard the old scope fills, such as `/subscriptions/*`,
takes the old scope's value), cut back to a whole resource, resource group or subscription id. A pattern
naming blob containers gets the storage account as scope and the condition
`@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'NAME'`
(`StringStartsWith` for `NAME*`), condition version 2.0, when the role holds blob data actions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from nhiaudit.enforce.azure_graph import graph_removal
from nhiaudit.enforce.interface import EnforceInputs, ProviderGuardrails
from nhiaudit.enforce.model import Compaction, Guardrail, GuardrailKind, SystemGrant, Target
from nhiaudit.enforce.names import shell_words, slug
from nhiaudit.graph.build import system_provider
from nhiaudit.inventory.model import Identity, Policy, Provider
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.patterns import glob_match, has_wildcard
from nhiaudit.policy.model import WrittenPolicy

ASSIGNMENT_PREFIX = "nhiaudit-assignment"
BLOB_DATA = "microsoft.storage/storageaccounts/blobservices/containers/blobs/"
_CONTAINER = re.compile(r"^(.*/providers/microsoft\.storage/storageaccounts/[^/]+)/blobservices/default/containers/"
                        r"([^/]+)$", re.IGNORECASE)
_CONTAINER_NAME = re.compile(r"^[a-z0-9-]{1,63}\*?$")  # Azure container names; `*` only at the end
_SAFE_ID = re.compile(r"^[A-Za-z0-9._()/-]{1,1000}$")  # ARM ids written into commands and conditions
CONDITION_VERSION = "2.0"
BLOB_ACTIONS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
# The blob data actions the condition covers (Microsoft's "read, write or delete blobs in named containers").
_CONDITIONED = ("delete", "read", "write", "add/action")


def arm_patterns(policy: WrittenPolicy, systems: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """system -> its ARM resource patterns (Graph `delegated:` patterns are azure_graph's)."""
    out = {}
    for name in sorted(set(systems)):
        system = policy.systems.get(name)
        pats = tuple(sorted({p for p in system.resources if system_provider(p) is Provider.AZURE
                             and p.startswith("/")})) if system else ()
        if pats:
            out[name] = pats
    return out


def narrowed_scope(pattern: str, old_scope: str) -> str | None:
    """The narrowest whole ARM scope the pattern gives beneath `old_scope`, None when it gives none."""
    segs = pattern.rstrip("/").split("/")
    old = old_scope.rstrip("/").split("/")
    out = []
    for i, seg in enumerate(segs):
        if has_wildcard(seg):
            if i < len(old) and glob_match(seg.lower(), old[i].lower()):
                out.append(old[i])
                continue
            break
        out.append(seg)
    if len(out) >= 9 and out[5].lower() == "providers":
        out = out[:9 + 2 * ((len(out) - 9) // 2)]
    elif len(out) >= 5:
        out = out[:5]
    elif len(out) >= 3:
        out = out[:3]
    else:
        return None
    scope = "/".join(out)
    low, old_low = scope.lower(), old_scope.rstrip("/").lower()
    if not _SAFE_ID.match(scope) or len(low) <= len(old_low) or not low.startswith(old_low + "/"):
        return None
    return scope


def _assignment(pattern: str, old_scope: str, blob_data: bool) -> tuple[str, str | None] | None:
    """(scope, ABAC condition or None) for one reached pattern."""
    m = _CONTAINER.match(pattern)
    if m and blob_data and _CONTAINER_NAME.match(m.group(2)):
        # The account beneath the old scope, or the old scope itself when it is that account (a condition alone).
        scope = narrowed_scope(m.group(1), old_scope) or (old_scope if _within(old_scope, m.group(1)) else None)
        name = m.group(2)
        op, value = ("StringStartsWith", name[:-1]) if name.endswith("*") else ("StringEquals", name)
        if scope is not None:
            unless = " AND ".join(f"!(ActionMatches{{'{BLOB_ACTIONS}/{a}'}})" for a in _CONDITIONED)
            condition = (f"(({unless}) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] "
                         f"{op} '{value}'))")
            return scope, condition
    scope = narrowed_scope(pattern, old_scope)
    return (scope, None) if scope else None


def _within(scope: str, pattern: str) -> bool:
    """Does `scope` lie at or beneath a resource matching `pattern` (segment by segment)?"""
    pat, segs = pattern.rstrip("/").split("/"), scope.rstrip("/").split("/")
    return len(segs) >= len(pat) and all(glob_match(p.lower(), s.lower()) for p, s in zip(pat, segs, strict=False))


def _rbac(policy: Policy | None) -> str | None:
    """The scope of an unconditional Azure RBAC role assignment, else None."""
    if policy is None or policy.provider is not Provider.AZURE or policy.kind != "role" or not policy.statements \
            or policy.id.startswith("directoryRole:") or not policy.id.startswith("/"):
        return None
    scopes = {r for s in policy.statements for r in s.resources}
    return next(iter(scopes)) if len(scopes) == 1 and not any(s.conditions for s in policy.statements) else None


def assignment_guardrails(names: tuple[str, ...], members: list[Identity], may: dict[str, tuple[str, ...]],
                          evaluator: Evaluator, policies: dict[str, Policy]) -> tuple[list[Guardrail], list[str]]:
    out, notes = [], []
    for member in sorted(members, key=lambda m: m.id):
        for pid in member.policy_ids:
            old_scope = _rbac(policies.get(pid))
            if old_scope is None:
                continue
            probe = member.model_copy(update={"policy_ids": (pid,)})
            reached = [(s, p) for s, pats in sorted(may.items()) for p in pats
                       if evaluator.reach(probe, (p,)) is not None]
            if not reached:
                continue
            policy = policies[pid]
            # Blob data actions (`*` in Actions is the control plane only: no data action, no condition).
            blob = any(a.lower().startswith(BLOB_DATA) for s in policy.statements for a in s.actions)
            if all(_within(old_scope, p) for _, p in reached):
                continue  # already no wider than the may_reach resources it serves
            new = [(s, p, _assignment(p, old_scope, blob)) for s, p in reached]
            if any(n is None for _, _, n in new):
                notes.append(f"{policy.name} on {old_scope} for {member.id}: a may_reach pattern gives no scope "
                             "narrower than the assignment's; left as is")
                continue
            out.append(_guardrail(names, member, policy, old_scope, new))  # type: ignore[arg-type]
    return out, notes


def _guardrail(names: tuple[str, ...], member: Identity, policy: Policy, old_scope: str,
               new: list[tuple[str, str, tuple[str, str | None]]]) -> Guardrail:
    assignments = []
    for scope, condition in sorted({n for _, _, n in new}):
        entry = {"scope": scope, "roleDefinitionName": policy.name, "principalId": member.id,
                 "principalType": "ServicePrincipal"}
        if condition:
            entry.update({"condition": condition, "conditionVersion": CONDITION_VERSION})
        assignments.append(entry)
    document = {"replaces": {"id": policy.id, "scope": old_scope, "roleDefinitionName": policy.name},
                "assignments": assignments}
    commands = [shell_words("az", "role", "assignment", "create", "--assignee-object-id", member.id,
                            "--assignee-principal-type", "ServicePrincipal", "--role", policy.name, "--scope",
                            a["scope"], *(("--condition", a["condition"], "--condition-version", CONDITION_VERSION)
                                          if "condition" in a else ()))
                for a in assignments]
    commands.append(shell_words("az", "role", "assignment", "delete", "--ids", policy.id))
    grants: dict[str, list[str]] = {}
    for system, pattern, _ in new:
        grants.setdefault(system, []).append(pattern)
    digest = hashlib.sha256(f"{member.id}\n{policy.id}".encode("utf-8", "surrogatepass")).hexdigest()[:8]
    name = f"{ASSIGNMENT_PREFIX}-{slug('+'.join(names), 48)}-{digest}"
    return Guardrail(
        kind=GuardrailKind.AZURE_ROLE_ASSIGNMENT, name=name, integrations=names, document=document,
        size=sum(len(a.get("condition", "")) for a in assignments), limit=0, compaction=Compaction.EXACT,
        targets=(Target(identity_id=member.id, name=member.name, kind="servicePrincipal", account=member.account,
                        existing_boundary=None, command=None),),
        grants=tuple(SystemGrant(s, tuple(p), ()) for s, p in sorted(grants.items())),
        notes=(f"replaces {policy.name} on {old_scope}: everything else it gives there is taken away",
               *(f"apply: {c}" for c in commands)),
        replaces=(policy.id,))


@dataclass(frozen=True)
class AzureGenerator:
    provider: Provider = Provider.AZURE

    def generate(self, inputs: EnforceInputs) -> ProviderGuardrails:
        groups: dict[tuple[str, ...], list[Identity]] = {}
        for _iid, (identity, names) in inputs.declared(Provider.AZURE).items():
            groups.setdefault(names, []).append(identity)
        policies = {p.id: p for p in inputs.snapshot.policies}
        guardrails: list[Guardrail] = []
        skipped: list[str] = []
        for names, members in sorted(groups.items()):
            entries = [i for i in inputs.policy.integrations if i.name in names]
            may_systems = [s for i in entries for s in i.may_reach if not any(s in j.must_not_reach for j in entries)]
            may = arm_patterns(inputs.policy, may_systems)
            assignments, notes = assignment_guardrails(names, members, may, inputs.today.context.evaluator, policies)
            guardrails += assignments
            removal = graph_removal(names, members, inputs.policy, may_systems, inputs.snapshot.delegated_grants)
            if removal is not None:
                guardrails.append(removal)
            skipped += [f"{', '.join(names)}: {n}" for n in notes]
            if not assignments and removal is None:
                skipped.append(f"{', '.join(names)}: no Azure guardrail needed (no assignment wider than may_reach, "
                               "no Graph permission outside it)")
        return ProviderGuardrails(tuple(guardrails), (), tuple(skipped))
