"""Export the estate graph: GraphML (Gephi, yEd), DOT (Graphviz), Mermaid (GitHub Markdown), node-link JSON.

DOT and Mermaid never use the real node ids as identifiers (ARNs, e-mails and object ids contain quotes,
slashes, `@`, colons and spaces): nodes get generated ids n0..nN and the real id goes into the label or
tooltip, escaped for the target syntax.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from nhiaudit.errors import UsageError
from nhiaudit.textsafe import json_safe, terminal_safe, xml_charrefs, xml_safe

if TYPE_CHECKING:  # networkx is imported where used: the CLI imports this module at start-up
    import networkx as nx

MERMAID_MAX_NODES = 300


class GraphFormat(StrEnum):
    GRAPHML = "graphml"
    DOT = "dot"
    MERMAID = "mermaid"
    JSON = "json"


def focus_subgraph(g: nx.MultiDiGraph, center: str, depth: int) -> nx.MultiDiGraph:
    """Nodes within `depth` hops of `center`, whatever the edge direction, with every edge between them."""
    import networkx as nx

    if center not in g:
        raise UsageError(f"--focus: node {center!r} is not in the graph")
    if depth < 0:
        raise UsageError("--depth must be 0 or more")
    nodes = nx.ego_graph(g.to_undirected(as_view=True), center, radius=depth).nodes
    return g.subgraph(nodes).copy()


def _scalar(value: Any) -> str | int | float | bool | None:
    """GraphML only stores str/int/float/bool: enums become their value, containers a JSON string."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _flat(attrs: dict[str, Any]) -> dict[str, str | int | float | bool]:
    flat = ((k, _scalar(v)) for k, v in attrs.items())
    return {k: xml_safe(v) if isinstance(v, str) else v for k, v in flat if v is not None}


def _xml_ids(nodes: Iterable[str]) -> dict[str, str]:
    """Node id -> an id XML 1.0 can hold; unique even if escaping makes two ids alike (nothing merged)."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for node in nodes:
        safe = candidate = xml_safe(str(node))
        n = 1
        while candidate in used:
            n += 1
            candidate = f"{safe}#{n}"
        ids[node] = candidate
        used.add(candidate)
    return ids


def flattened(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy whose attribute values are all GraphML-compatible scalars and whose ids and strings hold only
    characters XML 1.0 allows (ElementTree would write a control character raw: not well-formed XML)."""
    import networkx as nx

    ids = _xml_ids(g.nodes)
    out = nx.MultiDiGraph()
    out.add_nodes_from((ids[n], _flat(d)) for n, d in g.nodes(data=True))
    out.add_edges_from((ids[u], ids[v], k, _flat(d)) for u, v, k, d in g.edges(keys=True, data=True))
    return out


def to_graphml(g: nx.MultiDiGraph) -> str:
    import networkx as nx

    buffer = io.BytesIO()
    nx.write_graphml(flattened(g), buffer, encoding="utf-8", prettyprint=True, named_key_ids=True)
    return xml_charrefs(buffer.getvalue().decode("utf-8"))


