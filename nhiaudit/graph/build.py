"""Build the estate graph from a snapshot and the written policy.

Nodes: integrations, identities, credentials, workloads, systems (and external trusted principals).
Edges: authenticates, can_assume / can_impersonate, can_reach (with access level), runs_as, bound_to,
trusted_by. Every edge carries `kind` and a human `reason`.

Analysis needs only the indexes (direct reach, act-as edges, bindings); the networkx graph is built from the
snapshot, the policy and the recorded edges the first time `EstateGraph.graph` is asked for (`graph` export,
`explain`), so a scan neither imports networkx nor holds it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nhiaudit.forked import run_tasks, runs
from nhiaudit.graph.model import (
    AccessLevel,
    EdgeKind,
    NodeKind,
    account_principal_node,
    credential_node,
    external_node,
    identity_node,
    integration_node,
    system_node,
    workload_node,
)
from nhiaudit.graph.resource_reach import ResourceReach
from nhiaudit.graph.trust import ActAsEdge, act_as_edges
from nhiaudit.inventory.model import Identity, Provider
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.gcp_names import canonical_resource
from nhiaudit.permissions.patterns import glob_match
from nhiaudit.permissions.results import Reach, StatementEvidence
from nhiaudit.policy.model import WrittenPolicy

if TYPE_CHECKING:  # networkx is imported only when the graph itself is asked for
    import networkx as nx

# identity id, system, edge key, access level, reason, and what the edge's evidence is made from: the
# permission result (compacted when the graph is built) or the evidence itself (a delegated grant).
ReachEdge = tuple[str, str, str, AccessLevel, str, Reach | dict[str, Any]]


@dataclass
class EstateGraph:
    """The indexes analysis needs (built once, read many times), and the graph on demand."""

    snapshot: Snapshot
    policy: WrittenPolicy
    identities: dict[str, Identity]
    bindings: dict[str, list[str]]  # identity id -> integration names binding it
    unmatched_bindings: list[tuple[int, int, str]] = field(default_factory=list)  # (integration idx, pos, pattern)
    # Recorded while building, so reachability does not have to scan every edge of the graph again.
    # (from node, to node, kind, reason, conditions) of every act-as edge
    act_as: list[tuple[str, str, str, str, dict]] = field(default_factory=list)
    direct_reach: dict[str, dict[str, tuple[AccessLevel, str]]] = field(default_factory=dict)  # node->system
    # (node, system) whose best direct access rests only on statements with unevaluated conditions
    conditional_reach: set[tuple[str, str]] = field(default_factory=set)
    # Every identity -> system edge and every trust edge, in the order the graph adds them.
    reach_edges: list[ReachEdge] = field(default_factory=list, repr=False)
    trust_edges: list[ActAsEdge] = field(default_factory=list, repr=False)
    _graph: nx.MultiDiGraph | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The estate as a networkx MultiDiGraph (built on first use, then kept)."""
        if self._graph is None:
            self._graph = _networkx_graph(self)
        return self._graph


def system_provider(pattern: str) -> Provider | None:
    """Which provider a system resource pattern belongs to (None: any)."""
    if pattern.startswith("arn:"):
        return Provider.AWS
    if pattern.startswith("/subscriptions/") or pattern.startswith("/providers/"):
        return Provider.AZURE
    if pattern.startswith(("projects/", "//", "organizations/", "folders/")):
        return Provider.GCP
    if pattern.startswith("delegated:"):
        return Provider.AZURE
    return None


def bind_integrations(
    policy: WrittenPolicy, identities: dict[str, Identity]
) -> tuple[dict[str, list[str]], list[tuple[int, int, str]]]:
    """Resolve each integration's identity entries (exact ids or `*` globs) against the inventory."""
    bindings: dict[str, list[str]] = defaultdict(list)
    unmatched: list[tuple[int, int, str]] = []
    match = identity_matcher(identities)
    for i, integration in enumerate(policy.integrations):
        for j, pattern in enumerate(integration.identities):
            matched = match(pattern)
            if not matched:
                unmatched.append((i, j, pattern))
            for iid in matched:
                if integration.name not in bindings[iid]:
                    bindings[iid].append(integration.name)
    return dict(bindings), unmatched


