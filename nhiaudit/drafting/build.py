"""Draft a written policy from an estate: the AI-capable identities as integrations, the systems their
grants name, `may_reach` = what each integration reaches today (so a scan with the draft reports no scope
drift), credential limits from the worst case seen. Analysis only: nothing here calls a cloud.

Two passes of the scan's own analysis: one with an empty policy picks the identities (as the undeclared-AI
rules would) and the act-as closure whose grants name resources; one with the drafted systems computes
reach exactly as a scan with the draft will.
"""

from __future__ import annotations

from collections import deque
from datetime import date

from nhiaudit.analysis import prepare
from nhiaudit.drafting.credentials import default_credentials, session_minutes
from nhiaudit.drafting.integrations import IdentityGroup, ai_identities, group_identities
from nhiaudit.drafting.model import Draft, DraftIntegration, DraftReach
from nhiaudit.drafting.systems import SeenResource, draft_systems, groupable
from nhiaudit.facts.context import ENVIRONMENT_TAG_KEYS, FactContext
from nhiaudit.facts.credential import is_active, is_static
from nhiaudit.facts.reuse import tag_environments
from nhiaudit.facts.system_grants import system_grant
from nhiaudit.inventory.model import Identity
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.policy.model import System, WrittenPolicy

MAX_INTEGRATIONS = 200
MAX_IDENTITIES_PER_INTEGRATION = 2000
MAX_SYSTEMS = 300
MAX_SEEN_RESOURCES = 5000
OWNER_TAG_KEYS = ("owner", "Owner", "team", "Team", "contact", "Contact")
_IGNORED_SERVICES = ("arn:aws:iam:", "arn:aws:sts:", "//iam.googleapis.com/")  # act-as, not systems


def _act_as_resource(resource: str) -> bool:
    """Roles and service accounts are how identities act as each other (chains follow them), not systems."""
    return resource.startswith(_IGNORED_SERVICES) or "/serviceAccounts/" in resource


def draft_policy(snapshot: Snapshot, as_of: date, gcp_domains: tuple[str, ...] = ()) -> Draft:
    notes: list[str] = []
    ctx = prepare(snapshot, WrittenPolicy(version=1), as_of, gcp_domains=gcp_domains)
    groups = group_identities(ctx, ai_identities(ctx), MAX_INTEGRATIONS)
    if len(groups) > MAX_INTEGRATIONS:
        left = groups[MAX_INTEGRATIONS:]
        notes.append(f"{len(left)} more integration(s) ({sum(len(g.identities) for g in left)} AI-capable "
                     f"identities) not drafted: more than {MAX_INTEGRATIONS}; a scan reports them as undeclared")
        groups = groups[:MAX_INTEGRATIONS]
    for group in groups:
        if len(group.identities) > MAX_IDENTITIES_PER_INTEGRATION:
            notes.append(f"integration {group.name}: {len(group.identities) - MAX_IDENTITIES_PER_INTEGRATION} of "
                         f"its {len(group.identities)} identities not listed (more than "
                         f"{MAX_IDENTITIES_PER_INTEGRATION}); a scan reports them as undeclared")
            del group.identities[MAX_IDENTITIES_PER_INTEGRATION:]
    drafted = [identity for g in groups for identity, _ in g.identities]
    unscoped: dict[str, list[str]] = {}
    closure = _closure(ctx, drafted)
    seen = _seen_resources(ctx, closure, unscoped, notes)
    vendors = frozenset(v.lower() for data in ctx.ai_capability.values() for v in data.get("delegated_resources", []))
    systems = draft_systems(seen, vendors)
    if len(systems) > MAX_SYSTEMS:
        notes.append(f"{len(systems) - MAX_SYSTEMS} more system(s) not drafted: more than {MAX_SYSTEMS}")
        systems = systems[:MAX_SYSTEMS]
    with_systems = WrittenPolicy(version=1, systems={s.name: System(
        kind=s.kind, environment=s.environment, classification=s.classification, resources=s.resources)
        for s in systems})
    # Only the drafted identities' reach is asked for, and it runs through the closure alone: the second pass
    # evaluates the systems for those identities, not for the whole estate.
    ctx2 = prepare(_restricted(snapshot, {i.id for i in closure}), with_systems, as_of, gcp_domains=gcp_domains)
    integrations = [_integration(ctx2, group, unscoped) for group in groups]
    reached = {r.system for i in integrations for r in i.may_reach}
    unreached = [s.name for s in systems if s.name not in reached]
    if unreached:
        notes.append(f"{len(unreached)} system(s) named by grants but reached by no integration (a Deny, a "
                     f"boundary or a condition stops them) left out")
    return Draft(credentials=default_credentials(ctx.estate.identities, snapshot.credentials, ctx.now),
                 systems=[s for s in systems if s.name in reached], integrations=integrations, notes=notes)


def _restricted(snapshot: Snapshot, ids: set[str]) -> Snapshot:
    """The snapshot with only these identities and what belongs to them (records already validated)."""
    return snapshot.model_copy(update={
        "identities": [i for i in snapshot.identities if i.id in ids],
        "credentials": [c for c in snapshot.credentials if c.identity_id in ids],
        "trusts": [t for t in snapshot.trusts if t.identity_id in ids],
        "workloads": [w for w in snapshot.workloads if w.identity_id in ids],
        "delegated_grants": [g for g in snapshot.delegated_grants if g.identity_id in ids],
    })