def to_json(g: nx.MultiDiGraph) -> str:
    """node-link JSON (networkx.node_link_graph(data, edges="edges") loads it back)."""
    import networkx as nx

    data = nx.node_link_data(g, edges="edges")
    data["graph"] = {"generator": "nhiaudit", "nodes": g.number_of_nodes(), "edges": g.number_of_edges()}
    # ensure_ascii=False, then json_safe: lone surrogates (`\ud800` escapes are not text to strict parsers)
    # become U+FFFD, bidi and C1 characters \u escapes; json escapes C0 controls itself.
    return json_safe(json.dumps(data, indent=2, sort_keys=False, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _safe_ids(nodes: Iterable[str]) -> dict[str, str]:
    return {node: f"n{i}" for i, node in enumerate(nodes)}


def _edge_label(data: dict[str, Any]) -> str:
    kind = str(data.get("kind", ""))
    return f"{kind}: {data['access']}" if data.get("access") else kind


def _node_label(node: str, data: dict[str, Any]) -> tuple[str, str]:
    """(first line, second line) of a node's label: its short name, then kind and real id."""
    label = str(data.get("label") or data.get("ref") or node)
    kind = str(data.get("kind", ""))
    ref = str(data.get("ref") or node)
    return label, f"{kind}: {ref}" if ref != label else kind


# ---- DOT ---------------------------------------------------------------------------------------------

_DOT_SHAPES = {"identity": "box", "credential": "note", "workload": "component", "system": "cylinder",
               "integration": "hexagon", "external_principal": "diamond"}
_DOT_ATTRS = ("kind", "provider", "account", "ref")
_LINE_BREAKS = re.compile(r"[\t\n\r]")


def _one_line(text: str) -> str:
    """Tabs and line breaks as spaces, every other control, bidi or invisible character visibly escaped."""
    return terminal_safe(_LINE_BREAKS.sub(" ", text))


def dot_string(text: str, expansions: int = 1) -> str:
    """A DOT double-quoted string: quotes escaped, backslashes doubled once per escString expansion the
    attribute goes through (labels: one; SVG tooltips: two), so no `\\N`-style escape survives."""
    text = _one_line(text).replace("\\", "\\" * (2 ** expansions)).replace('"', '\\"')
    return f'"{text}"'


def to_dot(g: nx.MultiDiGraph) -> str:
    ids = _safe_ids(g.nodes)
    lines = ["digraph nhiaudit {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for node, data in g.nodes(data=True):
        first, second = _node_label(node, data)
        attrs = {"label": f"{first}\n{second}", "tooltip": node,
                 "shape": _DOT_SHAPES.get(str(data.get("kind")), "box")}
        attrs.update({f"nhi_{k}": str(data[k]) for k in _DOT_ATTRS if data.get(k)})
        body = ", ".join(f"{k}={_dot_value(k, v)}" for k, v in attrs.items())
        lines.append(f"  {ids[node]} [{body}];")
    for u, v, data in g.edges(data=True):
        attrs = {"label": _edge_label(data), "tooltip": str(data.get("reason", "")),
                 "nhi_kind": str(data.get("kind", ""))}
        if data.get("access"):
            attrs["nhi_access"] = str(data["access"])
        body = ", ".join(f"{k}={_dot_value(k, val)}" for k, val in attrs.items())
        lines.append(f"  {ids[u]} -> {ids[v]} [{body}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_value(key: str, value: str) -> str:
    if key == "label":
        return _dot_label(value)
    return dot_string(value, expansions=2 if key == "tooltip" else 1)


def _dot_label(text: str) -> str:
    """Like dot_string, but each line break becomes DOT's `\\n` escape (the only escape we emit)."""
    return '"' + "\\n".join(dot_string(line)[1:-1] for line in text.split("\n")) + '"'


# ---- Mermaid -----------------------------------------------------------------------------------------

# Inside a quoted label only `"` breaks the syntax, but `#x;` is an entity, `<>&` are HTML and a leading
# backtick starts a Markdown string: keep the characters ids are made of, encode every other one.
_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _.,:/@()=+*?!-]")
_MERMAID_CLASSES = {
    "identity": "fill:#dbeafe,stroke:#1e40af", "credential": "fill:#fef3c7,stroke:#92400e",
    "workload": "fill:#e0e7ff,stroke:#3730a3", "system": "fill:#fee2e2,stroke:#991b1b",
    "integration": "fill:#dcfce7,stroke:#166534", "external_principal": "fill:#f3f4f6,stroke:#374151",
}


def mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: every character outside [A-Za-z0-9 _.,:/@()=+*?!-] becomes
    an entity code (`#34;` for a quote, `#35;` for `#`...), which Mermaid renders as the character and which
    can never close the label or be read as HTML, Markdown or another entity."""
    text = _one_line(text)
    return "".join(ch if _MERMAID_SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


def to_mermaid(g: nx.MultiDiGraph, max_nodes: int = MERMAID_MAX_NODES) -> str:
    if g.number_of_nodes() > max_nodes:
        raise UsageError(
            f"the graph has {g.number_of_nodes()} nodes; Mermaid output is limited to {max_nodes} "
            "(GitHub cannot render more). Narrow it with --focus TARGET --depth N, "
            "or use --format dot|graphml|json"
        )
    ids = _safe_ids(g.nodes)
    lines = ["flowchart LR"]
    by_kind: dict[str, list[str]] = {}
    for node, data in g.nodes(data=True):
        first, second = _node_label(node, data)
        lines.append(f'  {ids[node]}["{mermaid_text(first)}<br/>{mermaid_text(second)}"]')
        kind = str(data.get("kind", ""))
        if kind in _MERMAID_CLASSES:
            by_kind.setdefault(kind, []).append(ids[node])
    for u, v, data in g.edges(data=True):
        lines.append(f'  {ids[u]} -->|"{mermaid_text(_edge_label(data))}"| {ids[v]}')
    for kind, members in by_kind.items():
        lines.append(f"  classDef {kind} {_MERMAID_CLASSES[kind]}")
        lines.append(f"  class {','.join(members)} {kind}")
    return "\n".join(lines) + "\n"


def export_graph(g: nx.MultiDiGraph, fmt: GraphFormat | str) -> str:
    fmt = GraphFormat(fmt)
    if fmt is GraphFormat.GRAPHML:
        return to_graphml(g)
    if fmt is GraphFormat.DOT:
        return to_dot(g)
    if fmt is GraphFormat.MERMAID:
        return to_mermaid(g)
    return to_json(g)