def identity_matcher(identities: dict[str, Identity]) -> Callable[[str], list[str]]:
    """The identities a policy entry names (integration `identities`, `humans:`): an exact id, an Entra
    appId or object id, or a `*` / `?` glob over ids."""
    app_ids = _azure_app_ids(identities)

    def match(pattern: str) -> list[str]:
        if any(ch in pattern for ch in "*?["):
            return [iid for iid in identities if glob_match(pattern, iid)]
        return [pattern] if pattern in identities else app_ids.get(pattern.lower(), [])

    return match


def _azure_app_ids(identities: dict[str, Identity]) -> dict[str, list[str]]:
    """Entra object id or appId (GUIDs, case-insensitive) -> the service principals it names: a policy may
    name an app by the appId its owners know, or the SP by its object id (one app has one SP per tenant)."""
    out: dict[str, list[str]] = defaultdict(list)
    for iid, ident in sorted((i, x) for i, x in identities.items() if x.provider is Provider.AZURE):
        for key in {iid.lower(), ident.attributes.get("appId", "").lower()} - {""}:
            out[key].append(iid)
    return out


def _add_identity_nodes(g: nx.MultiDiGraph, snapshot: Snapshot) -> None:
    for ident in snapshot.identities:
        g.add_node(
            identity_node(ident.id), kind=NodeKind.IDENTITY.value, label=ident.name, provider=ident.provider.value,
            account=ident.account, identity_kind=ident.kind.value, ref=ident.id,
        )
    for cred in snapshot.credentials:
        node = credential_node(cred.identity_id, cred.id)
        g.add_node(node, kind=NodeKind.CREDENTIAL.value, label=cred.id, provider=cred.provider.value,
                   credential_type=cred.type.value, ref=cred.id)
        g.add_edge(node, identity_node(cred.identity_id), key=EdgeKind.AUTHENTICATES.value,
                   kind=EdgeKind.AUTHENTICATES.value,
                   reason=f"{cred.type.value} {cred.id} authenticates as this identity")
    for wl in snapshot.workloads:
        node = workload_node(wl.id)
        g.add_node(node, kind=NodeKind.WORKLOAD.value, label=wl.name, provider=wl.provider.value,
                   account=wl.account, workload_kind=wl.kind, ref=wl.id)
        g.add_edge(node, identity_node(wl.identity_id), key=EdgeKind.RUNS_AS.value, kind=EdgeKind.RUNS_AS.value,
                   reason=f"{wl.kind} {wl.name} runs as this identity")


def _add_policy_nodes(g: nx.MultiDiGraph, policy: WrittenPolicy, bindings: dict[str, list[str]]) -> None:
    for name, system in policy.systems.items():
        g.add_node(system_node(name), kind=NodeKind.SYSTEM.value, label=name, ref=name,
                   environment=system.environment or "", classification=system.classification or "",
                   system_kind=system.kind or "")
    for integration in policy.integrations:
        g.add_node(integration_node(integration.name), kind=NodeKind.INTEGRATION.value, label=integration.name,
                   ref=integration.name, environment=integration.environment or "", owner=integration.owner or "")
    for iid, names in bindings.items():
        for name in names:
            g.add_edge(integration_node(name), identity_node(iid), key=EdgeKind.BOUND_TO.value,
                       kind=EdgeKind.BOUND_TO.value,
                       reason=f"policy integration '{name}' lists this identity")


_CAN_REACH = EdgeKind.CAN_REACH.value  # once: an Enum's `.value` is a Python call, and reach edges are many


def _add_reach_edge(edges: list[ReachEdge], direct: dict[str, dict[str, tuple[AccessLevel, str]]],
                    identity_id: str, system: str, level: AccessLevel, reason: str, source: Reach | dict[str, Any],
                    conditional: set[tuple[str, str]] | None = None) -> None:
    node = identity_node(identity_id)
    delegated = isinstance(source, dict) and "delegated_grant" in source
    edges.append((identity_id, system, "delegated" if delegated else _CAN_REACH, level, reason, source))
    current = direct.setdefault(node, {}).get(system)
    if current is None or level.rank > current[0].rank:
        direct[node][system] = (level, reason)
        if conditional is not None:
            is_conditional = source.conditional if isinstance(source, Reach) else source.get("conditional")
            if is_conditional:
                conditional.add((node, system))
            else:
                conditional.discard((node, system))


# What one share of the identities adds: its reach edges, direct reach and conditional (node, system) pairs.
_ReachShare = tuple[list[ReachEdge], dict[str, dict[str, tuple[AccessLevel, str]]], set[tuple[str, str]]]


