"""The HTML report: one self-contained page for a person (a CI artifact, a file opened offline).

Summary counts, a findings table to filter and sort, and the AI integrations with their access paths drawn
as graphs (html_integrations, html_svg). The page loads nothing: its style and script are inline and allowed
by their SHA-256 hashes in a Content-Security-Policy that allows nothing else (no network, no inline handlers,
no other script). Estate text appears only as escaped HTML text or attribute values (html_text.h), never
inside the script. No clock: the same report gives the same bytes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

from nhiaudit.findings import Category, Finding, FindingStatus, Severity
from nhiaudit.report import Report
from nhiaudit.reporters.html_integrations import integrations_section
from nhiaudit.reporters.html_text import count_noun, h
from nhiaudit.reporters.interface import RenderContext, Reporter, RuleDoc, rule_docs
from nhiaudit.textsafe import utf8_safe

MAX_FINDING_ROWS = 5_000  # rows in the findings table (the summary counts every finding)
MAX_LISTED_ERRORS = 20
_SEVERITIES = sorted(Severity, key=lambda s: -s.rank)
_STATUS_ORDER = {FindingStatus.OPEN: 0, FindingStatus.BASELINED: 1, FindingStatus.EXCEPTED: 2}


class HtmlReporter(Reporter):
    def render(self, report: Report, context: RenderContext) -> str:
        return render_html(report, context)


@functools.cache
def _asset(name: str) -> str:
    return resources.files("nhiaudit.reporters").joinpath("html_assets", name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def content_security_policy(style: str, script: str) -> str:
    return (f"default-src 'none'; style-src '{csp_hash(style)}'; script-src '{csp_hash(script)}'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def render_html(report: Report, context: RenderContext) -> str:
    style, script = _asset("report.css"), _asset("report.js")
    findings = sorted(report.findings, key=_sort_key)
    body = [_header(report, context), "<main>", _notices(report), _summary(report),
            _findings(findings, rule_docs(report, context), context),
            integrations_section(report, context.policy), "</main>"]
    page = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy(style, script)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>nhiaudit report, as of {report.as_of.isoformat()}</title>",
        f"<style>{style}</style>", "</head>", "<body>", *body, f"<script>{script}</script>", "</body>", "</html>",
    ]
    return utf8_safe("\n".join(page) + "\n")


def _sort_key(finding: Finding) -> tuple:
    ident = finding.identity.id if finding.identity else ""
    return (-finding.severity.rank, _STATUS_ORDER.get(finding.status, 3), finding.integration or "", ident,
            finding.rule_id, finding.fingerprint)


def integration_key(finding: Finding) -> tuple[str, str]:
    """(filter value, label): prefixed values, so no integration name can collide with "none"."""
    if finding.integration:
        return f"i:{finding.integration}", finding.integration
    if finding.category == Category.UNDECLARED_AI_IDENTITY:
        return "undeclared", "undeclared (shadow AI)"
    return "none", "— (no integration)"


def provider_of(finding: Finding) -> str:
    return finding.identity.provider if finding.identity else "none"


def _header(report: Report, context: RenderContext) -> str:
    s = report.summary
    facts = [f"as of <b>{report.as_of.isoformat()}</b>"]
    if report.policy_file:
        facts.append(f"policy <code>{h(report.policy_file)}</code>")
    if context.baseline is not None:
        facts.append(f"compared with baseline <code>{h(context.baseline.name)}</code>")
    sources = sorted({(str(src.get("provider", "")), str(src.get("account", ""))) for src in report.collection.sources})
    listed = ", ".join(f"{h(p)} <code>{h(a)}</code>" for p, a in sources[:12])
    more = f" and {len(sources) - 12} more" if len(sources) > 12 else ""
    tool = " ".join(h(report.tool.get(k, "")) for k in ("name", "version")).strip() or "nhiaudit"
    return "\n".join([
        '<header class="top">', "<h1>nhiaudit report</h1>", f"<p>{' · '.join(facts)}</p>",
        f"<p>{count_noun(s.identities, 'identity', 'identities')}, {count_noun(s.credentials, 'credential')}, "
        f"{count_noun(s.integrations, 'integration')}" + (f" · sources: {listed}{more}" if listed else "") + "</p>",
        f"<p>{tool}</p>",
        '<nav><a href="#summary">Summary</a><a href="#findings">Findings</a><a href="#integrations">AI integrations'
        "</a></nav>", "</header>"])


def _notices(report: Report) -> str:
    out = []
    collection = report.collection
    if not collection.complete or collection.errors:
        items = "".join(f"<li>{h(f'{e.provider} {e.account}: {e.operation}: {e.message}', 400)}</li>"
                        for e in collection.errors[:MAX_LISTED_ERRORS])
        if len(collection.errors) > MAX_LISTED_ERRORS:
            items += f"<li>… and {len(collection.errors) - MAX_LISTED_ERRORS} more</li>"
        out.append(f'<div class="callout bad"><b>Collection incomplete: the results are partial.</b><ul>{items}'
                   "</ul></div>")
    if collection.unknown_actions:
        items = "".join(f"<li><code>{h(w.action)}</code> in {h(w.where, 300)}</li>" for w in collection.warnings[:10])
        noun = count_noun(collection.unknown_actions, "unknown IAM action")
        out.append(f'<div class="callout">{noun} ignored (they grant no access level; the JSON report lists them):'
                   f"<ul>{items}</ul></div>")
    return "\n".join(out)


def _count_table(caption: str, key: str, rows: Iterable[tuple[str, str, int, int]], filterable: bool = True) -> str:
    """rows: (filter value, label, open, all)."""
    body = []
    for value, label, open_count, total in rows:
        pick = (f' class="pick" tabindex="0" data-filter="{key}" data-value="{h(value)}" '
                f'title="show these findings"') if filterable else ""
        body.append(f'<tr{pick} data-{key}-count="{h(value)}"><td>{label}</td>'
                    f'<td class="n" data-open>{open_count}</td><td class="n" data-all>{total}</td></tr>')
    if not body:
        body.append('<tr><td colspan="3" class="empty">none</td></tr>')
    return (f'<table class="counts" data-counts="{key}"><caption>{caption}</caption><thead><tr><th>{key}</th>'
            f'<th class="n">open</th><th class="n">all</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


def _tally(findings: list[Finding], key: Callable[[Finding], str]) -> tuple[Counter[str], Counter[str]]:
    everything = Counter(key(f) for f in findings)
    open_only = Counter(key(f) for f in findings if f.status == FindingStatus.OPEN)
    return open_only, everything


def _by_count(everything: Counter[str]) -> list[str]:
    return sorted(everything, key=lambda k: (-everything[k], k))


def _summary(report: Report) -> str:
    findings = report.findings
    s = report.summary
    open_count = sum(1 for f in findings if f.status == FindingStatus.OPEN)
    cards = [(open_count, "open findings"), (len(findings), "findings in all"),
             (s.identities, "identities"), (s.credentials, "credentials"), (s.integrations, "integrations")]
    sev_open, sev_all = _tally(findings, lambda f: f.severity.value)
    cat_open, cat_all = _tally(findings, lambda f: f.category.value)
    int_open, int_all = _tally(findings, lambda f: integration_key(f)[0])
    labels = {integration_key(f)[0]: integration_key(f)[1] for f in findings}
    prov_open, prov_all = _tally(findings, provider_of)
    tables = [
        _count_table("By severity", "severity",
                     [(v.value, f'<span class="sev s-{v.value}">{v.value}</span>', sev_open[v.value], sev_all[v.value])
                      for v in _SEVERITIES]),
        _count_table("By category", "category",
                     [(c, h(c), cat_open[c], cat_all[c]) for c in _by_count(cat_all)]),
        _count_table("By integration", "integration",
                     [(k, h(labels[k]), int_open[k], int_all[k]) for k in _by_count(int_all)]),
        _count_table("By provider", "provider",
                     [(p, h(p if p != "none" else "— (policy entries)"), prov_open[p], prov_all[p])
                      for p in _by_count(prov_all)]),
    ]
    card_html = "".join(f'<div class="card" data-card="{h(label)}"><b>{value}</b><span>{h(label)}</span></div>'
                        for value, label in cards)
    return (f'<section id="summary"><h2>Summary</h2><div class="cards">{card_html}</div>'
            f'<div class="summary">{"".join(tables)}</div>'
            '<p class="hint">Click a row to filter the findings table.</p></section>')


def _options(key: str, label: str, values: list[tuple[str, str, int]]) -> str:
    options = "".join(f'<option value="{h(v)}">{lab} ({n})</option>' for v, lab, n in values)
    return (f'<label>{label}<select id="f-{key}" data-key="{key}"><option value="">all</option>{options}'
            "</select></label>")


def _filters(findings: list[Finding]) -> str:
    sev = Counter(f.severity.value for f in findings)
    cat = Counter(f.category.value for f in findings)
    prov = Counter(provider_of(f) for f in findings)
    status = Counter(f.status.value for f in findings)
    ints = Counter(integration_key(f) for f in findings)
    return "".join([
        '<div class="filters" role="search">',
        _options("severity", "Severity", [(s.value, s.value, sev[s.value]) for s in _SEVERITIES if sev[s.value]]),
        _options("category", "Category", [(c, h(c), cat[c]) for c in sorted(cat)]),
        _options("provider", "Provider", [(p, h(p), prov[p]) for p in sorted(prov)]),
        _options("integration", "Integration", [(v, h(lab), ints[(v, lab)]) for v, lab in sorted(ints)]),
        _options("status", "Status", [(s.value, s.value, status[s.value]) for s in FindingStatus if status[s.value]]),
        '<label>Search<input id="f-text" type="search" placeholder="rule, identity, message…" '
        'autocomplete="off"></label><button id="f-reset" type="button">Reset</button>',
        f'<span id="f-count" aria-live="polite">{len(findings)} of {len(findings)} findings shown</span></div>',
    ])


_COLUMNS = (("severity", "Severity"), ("status", "Status"), ("rule", "Rule"), ("category", "Category"),
            ("provider", "Provider"), ("integration", "Integration"), ("identity", "Identity"),
            ("message", "Finding"))


def _findings(findings: list[Finding], docs: dict[str, RuleDoc], context: RenderContext) -> str:
    shown = findings[:MAX_FINDING_ROWS]
    head = "".join(f'<th data-col="{key}"' + (' aria-sort="descending"' if key == "severity" else "")
                   + f'><button type="button">{label}</button></th>' for key, label in _COLUMNS)
    rows = "\n".join(_row(f, docs.get(f.rule_id)) for f in shown)
    note = ""
    if len(findings) > len(shown):
        note = (f'<p class="note">The table lists the first {len(shown):,} of {len(findings):,} findings (most '
                "severe first); the JSON and SARIF reports have every finding.</p>")
        context.warn(f"HTML: {len(findings) - len(shown)} findings left out of the table (limit {MAX_FINDING_ROWS:,})")
    return (f'<section id="findings"><h2>Findings</h2>{_filters(shown)}{note}'
            '<noscript><p class="note">Filtering and sorting need JavaScript; everything else works without it.'
            f'</p></noscript><table id="findings-table"><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody>'
            "</table></section>")


def _row(f: Finding, doc: RuleDoc | None) -> str:
    integ_value, integ_label = integration_key(f)
    provider = provider_of(f)
    if f.identity is not None:
        who = f'<span class="q">{h(f.identity.name)}</span><br><code class="q">{h(f.identity.id)}</code>'
        if f.credential_id:
            who += f' key <code class="q">{h(f.credential_id)}</code>'
    elif f.policy_location is not None:
        who = f'<code class="q">{h(f.policy_location.entry)}</code>'
    else:
        who = "—"
    return (
        f'<tr class="{f.status.value}" data-severity="{f.severity.value}" data-category="{f.category.value}" '
        f'data-provider="{h(provider)}" data-integration="{h(integ_value)}" data-status="{f.status.value}" '
        f'data-fingerprint="{h(f.fingerprint)}">'
        f'<td data-sort="{f.severity.rank}"><span class="sev s-{f.severity.value}">{f.severity.value}</span></td>'
        f'<td class="q">{f.status.value}</td><td class="rule"><code class="q">{h(f.rule_id)}</code></td>'
        f'<td class="q">{f.category.value}</td><td class="q">{h(provider if provider != "none" else "—")}</td>'
        f'<td class="q">{h(integ_label if integ_value != "none" else "—")}</td>'
        f'<td class="who" data-sort="{h(f.identity.name if f.identity else "")}">{who}</td>'
        f'<td class="msg"><span class="q">{h(f.message)}</span>{_details(f, doc)}</td></tr>'
    )


def _details(f: Finding, doc: RuleDoc | None) -> str:
    remediation = (f.remediation or "").strip()
    full = doc.remediation.strip() if doc else ""
    if full and (not remediation or full.startswith(remediation)):
        remediation = full  # the finding carries a cut-down copy of the rule's text
    items = [("rule", h(f.title or (doc.title if doc else "")))]
    if f.status_reason:
        items.append((f"{f.status.value} because", h(f.status_reason)))
    if remediation:
        items.append(("how to fix", f'<div class="multi">{h(remediation, multiline=True)}</div>'))
    if f.frameworks:
        items.append(("frameworks", h(", ".join(f"{k}: {' '.join(v)}" for k, v in sorted(f.frameworks.items())))))
    if f.policy_location is not None:
        loc = f.policy_location
        items.append(("policy", f"<code>{h(Path(loc.file).name)}:{loc.line}</code> {h(loc.entry)}"))
    items.append(("fingerprint", f"<code>{h(f.fingerprint)}</code>"))
    if f.evidence:
        evidence = json.dumps(f.evidence, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        items.append(("evidence", f"<pre>{h(evidence, multiline=True)}</pre>"))
    rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    return f'<details><summary>details</summary><dl class="more">{rows}</dl></details>'
