"""Resolve what the user typed (integration name, identity id, system name, fragment) to a graph node."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from nhiaudit.errors import UsageError
from nhiaudit.graph.build import EstateGraph
from nhiaudit.graph.model import NodeKind
from nhiaudit.policy.model import WrittenPolicy

MAX_LISTED_CANDIDATES = 20

# When one string names several kinds exactly, the earlier kind wins (use the node id, e.g.
# "system:support-copilot", to pick another).
KIND_PRIORITY = (NodeKind.INTEGRATION, NodeKind.IDENTITY, NodeKind.SYSTEM, NodeKind.WORKLOAD,
                 NodeKind.CREDENTIAL, NodeKind.EXTERNAL_PRINCIPAL)
EXPLAINABLE = (NodeKind.INTEGRATION, NodeKind.IDENTITY)


@dataclass(frozen=True)
class Target:
    kind: NodeKind
    key: str  # integration name, identity id, system name, ... (the node's `ref`)
    label: str
    node: str  # graph node id

    def describe(self) -> str:
        named = f" ({self.label})" if self.label and self.label != self.key else ""
        return f"{self.kind.value} {self.key}{named}"


def _target(g: nx.MultiDiGraph, node: str) -> Target:
    data = g.nodes[node]
    return Target(NodeKind(data["kind"]), str(data.get("ref") or node), str(data.get("label") or ""), node)


def _ranked(g: nx.MultiDiGraph, nodes: Iterable[str]) -> list[str]:
    order = {k.value: i for i, k in enumerate(KIND_PRIORITY)}
    return sorted(set(nodes), key=lambda n: (order.get(g.nodes[n].get("kind"), 99), n))


def _ambiguous(text: str, g: nx.MultiDiGraph, nodes: list[str]) -> UsageError:
    shown = [f"  {_target(g, n).describe()}" for n in nodes[:MAX_LISTED_CANDIDATES]]
    more = len(nodes) - MAX_LISTED_CANDIDATES
    if more > 0:
        shown.append(f"  (+{more} more)")
    return UsageError(f"{text!r} matches {len(nodes)} targets; give the full id or a longer fragment:\n"
                      + "\n".join(shown))


def _covering_integration(estate: EstateGraph, nodes: list[str]) -> str | None:
    """"copilot" matching integration support-copilot and only the identities it binds means the integration
    (explaining it shows those identities anyway)."""
    g = estate.graph
    integrations = [n for n in nodes if g.nodes[n].get("kind") == NodeKind.INTEGRATION.value]
    if len(integrations) != 1:
        return None
    name = g.nodes[integrations[0]]["ref"]
    for n in nodes:
        if n == integrations[0]:
            continue
        data = g.nodes[n]
        bound = estate.bindings.get(str(data.get("ref")), [])
        if data.get("kind") != NodeKind.IDENTITY.value or name not in bound:
            return None
    return integrations[0]


def resolve(estate: EstateGraph, text: str, kinds: Iterable[NodeKind] = EXPLAINABLE) -> Target:
    """Exact node id, then exact ref (integration name, identity id, system name...), then exact
    name, then a case-insensitive fragment of ref or name that matches exactly one node."""
    g = estate.graph
    wanted = {k.value for k in kinds}
    text = text.strip()
    if not text:
        raise UsageError("empty target")
    if text in g and g.nodes[text].get("kind") in wanted:
        return _target(g, text)
    candidates = [(n, d) for n, d in g.nodes(data=True) if d.get("kind") in wanted]
    for field in ("ref", "label"):
        exact = _ranked(g, (n for n, d in candidates if str(d.get(field, "")) == text))
        if exact:
            same_kind = [n for n in exact if g.nodes[n]["kind"] == g.nodes[exact[0]]["kind"]]
            if len(same_kind) == 1:
                return _target(g, same_kind[0])
            raise _ambiguous(text, g, exact)
    needle = text.lower()
    partial = _ranked(g, (n for n, d in candidates if needle in str(d.get("ref", "")).lower()
                          or needle in str(d.get("label", "")).lower()))
    if len(partial) == 1:
        return _target(g, partial[0])
    covering = _covering_integration(estate, partial)
    if covering is not None:
        return _target(g, covering)
    if partial:
        raise _ambiguous(text, g, partial)
    raise UsageError(f"no {' or '.join(sorted(wanted))} matches {text!r}")


def resolve_system(policy: WrittenPolicy, text: str) -> str:
    """A system of the written policy: exact name, else a unique case-insensitive fragment."""
    names = sorted(policy.systems)
    if not names:
        raise UsageError("the policy declares no systems: give --policy with a `systems:` section")
    text = text.strip()
    if text in policy.systems:
        return text
    partial = [n for n in names if text.lower() in n.lower()] if text else []
    if len(partial) == 1:
        return partial[0]
    if partial:
        raise UsageError(f"{text!r} matches {len(partial)} systems; give the full name: "
                         + ", ".join(partial))
    raise UsageError(f"no system matches {text!r}; systems in the policy: " + ", ".join(names))