def _reach_edges(snapshot: Snapshot, policy: WrittenPolicy, evaluator: Evaluator, jobs: int = 1) -> _ReachShare:
    """Direct identity -> system edges, from each identity's effective permissions. With `jobs` > 1 the
    identities are split into contiguous runs that `jobs` processes take in turn (forked.run_tasks); the runs
    are joined in order, so the result is the same as in one process."""
    systems_by_provider: dict[Provider | None, list[tuple[str, list[str]]]] = defaultdict(list)
    for name, system in policy.systems.items():
        per_provider: dict[Provider | None, list[str]] = defaultdict(list)
        for pattern in system.resources:
            provider = system_provider(pattern)
            # GCP names are compared in one canonical form, however the policy wrote them (gcp_names).
            per_provider[provider].append(canonical_resource(pattern) if provider is Provider.GCP else pattern)
        for prov, patterns in per_provider.items():
            systems_by_provider[prov].append((name, patterns))
    # Per provider: each system's patterns, and those of them that are resource patterns (not delegated scopes).
    candidates_of: dict[Provider, list[tuple[str, list[str], list[str]]]] = {
        prov: [(name, patterns, [p for p in patterns if not p.startswith("delegated:")])
               for name, patterns in systems_by_provider.get(prov, []) + systems_by_provider.get(None, [])]
        for prov in {i.provider for i in snapshot.identities}}
    delegated = _delegated_by_identity(snapshot)
    # Identity policies, and bucket, key, secret... policies where the snapshot holds them (resource_reach.py).
    system_reach = ResourceReach(evaluator, {p.id: p for p in snapshot.policies}, snapshot.resource_policies)

    # Results are shared by the identities that share policies: each one's level and text made once per process
    # (keyed by id() while holding the result, so an id cannot be reused).
    described: dict[int, tuple[Reach, AccessLevel, str]] = {}

    def share(identities: list[Identity]) -> _ReachShare:
        edges: list[ReachEdge] = []
        direct: dict[str, dict[str, tuple[AccessLevel, str]]] = {}
        conditional: set[tuple[str, str]] = set()
        for ident in identities:
            grants = delegated.get(ident.id)
            for name, patterns, arn_patterns in candidates_of[ident.provider]:
                reach = system_reach.reach(ident, name, arn_patterns) if arn_patterns else None
                if reach is not None:
                    seen = described.get(id(reach))
                    if seen is None:
                        seen = described[id(reach)] = (reach, AccessLevel(reach.level.value), reach.reason)
                    _add_reach_edge(edges, direct, ident.id, name, seen[1], seen[2], reach, conditional)
                grant_hit = _delegated_reach(grants, patterns) if grants else None
                if grant_hit is not None:
                    access, reason = grant_hit
                    _add_reach_edge(edges, direct, ident.id, name, access, reason, {"delegated_grant": reason})
        return edges, direct, conditional

    if jobs <= 1:
        return share(snapshot.identities)
    edges, direct, conditional = [], {}, set()
    parts = runs(snapshot.identities)
    for part_edges, part_direct, part_conditional in run_tasks(lambda task: share(parts[task]), len(parts), jobs):
        edges.extend(part_edges)
        direct.update(part_direct)  # each identity's node is in one share only
        conditional |= part_conditional
    return edges, direct, conditional


class ReasonTexts:
    """Evidence objects are cached and shared by many identities: build each one's reason text once.

    Keyed by id() while holding the object itself, so an id cannot be reused by another object.
    """

    def __init__(self) -> None:
        self._texts: dict[int, tuple[StatementEvidence, str]] = {}

    def __call__(self, statement: StatementEvidence) -> str:
        hit = self._texts.get(id(statement))
        if hit is None:
            hit = self._texts[id(statement)] = (statement, statement.reason)
        return hit[1]


def compact_reach_evidence(reach: Reach, reason_of: Callable[[StatementEvidence], str] | None = None) -> dict:
    """What an edge keeps of a permission result: enough to explain it, small enough for 100k edges."""
    return {
        "statements": [reason_of(s) if reason_of else s.reason for s in reach.statements[:5]],
        "statement_count": len(reach.statements),
        "unknown_actions": list(reach.unknown_actions),
        "conditional": reach.conditional,
        "missing_policy_ids": list(reach.missing_policy_ids),
    }


def _delegated_by_identity(snapshot: Snapshot) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for grant in snapshot.delegated_grants:
        for scope in grant.scopes:
            out[grant.identity_id].append((f"delegated:{grant.resource}/{scope}", grant.id))
    return out


