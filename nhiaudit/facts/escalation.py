"""Privilege escalation: single-step techniques (rules/data/privilege_escalation.yaml) and multi-step
paths through role assumption / impersonation to an identity that is, or can make itself, admin.

Built once per scan (see `estate_analysis`): techniques are evaluated once per distinct policy set,
targets are selected once per distinct grant, and paths come from one reverse search over the act-as
edges from every admin-capable identity at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nhiaudit.facts.azure_facts import graph_escalations
from nhiaudit.facts.chains import ChainIndex
from nhiaudit.facts.context import FactContext
from nhiaudit.facts.escalation_data import TargetSpec, Technique, load_escalation_catalogue
from nhiaudit.facts.gcp_facts import broad_role_policy
from nhiaudit.facts.memo import memo
from nhiaudit.facts.profiles import Profile, Profiles, TechniqueMatch
from nhiaudit.inventory.model import Identity, Policy, Provider, TrustKind
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.patterns import glob_match
from nhiaudit.permissions.results import StatementEvidence
from nhiaudit.permissions.scopes import ResourceScopes
from nhiaudit.work_counter import count

MAX_LISTED_TARGETS = 5
MAX_LISTED_STATEMENTS = 6
Grants = tuple[tuple[tuple[str, ...], bool], ...]


def target_resource(identity: Identity) -> str:
    """The resource name a grant uses for an identity (GCP grants name `projects/P/serviceAccounts/E`)."""
    if identity.provider is Provider.GCP and "@" in identity.id:
        return f"projects/{identity.account}/serviceAccounts/{identity.id}"
    # Azure: a user-assigned managed identity by its ARM resource (grants of .../assign/action name it).
    resource = identity.attributes.get("resourceId", "") if identity.provider is Provider.AZURE else ""
    if "/providers/microsoft.managedidentity/userassignedidentities/" in resource.lower():
        return resource
    return identity.id


def _covered(resource: str, grants: Grants, aws: bool, scopes: ResourceScopes) -> bool:
    for patterns, negated in grants:
        # GCP/Azure: a grant on a project, folder or organisation covers the service accounts beneath it.
        hit = any(glob_match(p, resource) if aws else scopes.overlaps(p, resource) for p in patterns)
        if hit != negated:
            return True
    return False


def _workload_account(provider: Provider, account: str) -> str:
    """The key that pairs a workload with the identities that may change it: the account, except on Azure,
    where workloads live in subscriptions and identities in the tenant (the grant's scope then decides;
    subscription ids are unique across tenants)."""
    return "azure:" if provider is Provider.AZURE else account


# Plural names of workload kinds, for "why no target is known" (Workload.kind values of the connectors).
_WORKLOAD_LABELS = {
    "lambda": "Lambda functions", "ec2_instance": "EC2 instances with an instance profile",
    "gce_instance": "Compute Engine instances", "cloud_run": "Cloud Run services", "cloud_function": "Cloud Functions",
    "azure_vm": "virtual machines", "app_service": "App Service web apps", "function_app": "function apps",
    "container_app": "container apps", "aks": "AKS clusters",
}
_ACCOUNT_WORD = {Provider.AWS: "account", Provider.GCP: "project", Provider.AZURE: "tenant"}


@dataclass(frozen=True, slots=True)
class _Selection:
    """The targets one distinct grant selects in one account, shared by every identity holding that grant.
    Admins first, then by id; an identity is never its own target, which `for_identity` takes out in O(1)."""

    targets: tuple[str, ...]
    members: frozenset[str]
    admin_count: int

    def for_identity(self, identity_id: str, admins: set[str]) -> Chosen:
        if identity_id not in self.members:
            return Chosen(self.targets[:MAX_LISTED_TARGETS], len(self.targets), self.admin_count)
        listed = tuple(t for t in self.targets[:MAX_LISTED_TARGETS + 1] if t != identity_id)[:MAX_LISTED_TARGETS]
        return Chosen(listed, len(self.targets) - 1, self.admin_count - (identity_id in admins))


@dataclass(frozen=True, slots=True)
class Chosen:
    """An identity's targets for one technique: the first few listed, the exact counts."""

    listed: tuple[str, ...]
    count: int
    admin_count: int


