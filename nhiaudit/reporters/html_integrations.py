"""The HTML report's AI integrations: per integration, its access paths as a graph, then the four answers
for each of its identities (who, with which credential, for which declared task, what it can reach)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nhiaudit.findings import Finding
from nhiaudit.report import AccessPath, Report
from nhiaudit.reporters.html_paths import VERDICT_LABEL, Route, node_label, routes
from nhiaudit.reporters.html_svg import render_graph
from nhiaudit.reporters.html_text import count_noun, h

if TYPE_CHECKING:
    from nhiaudit.policy.model import Integration, WrittenPolicy

MAX_PATHS_LISTED = 100  # identities listed per integration (the JSON report has them all)
MAX_GRAPH_PATHS = 40  # identities drawn in one integration's graph
EDGE_HINT = "Click an edge of the graph (or focus it and press Enter) to read why that hop exists."


def identity_names(report: Report) -> dict[str, str]:
    """Identity id -> name, from the access paths and the findings (intermediate hops are often only there)."""
    names = {f.identity.id: f.identity.name for f in report.findings if f.identity and f.identity.name}
    names.update({p.identity: p.identity_name for p in report.access_paths if p.identity_name})
    return names


def integrations_section(report: Report, policy: WrittenPolicy | None) -> str:
    groups: dict[str | None, list[AccessPath]] = defaultdict(list)
    for path in report.access_paths:
        groups[path.integration].append(path)
    declared = {i.name: i for i in policy.integrations} if policy else {}
    for name in declared:
        groups.setdefault(name, [])
    by_path: dict[tuple[str | None, str], list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_path[(finding.integration, finding.identity.id if finding.identity else "")].append(finding)
    names = identity_names(report)
    order = sorted(groups, key=lambda name: (name is None, name or ""))
    parts = ['<section id="integrations"><h2>AI integrations</h2>',
             "<p>For every AI access path: <b>who</b> calls the model, <b>with which credential</b>, <b>for which "
             "declared task</b>, and <b>what it can reach</b>, with the reason for every hop.</p>"]
    if not order:
        parts.append('<p class="empty">No AI access path in this estate.</p>')
    for index, name in enumerate(order, start=1):
        parts.append(_integration(f"integration-{index}", name, groups[name], declared.get(name or ""), by_path,
                                  names))
    parts.append("</section>")
    return "\n".join(parts)


def _integration(section_id: str, name: str | None, paths: list[AccessPath], declared: Integration | None,
                 by_path: dict[tuple[str | None, str], list[Finding]], names: dict[str, str]) -> str:
    title = f"integration: {name}" if name is not None else "undeclared AI access (shadow AI)"
    shown = paths[:MAX_PATHS_LISTED]
    drawn = paths[:MAX_GRAPH_PATHS]
    out = [f'<section class="integration{" undeclared" if name is None else ""}" id="{section_id}" '
           f'data-integration="{h(name or "")}">', f"<h3>{h(title)}</h3>", _policy_facts(name, declared)]
    route_lists = [routes(p) for p in drawn]
    all_routes = [r for rs in route_lists for r in rs]
    if paths:
        graph = render_graph(f"{section_id}-graph", all_routes, [f"identity:{p.identity}" for p in drawn], names,
                             title)
        out += [f'<div class="graph-wrap">{graph}</div>',
                f'<div class="hop-reason" aria-live="polite"><p class="hint">{EDGE_HINT}</p></div>']
        if len(paths) > len(drawn):
            out.append(f'<p class="note">The graph shows the first {len(drawn)} of {len(paths)} identities.</p>')
    else:
        out.append('<p class="empty">No identity of this integration was found in the estate.</p>')
    for path in shown:
        out.append(_path_card(path, declared, by_path.get((path.integration, path.identity), []), names))
    if len(paths) > len(shown):
        out.append(f'<p class="note">{len(paths) - len(shown)} more identities: see the JSON report '
                   "(<code>access_paths</code>).</p>")
    out.append("</section>")
    return "\n".join(out)


def _policy_facts(name: str | None, declared: Integration | None) -> str:
    if name is None:
        return ('<p class="facts">Identities with AI permissions that no integration of the written policy '
                "declares.</p>")
    if declared is None:
        return ""
    facts = [f"{label}: <b>{h(value)}</b>" for label, value in (
        ("kind", declared.kind), ("owner", declared.owner), ("environment", declared.environment)) if value]
    lines = [" · ".join(facts)] if facts else []
    if declared.may_reach:
        lines.append("may reach: " + ", ".join(f"<code>{h(s)}</code>" for s in declared.may_reach))
    if declared.must_not_reach:
        lines.append("must not reach: " + ", ".join(f"<code>{h(s)}</code>" for s in declared.must_not_reach))
    return f'<p class="facts">{"<br>".join(lines)}</p>' if lines else ""


def _path_card(path: AccessPath, declared: Integration | None, findings: list[Finding],
               names: dict[str, str]) -> str:
    who = (f"<b>{h(path.identity_name)}</b> <code>{h(path.identity)}</code> "
           f'<span class="tag">{h(path.provider)}</span>')
    if path.workloads:
        who += "<br>runs in: " + ", ".join(f"<code>{h(w)}</code>" for w in path.workloads)
    task = ('<span class="verdict v-undeclared">undeclared</span>: no integration of the written policy'
            if path.integration is None else f"<b>{h(path.integration)}</b>")
    if declared is not None and declared.purpose:
        task += f": {h(declared.purpose)}"
    out = [f'<article class="path" data-identity="{h(path.identity)}">',
           f"<h4>{h(path.identity_name or path.identity)}</h4>", '<dl class="answers">',
           f"<dt>Who</dt><dd>{who}</dd>",
           f"<dt>With which credential</dt><dd>{_credentials(path.credentials)}</dd>",
           f"<dt>For which task</dt><dd>{task}</dd>",
           f"<dt>What it can reach</dt><dd>{_reach(routes(path), names)}"
           + ('<span class="tag ai">can call AI models</span>' if path.can_invoke_ai else "") + "</dd>",
           "</dl>"]
    if findings:
        items = "".join(f'<li><span class="sev s-{f.severity.value}">{h(f.severity.value)}</span> '
                        f"<code>{h(f.rule_id)}</code> {h(f.message)}"
                        + (f' <span class="status">({h(f.status.value)})</span>' if f.status.value != "open" else "")
                        + "</li>" for f in findings)
        out.append(f'<p class="path-findings">{count_noun(len(findings), "finding")} on this path:</p>'
                   f"<ul>{items}</ul>")
    out.append("</article>")
    return "\n".join(out)


def _credentials(credentials: Sequence[dict[str, Any]]) -> str:
    if not credentials:
        return "no stored credential (role or workload identity)"
    items = []
    for cred in credentials:
        facts = ["static" if cred.get("static") else "short-lived"]
        if cred.get("age_days") is not None:
            facts.append(f"{cred.get('age_days')} days old")
        if cred.get("expires"):
            facts.append(f"expires {cred.get('expires')}")
        if cred.get("active") is False:
            facts.append("inactive")
        items.append(f"<li>{h(cred.get('type', ''))} <code>{h(cred.get('id', ''))}</code> ({h(', '.join(facts))})"
                     "</li>")
    return f"<ul>{''.join(items)}</ul>"


def _reach(found: Sequence[Route], names: dict[str, str]) -> str:
    if not found:
        return "no system of the written policy"
    items = []
    for route in found:
        verdict = route.verdict if route.verdict in VERDICT_LABEL else ""
        badge = (f'<span class="verdict v-{verdict}">{h(VERDICT_LABEL[verdict])}</span>' if verdict
                 else h(route.verdict))
        hops = "".join(f"<li><b>{h(node_label(hop.source, names))}</b> → <b>{h(node_label(hop.target, names))}</b> "
                       f'<span class="tag">{h(hop.kind)}</span><div class="reason">{h(hop.reason, multiline=True)}'
                       "</div></li>" for hop in route.hops)
        chain = f", via a {len(route.hops)}-hop chain" if len(route.hops) > 1 else ""
        items.append(f'<li><b>{h(route.system)}</b> ({h(route.access)}{chain}) {badge}'
                     f'<details><summary>why: {count_noun(len(route.hops), "hop")}</summary><ol class="hops">{hops}'
                     "</ol></details></li>")
    return f"<ul class=\"reach\">{''.join(items)}</ul>"
