"""An integration's access paths as an SVG graph, laid out in Python at render time (no graphviz, no CDN).

Layered layout: the integration's identities in the first column, each node one column further than its
nearest identity, systems in the last column; within a column, nodes sit near the mean height of the nodes
that lead to them (ties by label), so edges mostly run straight. Every value is formatted with fixed
precision and every order is sorted or the report's own: the same report gives the same bytes.

Each edge is one distinct hop (source, kind, target) of the paths; clicking it (or Enter on it) shows its
reason, which the page's script reads from the edge's `data-*` attributes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from nhiaudit.reporters.html_paths import VERDICT_LABEL, Route, node_label, worst
from nhiaudit.reporters.html_text import h

NODE_W, NODE_H = 214, 38
COL_GAP, ROW_GAP, PAD = 116, 14, 12
LANE_H = 14  # the height a long edge takes in a column it crosses
LOOP_DEPTH = 46  # how far below its nodes an edge that does not go right is drawn
MAX_LABEL = 30


@dataclass(frozen=True)
class Edge:
    source: str
    kind: str
    target: str
    reasons: tuple[str, ...]
    verdict: str  # the worst verdict among the systems this hop leads to


def graph_edges(routes: Sequence[Route]) -> list[Edge]:
    """One edge per distinct hop, in the order the paths first use them."""
    reasons: dict[tuple[str, str, str], list[str]] = {}
    verdicts: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for route in routes:
        for hop in route.hops:
            key = (hop.source, hop.kind, hop.target)
            known = reasons.setdefault(key, [])
            if hop.reason not in known:
                known.append(hop.reason)
            verdicts[key].append(route.verdict)
    return [Edge(s, k, t, tuple(reasons[(s, k, t)]), worst(verdicts[(s, k, t)])) for (s, k, t) in reasons]


def _layers(edges: Sequence[Edge], starts: Sequence[str]) -> dict[str, int]:
    succ: dict[str, list[str]] = defaultdict(list)
    nodes: list[str] = list(dict.fromkeys(starts))
    for edge in edges:
        succ[edge.source].append(edge.target)
        nodes += [edge.source, edge.target]
    nodes = list(dict.fromkeys(nodes))
    layer = {n: 0 for n in starts}
    frontier = list(layer)
    while frontier:  # breadth-first: each node one column right of its nearest identity
        following = []
        for node in frontier:
            for nxt in succ[node]:
                if nxt not in layer:
                    layer[nxt] = layer[node] + 1
                    following.append(nxt)
        frontier = following
    for node in nodes:
        layer.setdefault(node, 1)  # an unparsed hop's ends
    inner = [v for n, v in layer.items() if not n.startswith("system:")]
    last = max(inner, default=0) + 1
    return {n: (last if n.startswith("system:") else layer[n]) for n in nodes}


def _dummies(edges: Sequence[Edge], layer: dict[str, int]) -> tuple[dict[str, int], dict[int, list[str]]]:
    """A virtual node in every column an edge crosses, so long edges get a lane of their own instead of
    running through the nodes between. Their ids start with NUL: no node id does (they have a kind prefix)."""
    layer = dict(layer)
    lanes: dict[int, list[str]] = {}
    for i, edge in enumerate(edges):
        first, last = layer[edge.source], layer[edge.target]
        if last - first > 1:
            lanes[i] = [f"\x00{i}:{col}" for col in range(first + 1, last)]
            layer.update({node: col for col, node in zip(range(first + 1, last), lanes[i], strict=True)})
    return layer, lanes


def _is_lane(node: str) -> bool:
    return node.startswith("\x00")


def _height(node: str) -> float:
    return LANE_H if _is_lane(node) else NODE_H


def _positions(edges: Sequence[Edge], layer: dict[str, int], lanes: dict[int, list[str]],
               names: dict[str, str]) -> dict[str, tuple[float, float]]:
    """node -> (left x, centre y)."""
    columns: dict[int, list[str]] = defaultdict(list)
    for node, col in layer.items():
        columns[col].append(node)
    tallest = max((sum(_height(n) + ROW_GAP for n in c) for c in columns.values()), default=0.0)
    preds: dict[str, list[str]] = defaultdict(list)
    for i, edge in enumerate(edges):
        if layer[edge.source] < layer[edge.target]:
            chain = [edge.source, *lanes.get(i, ()), edge.target]
            for before, after in pairwise(chain):
                preds[after].append(before)
    pos: dict[str, tuple[float, float]] = {}
    for col in sorted(columns):
        def order(node: str) -> tuple[float, str, str]:
            ys = [pos[p][1] for p in preds[node] if p in pos]
            label = "" if _is_lane(node) else node_label(node, names)
            return (sum(ys) / len(ys) if ys else float("inf"), label, node)

        members = sorted(columns[col], key=order)
        top = PAD + (tallest - sum(_height(n) + ROW_GAP for n in members)) / 2
        for node in members:
            pos[node] = (PAD + col * (NODE_W + COL_GAP), top + _height(node) / 2)
            top += _height(node) + ROW_GAP
    return pos


def _f(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _curve(x0: float, y0: float, x3: float, y3: float) -> str:
    """A cubic from (x0, y0) to (x3, y3) leaving and arriving horizontally."""
    dx = (x3 - x0) / 2
    return f" C{_f(x0 + dx)},{_f(y0)} {_f(x3 - dx)},{_f(y3)} {_f(x3)},{_f(y3)}"


def _edge_geometry(points: list[tuple[float, float]]) -> tuple[str, float, float]:
    """The path data through (left x, centre y) of the source, its lanes and the target, and where its label
    goes."""
    (sx, sy), (tx, ty) = points[0], points[-1]
    if tx <= sx:  # same column or leftwards: a loop under the nodes
        x0, y0, x3, y3 = sx + NODE_W / 2, sy + NODE_H / 2, tx + NODE_W / 2 + 8, ty + NODE_H / 2 + 2
        low = max(y0, y3) + LOOP_DEPTH
        d = f"M{_f(x0)},{_f(y0)} C{_f(x0)},{_f(low)} {_f(x3)},{_f(low)} {_f(x3)},{_f(y3)}"
        return d, (x0 + x3) / 2, (y0 + 6 * low + y3) / 8
    d = f"M{_f(sx + NODE_W)},{_f(sy)}"
    x, y = sx + NODE_W, sy
    for lx, ly in points[1:-1]:  # through each lane: in, straight across, out
        d += _curve(x, y, lx, ly) + f" L{_f(lx + NODE_W)},{_f(ly)}"
        x, y = lx + NODE_W, ly
    d += _curve(x, y, tx - 2, ty)
    if len(points) > 2:
        lx, ly = points[1]
        return d, lx + NODE_W / 2, ly
    return d, (x + tx) / 2, (y + ty) / 2


def _short_kind(kind: str) -> str:
    base, _, access = kind.partition(":")
    return access or {"can_assume": "assume", "can_impersonate": "impersonate"}.get(base, base)


def _node_sub(node: str, verdicts: dict[str, str], starts: set[str]) -> str:
    kind = node.partition(":")[0]
    if kind == "system":
        return VERDICT_LABEL.get(verdicts.get(node, ""), "system")
    if kind == "principal":
        return "account principal"
    return "integration identity" if node in starts else "identity reached by acting as"


def render_graph(graph_id: str, routes: Sequence[Route], starts: Sequence[str], names: dict[str, str],
                 title: str) -> str:
    """The SVG of the routes; `graph_id` prefixes its element ids (ids never come from the estate)."""
    edges = graph_edges(routes)
    layer, lanes = _dummies(edges, _layers(edges, starts))
    pos = _positions(edges, layer, lanes, names)
    by_system: dict[str, list[str]] = defaultdict(list)
    for route in routes:
        by_system[f"system:{route.system}"].append(route.verdict)
    verdicts = {node: worst(found) for node, found in by_system.items()}
    width = PAD * 2 + (max(layer.values(), default=0) + 1) * (NODE_W + COL_GAP) - COL_GAP
    backwards = any(layer[e.source] >= layer[e.target] for e in edges)
    bottom = max((y + _height(n) / 2 for n, (_, y) in pos.items()), default=PAD)
    height = bottom + PAD + (LOOP_DEPTH if backwards else 0)
    out = [f'<svg class="graph" id="{graph_id}" xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" '
           f'height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" role="group" '
           f'aria-label="access paths of {h(title)}">', "<defs>"]
    for verdict in (*VERDICT_LABEL, ""):
        out.append(f'<marker id="{graph_id}-a-{verdict or "none"}" class="v-{verdict or "none"}" viewBox="0 0 10 10" '
                   'refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto">'
                   '<path d="M0,0 L10,5 L0,10 z"/></marker>')
    out.append("</defs>")
    start_set = set(starts)
    for i, edge in enumerate(edges):
        d, mx, my = _edge_geometry([pos[n] for n in (edge.source, *lanes.get(i, ()), edge.target)])
        src, dst = node_label(edge.source, names), node_label(edge.target, names)
        verdict = edge.verdict or "none"
        reason = "\n".join(edge.reasons)
        out.append(
            f'<g class="edge v-{verdict}" tabindex="0" role="button" data-edge="{i}" data-from="{h(src)}" '
            f'data-to="{h(dst)}" data-kind="{h(edge.kind)}" data-reason="{h(reason, multiline=True)}" '
            f'aria-label="{h(f"{src} {edge.kind} {dst}")}">'
            f"<title>{h(src)} → {h(dst)} ({h(edge.kind)}): click for the reason</title>"
            f'<path class="hit" d="{d}"/><path class="line" d="{d}" marker-end="url(#{graph_id}-a-{verdict})"/>'
            f'<text class="elabel" x="{_f(mx)}" y="{_f(my - 4)}" text-anchor="middle">{h(_short_kind(edge.kind))}'
            "</text></g>")
    for node in sorted((n for n in pos if not _is_lane(n)), key=lambda n: (layer[n], pos[n][1], n)):
        x, y = pos[node][0], pos[node][1] - NODE_H / 2
        kind = node.partition(":")[0]
        verdict = verdicts.get(node, "")
        classes = f"node n-{h(kind)}" + (f" v-{verdict}" if verdict else "") + (" start" if node in start_set else "")
        out.append(f'<g class="{classes}" data-node="{h(node)}"><title>{h(node)}</title>'
                   f'<rect x="{_f(x)}" y="{_f(y)}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
                   f'<text class="nlabel" x="{_f(x + 10)}" y="{_f(y + 16)}">{h(node_label(node, names), MAX_LABEL)}'
                   f'</text><text class="nsub" x="{_f(x + 10)}" y="{_f(y + 30)}">'
                   f"{h(_node_sub(node, verdicts, start_set))}</text></g>")
    out.append("</svg>")
    return "".join(out)
