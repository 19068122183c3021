"""Which systems each identity can reach, directly or through chains of role assumption/impersonation.

Computed once for the whole graph on the condensation DAG of the act-as subgraph: every strongly
connected component inherits the systems of its successors in reverse topological order. Paths are
reconstructed on demand from "via" pointers, so no per-identity search of the whole graph is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from nhiaudit.graph.build import EstateGraph
from nhiaudit.graph.model import AccessLevel, EdgeKind, identity_node, system_node


@dataclass(frozen=True)
class Hop:
    source: str  # node id
    target: str  # node id
    kind: str
    reason: str
    access: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"from": self.source, "to": self.target, "kind": self.kind, "reason": self.reason}
        if self.access:
            out["access"] = self.access
        return out


@dataclass(frozen=True)
class SystemReach:
    system: str
    access: AccessLevel
    hops: tuple[Hop, ...]  # identity -> ... -> system; the last hop is the can_reach edge

    @property
    def via_chain(self) -> bool:
        return len(self.hops) > 1

    def path_text(self) -> list[str]:
        return [f"{h.source} -[{h.kind}{':' + h.access if h.access else ''}]-> {h.target}: {h.reason}"
                for h in self.hops]


@dataclass(frozen=True)
class _Via:
    access: AccessLevel
    member: str  # identity node inside the component where the route leaves it
    next_node: str | None  # identity node in a successor component, or None: direct reach from `member`


class Reachability:
    def __init__(self, estate: EstateGraph) -> None:
        self._act_as = nx.DiGraph()  # only identities with act-as edges; the rest are singletons
        self._identity_nodes = [identity_node(i) for i in estate.identities]
        for u, v, kind, reason in estate.act_as:
            if not self._act_as.has_edge(u, v):
                self._act_as.add_edge(u, v, kind=kind, reason=reason)
        self._direct = estate.direct_reach
        self._compute()

    def _compute(self) -> None:
        cond = nx.condensation(self._act_as)
        self._component: dict[str, int] = dict(cond.graph["mapping"])
        self._members: dict[int, list[str]] = {c: list(data["members"]) for c, data in cond.nodes(data=True)}
        singletons = []
        for node in self._identity_nodes:
            if node not in self._component:
                comp = len(self._members)
                self._component[node] = comp
                self._members[comp] = [node]
                singletons.append(comp)
        self._best: dict[int, dict[str, _Via]] = {}
        self._next_hop: dict[str, dict[str, str]] = {}
        for comp in singletons + list(reversed(list(nx.topological_sort(cond)))):
            best: dict[str, _Via] = {}
            for member in self._members[comp]:
                for system, (level, _) in self._direct.get(member, {}).items():
                    if system not in best or level.rank > best[system].access.rank:
                        best[system] = _Via(level, member, None)
            for member in self._members[comp]:
                if member not in self._act_as:
                    continue
                for succ in self._act_as.successors(member):
                    succ_comp = self._component[succ]
                    if succ_comp == comp:
                        continue
                    for system, via in self._best[succ_comp].items():
                        if system not in best or via.access.rank > best[system].access.rank:
                            best[system] = _Via(via.access, member, succ)
            self._best[comp] = best

    def systems_for(self, identity_id: str) -> list[SystemReach]:
        node = identity_node(identity_id)
        if node not in self._component:
            return []
        return [self._reach(node, system) for system in sorted(self._best[self._component[node]])]

    def reach(self, identity_id: str, system: str) -> SystemReach | None:
        node = identity_node(identity_id)
        if node not in self._component or system not in self._best[self._component[node]]:
            return None
        return self._reach(node, system)

    def act_as_successors(self, identity_id: str) -> list[str]:
        node = identity_node(identity_id)
        return [n.removeprefix("identity:") for n in self._act_as.successors(node)] if node in self._act_as else []

    def _act_hop(self, u: str, v: str) -> Hop:
        data = self._act_as.edges[u, v]
        return Hop(u, v, data["kind"], data["reason"])

    def _toward(self, end: str) -> dict[str, str]:
        """Next hop toward `end` for every member of its component (one reverse BFS, cached)."""
        hit = self._next_hop.get(end)
        if hit is not None:
            return hit
        comp = self._component[end]
        nxt: dict[str, str] = {end: end}
        frontier = [end]
        while frontier:
            following = []
            for node in frontier:
                for pred in self._act_as.predecessors(node):
                    if pred not in nxt and self._component[pred] == comp:
                        nxt[pred] = node
                        following.append(pred)
            frontier = following
        self._next_hop[end] = nxt
        return nxt

    def _inside(self, start: str, end: str) -> list[Hop]:
        if start == end:
            return []
        hops = []
        nxt = self._toward(end)
        while start != end:
            step = nxt[start]
            hops.append(self._act_hop(start, step))
            start = step
        return hops

    def _reach(self, node: str, system: str) -> SystemReach:
        hops: list[Hop] = []
        current = node
        level = self._best[self._component[node]][system].access
        for _ in range(len(self._members) + 1):  # bounded walk down the DAG
            via = self._best[self._component[current]][system]
            hops.extend(self._inside(current, via.member))
            if via.next_node is None:
                direct_level, reason = self._direct[via.member][system]
                hops.append(Hop(via.member, system_node(system), EdgeKind.CAN_REACH.value, reason,
                                direct_level.value))
                break
            hops.append(self._act_hop(via.member, via.next_node))
            current = via.next_node
        return SystemReach(system, level, tuple(hops))

    def identities_reaching(self, system: str) -> list[str]:
        """Every identity that can reach `system`, directly or through a chain (for --can-reach)."""
        comps = {c for c, best in self._best.items() if system in best}
        return sorted(m.removeprefix("identity:") for c in comps for m in self._members[c])
