"""`nhiaudit graph`: GraphML loads in networkx, DOT is accepted by Graphviz, Mermaid survives awkward names."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.errors import UsageError
from nhiaudit.explain.inputs import prepare_inputs
from nhiaudit.graph.export import (
    MERMAID_MAX_NODES,
    dot_string,
    focus_subgraph,
    mermaid_text,
    to_dot,
    to_graphml,
    to_mermaid,
)
from nhiaudit.inventory.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
INPUTS = ["--snapshot", str(DEMO / "snapshot.json"), "--policy", str(DEMO / "policy.yaml"), "--as-of", "2026-11-28"]
COPILOT = "identity:arn:aws:iam::111122223333:role/support-copilot"
DOT = shutil.which("dot")
NO_DOT = "Graphviz `dot` is not installed (apt-get install -y graphviz); DOT syntax is not checked"

# Ids and labels with everything that breaks naive DOT / Mermaid output.
AWKWARD = [
    'identity:arn:aws:iam::111122223333:role/path/"quoted" role',
    "identity:svc@proj.iam.gserviceaccount.com",
    "system:pii; DROP -->|x| end %% comment",
    "identity:back\\slash \\N #quot; <b>bold</b> `tick` [br] {c} |pipe|",
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), ["graph", *args, *INPUTS])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def demo_graph() -> nx.MultiDiGraph:
    snapshot = load_snapshot(DEMO / "snapshot.json")
    ctx = prepare_inputs(snapshot, DEMO / "policy.yaml", [], date(2026, 11, 28), with_findings=False).context
    return ctx.estate.graph


def awkward_graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for node in AWKWARD:
        g.add_node(node, kind=node.split(":")[0], label=node.split(":", 1)[1], ref=node.split(":", 1)[1],
                   provider="aws", account="1:2")
    g.add_edge(AWKWARD[0], AWKWARD[2], kind="can_reach", access="read", reason='statement "S1" allows s3:* on *',
               evidence={"statements": [{"sid": 'a"b'}]})
    g.add_edge(AWKWARD[1], AWKWARD[0], kind="can_assume", reason="trust policy of x|y --> z", conditions={})
    g.add_edge(AWKWARD[3], AWKWARD[2], kind="can_reach", access="write", reason="back\\slash\nnew line")
    return g


def test_graphml_loads_back_in_networkx(tmp_path, demo_graph):
    out = tmp_path / "estate.graphml"
    code, _, err = run("--format", "graphml", "--output", str(out))
    assert code == 0, err
    g = nx.read_graphml(out, force_multigraph=True)
    assert (g.number_of_nodes(), g.number_of_edges()) == (demo_graph.number_of_nodes(),
                                                          demo_graph.number_of_edges())
    node = g.nodes[COPILOT]
    assert (node["kind"], node["provider"], node["account"], node["label"]) == (
        "identity", "aws", "111122223333", "support-copilot")
    reach = [d for _, v, d in g.out_edges(COPILOT, data=True) if v == "system:support-tickets"]
    assert reach and reach[0]["kind"] == "can_reach" and reach[0]["access"] == "read"
    assert '"ReadTickets"' in reach[0]["reason"]
    assert isinstance(json.loads(reach[0]["evidence"]), dict)  # dict attributes travel as JSON strings


def test_graphml_of_awkward_names_round_trips(tmp_path):
    path = tmp_path / "awkward.graphml"
    path.write_text(to_graphml(awkward_graph()), encoding="utf-8")
    g = nx.read_graphml(path, force_multigraph=True)
    assert set(g.nodes) == set(AWKWARD)
    (edge,) = [d for u, _, d in g.edges(data=True) if u == AWKWARD[0]]
    assert json.loads(edge["evidence"]) == {"statements": [{"sid": 'a"b'}]}


def test_node_link_json_loads_back(demo_graph):
    code, out, _ = run("--format", "json")
    assert code == 0
    data = json.loads(out)
    g = nx.node_link_graph(data, edges="edges")
    assert g.is_directed() and g.is_multigraph()
    assert (g.number_of_nodes(), g.number_of_edges()) == (demo_graph.number_of_nodes(),
                                                          demo_graph.number_of_edges())
    assert g.nodes["system:customer-pii"]["classification"] == "restricted"
    evidence = [d["evidence"] for _, v, d in g.edges(data=True) if v == "system:customer-pii"]
    assert evidence and all(isinstance(e, dict) for e in evidence)  # JSON keeps structure


def test_focus_keeps_the_neighbourhood(demo_graph):
    code, out, err = run("--format", "json", "--focus", "support-copilot", "--depth", "1")
    assert code == 0 and "focus on integration support-copilot" in err
    assert {n["id"] for n in json.loads(out)["nodes"]} == {"integration:support-copilot", COPILOT}
    sub = focus_subgraph(demo_graph, "integration:support-copilot", 3)
    assert "system:customer-pii" in sub and "identity:arn:aws:iam::111122223333:role/analytics-reader" in sub
    assert "integration:hr-assistant" not in sub
    code, _, err = run("--focus", "nothing-like-this")
    assert code == 2 and "matches 'nothing-like-this'" in err


@pytest.mark.skipif(DOT is None, reason=NO_DOT)
def test_dot_is_accepted_by_graphviz(tmp_path):
    out = tmp_path / "estate.dot"
    assert run("--format", "dot", "--output", str(out))[0] == 0
    done = subprocess.run([DOT, "-Tsvg", str(out)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "AssumeAnalytics" in done.stdout  # an edge reason, as the tooltip


@pytest.mark.skipif(DOT is None, reason=NO_DOT)
def test_dot_of_awkward_names_is_accepted_and_renders_them_unchanged():
    text = to_dot(awkward_graph())
    done = subprocess.run([DOT, "-Tsvg"], input=text, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    titles = {html.unescape(t) for t in re.findall(r'xlink:title="([^"]*)"', done.stdout)}
    texts = {html.unescape(t) for t in re.findall(r">([^<>]*)</text>", done.stdout)}
    assert set(AWKWARD) <= titles  # real node ids as tooltips, no \N or quote mangling
    assert {n.split(":", 1)[1] for n in AWKWARD} <= texts  # and as labels
    assert "back\\slash new line" in titles  # an edge reason
    assert {m for m in re.findall(r"<title>(n\d+)</title>", done.stdout)} == {"n0", "n1", "n2", "n3"}


def test_dot_escaping_rules():
    assert dot_string('a "b" \\N c') == '"a \\"b\\" \\\\N c"'  # no \N escape survives
    assert dot_string("a\\N", expansions=2) == '"a\\\\\\\\N"'  # tooltips are expanded twice
    assert dot_string("line\nbreak") == '"line break"'
    text = to_dot(awkward_graph())
    for line in text.splitlines()[4:-1]:  # every node / edge statement: safe id, quoted attributes
        assert re.fullmatch(r'  n\d+( -> n\d+)? \[(\w+="(?:[^"\\]|\\.)*"(, )?)+\];', line), line


MERMAID_NODE = re.compile(r'  n\d+\["[^"]*"\]')
MERMAID_EDGE = re.compile(r'  n\d+ -->\|"[^"]*"\| n\d+')


def _decode(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


def test_mermaid_escaping_of_awkward_names():
    text = to_mermaid(awkward_graph())
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    for line in lines[1:]:
        assert MERMAID_NODE.fullmatch(line) or MERMAID_EDGE.fullmatch(line) or \
            re.fullmatch(r"  (classDef \w+ [\w:#,]+|class [n\d,]+ \w+)", line), line
    labels = [_decode(m) for m in re.findall(r'\["([^"]*)"\]', text)]
    for node in AWKWARD:  # every real id survives, decoded
        assert any(node.split(":", 1)[1] in label for label in labels), node
    for ch in '"#;<>&`[]{}|%\\':  # only entity codes, never the raw character, inside labels
        assert all(ch not in re.sub(r"#\d+;", "", raw.replace("<br/>", ""))
                   for raw in re.findall(r'"([^"]*)"', text)), ch
    assert mermaid_text('a "b"@c:d/e f') == "a #34;b#34;@c:d/e f"


@pytest.mark.skipif(not os.environ.get("MERMAID_PARSE_DIR") or shutil.which("node") is None,
                    reason="set MERMAID_PARSE_DIR to a directory with node_modules/mermaid and jsdom "
                    "to parse the output with Mermaid itself")
def test_mermaid_parses_with_mermaid(tmp_path):
    script = tmp_path / "parse.mjs"
    script.write_text(
        'import { JSDOM } from "jsdom"; import fs from "node:fs";\n'
        'const dom = new JSDOM("<!doctype html><body></body>");\n'
        "globalThis.window = dom.window; globalThis.document = dom.window.document;\n"
        'const { default: mermaid } = await import("mermaid");\n'
        "await mermaid.parse(fs.readFileSync(0, 'utf8'));\n")
    env = {**os.environ, "NODE_PATH": str(Path(os.environ["MERMAID_PARSE_DIR"]) / "node_modules")}
    link = tmp_path / "node_modules"  # ESM imports ignore NODE_PATH: resolve from the script's directory
    link.symlink_to(Path(os.environ["MERMAID_PARSE_DIR"]) / "node_modules")
    for text in (to_mermaid(awkward_graph()), run("--format", "mermaid")[1]):
        done = subprocess.run(["node", str(script)], input=text, capture_output=True, text=True, timeout=120,
                              env=env, check=False)
        assert done.returncode == 0, done.stderr


def test_mermaid_refuses_large_graphs_with_a_hint():
    g = nx.MultiDiGraph()
    g.add_nodes_from((f"identity:{i}", {"kind": "identity", "label": str(i)}) for i in range(MERMAID_MAX_NODES + 1))
    with pytest.raises(UsageError, match="--focus TARGET --depth N"):
        to_mermaid(g)
    assert to_mermaid(g.subgraph(list(g)[:MERMAID_MAX_NODES])).startswith("flowchart LR")


def test_mermaid_from_the_cli(demo_graph):
    code, out, _ = run("--format", "mermaid", "--focus", "customer-pii", "--depth", "2")
    assert code == 0 and out.startswith("flowchart LR")
    assert "customer-pii<br/>system" in out and "can_reach: read" in out