def scope_access(scope: str) -> AccessLevel:
    """Access level of an OAuth scope or app role string (Graph naming conventions)."""
    lowered = scope.lower()
    if any(word in lowered for word in ("fullcontrol", "rolemanagement", "approleassignment", ".manage")):
        return AccessLevel.ADMIN
    if "write" in lowered or "send" in lowered:
        return AccessLevel.WRITE
    return AccessLevel.READ


def _delegated_reach(grants: Iterable[tuple[str, str]], patterns: list[str]) -> tuple[AccessLevel, str] | None:
    best: tuple[AccessLevel, str] | None = None
    for scope_ref, grant_id in grants:
        if any(glob_match(p, scope_ref) for p in patterns if p.startswith("delegated:")):
            level = scope_access(scope_ref)
            if best is None or level.rank > best[0].rank:
                best = (level, f"delegated grant {grant_id} gives scope {scope_ref.removeprefix('delegated:')}")
    return best


def build_graph(snapshot: Snapshot, policy: WrittenPolicy, evaluator: Evaluator, jobs: int = 1,
                beside_trust: Callable[[], object] | None = None) -> EstateGraph:
    """`jobs` > 1: the reach edges, most of the work on a large estate, are evaluated in that many processes.
    `beside_trust`: called after them, just before the trust edges (built in this process alone), to start
    work in other processes meanwhile."""
    identities = {i.id: i for i in snapshot.identities}
    bindings, unmatched = bind_integrations(policy, identities)
    reach_edges, direct, conditional = _reach_edges(snapshot, policy, evaluator, jobs)
    if beside_trust is not None:
        beside_trust()
    trust_edges = act_as_edges(snapshot, identities, evaluator)
    act_as: list[tuple[str, str, str, str, dict]] = [
        (*_endpoints(edge, identities), edge.kind.value, edge.reason, edge.conditions)
        for edge in trust_edges if edge.kind is not EdgeKind.TRUSTED_BY
    ]
    return EstateGraph(snapshot=snapshot, policy=policy, identities=identities, bindings=bindings,
                       unmatched_bindings=unmatched, act_as=act_as, direct_reach=direct,
                       conditional_reach=conditional, reach_edges=reach_edges, trust_edges=list(trust_edges))


def _endpoints(edge: ActAsEdge, identities: dict[str, Identity]) -> tuple[str, str]:
    """Graph nodes of a trust edge: an account-principal hub, an identity, or an external principal."""
    target = account_principal_node(edge.target) if edge.target_is_hub else identity_node(edge.target)
    if edge.source_is_hub:
        return account_principal_node(edge.source), target
    if edge.source in identities:
        return identity_node(edge.source), target
    return external_node(edge.source), target


def _networkx_graph(estate: EstateGraph) -> nx.MultiDiGraph:
    """Nodes and edges in the order analysis met them, so exports list them the same way on every run."""
    import networkx as nx

    g = nx.MultiDiGraph()
    _add_identity_nodes(g, estate.snapshot)
    _add_policy_nodes(g, estate.policy, estate.bindings)
    reason_of = ReasonTexts()
    for identity_id, system, key, level, reason, source in estate.reach_edges:
        evidence = compact_reach_evidence(source, reason_of) if isinstance(source, Reach) else source
        g.add_edge(identity_node(identity_id), system_node(system), key=key, kind=EdgeKind.CAN_REACH.value,
                   access=level.value, reason=reason, evidence=evidence)
    for edge in estate.trust_edges:
        source, target = _endpoints(edge, estate.identities)
        if edge.source_is_hub or edge.target_is_hub:
            hub = edge.source if edge.source_is_hub else edge.target
            if account_principal_node(hub) not in g or edge.hub_label:  # a caller-class hub: see graph/trust.py
                g.add_node(account_principal_node(hub), kind=NodeKind.ACCOUNT_PRINCIPAL.value,
                           label=edge.hub_label or hub, ref=hub, provider=Provider.AWS.value,
                           account=hub.split(":")[4])
        if not edge.source_is_hub and edge.source not in estate.identities:
            g.add_node(source, kind=NodeKind.EXTERNAL_PRINCIPAL.value, label=edge.source, ref=edge.source)
        g.add_edge(source, target, key=edge.kind.value, kind=edge.kind.value, reason=edge.reason,
                   conditions=edge.conditions)
    return g
