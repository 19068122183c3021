"""Which systems each identity can reach, directly or through chains of role assumption/impersonation.

Per system, computed once for every identity together: breadth-first searches over the reversed act-as
edges, starting from the identities with direct access, highest access level first. Each identity keeps
its best access level and the next hop of a shortest route to it, so paths are rebuilt by following
pointers. The cost is linear in act-as edges per system, and a system nobody asks about costs nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from nhiaudit.graph.build import EstateGraph
from nhiaudit.graph.model import AccessLevel, EdgeKind, identity_node, system_node

_LEVELS_HIGH_FIRST = sorted(AccessLevel, key=lambda level: -level.rank)
_SHOWN_VALUES = 3
_VALUE_CHARS = 80
# Shared identifiers the trusted party holds: named in paths, never shown.
_HIDDEN_KEYS = frozenset({"sts:externalid"})
_CAN_REACH = EdgeKind.CAN_REACH.value  # once: an Enum's `.value` is a Python call, and paths are many


def _values_text(key: str, value: Any) -> str:
    if key.lower() in _HIDDEN_KEYS:
        return "(value not shown)"
    items = value if isinstance(value, list | tuple) else [value]
    shown = [str(v)[:_VALUE_CHARS] for v in items[:_SHOWN_VALUES]]
    more = f" (+{len(items) - _SHOWN_VALUES} more)" if len(items) > _SHOWN_VALUES else ""
    return ", ".join(shown) + more


def conditions_text(conditions: dict[str, Any]) -> str:
    """What an act-as hop still depends on, for paths: '' or ' (conditional on: Bool aws:X = true; ...)'.
    Bounded (a few values per clause, each clipped), stable (as written, in order)."""
    if not conditions:
        return ""
    parts = []
    for operator, body in conditions.items():
        if isinstance(body, dict):
            parts.extend(f"{operator} {key} = {_values_text(str(key), value)}" for key, value in body.items())
        else:
            parts.append(f"{operator} = {_values_text(str(operator), body)}")
    return f" (conditional on: {'; '.join(parts)})"


class Hop(NamedTuple):  # a named tuple: built for every path of every identity, and cheaper than a dataclass
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


class SystemReach(NamedTuple):
    system: str
    access: AccessLevel
    hops: tuple[Hop, ...]  # identity -> ... -> system; the last hop is the can_reach edge

    @property
    def via_chain(self) -> bool:
        return len(self.hops) > 1

    def path_text(self) -> list[str]:
        return [f"{h.source} -[{h.kind}{':' + h.access if h.access else ''}]-> {h.target}: {h.reason}"
                for h in self.hops]


class Reachability:
    def __init__(self, estate: EstateGraph) -> None:
        self._systems = list(estate.policy.systems)
        self._pred: dict[str, list[str]] = defaultdict(list)
        self._succ: dict[str, list[str]] = defaultdict(list)
        self._edge: dict[tuple[str, str], tuple[str, str, dict]] = {}
        for u, v, kind, reason, conditions in estate.act_as:
            if (u, v) not in self._edge:
                self._edge[u, v] = (kind, reason, conditions)
                self._pred[v].append(u)
                self._succ[u].append(v)
        self._direct = estate.direct_reach  # node -> system -> (level, reason)
        self._sources: dict[str, list[tuple[str, AccessLevel]]] = defaultdict(list)
        for node, systems in self._direct.items():
            for system, (level, _) in systems.items():
                self._sources[system].append((node, level))
        self._routes: dict[str, dict[str, tuple[AccessLevel, str | None]]] = {}
        self._sorted_systems = sorted(self._systems)
        self._last: tuple[str | None, dict[str, SystemReach]] = (None, {})  # the last systems_for()

    def _routes_to(self, system: str) -> dict[str, tuple[AccessLevel, str | None]]:
        """node -> (best access level, next node toward it or None when the node reaches it directly)."""
        routes = self._routes.get(system)
        if routes is not None:
            return routes
        routes: dict[str, tuple[AccessLevel, str | None]] = {}
        sources = self._sources.get(system, [])
        for level in _LEVELS_HIGH_FIRST:
            frontier = [n for n, lv in sources if lv is level and n not in routes]
            for node in frontier:
                routes[node] = (level, None)
            self._spread(frontier, routes, level)
        self._routes[system] = routes
        return routes

    def _spread(self, frontier: list[str], routes: dict[str, tuple[Any, str | None]], tag: Any) -> None:
        """Reverse breadth-first search over the act-as edges: every node not yet routed that can act as
        one in the frontier gets (tag, that node as its next hop)."""
        while frontier:
            following = []
            for node in frontier:
                for pred in self._pred.get(node, ()):
                    if pred not in routes:
                        routes[pred] = (tag, node)
                        following.append(pred)
            frontier = following

    def next_hops_toward(self, identity_ids: Iterable[str]) -> dict[str, str]:
        """For every node that can act as one of the identities through a chain: the next node on a
        shortest route (the identities themselves have no entry). One search for all of them.

        Among equally short routes the search keeps the first found, so the start order is the tie-break:
        callers pass sets, whose order follows PYTHONHASHSEED, hence sorted by identity id (a node next to
        several targets points at the smallest id; deeper ties follow from it and the edge order)."""
        routes: dict[str, tuple[Any, str | None]] = {identity_node(i): (None, None) for i in sorted(identity_ids)}
        self._spread(list(routes), routes, None)
        return {node: following for node, (_, following) in routes.items() if following is not None}

    def act_as_edge(self, source: str, target: str) -> tuple[str, str, dict]:
        """(kind, reason, conditions) of the act-as edge between two nodes."""
        return self._edge[source, target]

    def systems_for(self, identity_id: str) -> list[SystemReach]:
        node = identity_node(identity_id)
        found = [self._path(node, system) for system in self._sorted_systems if node in self._routes_to(system)]
        self._last = (identity_id, {sr.system: sr for sr in found})  # callers ask reach() of the same next
        return found

    def reach(self, identity_id: str, system: str) -> SystemReach | None:
        if self._last[0] == identity_id:
            return self._last[1].get(system)
        node = identity_node(identity_id)
        return self._path(node, system) if node in self._routes_to(system) else None

    def identities_reaching(self, system: str) -> list[str]:
        """Every identity that can reach `system`, directly or through a chain (for --can-reach)."""
        return sorted(n.removeprefix("identity:") for n in self._routes_to(system) if n.startswith("identity:"))

    def act_as_successors(self, identity_id: str) -> list[str]:
        """Identities it can act as in one step (through an account-principal hub counts as one step)."""
        out = []
        for node in self._succ.get(identity_node(identity_id), ()):
            out.extend(self._succ.get(node, ()) if node.startswith("principal:") else [node])
        return [n.removeprefix("identity:") for n in out]

    def _path(self, node: str, system: str) -> SystemReach:
        routes = self._routes_to(system)
        level = routes[node][0]
        hops: list[Hop] = []
        current = node
        while True:
            _, following = routes[current]
            if following is None:
                direct_level, reason = self._direct[current][system]
                hops.append(Hop(current, system_node(system), _CAN_REACH, reason, direct_level.value))
                return SystemReach(system, level, tuple(hops))
            kind, reason, conditions = self._edge[current, following]
            hops.append(Hop(current, following, kind, reason + conditions_text(conditions)))
            current = following
