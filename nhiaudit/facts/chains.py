"""Shortest act-as paths (role assumption / impersonation) toward a set of identities, for every
identity at once: one reverse breadth-first search from all targets (Reachability.next_hops_toward), so
the cost is linear in the act-as edges however many identities ask."""

from __future__ import annotations

from collections.abc import Iterable

from nhiaudit.graph.model import identity_node
from nhiaudit.graph.reach import Reachability, conditions_text

_PREFIX = "identity:"


class ChainIndex:
    """For each identity that can act as one of `targets` (directly or through intermediates), the next
    node on a shortest path. Targets themselves have no entry. Of several equally short paths the one
    shown is fixed by identity ids (see `next_hops_toward`), never by the order of the `targets` set."""

    def __init__(self, reach: Reachability, targets: Iterable[str]) -> None:
        self._reach = reach
        self._next = reach.next_hops_toward(targets)

    def __len__(self) -> int:
        return sum(1 for node in self._next if node.startswith(_PREFIX))

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

    def conditional(self, identity_id: str) -> bool:
        """Some hop of the shortest path rests on a trust condition nhiaudit could not decide (False: no path,
        or every hop is certain)."""
        node = identity_node(identity_id)
        while node in self._next:
            step = self._next[node]
            if self._reach.act_as_edge(node, step)[2]:
                return True
            node = step
        return False

    def _hop_text(self, u: str, v: str) -> str:
        kind, reason, conditions = self._reach.act_as_edge(u, v)
        return f"{u} -[{kind}]-> {v}: {reason}{conditions_text(conditions)}"
