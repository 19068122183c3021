"""GCP and Azure guardrails applied to an in-memory copy of the snapshot, as the collectors would record the
estate once they are applied (verification re-analyses that copy; the original is never changed).

- deny policy: one Deny policy per rule (`deny:NAME#0`, actions in the allow-role form, resource = the
  attachment scope), attached to each denied service account, as connectors/gcp/transform_deny records it;
- conditional binding: the unconditional binding is detached from its members and a binding of the same
  role with the `gcp:condition` attached instead (connectors/gcp/transform_bindings);
- role assignment: the wide assignment detached, one assignment per new scope attached, with its
  `azure:condition` (connectors/azure/transform_access);
- Graph removal: the removed scopes taken out of the grants (a grant left without scope is dropped).
"""

from __future__ import annotations

from collections.abc import Iterable

from nhiaudit.connectors.gcp.transform_deny import deny_permission
from nhiaudit.enforce.model import Guardrail, GuardrailKind
from nhiaudit.inventory.model import DelegatedGrant, Identity, Policy, Provider, Statement
from nhiaudit.inventory.snapshot import Snapshot

APPLIED_PREFIX = "nhiaudit-enforce:"


class _Copy:
    def __init__(self, snapshot: Snapshot) -> None:
        self.identities = {i.id: i for i in snapshot.identities}
        self.policies = {p.id: p for p in snapshot.policies}
        self.added: list[Policy] = []

    def detach(self, identity_id: str, policy_id: str) -> None:
        i = self.identities.get(identity_id)
        if i is not None and policy_id in i.policy_ids:
            self.identities[identity_id] = i.model_copy(update={
                "policy_ids": tuple(p for p in i.policy_ids if p != policy_id),
                "policy_sources": {k: v for k, v in i.policy_sources.items() if k != policy_id}})

    def attach(self, identity_id: str, policy: Policy, source: str) -> None:
        i: Identity | None = self.identities.get(identity_id)
        if i is None:
            return
        if policy.id not in self.policies:
            self.policies[policy.id] = policy
            self.added.append(policy)
        self.identities[identity_id] = i.model_copy(update={
            "policy_ids": tuple(sorted({*i.policy_ids, policy.id})),
            "policy_sources": dict(sorted({**i.policy_sources, policy.id: source}.items()))})


def deny_policy(name: str, index: int, permissions: Iterable[str], scope: str) -> Policy:
    """Rule `index` of deny policy `name` as the GCP connector records it: a Deny of the permissions (in the
    allow-role form) on the attachment scope."""
    actions = tuple(sorted({deny_permission(p) for p in permissions}))
    return Policy(id=f"deny:{APPLIED_PREFIX}{name}#{index}", provider=Provider.GCP, name=f"{name} rule {index}",
                  kind="customer", statements=(Statement(effect="Deny", actions=actions, resources=(scope,)),))


def _deny(c: _Copy, g: Guardrail) -> None:
    scope = g.attachment or ""
    for index, entry in enumerate(g.document["rules"]):
        policy = deny_policy(g.name, index, entry["denyRule"]["deniedPermissions"], scope)
        for t in g.targets:
            c.attach(t.identity_id, policy, f"deny policy on {scope}")


def _binding(c: _Copy, g: Guardrail) -> None:
    old = c.policies.get(g.replaces[0]) if g.replaces else None
    if old is None:
        return
    condition = dict(g.document["add"]["condition"])
    new = Policy(id=f"{old.id}#{APPLIED_PREFIX}{g.name}", provider=Provider.GCP, name=old.name, kind="role",
                 statements=tuple(s.model_copy(update={"conditions": {"gcp:condition": {
                     "expression": condition["expression"], "title": condition["title"]}}}) for s in old.statements))
    for t in g.targets:
        c.detach(t.identity_id, old.id)
        c.attach(t.identity_id, new, f"binding on {g.document['resource']}")


def _assignment(c: _Copy, g: Guardrail) -> None:
    old = c.policies.get(g.replaces[0]) if g.replaces else None
    if old is None:
        return
    for t in g.targets:
        c.detach(t.identity_id, old.id)
        for n, a in enumerate(g.document["assignments"]):
            conditions = {"azure:condition": a["condition"]} if a.get("condition") else {}
            new = Policy(id=f"{old.id}#{APPLIED_PREFIX}{g.name}#{n}", provider=Provider.AZURE, name=old.name,
                         kind="role", statements=tuple(s.model_copy(update={"resources": (a["scope"],),
                                                                              "conditions": conditions})
                                                       for s in old.statements))
            c.attach(t.identity_id, new, f"role assignment on {a['scope']}")


def _without_scopes(grants: list[DelegatedGrant], removals: Iterable[Guardrail]) -> list[DelegatedGrant]:
    removed: dict[tuple[str, str], set[str]] = {}
    for g in removals:
        for r in g.document["remove"]:
            removed.setdefault((r["identity"], r["grant"]), set()).update(r["remove"])
    out = []
    for grant in grants:
        gone = removed.get((grant.identity_id, grant.id), set())
        kept = tuple(s for s in grant.scopes if s not in gone)
        if kept or not gone:
            out.append(grant if not gone else grant.model_copy(update={"scopes": kept}))
    return out


_APPLY = {GuardrailKind.GCP_DENY_POLICY: _deny, GuardrailKind.GCP_CONDITIONAL_BINDING: _binding,
          GuardrailKind.AZURE_ROLE_ASSIGNMENT: _assignment}


def with_cloud_guardrails(snapshot: Snapshot, guardrails: Iterable[Guardrail]) -> Snapshot:
    guardrails = list(guardrails)
    if not any(g.kind in _APPLY or g.kind is GuardrailKind.AZURE_GRAPH_REMOVAL for g in guardrails):
        return snapshot
    c = _Copy(snapshot)
    for g in guardrails:
        if g.kind in _APPLY:
            _APPLY[g.kind](c, g)
    removals = [g for g in guardrails if g.kind is GuardrailKind.AZURE_GRAPH_REMOVAL]
    return snapshot.model_copy(update={
        "identities": [c.identities[i.id] for i in snapshot.identities],
        "policies": [*snapshot.policies, *c.added],
        "delegated_grants": _without_scopes(snapshot.delegated_grants, removals) if removals
        else snapshot.delegated_grants})
