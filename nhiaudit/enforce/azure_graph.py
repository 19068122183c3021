"""Azure: the Microsoft Graph (and other API) permissions of declared identities that no `may_reach` system
allows, as a list to remove, with the `az rest` call that removes each.

An application permission (app role assignment) is removed by deleting the assignment
(`DELETE /servicePrincipals/{client}/appRoleAssignments/{id}`); a delegated grant loses the scopes outside
the policy (`PATCH /oauth2PermissionGrants/{id}` with the scopes it keeps, or `DELETE` when none is left).
Ids from the estate go into a command only when they have the shape Graph gives them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from nhiaudit.enforce.model import Compaction, Guardrail, GuardrailKind, SystemGrant, Target
from nhiaudit.enforce.names import shell_words, slug
from nhiaudit.inventory.model import DelegatedGrant, Identity
from nhiaudit.permissions.patterns import glob_match
from nhiaudit.policy.model import WrittenPolicy

GRAPH_PREFIX = "nhiaudit-graph"
GRAPH = "https://graph.microsoft.com/v1.0"
_GRAPH_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")  # object ids (GUIDs) and grant ids (base64url)


def delegated_patterns(policy: WrittenPolicy, systems: Iterable[str]) -> dict[str, tuple[str, ...]]:
    out = {}
    for name in sorted(set(systems)):
        system = policy.systems.get(name)
        pats = tuple(sorted({p for p in system.resources if p.startswith("delegated:")})) if system else ()
        if pats:
            out[name] = pats
    return out


def _command(grant: DelegatedGrant, kept: tuple[str, ...]) -> str | None:
    if not _GRAPH_ID.match(grant.id) or not _GRAPH_ID.match(grant.identity_id):
        return None
    if grant.consent_type == "application":
        return shell_words("az", "rest", "--method", "DELETE", "--url",
                           f"{GRAPH}/servicePrincipals/{grant.identity_id}/appRoleAssignments/{grant.id}")
    if not kept:
        return shell_words("az", "rest", "--method", "DELETE", "--url", f"{GRAPH}/oauth2PermissionGrants/{grant.id}")
    return shell_words("az", "rest", "--method", "PATCH", "--url", f"{GRAPH}/oauth2PermissionGrants/{grant.id}",
                       "--body", json.dumps({"scope": " ".join(kept)}, ensure_ascii=True))


def graph_removal(names: tuple[str, ...], members: list[Identity], policy: WrittenPolicy, may_systems: list[str],
                  grants: list[DelegatedGrant]) -> Guardrail | None:
    may = delegated_patterns(policy, may_systems)
    allowed = [p for pats in may.values() for p in pats]
    ids = {m.id for m in members}
    removals = []
    for grant in sorted((g for g in grants if g.identity_id in ids), key=lambda g: (g.identity_id, g.id)):
        outside = tuple(s for s in grant.scopes
                        if not any(glob_match(p, f"delegated:{grant.resource}/{s}") for p in allowed))
        if not outside:
            continue
        kept = tuple(s for s in grant.scopes if s not in outside)
        removals.append({"identity": grant.identity_id, "grant": grant.id,
                         "type": "appRoleAssignment" if grant.consent_type == "application"
                         else "oauth2PermissionGrant",
                         "resource": grant.resource, "remove": list(outside), "keep": list(kept),
                         "command": _command(grant, kept)})
    if not removals:
        return None
    label = "+".join(names)
    return Guardrail(
        kind=GuardrailKind.AZURE_GRAPH_REMOVAL, name=f"{GRAPH_PREFIX}-{slug(label, 100)}", integrations=names,
        document={"remove": removals}, size=len(removals), limit=0, compaction=Compaction.EXACT,
        targets=tuple(Target(identity_id=m.id, name=m.name, kind="servicePrincipal", account=m.account,
                             existing_boundary=None, command=None)
                      for m in sorted(members, key=lambda m: m.id) if any(r["identity"] == m.id for r in removals)),
        grants=tuple(SystemGrant(s, p, ()) for s, p in sorted(may.items())),
        notes=(f"{len(removals)} grant(s) hold permissions no may_reach system allows: remove them",),
        replaces=tuple(sorted(r["grant"] for r in removals)))