_NONE = Chosen((), 0, 0)
_Pool = tuple[tuple[str, str], ...]  # (resource a grant names, identity id) per candidate target


class _Targets:
    """Candidate targets per account, and the targets each distinct grant selects (cached).

    Nothing here walks an account's candidates per identity: pools are built once per (account, target
    spec), selections once per distinct grant (the key holds no identity), and an identity only takes
    itself out of a shared selection (`_Selection.for_identity`).
    """

    def __init__(self, ctx: FactContext, admins: set[str]) -> None:
        snapshot = ctx.estate.snapshot
        identities = ctx.estate.identities
        self._identities = identities
        self._admins = admins
        self._scopes = ctx.evaluator.scopes
        # (provider, account) -> workload kinds its sources listed; which kinds exist at all, listed or not.
        self._collected: dict[tuple[str, str], set[str]] = defaultdict(set)
        for source in snapshot.sources:
            self._collected[(source.provider.value, source.account)].update(source.collected)
        self._present = {(_workload_account(w.provider, w.account), w.kind) for w in snapshot.workloads}
        self._by_service: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for trust in snapshot.trusts:
            target = identities.get(trust.identity_id)
            if trust.kind is TrustKind.SERVICE and target is not None and not target.disabled:
                self._by_service[(trust.principal, target.account)].append((target.id, target.id))
        self._by_kind: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
        for ident in identities.values():
            if not ident.disabled:
                self._by_kind[(ident.provider.value, ident.account, ident.kind.value)].append(
                    (target_resource(ident), ident.id))
        self._by_workload: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for wl in snapshot.workloads:
            if wl.identity_id in identities:
                self._by_workload[(_workload_account(wl.provider, wl.account), wl.kind)].append(
                    (wl.id, wl.identity_id))
        self._pools: dict[tuple[Any, ...], tuple[_Pool, tuple[str, ...]]] = {}
        self._cache: dict[tuple[Any, ...], _Selection] = {}

    def _pool(self, identity: Identity, spec: TargetSpec) -> tuple[_Pool, tuple[str, ...]]:
        """Every candidate target of the account, and its first two distinct identity ids (enough to tell
        whether any candidate other than a given identity exists); one shared tuple per (account, spec)."""
        key = (spec.type, spec.service, spec.kinds, spec.workload_kinds, identity.provider, identity.account)
        hit = self._pools.get(key)
        if hit is None:
            pool: _Pool
            if spec.type == "passed_role":
                pool = tuple(self._by_service.get((spec.service or "", identity.account), ()))
            elif spec.type == "principal":
                pool = tuple(c for kind in spec.kinds
                             for c in self._by_kind.get((identity.provider.value, identity.account, kind), ()))
            else:
                account = _workload_account(identity.provider, identity.account)
                pool = tuple(c for kind in spec.workload_kinds for c in self._by_workload.get((account, kind), ()))
            count("escalation.pool", len(pool))
            first: dict[str, None] = {}
            for _, iid in pool:
                first[iid] = None
                if len(first) == 2:
                    break
            hit = self._pools[key] = (pool, tuple(first))
        return hit

    def latent_reason(self, identity: Identity, spec: TargetSpec) -> str | None:
        """Why no target is known, when the account holds no candidate other than the identity itself (the
        technique is latent: it works on the first one created); None when candidates exist but the grant does
        not reach them (then the technique does not apply)."""
        pool, first = self._pool(identity, spec)
        if any(iid != identity.id for iid in first):
            return None
        where = f"{_ACCOUNT_WORD[identity.provider]} {identity.account}"
        if spec.type == "passed_role":
            but = " but itself" if pool else ""
            return f"no role in {where}{but} trusts {spec.service} (roles were collected)"
        if spec.type == "principal":
            kinds = " or ".join(k.replace("_", " ") for k in spec.kinds)
            return f"no other {kinds} in {where}"
        collected = self._collected.get((identity.provider.value, identity.account), set())
        account = _workload_account(identity.provider, identity.account)
        parts = []
        for kind in spec.workload_kinds:
            label = _WORKLOAD_LABELS.get(kind, f"{kind} workloads")
            if self._by_workload.get((account, kind)):
                parts.append(f"the {label} of {where} run as the identity itself")
            elif (account, kind) in self._present:
                parts.append(f"{label} were collected for {where}: none runs as an identity of the inventory")
            elif kind in collected:
                parts.append(f"{label} were collected for {where}: none exist")
            else:
                parts.append(f"no {label} were collected for {where} (the source did not list them)")
        return "; ".join(parts)

    def select(self, identity: Identity, match: TechniqueMatch) -> Chosen:
        spec = match.technique.target
        assert spec is not None
        grants: Grants = tuple(sorted({(e.statement_resources, e.not_resource) for e in match.evidence[spec.via]}))
        key = (match.technique.id, identity.provider.value, identity.account, grants)
        hit = self._cache.get(key)
        if hit is None:
            pool, _ = self._pool(identity, spec)
            count("escalation.select", len(pool))
            aws = identity.provider is Provider.AWS
            chosen = dict.fromkeys(iid for resource, iid in pool if _covered(resource, grants, aws, self._scopes))
            ordered = tuple(sorted(chosen, key=lambda i: (i not in self._admins, i)))
            hit = self._cache[key] = _Selection(ordered, frozenset(ordered),
                                                sum(1 for t in ordered if t in self._admins))
        count("escalation.per_identity", 1)
        return hit.for_identity(identity.id, self._admins) if hit.targets else _NONE


