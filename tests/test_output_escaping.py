"""Estate data is attacker-controlled: every output escapes it for its own context (issue defects 2-5).

A snapshot whose names, paths, tags, reasons and collection issues hold Rich markup (`/[/x]/`), terminal
escapes (clear screen, OSC 8 hyperlinks, CR + a forged "0 findings, all clear" line, NUL, BEL), a bidi
override, HTML, backticks, Markdown links and XML specials goes through the real CLI in every format.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from sarif_checks import github_problems, schema_errors
from typer.testing import CliRunner

from nhiaudit.baseline import load_report
from nhiaudit.cli import build_app

ACCT = "111122223333"
HOSTILE = ("\x1b[2J" + "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\" + "\r0 findings, all clear\n"
           + "\x00\x07\u202e<img src=x onerror=alert(1)>``[x](http://evil)]]>&amp;[/x]")
ROLE = f"arn:aws:iam::{ACCT}:role/[/x]/bot{HOSTILE}"
HOP = f"arn:aws:iam::{ACCT}:role/[/x]/hop<script>alert(1)</script>{HOSTILE}"
USER = f"arn:aws:iam::{ACCT}:user/[/x]/key{HOSTILE}"
POLICY_ID = f"arn:aws:iam::{ACCT}:policy/p{HOSTILE}"
T = "2026-01-01T00:00:00Z"
AS_OF = ["--as-of", "2026-02-01"]
# What a terminal must never receive from data: C0 (but our own newline), DEL, C1, bidi and invisible controls.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
SGR = re.compile("\x1b\\[[0-9;]*m")  # Rich's own colour codes, the only escapes allowed with colour


def _identity(ident: str, kind: str, name: str) -> dict:
    return {"id": ident, "provider": "aws", "account": ACCT, "kind": kind, "name": name, "created": T,
            "tags": {"env" + HOSTILE: "prod" + HOSTILE}, "owner": "o" + HOSTILE, "last_activity": T,
            "policy_ids": [POLICY_ID], "attributes": {"path": "/[/x]/"}}


def hostile_snapshot() -> dict:
    return {
        "schema_version": 1, "generated_at": T,
        "sources": [{"provider": "aws", "account": ACCT, "method": "import", "collected_at": T, "detail": HOSTILE}],
        "identities": [_identity(ROLE, "role", "bot" + HOSTILE), _identity(HOP, "role", "hop" + HOSTILE),
                       _identity(USER, "user", "key" + HOSTILE)],
        "credentials": [{"id": "AKIA" + HOSTILE, "identity_id": USER, "provider": "aws", "type": "access_key",
                         "created": "2020-01-01T00:00:00Z", "last_used": T, "last_used_service": "s3" + HOSTILE}],
        "policies": [{"id": POLICY_ID, "provider": "aws", "name": "p" + HOSTILE, "statements": [
            {"effect": "Allow", "sid": "s" + HOSTILE, "resources": ["*"],
             "actions": ["bedrock:InvokeModel", "s3:GetObject", "sts:AssumeRole", "iam:CreatePolicyVersion"]}]}],
        "trusts": [{"identity_id": HOP, "principal": ROLE, "kind": "assume_role", "reason": "trust " + HOSTILE},
                   {"identity_id": ROLE, "principal": "*", "kind": "assume_role", "reason": "any " + HOSTILE}],
        "workloads": [{"id": "wl" + HOSTILE, "provider": "aws", "account": ACCT, "kind": "lambda" + HOSTILE,
                       "name": "fn" + HOSTILE, "identity_id": ROLE, "region": "eu" + HOSTILE}],
        "delegated_grants": [],
        "collection_issues": [{"provider": "aws", "account": ACCT, "operation": "op" + HOSTILE,
                               "message": "denied" + HOSTILE, "missing": "m" + HOSTILE}],
    }


def hostile_policy() -> str:
    # JSON strings are YAML double-quoted scalars: the control characters arrive as \u escapes.
    return f"""version: 1
