"""Shortest act-as paths (role assumption / impersonation) toward a set of identities, for every
identity at once: one reverse breadth-first search from all targets, so the cost is linear in the
act-as edges however many identities ask."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from nhiaudit.graph.model import ACT_AS_EDGES, NodeKind, identity_node

_PREFIX = "identity:"


class ChainIndex:
    """For each identity that can act as one of `targets` (directly or through intermediates), the next
    identity on a shortest path. Targets themselves have no entry."""

    def __init__(self, graph: nx.MultiDiGraph, targets: Iterable[str]) -> None:
        self._g = graph
        self._next: dict[str, str] = {}
        frontier = [n for n in (identity_node(t) for t in targets) if n in graph]
        seen = set(frontier)
        while frontier:
            following = []
            for node in frontier:
                for pred, _, data in graph.in_edges(node, data=True):
                    if pred in seen or data.get("kind") not in ACT_AS_EDGES:
                        continue
                    if graph.nodes[pred].get("kind") not in (NodeKind.IDENTITY, NodeKind.ACCOUNT_PRINCIPAL):
                        continue
                    seen.add(pred)
                    self._next[pred] = node
                    following.append(pred)
            frontier = following

    def __len__(self) -> int:
        return len(self._next)

    def path(self, identity_id: str) -> tuple[str, tuple[str, ...]] | None:
        """(target identity id, hop descriptions) of a shortest path, or None when there is none."""
        node = identity_node(identity_id)
        if node not in self._next:
            return None
        hops: list[str] = []
        while node in self._next:
            step = self._next[node]
            hops.append(self._hop_text(node, step))
            node = step
        return node.removeprefix(_PREFIX), tuple(hops)

    def _hop_text(self, u: str, v: str) -> str:
        edges: dict[Any, dict[str, Any]] = self._g.get_edge_data(u, v) or {}
        data = next((d for d in edges.values() if d.get("kind") in ACT_AS_EDGES), {})
        text = f"{u} -[{data.get('kind', 'can_assume')}]-> {v}: {data.get('reason', '')}"
        if data.get("conditions"):
            text += f" (conditions: {data['conditions']})"
        return text