def _closure(ctx: FactContext, start: list[Identity]) -> list[Identity]:
    """The drafted identities and every identity they can act as, through any number of hops (their grants
    are the drafted identities' too; linear in the act-as edges, so never cut short: a cut closure would
    leave reach out of `may_reach`)."""
    order = sorted({i.id for i in start})
    seen = set(order)
    queue = deque(order)
    while queue:
        for nxt in sorted(ctx.reach.act_as_successors(queue.popleft())):
            if nxt not in seen and nxt in ctx.estate.identities:
                seen.add(nxt)
                queue.append(nxt)
    return [ctx.estate.identities[i] for i in sorted(seen)]


def _seen_resources(ctx: FactContext, identities: list[Identity], unscoped: dict[str, list[str]],
                    notes: list[str]) -> list[SeenResource]:
    """Resource patterns of every allowing statement (and delegated grant) of the identities."""
    policies = {p.id: p for p in ctx.estate.snapshot.policies}
    grants: dict[str, list[str]] = {}
    for grant in ctx.estate.snapshot.delegated_grants:
        grants.setdefault(grant.identity_id, []).extend(
            f"delegated:{grant.resource}/{scope}\0grant {grant.id}" for scope in grant.scopes)
    out: list[SeenResource] = []
    for identity in identities:
        who = f"{identity.kind.value} {identity.name}"
        for pid in identity.policy_ids:
            policy = policies.get(pid)
            for index, statement in enumerate(policy.statements if policy else ()):
                if statement.effect != "Allow" or statement.not_resources:
                    continue
                where = f"{policy.name} statement {index} of {who}"
                for resource in statement.resources:
                    if _act_as_resource(resource):
                        continue
                    if groupable(resource):
                        out.append(SeenResource(resource, where))
                    elif resource == "*" or len(resource) <= 200:
                        unscoped.setdefault(identity.id, []).append(f"{where} allows on {resource}")
        for entry in grants.get(identity.id, ()):
            resource, where = entry.split("\0", 1)
            out.append(SeenResource(resource, f"{where} of {who}"))
    if len(out) > MAX_SEEN_RESOURCES:
        notes.append(f"only the first {MAX_SEEN_RESOURCES} of {len(out)} granted resource patterns grouped")
        out = out[:MAX_SEEN_RESOURCES]
    return out


def _integration(ctx: FactContext, group: IdentityGroup, unscoped: dict[str, list[str]]) -> DraftIntegration:
    identities = [identity for identity, _ in group.identities]
    draft = DraftIntegration(name=group.name, grouped_by=group.grouped_by,
                             identities=[d for _, d in group.identities])
    draft.environment, draft.environment_why = _environment(ctx, identities)
    draft.owner, draft.owner_why = _owner(identities)
    best: dict[str, DraftReach] = {}
    for identity in identities:
        for found in ctx.reach.systems_for(identity.id):
            grant = system_grant(ctx, identity.id, found.system)
            how = grant.first_reason if grant else ""
            via = f" via {len(found.hops) - 1} hop(s)" if found.via_chain else ""
            if found.system not in best:
                best[found.system] = DraftReach(found.system, found.access.value,
                                                f"{identity.name}{via}: {how}")
    draft.may_reach = [best[name] for name in sorted(best)]
    static = [c for i in identities for c in ctx.credentials_by_identity.get(i.id, [])
              if is_static(c) and is_active(c, i)]
    if static:
        draft.static_keys_why = f"{len(static)} active static credential(s), e.g. {static[0].id}: keys allowed"
    else:
        draft.static_keys, draft.static_keys_why = "forbidden", "no active static credential today"
    draft.session = session_minutes(identities)
    draft.unscoped = sorted({w for i in identities for w in unscoped.get(i.id, [])})
    return draft


def _environment(ctx: FactContext, identities: list[Identity]) -> tuple[str | None, str]:
    """The identities' environment tag when they agree; else their accounts' when every tagged identity
    of those accounts agrees; else none (review)."""
    values = {v for i in identities for v in tag_environments(i.tags)}
    if len(values) == 1:
        value = values.pop()
        return value, f"tag {_tag_key(identities)}={value}"
    if values:
        return None, f"its identities' tags disagree ({', '.join(sorted(values))}): choose one or split it"
    accounts = {i.account for i in identities}
    account_values = {v for i in ctx.estate.identities.values() if i.account in accounts
                      for v in tag_environments(i.tags)}
    if len(account_values) == 1:
        value = account_values.pop()
        return value, f"every tagged identity of account {', '.join(sorted(accounts))} is {value}"
    return None, "no environment tag on its identities or a consistent one in its account"


def _tag_key(identities: list[Identity]) -> str:
    return next((k for i in identities for k in ENVIRONMENT_TAG_KEYS if i.tags.get(k)), "environment")


def _owner(identities: list[Identity]) -> tuple[str | None, str]:
    found = sorted({(i.owner or "").strip() for i in identities} - {""})
    how = "owner of the identity"
    if not found:
        for key in OWNER_TAG_KEYS:
            found = sorted({i.tags.get(key, "").strip() for i in identities} - {""})
            if found:
                how = f"tag {key}"
                break
    if len(found) == 1:
        return found[0], f"{how} of its identities"
    if found:
        return None, f"its identities name several owners ({', '.join(found[:3])}): choose one"
    return None, "no owner tag on its identities: who answers for this integration?"
