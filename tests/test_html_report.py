"""The HTML report, opened in a real headless Chromium (Debian's `chromium` and `chromium-driver`, which
`./run.sh test` installs when missing) and driven through WebDriver: counts match the JSON report, filters
hide the right rows, headers sort, the integration graphs have one edge per hop whose reason a click shows,
and the page makes no network request. Without a browser only those tests skip; the checks on the file
itself (escaping, the Content-Security-Policy hashes, determinism) always run.

`NHIAUDIT_UPDATE_SCREENSHOTS=1 pytest tests/test_html_report.py` also refreshes docs/img/html-report*.png.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import report_factory as rf
from test_output_escaping import hostile_policy, hostile_snapshot
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.report import AccessPath
from nhiaudit.reporters import OutputFormat, RenderContext, get_reporter

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
DEMO_ARGS = ["scan", "--snapshot", str(DEMO / "snapshot.json"), "--policy", str(DEMO / "policy.yaml"),
             "--as-of", "2026-11-28"]
HOP = re.compile(r"(\S+) -\[([^\]]+)\]-> (\S+): (.*)", re.DOTALL)
SEVERITIES = ("critical", "high", "medium", "low", "info")


# ---- the file itself ---------------------------------------------------------------------------------

class _Page(HTMLParser):
    """Every start tag with its attributes, and the text of <style>, <script> and the CSP meta."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in self.raw else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in].append(data)

    def csp(self) -> str:
        return next(a["content"] or "" for t, a in self.tags
                    if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy")


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def render_demo(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The demo scan as HTML (--format html) and JSON (--output-json) from one run of the real CLI."""
    html_file, json_file = tmp_path / "report.html", tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), [*DEMO_ARGS, "--format", "html", "-o", str(html_file),
                                              "--output-json", str(json_file)])
    assert result.exit_code == 1, result.output
    return html_file, json.loads(json_file.read_text(encoding="utf-8"))


def test_page_loads_nothing_and_allows_only_its_own_style_and_script(tmp_path):
    html_file, _ = render_demo(tmp_path)
    page = parse(html_file.read_text(encoding="utf-8"))
    csp = dict(part.strip().split(" ", 1) for part in page.csp().split(";"))
    assert csp["default-src"] == "'none'" and csp["base-uri"] == "'none'" and csp["img-src"] == "data:"
    (style,), (script,) = page.raw["style"], page.raw["script"]
    assert csp["style-src"] == f"'{_hash(style)}'" and csp["script-src"] == f"'{_hash(script)}'"
    assert "unsafe" not in page.csp()
    tags = [t for t, _ in page.tags]
    assert tags.index("meta") < tags.index("style") and tags.count("script") == tags.count("style") == 1
    for tag, attrs in page.tags:
        assert not {"src", "style", "srcset", "action"} & attrs.keys(), (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert tag not in ("link", "iframe", "object", "embed", "img", "form", "base"), tag
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), attrs
    assert "http://" not in html_file.read_text().replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_output_html_writes_the_same_page_as_format_html(tmp_path):
    html_file, _ = render_demo(tmp_path)
    also = tmp_path / "also.html"
    result = CliRunner().invoke(build_app(), [*DEMO_ARGS, "--format", "json", "-o", str(tmp_path / "r.json"),
                                              "--output-html", str(also)])
    assert result.exit_code == 1, result.output
    assert also.read_bytes() == html_file.read_bytes()


def test_same_report_same_bytes_whatever_the_hash_seed(tmp_path):
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"r{seed}.html"
        proc = subprocess.run([sys.executable, "-m", "nhiaudit", *DEMO_ARGS, "-q", "--format", "html", "-o",
                               str(out)], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def _hostile_report():
    """A finding and an access path whose every name holds markup, a bidi override and a line separator."""
    name = '<script>alert("x")</script>\u202e"><img src=x onerror=alert(1)>'
    bad = rf.finding("scope-drift", name, message=f"{name} reaches </style><svg onload=alert(1)>",
                     integration=f"int{name}")
    hop = f"identity:{bad.identity.id} -[can_reach:read]-> system:pii: because <b>{name}</b>\u2028&amp;"
    path = AccessPath(integration=f"int{name}", identity=bad.identity.id, identity_name=name, provider="aws",
                      workloads=[f"lambda:{name}"],
                      credentials=[{"id": f"AKIA{name}", "type": "access_key", "static": True, "age_days": 3}],
                      reachable_systems=[{"system": "pii", "access": "read", "via_chain": False,
                                          "verdict": "must_not_reach", "path": [hop]}])
    return rf.report([bad]).model_copy(update={"access_paths": [path]})


def test_hostile_names_are_text_never_markup():
    report = _hostile_report()
    text = get_reporter(OutputFormat.HTML).render(report, RenderContext())
    page = parse(text)
    assert [t for t, _ in page.tags].count("script") == 1 and "img" not in [t for t, _ in page.tags]
    assert "because &lt;b&gt;&lt;script&gt;" in text and "because <b>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "&lt;/style&gt;&lt;svg onload=alert(1)&gt;" in text
    assert "\u202e" not in text and "\u2028" not in text and "\\u202e" in text
    assert "&amp;amp;" in text  # an entity in the data stays literal text
    (script,) = page.raw["script"]
    assert "alert" not in script


# ---- in Chromium ---------------------------------------------------------------------------------------

def _browser_paths() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver") if Path(p).exists()), None)
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    paths = _browser_paths()
    if paths is None:
        pytest.skip("chromium and chromedriver are not installed (./run.sh test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-default-apps", "--disable-sync"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # Both paths given: Selenium looks nothing up and downloads nothing.
    driver = webdriver.Chrome(service=Service(executable_path=paths[1]), options=options)
    yield driver
    driver.quit()


def _open(browser, path: Path) -> None:
    browser.get_log("performance")  # drop what earlier tests left
    browser.get_log("browser")
    browser.get(path.resolve().as_uri())


def _requests(browser) -> list[str]:
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _visible_rows(browser) -> list[Any]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#findings-table tbody tr')).filter(r => !r.hidden)")


def _counts(browser, key: str, column: str) -> dict[str, int]:
    return browser.execute_script(
        "const out = {}; for (const tr of document.querySelectorAll(`table[data-counts='${arguments[0]}'] tbody tr"
        "[data-${arguments[0]}-count]`)) out[tr.getAttribute(`data-${arguments[0]}-count`)] = "
        "Number(tr.querySelector(`[data-${arguments[1]}]`).textContent); return out;", key, column)


def _integration_key(finding: dict[str, Any]) -> str:
    if finding["integration"]:
        return "i:" + finding["integration"]
    return "undeclared" if finding["category"] == "undeclared-ai-identity" else "none"


def test_summary_counts_match_the_json_report(browser, tmp_path):
    html_file, report = render_demo(tmp_path)
    _open(browser, html_file)
    findings = report["findings"]
    by_severity = {s: report["summary"]["by_severity"].get(s, 0) for s in SEVERITIES}
    assert _counts(browser, "severity", "all") == by_severity
    assert _counts(browser, "category", "all") == report["summary"]["by_category"]
    assert _counts(browser, "severity", "open") == {
        s: sum(1 for f in findings if f["severity"] == s and f["status"] == "open") for s in SEVERITIES}
    assert _counts(browser, "integration", "all") == dict(Counter(_integration_key(f) for f in findings))
    assert _counts(browser, "provider", "all") == dict(
        Counter((f["identity"] or {}).get("provider", "none") for f in findings))
    assert len(_visible_rows(browser)) == len(findings)
    assert browser.find_element("id", "f-count").text == f"{len(findings)} of {len(findings)} findings shown"
    cards = {c.get_attribute("data-card"): int(c.find_element("tag name", "b").text)
             for c in browser.find_elements("css selector", ".card")}
    assert cards["open findings"] == report["summary"]["by_status"]["open"]
    assert cards["identities"] == report["summary"]["identities"]


def _searchable(finding: dict[str, Any]) -> str:
    ident = finding["identity"] or {}
    entry = (finding["policy_location"] or {}).get("entry", "") if not ident else ""
    return " ".join(str(x or "") for x in (
        finding["status"], finding["rule_id"], finding["category"], ident.get("provider"), finding["integration"],
        ident.get("name"), ident.get("id"), finding["credential_id"], entry, finding["message"])).lower()


def test_filters_hide_exactly_the_other_rows(browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    html_file, report = render_demo(tmp_path)
    _open(browser, html_file)
    findings = report["findings"]
    Select(browser.find_element("id", "f-severity")).select_by_value("critical")
    rows = _visible_rows(browser)
    assert {r.get_attribute("data-severity") for r in rows} == {"critical"}
    assert len(rows) == report["summary"]["by_severity"]["critical"]
    assert browser.find_element("id", "f-count").text == f"{len(rows)} of {len(findings)} findings shown"

    query = "genai-worker"
    browser.find_element("id", "f-text").send_keys(query.upper())  # case does not matter
    expected = {f["fingerprint"] for f in findings if f["severity"] == "critical" and query in _searchable(f)}
    assert expected and {r.get_attribute("data-fingerprint") for r in _visible_rows(browser)} == expected

    browser.find_element("id", "f-reset").click()
    assert len(_visible_rows(browser)) == len(findings)
    Select(browser.find_element("id", "f-category")).select_by_value("risky-trust")
    Select(browser.find_element("id", "f-provider")).select_by_value("aws")
    expected = {f["fingerprint"] for f in findings
                if f["category"] == "risky-trust" and (f["identity"] or {}).get("provider") == "aws"}
    assert {r.get_attribute("data-fingerprint") for r in _visible_rows(browser)} == expected

    # A summary row is a shortcut for its filter (and clears the others).
    browser.find_element("css selector", "tr[data-filter='provider'][data-value='gcp']").click()
    assert Select(browser.find_element("id", "f-provider")).first_selected_option.get_attribute("value") == "gcp"
    assert Select(browser.find_element("id", "f-category")).first_selected_option.get_attribute("value") == ""
    gcp = [f for f in findings if (f["identity"] or {}).get("provider") == "gcp"]
    assert len(_visible_rows(browser)) == len(gcp) > 0


def _column(browser, col: str) -> list[str]:
    """The text of one column in the visible rows, top to bottom."""
    return browser.execute_script(
        "const i = Array.from(document.querySelectorAll('#findings-table thead th'))"
        ".findIndex(th => th.dataset.col === arguments[0]);"
        "return Array.from(document.querySelectorAll('#findings-table tbody tr')).filter(r => !r.hidden)"
        ".map(r => r.cells[i].innerText.trim());", col)


def test_headers_sort_the_table(browser, tmp_path):
    html_file, report = render_demo(tmp_path)
    _open(browser, html_file)
    ranks = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    shown = [ranks[s.lower()] for s in _column(browser, "severity")]
    assert shown == sorted(shown, reverse=True)  # most severe first, as the header says
    rule_header = browser.find_element("css selector", "th[data-col='rule']")
    rule_header.find_element("tag name", "button").click()
    assert rule_header.get_attribute("aria-sort") == "ascending"
    assert _column(browser, "rule") == sorted(f["rule_id"] for f in report["findings"])
    rule_header.find_element("tag name", "button").click()
    assert rule_header.get_attribute("aria-sort") == "descending"
    assert _column(browser, "rule") == sorted((f["rule_id"] for f in report["findings"]), reverse=True)
    browser.find_element("css selector", "th[data-col='severity'] button").click()
    shown = [ranks[s.lower()] for s in _column(browser, "severity")]
    assert shown == sorted(shown)


def _hops(report: dict[str, Any], integration: str | None) -> dict[tuple[str, str, str], str]:
    """(source, kind, target) -> reason of every hop of the integration's access paths."""
    hops = {}
    for path in report["access_paths"]:
        if path["integration"] == integration:
            for reach in path["reachable_systems"]:
                for text in reach["path"]:
                    source, kind, target, reason = HOP.fullmatch(text).groups()
                    hops.setdefault((source, kind, target), reason)
    return hops


def test_integration_graphs_draw_every_hop_and_show_its_reason_on_click(browser, tmp_path):
    html_file, report = render_demo(tmp_path)
    _open(browser, html_file)
    sections = browser.find_elements("css selector", "section.integration")
    names = {s.get_attribute("data-integration") for s in sections}
    assert {p["integration"] or "" for p in report["access_paths"]} <= names
    for section in sections:
        integration = section.get_attribute("data-integration") or None
        edges = section.find_elements("css selector", "svg.graph g.edge")
        assert len(edges) == len(_hops(report, integration)), integration
        starts = section.find_elements("css selector", "svg.graph g.node.start")
        assert len(starts) == len({p["identity"] for p in report["access_paths"] if p["integration"] == integration})
        assert len(section.find_elements("css selector", "dl.answers")) == len(starts)

    section = browser.find_element("css selector", "section.integration[data-integration='support-copilot']")
    hops = _hops(report, "support-copilot")
    (reason,) = [r for (_, kind, target), r in hops.items() if target == "system:customer-pii"]
    panel = section.find_element("css selector", ".hop-reason")
    assert reason not in panel.text
    edge = section.find_element("css selector", "g.edge[data-to='customer-pii']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", edge)
    edge.click()
    assert reason in panel.text and "analytics-reader → customer-pii (can_reach:read)" in panel.text
    assert "selected" in edge.get_attribute("class")
    # The same reason, for the same path, is one click away in the answers too.
    details = section.find_element("css selector", "ul.reach details")
    details.find_element("tag name", "summary").click()
    assert details.get_attribute("open") is not None

    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("NHIAUDIT_UPDATE_SCREENSHOTS"):
        _update_screenshots(browser, html_file)


def test_page_makes_no_network_request_and_breaks_no_policy(browser, tmp_path):
    html_file, _ = render_demo(tmp_path)
    _open(browser, html_file)
    browser.find_element("css selector", "g.edge").click()  # the script ran (the CSP allowed its hash)
    assert browser.find_element("css selector", ".hop-reason .reason").text
    assert _requests(browser) == [html_file.resolve().as_uri()]  # the page itself, nothing else
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []

    # The check can see a request: a page without the policy that loads from a closed loopback port.
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png">', encoding="utf-8")
    _open(browser, control)
    assert "http://127.0.0.1:9/x.png" in _requests(browser)


def test_hostile_page_runs_no_script_of_the_data(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    root = tmp_path / "hostile"
    root.mkdir()
    (root / "snap.json").write_text(json.dumps(hostile_snapshot()), encoding="utf-8")
    (root / "policy.yaml").write_text(hostile_policy(), encoding="utf-8")
    out = root / "r.html"
    result = CliRunner().invoke(build_app(), ["scan", "-s", str(root / "snap.json"), "-p", str(root / "policy.yaml"),
                                              "--as-of", "2026-02-01", "--format", "html", "-o", str(out)])
    assert result.exit_code in (1, 3), result.output
    _open(browser, out)
    assert browser.find_elements("tag name", "img") == []
    assert len(browser.find_elements("tag name", "script")) == 1
    assert "<img src=x onerror=alert(1)>" in browser.find_element("id", "findings-table").text
    edges = browser.find_elements("css selector", "g.edge")
    assert edges
    for edge in edges:  # by keyboard: focus, Enter
        edge.send_keys(Keys.ENTER)
    assert "\\x1b[2J" in browser.find_element("css selector", ".hop-reason").text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert _requests(browser) == [out.resolve().as_uri()]


def _update_screenshots(browser, html_file: Path) -> None:
    """docs/img/html-report.png (summary and the critical findings) and html-report-graph.png (one graph)."""
    from selenium.webdriver.support.ui import Select

    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    page = html_file.with_name("readme.html")  # from the checkout, so the page names the policy as the README does
    subprocess.run([sys.executable, "-m", "nhiaudit", "scan", "--snapshot", "examples/demo/snapshot.json",
                    "--policy", "examples/demo/policy.yaml", "--as-of", "2026-11-28", "-q", "--format", "html",
                    "-o", str(page)], cwd=ROOT, capture_output=True, timeout=300)
    _open(browser, page)
    browser.set_window_size(1400, 1750)
    Select(browser.find_element("id", "f-severity")).select_by_value("critical")
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(img / "html-report.png"))
    section = browser.find_element("css selector", "section.integration[data-integration='support-copilot']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", section)
    section.find_element("css selector", "g.edge[data-to='customer-pii']").click()
    section.screenshot(str(img / "html-report-graph.png"))
    browser.set_window_size(1400, 1000)