def _statements(evidence: dict[str, tuple[StatementEvidence, ...]]) -> tuple[str, ...]:
    reasons = dict.fromkeys(e.reason for evs in evidence.values() for e in evs)
    return tuple(reasons)[:MAX_LISTED_STATEMENTS]


def escalation_item(match: TechniqueMatch, chosen: Chosen) -> dict[str, Any]:
    technique: Technique = match.technique
    admin_targets = chosen.admin_count
    return {
        "technique": technique.id, "title": technique.title, "actions": technique.requires,
        "how": technique.how, "statements": _statements(match.evidence),
        "conditional": any(all(e.conditions for e in evs) for evs in match.evidence.values()),
        "target_type": technique.target.type if technique.target else "self",
        "targets": chosen.listed, "target_count": chosen.count, "admin_targets": admin_targets,
        "to_admin": technique.target is None or admin_targets > 0, "key": technique.id,
    }


def latent_item(match: TechniqueMatch, why: str) -> dict[str, Any]:
    """A technique the permissions allow whose target kind the inventory does not hold (yet)."""
    return {**escalation_item(match, _NONE), "to_admin": False, "why": why}


@dataclass
class EstateAnalysis:
    """Estate-wide permission facts, built once per scan."""

    profiles: Profiles
    admins: dict[str, StatementEvidence]
    escalations: dict[str, list[dict[str, Any]]]
    latent_escalations: dict[str, list[dict[str, Any]]]  # techniques with no target in the data (latent_item)
    escalation_chains: ChainIndex
    ai_sources: set[str]
    ai_chains: ChainIndex

    def profile(self, identity: Identity) -> Profile:
        return self.profiles.get(identity)


def ai_actions_by_provider(ai_capability: Mapping[str, Mapping[str, list[str]]]) -> dict[Provider, tuple[str, ...]]:
    out = {}
    for prov in Provider:
        actions = ai_capability.get(prov.value, {}).get("actions", [])
        out[prov] = tuple(actions)
    return out


def ai_vendor_grants(ctx: FactContext) -> dict[str, list[Any]]:
    """Identity id -> its delegated grants to AI vendors (rules/data/ai_capability.yaml)."""

    def build() -> dict[str, list[Any]]:
        vendors = {prov: {v.lower() for v in data.get("delegated_resources", [])}
                   for prov, data in ctx.ai_capability.items()}
        out: dict[str, list[Any]] = defaultdict(list)
        for grant in ctx.estate.snapshot.delegated_grants:
            if grant.resource.lower() in vendors.get(grant.provider.value, set()):
                out[grant.identity_id].append(grant)
        return dict(out)

    return memo(ctx, "ai_vendor_grants", build)


