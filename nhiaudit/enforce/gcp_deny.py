"""GCP: an IAM deny policy (iam v2) per group of declared service accounts and attachment point.

Denied: every permission of the service of each `must_not_reach` resource (`SERVICE.googleapis.com/*`, the
v2 form; for a whole project, folder or organization, the permissions its members hold there today, each
`SERVICE.googleapis.com/RESOURCE.VERB`: a deny cannot name "every permission"), for the group's service accounts (`principal://iam.googleapis.com/projects/-/serviceAccounts/E`).
A deny policy attaches to a project, folder or organization and covers every resource beneath it; its
`denialCondition` can only test resource tags (`resource.matchTag`, `resource.matchTagId`), never the
resource name. So the deny sits on the project the forbidden resource's name gives, and also covers the
same service on `may_reach` resources of that project. When that would lower access a member has today to a
may_reach system (checked with the evaluator, on the deny as verification applies it):
- if no member reaches the forbidden resource today other than through a scope-wide binding the conditional
  bindings replace, no deny is written for it: the plan lists it under "not covered", with the tag condition
  that would avoid the loss (tags are not in the estate or the written policy, so nhiaudit never writes that
  condition itself: it could not verify it), and the bindings' checks show whether the forbidden reach goes;
- otherwise the deny is the only guardrail that closes the reach: it is written, its note says what it also
  cuts, and the verification fails on that loss (LOSES) rather than pass with the forbidden reach left open.
When no member uses the may_reach resource today, the deny is written and its note says what it also denies.

A bucket written `projects/_/buckets/B` names no project: the deny goes on the service accounts' project,
with a note (verification cannot see it apply: the estate does not say which project holds the bucket).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from nhiaudit.enforce.apply_cloud import deny_policy
from nhiaudit.enforce.model import Compaction, Guardrail, GuardrailKind, SystemGrant, Target
from nhiaudit.enforce.names import shell_words, slug
from nhiaudit.graph.build import system_provider
from nhiaudit.inventory.model import Identity, Provider
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.gcp_names import canonical_resource, is_scope, scope_of, split_name
from nhiaudit.permissions.patterns import has_wildcard
from nhiaudit.policy.model import WrittenPolicy

DENY_PREFIX = "nhiaudit-gcp-deny"  # apart from the AWS SCP (nhiaudit-deny-undeclared-ai)
SA_PRINCIPAL = "principal://iam.googleapis.com/projects/-/serviceAccounts/"
TAG_KEY = "nhiaudit-system"  # the tag key the documented tag condition uses (ORG_ID/nhiaudit-system = SYSTEM)
_SERVICE_HOST = re.compile(r"^[a-z0-9-]{1,63}\.googleapis\.com$")  # a host a deny permission can name
_DENY_ID_LIMIT = 63  # a deny policy id: lower-case letters, digits and `-`, at most 63 characters


def gcp_patterns(policy: WrittenPolicy, systems: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """system -> its GCP resource patterns, canonical (systems without any are left out)."""
    out = {}
    for name in sorted(set(systems)):
        system = policy.systems.get(name)
        pats = tuple(sorted({canonical_resource(p) for p in system.resources
                             if system_provider(p) is Provider.GCP})) if system else ()
        if pats:
            out[name] = pats
    return out


@dataclass(frozen=True, slots=True)
class _Forbidden:
    system: str
    pattern: str
    attachment: str
    permissions: tuple[str, ...]  # v2 form
    guessed: bool  # the attachment point is the service accounts' project, not one the name gives
    cuts: tuple[str, ...] = ()  # may_reach systems the deny lowers a member's access to today (it fails then)


def _attachment(pattern: str, fallback: str) -> tuple[str, bool]:
    host, path = split_name(pattern)
    if host is None and is_scope(path) and not has_wildcard(path):
        return path, False
    scope = scope_of(path)
    if scope is not None and not has_wildcard(scope):
        return scope, False
    return fallback, True


def _permissions(pattern: str, members: list[Identity], evaluator: Evaluator) -> tuple[str, ...]:
    """The service's permissions (`SERVICE.googleapis.com/*`) for a resource of a known service; for a whole
    project / folder / organization (or a name without service host), the permissions the members hold there
    today, each in the v2 form: a deny cannot name "every permission"."""
    host, _ = split_name(pattern)
    if host is not None and _SERVICE_HOST.match(host):
        return (f"{host}/*",)
    held = set()
    for member in members:
        found = evaluator.reach(member, (pattern,))
        held.update(a for s in (found.statements if found else ()) if s.effect == "Allow" for a in s.actions)
    return tuple(sorted(v2_permission(a) for a in held if a.count(".") >= 2 and "*" not in a))


def v2_permission(permission: str) -> str:
    """`storage.objects.get` -> `storage.googleapis.com/objects.get` (the form deny policies name)."""
    service, _, rest = permission.partition(".")
    return f"{service}.googleapis.com/{rest}"


def attachment_point(scope: str) -> str:
    """`projects/P` -> `cloudresourcemanager.googleapis.com/projects/P` (the v2 API's attachment point)."""
    return f"cloudresourcemanager.googleapis.com/{scope}"


def deny_guardrails(policy: WrittenPolicy, integrations: tuple[str, ...], members: list[Identity],
                    may: dict[str, tuple[str, ...]], evaluator: Evaluator,
                    replaced: frozenset[str] = frozenset()) -> tuple[list[Guardrail], list[str]]:
    """The deny policies, and notes on forbidden resources no deny is written for (`replaced`: the ids of the
    bindings the generated conditional bindings replace)."""
    entries = [i for i in policy.integrations if i.name in integrations]
    forbidden = gcp_patterns(policy, (s for i in entries for s in i.must_not_reach))
    projects = sorted({m.account for m in members})
    fallback = f"projects/{projects[0]}" if projects else "projects/-"
    items, skipped = [], []
    for system, patterns in forbidden.items():
        for pattern in patterns:
            where, guessed = _attachment(pattern, fallback)
            permissions = _permissions(pattern, members, evaluator)
            if not permissions:
                skipped.append(f"{pattern} ({system}) names no service and is reached by no permission today: "
                               "no deny written for it")
                continue
            cut = tuple(_cut(where, permissions, members, may, evaluator))
            if cut and not _reached(pattern, members, evaluator, replaced):
                skipped.append(
                    f"{pattern} ({system}): no deny written: one on {where} would also cut may_reach "
                    f"{', '.join(cut)}, which its identities use today (deny conditions can test tags, not names). "
                    f"To deny only the forbidden resources, {_tag_fix([system])}, or keep them in another project")
                continue
            items.append(_Forbidden(system, pattern, where, permissions, guessed, cut))
    by_point: dict[str, list[_Forbidden]] = {}
    for item in items:
        by_point.setdefault(item.attachment, []).append(item)
    label = "+".join(integrations)
    out = []
    for point, found in sorted(by_point.items()):
        name = _deny_name(label, point, len(by_point) > 1)
        out.append(_guardrail(name, point, found, integrations, members, may))
    return out, skipped


def _cut(point: str, permissions: tuple[str, ...], members: list[Identity], may: dict[str, tuple[str, ...]],
         evaluator: Evaluator) -> list[str]:
    """The may_reach systems to which a deny of `permissions` on `point` would lower a member's access today."""
    deny = deny_policy("probe", 0, permissions, point)
    denied = evaluator.with_policies({deny.id: deny})
    out = []
    for system, patterns in sorted(may.items()):
        for member in members:
            now = evaluator.reach(member, patterns)
            if now is None:
                continue
            then = denied.reach(member.model_copy(update={"policy_ids": (*member.policy_ids, deny.id)}), patterns)
            if then is None or then.level.rank < now.level.rank:
                out.append(system)
                break
    return out


def _reached(pattern: str, members: list[Identity], evaluator: Evaluator, replaced: frozenset[str]) -> bool:
    """Does a member reach the forbidden pattern today other than through a binding being replaced?"""
    return any(evaluator.reach(m.model_copy(update={"policy_ids": tuple(p for p in m.policy_ids if p not in replaced)}),
                               (pattern,)) is not None for m in members)


def _tag_fix(systems: list[str]) -> str:
    """The documented tag condition that limits a deny to the forbidden resources (never written by nhiaudit)."""
    condition = " || ".join(f"resource.matchTag('ORG_ID/{TAG_KEY}', '{s}')" for s in systems)
    return (f"tag them {TAG_KEY} = their system name and add the denialCondition {condition} (not verified by "
            "nhiaudit: the estate holds no resource tags)")


def _deny_name(label: str, point: str, several: bool) -> str:
    text = f"{label}@{point}" if several else label
    return f"{DENY_PREFIX}-{slug(text, _DENY_ID_LIMIT - len(DENY_PREFIX) - 1)}"


def _guardrail(name: str, point: str, found: list[_Forbidden], integrations: tuple[str, ...],
               members: list[Identity], may: dict[str, tuple[str, ...]]) -> Guardrail:
    permissions = sorted({p for f in found for p in f.permissions})
    principals = sorted(f"{SA_PRINCIPAL}{m.id}" for m in members)
    systems = sorted({f.system for f in found})
    document = {
        "displayName": f"nhiaudit enforce: {', '.join(integrations)} must not reach {', '.join(systems)}"[:63],
        "rules": [{"denyRule": {"deniedPrincipals": principals, "deniedPermissions": permissions}}],
    }
    notes = [f"attached to {point}: it denies these permissions on every resource beneath it"]
    services = {p.split("/", 1)[0] for p in permissions}
    cuts = sorted({c for f in found for c in f.cuts})
    shared = sorted(system for system, pats in may.items() if system not in cuts
                    and any(_beneath(p, point) and split_name(p)[0] in services for p in pats))
    if cuts:
        reached = ", ".join(sorted({f.system for f in found if f.cuts}))
        notes.append(f"also cuts may_reach {', '.join(cuts)}, which its identities use today: written all the same, "
                     f"as they reach {reached} today by a grant no other guardrail narrows, so the verification "
                     f"fails on that loss. Remove that grant, or, to deny only the forbidden resources, "
                     f"{_tag_fix(systems)}")
    if shared:
        notes.append(f"also denies the same service on may_reach {', '.join(shared)} beneath {point}, which its "
                     "identities do not use today (deny conditions can only test tags). To deny only the forbidden "
                     f"resources, {_tag_fix(systems)}")
    for f in found:
        if f.guessed:
            notes.append(f"{f.pattern} names no project: attached to the service accounts' project {point}; "
                         "attach it where the resource lives if that differs (verification cannot tell)")
    command = shell_words("gcloud", "iam", "policies", "create", name, f"--attachment-point={attachment_point(point)}",
                          "--kind=denypolicies", f"--policy-file={name}.json")
    targets = tuple(Target(identity_id=m.id, name=m.name, kind="serviceAccount", account=m.account,
                           existing_boundary=None, command=None) for m in sorted(members, key=lambda m: m.id))
    size = len(_compact(document))
    return Guardrail(kind=GuardrailKind.GCP_DENY_POLICY, name=name, integrations=integrations, document=document,
                     size=size, limit=0, compaction=Compaction.EXACT, targets=targets,
                     grants=tuple(SystemGrant(s, pats, ()) for s, pats in sorted(may.items())),
                     denied_systems=tuple(systems), notes=(*notes, f"apply: {command}"), attachment=point)


def _beneath(pattern: str, point: str) -> bool:
    _, path = split_name(pattern)
    return path == point or path.startswith(point + "/")


def _compact(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True)