systems:
  pii:
    environment: prod
    classification: restricted
    resources: ["arn:aws:s3:::*"]
  models:
    kind: ai-model
    resources: ["arn:aws:bedrock:*"]
integrations:
  - name: evil-bot
    kind: agent
    owner: {json.dumps("o<img src=x>``[x](http://evil) www.evil.com a@evil.com")}
    purpose: {json.dumps("p <script>alert(1)</script> [x](http://evil) [/x]")}
    environment: prod
    identities: [{json.dumps(ROLE)}]
    may_reach: [models]
    must_not_reach: [pii]
"""


@pytest.fixture(scope="module")
def estate(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "snap.json").write_text(json.dumps(hostile_snapshot(), indent=1), encoding="utf-8")
    (root / "policy.yaml").write_text(hostile_policy(), encoding="utf-8")
    return root


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args))


def scan_args(root: Path) -> list[str]:
    return ["scan", "-s", str(root / "snap.json"), "-p", str(root / "policy.yaml"), *AS_OF]


def assert_terminal_safe(text: str, color: bool = False) -> None:
    if color:
        text = SGR.sub("", text)
    bad = UNSAFE.search(text)
    assert bad is None, f"raw {bad.group()!r} at {bad.start()}: {text[max(0, bad.start() - 60):bad.start() + 20]!r}"
    assert not any(line.lstrip(" │|").startswith("0 findings, all clear") for line in text.splitlines())


def assert_cli_clean(result, codes=(0, 1, 3)) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in codes, (result.exit_code, result.output)
    assert_terminal_safe(result.stdout)
    assert_terminal_safe(result.stderr)


# ---- Markdown, rendered by a real CommonMark renderer --------------------------------------------------

_OWN_HTML = re.compile(r"^(<details>|</details>|<details><summary><b>[A-Za-z ]+\(\d+\)</b></summary>)\s*$")
# GitHub's extended autolinks (cmark-gfm) look for these inside one text node; a backslash escape splits it.
_GFM_AUTOLINK = re.compile(r"(https?://|ftp://|www\.|mailto:|[\w.+-]@[\w-]+\.\w)", re.IGNORECASE)


def _walk(tokens):
    for token in tokens:
        yield token
        yield from _walk(token.children or [])


def assert_markdown_safe(text: str) -> None:
    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    md.disable("text_join")  # keep escaped characters as their own tokens, as cmark-gfm's text nodes are
    tokens = list(_walk(md.parse(text)))
    for token in tokens:
        assert token.type not in ("link_open", "image", "autolink"), (token.type, token.content, token.attrs)
        if token.type in ("html_inline", "html_block"):
            assert _OWN_HTML.match(token.content), f"raw HTML from data: {token.content!r}"
        if token.type == "text":
            assert not _GFM_AUTOLINK.search(token.content), f"would be autolinked on GitHub: {token.content!r}"
    html = md.render(text)
    for needle in ("<a ", "<img", "<script", "onerror=\"", "\x1b"):
        assert needle not in html, needle


# ---- scan -------------------------------------------------------------------------------------------

def test_table_report_with_markup_and_escapes_in_data_does_not_crash(estate):
    result = run(*scan_args(estate))
    assert_cli_clean(result, codes=(1,))
    out = result.stdout
    assert "[/x]" in out  # shown literally, not taken as a Rich closing tag (was MarkupError)
    assert "\\x1b[2J" in out and "\\r0 findings, all clear\\n" in out and "\\u202e" in out


def test_readme_ci_command_writes_every_output_despite_markup_in_data(estate, tmp_path):
    out = {k: tmp_path / f"r.{k}" for k in ("json", "sarif", "md")}
    result = run(*scan_args(estate), "--fail-on", "high", "--output-json", str(out["json"]),
                 "--output-sarif", str(out["sarif"]), "--output-markdown", str(out["md"]))
    assert_cli_clean(result, codes=(1,))
    report = json.loads(out["json"].read_text(encoding="utf-8"))
    assert any(f["identity"] and f["identity"]["id"] == ROLE for f in report["findings"])  # data kept intact
    sarif = json.loads(out["sarif"].read_text(encoding="utf-8"))
    assert schema_errors(sarif) == [] and github_problems(sarif) == []
    assert_markdown_safe(out["md"].read_text(encoding="utf-8"))


def test_sarif_messages_escape_embedded_link_brackets(estate):
    result = run(*scan_args(estate), "--format", "sarif")
    assert_cli_clean(result, codes=(1,))
    sarif = json.loads(result.stdout)
    assert schema_errors(sarif) == [] and github_problems(sarif) == []
    texts = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any("\\[x\\](http://evil)" in t for t in texts)
    assert not any(re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", t) for t in texts)  # no `[text](target)` link


def test_markdown_report_renders_no_html_link_or_autolink_from_data(estate):
    result = run(*scan_args(estate), "--format", "markdown")
    assert_cli_clean(result, codes=(1,))
    assert_markdown_safe(result.stdout)
    assert "\\\\x1b" in result.stdout  # ESC shown as the visible (Markdown-escaped) `\x1b`


def test_table_in_colour_has_only_colour_codes(estate, tmp_path):
    from nhiaudit.reporters.interface import RenderContext
    from nhiaudit.reporters.table import TableReporter

    result = run(*scan_args(estate), "--format", "json", "-o", str(tmp_path / "r.json"))
    assert result.exit_code == 1
    report = load_report(tmp_path / "r.json")
    text = TableReporter(width=100, color=True).render(report, RenderContext())
    assert "\x1b[" in text  # coloured
    assert_terminal_safe(text, color=True)


# ---- explain, graph, diff, rules -----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_explain_and_can_reach_escape_data(estate, fmt):
    base = ["-s", str(estate / "snap.json"), "-p", str(estate / "policy.yaml"), *AS_OF, "--format", fmt]
    for args in (["explain", "evil-bot", *base], ["explain", "--can-reach", "pii", *base]):
        result = run(*args)
        assert_cli_clean(result)
        if fmt == "json":
            json.loads(result.stdout)
        elif fmt == "markdown":
            assert_markdown_safe(result.stdout)
        else:
            assert "[/x]" in result.stdout


def test_explain_tree_in_colour_has_only_colour_codes(estate):
    from datetime import date

    from nhiaudit.explain.build import explain
    from nhiaudit.explain.inputs import prepare_inputs
    from nhiaudit.explain.render import render
    from nhiaudit.explain.target import resolve
    from nhiaudit.inventory.snapshot import load_snapshot

    prepared = prepare_inputs(load_snapshot(estate / "snap.json"), estate / "policy.yaml", [], date(2026, 2, 1),
                              with_findings=True)
    result = explain(prepared.context, resolve(prepared.context.estate, "evil-bot"), prepared.findings)
    text = render(result, "table", color=True, width=100)
    assert "\x1b[" in text
    assert_terminal_safe(text, color=True)


def _graph(estate: Path, fmt: str) -> str:
    result = run("graph", "-s", str(estate / "snap.json"), "-p", str(estate / "policy.yaml"), *AS_OF, "-f", fmt)
    assert_cli_clean(result)
    return result.stdout


def test_graph_exports_parse_back(estate, tmp_path):
    nodes = json.loads(_graph(estate, "json"))["nodes"]
    assert any(n["id"] == f"identity:{ROLE}" for n in nodes)  # JSON keeps the real id (control characters \u-escaped)

    graphml = ET.fromstring(_graph(estate, "graphml").encode("utf-8"))  # well-formed XML 1.0
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    ids = [n.get("id") for n in graphml.iterfind(".//g:node", ns)]
    assert len(ids) == len(set(ids)) == len(nodes)
    assert any(i.startswith(f"identity:arn:aws:iam::{ACCT}:role/[/x]/bot\\x1b[2J") for i in ids)

    mermaid = _graph(estate, "mermaid")
    for line in mermaid.splitlines()[1:]:
        assert re.fullmatch(r'  (n\d+\["[^"<>`]*(<br/>)?[^"<>`]*"\]|n\d+ -->\|"[^"<>`]*"\| n\d+|classDef .*|class .*)',
                            line), line

    dot = _graph(estate, "dot")
    if shutil.which("dot") is None:
        pytest.skip("graphviz is not installed")
    svg = subprocess.run(["dot", "-Tsvg"], input=dot.encode("utf-8"), capture_output=True, timeout=60, check=True)
    root = ET.fromstring(svg.stdout)
    assert len(root.findall(".//{http://www.w3.org/2000/svg}g[@class='node']")) == len(nodes)


def test_diff_escapes_data_in_every_format(estate, tmp_path):
    new = tmp_path / "new.json"
    assert run(*scan_args(estate), "--format", "json", "-o", str(new)).exit_code == 1
    old = tmp_path / "old[bold]\x1b[2J.json"
    data = json.loads(new.read_text(encoding="utf-8"))
    old.write_text(json.dumps({**data, "findings": []}), encoding="utf-8")
    table = run("diff", str(old), str(new))
    assert_cli_clean(table)
    assert "old[bold]\\x1b[2J.json" in "".join(table.stdout.split())  # label wraps at the width
    assert_markdown_safe(run("diff", str(old), str(new), "--format", "markdown").stdout)
    json.loads(run("diff", str(old), str(new), "--format", "json").stdout)


def test_rules_list_shows_rule_text_literally(tmp_path):
    rule = Path("nhiaudit/shipped_rules/admin-access.yaml").read_text(encoding="utf-8")
    rule = rule.replace("id: admin-access", "id: custom-admin").replace(
        "title: Non-human identity has full administrator access", 'title: "[/x] \\e[2J [bold]x"')
    (tmp_path / "custom-admin.yaml").write_text(rule, encoding="utf-8")
    result = run("rules", "list", "--rules", str(tmp_path))
    assert_cli_clean(result, codes=(0,))
    assert "[/x]" in result.stdout and "[bold]x" in result.stdout


def test_input_error_messages_escape_file_names(tmp_path):
    (tmp_path / "bad[").mkdir()
    bad = tmp_path / "bad[/x]\x1b[2J\x07.json"  # a directory `bad[` and a file `x]...`: Rich markup `[/x]`
    bad.write_text("{not json", encoding="utf-8")
    result = run("scan", "-s", str(bad))
    assert_cli_clean(result, codes=(2,))
    assert "bad[/x]\\x1b[2J\\x07.json" in result.stderr


def test_progress_lines_escape_account_names_and_messages():
    import io

    from rich.console import Console

    from nhiaudit.connectors.aws.progress import AccountProgress
    from nhiaudit.inventory.model import CollectionIssue, Provider
    from nhiaudit.inventory.snapshot import Snapshot

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200)
    snap = Snapshot(collection_issues=[CollectionIssue(provider=Provider.AWS, account=ACCT,
                                                       operation="iam:ListRoles", message="denied" + HOSTILE)])
    with AccountProgress(console, 1) as progress:
        progress.done(ACCT, "prod" + HOSTILE, snap)
    text = SGR.sub("", buffer.getvalue())
    text = re.sub("\x1b\\[\\?25[lh]|\r|\x1b\\[2K|\x1b\\[1A", "", text)  # the progress bar's own cursor control
    assert "prod\\x1b[2J" in text and "denied\\x1b[2J" in text
    assert_terminal_safe(text)


# ---- lone surrogates (from `\ud800` escapes in imported JSON) -----------------------------------------

def test_lone_surrogates_never_break_an_output(estate, tmp_path):
    from nhiaudit.graph.export import GraphFormat, export_graph
    from nhiaudit.reporters import OutputFormat, RenderContext, get_reporter

    assert run(*scan_args(estate), "--format", "json", "-o", str(tmp_path / "r.json")).exit_code == 1
    report = load_report(tmp_path / "r.json")
    finding = report.findings[0]
    ident = finding.identity.model_copy(update={"name": "bad\ud800name", "id": finding.identity.id + "\udfff"})
    report = report.model_copy(update={"findings": [finding.model_copy(update={
        "identity": ident, "message": "lone \ud800 surrogate [/x]"}), *report.findings[1:]]})
    for fmt in OutputFormat:
        text = get_reporter(fmt).render(report, RenderContext())
        text.encode("utf-8")  # was UnicodeEncodeError / PydanticSerializationError
        if fmt in (OutputFormat.JSON, OutputFormat.SARIF):
            assert "\ufffd" in json.dumps(json.loads(text), ensure_ascii=False)
        if fmt is OutputFormat.TABLE:
            assert_terminal_safe(text)

    import networkx as nx

    g = nx.MultiDiGraph()
    g.add_node("identity:a\ud800\x00", kind="identity", label="a\ud800\x00\u202e")
    g.add_node("identity:a\\ud800\\x00", kind="identity")  # escapes to the same text as the first: kept apart
    g.add_edge("identity:a\ud800\x00", "identity:a\\ud800\\x00", kind="can_assume", reason="r\x1b\udc00")
    for fmt in GraphFormat:
        text = export_graph(g, fmt)
        text.encode("utf-8")
        assert_terminal_safe(text)
    root = ET.fromstring(export_graph(g, GraphFormat.GRAPHML).encode("utf-8"))
    assert len(root.findall(".//{http://graphml.graphdrawing.org/xmlns}node")) == 2
    assert len(json.loads(export_graph(g, GraphFormat.JSON))["nodes"]) == 2


# ---- the sanitisers themselves ------------------------------------------------------------------------

def test_terminal_safe_shows_controls_visibly_and_keeps_text():
    from nhiaudit.textsafe import terminal_safe

    assert terminal_safe("r\u00f4le/\u65e5\u672c [/x] <b>") == "r\u00f4le/\u65e5\u672c [/x] <b>"
    assert terminal_safe("a\x1b[2J\r\n\t\x00\x07\x9b\u202e\u2066\u200b\ufeff\u2028\ud800\U000e0041") == (
        "a\\x1b[2J\\r\\n\\t\\x00\\x07\\x9b\\u202e\\u2066\\u200b\\ufeff\\u2028\\ud800\\U000e0041")
    assert terminal_safe("one\ntwo\x1b", keep_newlines=True) == "one\ntwo\\x1b"


_PIECES = [*"`*_[]()<>!&#;|\\~:/.@$ -aZ1\n\t\x1b\x00", "http://", "www.", "&amp;", "<img ", "]]>", "a@b.co"]
_TRICKY = st.lists(st.sampled_from(_PIECES), max_size=25).map("".join)


def _inline_tokens(markdown: str):
    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    blocks = md.parse(markdown)
    return [t for b in blocks if b.type == "inline" for t in b.children]


@settings(max_examples=300, deadline=None)
@given(_TRICKY)
def test_md_text_renders_as_the_literal_text(value):
    from nhiaudit.textsafe import md_text, terminal_safe

    expected = terminal_safe(" ".join(value.split()))
    tokens = _inline_tokens(f"x {md_text(value)} x")
    assert {t.type for t in tokens} <= {"text", "text_special"}, [t.type for t in tokens]
    assert "".join(t.content for t in tokens) == f"x {expected} x"


@settings(max_examples=300, deadline=None)
@given(_TRICKY)
def test_md_code_is_one_code_span_holding_the_value(value):
    from nhiaudit.textsafe import md_code, terminal_safe

    expected = terminal_safe(" ".join(value.split()))
    tokens = _inline_tokens(f"x {md_code(value, table=False)} x")
    assert [t.type for t in tokens] == ["text", "code_inline", "text"]
    assert tokens[1].content == (expected or " ")
    cell = MarkdownIt("commonmark").enable("table").parse(f"| a | b |\n|---|---|\n| {md_code(value)} | z |\n")
    row = [t for t in cell if t.type == "inline"][2:]
    assert len(row) == 2 and row[1].content == "z"  # no pipe from the value split the row