def wildcard_only(ev: StatementEvidence) -> bool:
    """The statement grants the AI actions only through a full `*` (or a NotAction), not by naming them."""
    return ev.not_action or all(a == "*" for a in ev.statement_actions)


def estate_profiles(ctx: FactContext) -> Profiles:
    """Per policy-set permission answers (admin, AI capability, techniques), shared by every identity."""
    return memo(ctx, "profiles", lambda: new_profiles(ctx.evaluator, ctx.estate.snapshot.policies,
                                                      ctx.ai_capability))


def adopt_profiles(ctx: FactContext, profiles: Profiles) -> None:
    """Profiles begun before the context existed (analysis.py) become the ones `estate_profiles` answers."""
    memo(ctx, "profiles", lambda: profiles)


def new_profiles(evaluator: Evaluator, policies: Iterable[Policy],
                 ai_capability: Mapping[str, Mapping[str, list[str]]]) -> Profiles:
    """The profiles of an estate, before its FactContext exists (analysis.py starts them beside the graph)."""
    return Profiles(evaluator, policies, load_escalation_catalogue(), ai_actions_by_provider(ai_capability))


def _build(ctx: FactContext) -> EstateAnalysis:
    snapshot = ctx.estate.snapshot
    profiles = estate_profiles(ctx)
    admins: dict[str, StatementEvidence] = {}
    ai_sources: set[str] = set(ai_vendor_grants(ctx))
    with_techniques: list[tuple[Identity, Profile]] = []
    for ident in snapshot.identities:
        if ident.disabled:
            continue
        prof = profiles.get(ident)
        if prof.admin is not None:
            admins[ident.id] = prof.admin
        if prof.techniques:
            with_techniques.append((ident, prof))
        if any(not wildcard_only(e) and not broad_role_policy(ctx, e.policy_id) for e in prof.ai):
            ai_sources.add(ident.id)
    admin_ids = set(admins)
    targets = _Targets(ctx, admin_ids)
    escalations: dict[str, list[dict[str, Any]]] = {}
    latent: dict[str, list[dict[str, Any]]] = {}
    for ident, prof in with_techniques:
        items, dormant = [], []
        for match in prof.techniques:
            spec = match.technique.target
            chosen = targets.select(ident, match) if spec else _NONE
            if spec and not chosen.count:
                # No target: latent when the account holds none at all; else the grant does not reach them.
                why = targets.latent_reason(ident, spec)
                if why is not None:
                    dormant.append(latent_item(match, why))
                continue
            items.append(escalation_item(match, chosen))
        if items:
            escalations[ident.id] = items
        if dormant:
            latent[ident.id] = dormant
    # Entra: Graph application permissions that escalate are grants, not statements (rules/data/azure_graph.yaml).
    for iid, items in graph_escalations(ctx, admin_ids).items():
        escalations[iid] = [*escalations.get(iid, []), *items]
    capable = admin_ids | {i for i, items in escalations.items() if any(x["to_admin"] for x in items)}
    return EstateAnalysis(profiles, admins, escalations, latent, ChainIndex(ctx.reach, capable), ai_sources,
                          ChainIndex(ctx.reach, ai_sources))


def estate_analysis(ctx: FactContext) -> EstateAnalysis:
    return memo(ctx, "estate_analysis", lambda: _build(ctx))


def escalation_path(ctx: FactContext, analysis: EstateAnalysis, identity: Identity) -> dict[str, Any]:
    """The shortest act-as path from the identity to one that is admin or can make itself admin
    ({} when there is none: most identities, and an empty map is the cheapest value for CEL)."""
    found = analysis.escalation_chains.path(identity.id)
    if found is None:
        return {}
    target_id, hops = found
    target = ctx.estate.identities[target_id]
    admin = analysis.admins.get(target_id)
    if admin is not None:
        reason = f"{target.name} is administrator: {admin.reason}"
    else:
        names = [x["technique"] for x in analysis.escalations.get(target_id, []) if x["to_admin"]]
        reason = f"{target.name} can make itself administrator: {', '.join(names)}"
    return {"target": target_id, "target_name": target.name, "target_reason": reason, "hops": hops,
            "length": len(hops), "conditional": analysis.escalation_chains.conditional(identity.id)}
