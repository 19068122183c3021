"""Markdown views of an explanation and of a --can-reach answer (for tickets, PRs and audit evidence)."""

from __future__ import annotations

from nhiaudit.explain.model import CanReach, Explanation, FindingView, HopView, PathView
from nhiaudit.explain.tree import MAX_ACTORS, days, no_credential_text, session_text
from nhiaudit.reporters.markdown import code, esc

LONG = 2000  # reasons are evidence: keep them whole unless absurd
MAX_MARKDOWN_ROWS = 1000


def _hops(hops: tuple[HopView, ...], indent: str = "") -> list[str]:
    lines = []
    for i, hop in enumerate(hops, 1):
        edge = hop.kind + (f": {hop.access}" if hop.access else "")
        lines.append(f"{indent}{i}. {code(hop.source_label, table=False)} → *{esc(edge)}* → "
                     f"{code(hop.target_label, table=False)}  ")
        lines.append(f"{indent}   because {esc(hop.reason or '(no reason recorded)', LONG)}")
    return lines


def _finding_lines(findings: tuple[FindingView, ...], included: bool) -> list[str]:
    if not included:
        return ["*Not evaluated (`--no-findings`).*"]
    if not findings:
        return ["None."]
    out = ["| severity | status | rule | finding |", "|---|---|---|---|"]
    out += [f"| {esc(f.severity)} | {esc(f.status)} | {code(f.rule_id)} | {esc(f.message)} |" for f in findings]
    return out


def _path(path: PathView, included: bool) -> list[str]:
    ident, task = path.identity, path.task
    lines = [f"## {esc(task.integration or 'undeclared')} → {esc(ident.name)}", "",
             f"**Who:** {code(ident.id, table=False)} ({esc(ident.provider)} {esc(ident.kind)}, "
             f"account {code(ident.account, table=False)})"
             + (f", owner {esc(ident.owner)}" if ident.owner else "")
             + (" — can call AI models" if path.can_invoke_ai else " — no AI model access found")]
    why = "; ".join(ident.classification_reasons) or "no evidence"
    lines += ["", f"- classified **{esc(ident.classification)}** (by {esc(ident.classification_source)}): "
                  f"{esc(why, LONG)}"]
    if ident.max_session_seconds is not None:
        lines.append(f"- max session: {session_text(ident.max_session_seconds)}")
    for w in () if path.model_callers else path.workloads:  # else under "Who calls the model"
        lines.append(f"- runs in {esc(w.kind)} {code(w.name, table=False)} ({code(w.id, table=False)})")
    for actor in path.identity.acted_as_by[:MAX_ACTORS]:
        lines.append(f"- acted as by {code(actor.principal, table=False)} ({esc(actor.kind)}): "
                     f"{esc(actor.reason, LONG)}")
    for reason in path.ai_access:
        lines.append(f"- calls AI: {esc(reason, LONG)}")
    if path.model_callers:
        lines += ["", "**Who calls the model:**", "", "| workload | name | region | id |", "|---|---|---|---|"]
        lines += [f"| {esc(w.kind)} | {code(w.name)} | {esc(w.region or 'global')} | {code(w.id)} |"
                  for w in path.model_callers[:MAX_MARKDOWN_ROWS]]
    lines += ["", "**With:**", ""]
    if not path.credentials:
        lines.append(no_credential_text(ident.kind).capitalize() + ".")
    else:
        lines += ["| credential | type | static | age (days) | expires | last used | policy |",
                  "|---|---|---|---|---|---|---|"]
        for c in path.credentials:
            used = f"{days(c.days_since_use)} ago" if c.last_used else "never"
            notes = "; ".join(c.policy_notes) or "ok"
            lines.append(f"| {code(c.id)} | {esc(c.type)} | {'yes' if c.static else 'no'} | "
                         f"{c.age_days if c.age_days is not None else '?'} | {esc(c.expires or 'never')} | "
                         f"{used} | "
                         f"{'**FORBIDDEN** ' if c.forbidden else ''}{esc(notes)} |")
    lines += ["", "**For:** " + (f"integration {code(task.integration or '', table=False)}" if task.declared
                                 else "undeclared — no integration in the policy (shadow AI)"), ""]
    if task.declared:
        lines += [f"- owner: {esc(task.owner or 'not set')}", f"- purpose: {esc(task.purpose or 'not set')}",
                  f"- environment: {esc(task.environment or 'not set')}",
                  f"- may reach: {esc(', '.join(task.may_reach) or 'nothing listed')}",
                  f"- must not reach: {esc(', '.join(task.must_not_reach) or 'nothing listed')}", ""]
    lines += ["**Reaches:**", ""]
    if not path.reach:
        lines.append("No system named in the policy.")
    for r in path.reach:
        how = f"through a chain of {len(r.hops)} hops" if r.via_chain else "directly"
        lines += [f"- **{esc(r.system)}** — {r.access}, {how} — **{r.verdict}**",
                  *_hops(r.hops, "    ")]
    if path.audit:
        lines += ["", "**Recorded:**", "", "| access | recorded | policy | detail | by |", "|---|---|---|---|---|"]
        for a in path.audit:
            what = a.kind.replace("_", " ") + (f" ({a.system})" if a.system else "")
            lines.append(f"| {esc(what)} | **{esc(a.recorded)}** | {esc(a.requirement)} | {esc(a.detail, LONG)} | "
                         f"{esc(', '.join(a.where) or '-', LONG)} |")
    lines += ["", "**Findings:**", "", *_finding_lines(path.findings, included), ""]
    return lines


def explanation_markdown(expl: Explanation) -> str:
    lines = [f"# Explain {esc(expl.target_kind)} {code(expl.target, table=False)}", "",
             f"As of {expl.as_of}" + (f", policy {code(expl.policy_file, table=False)}" if expl.policy_file
                                      else "") + ".",
             ""]
    lines += [f"> {esc(note)}" for note in expl.notes]
    if expl.notes:
        lines.append("")
    for path in expl.paths[:MAX_MARKDOWN_ROWS]:
        lines += _path(path, expl.findings_included)
    if len(expl.paths) > MAX_MARKDOWN_ROWS:
        lines += [f"*{len(expl.paths) - MAX_MARKDOWN_ROWS} more paths: use `--format json` for all.*", ""]
    if expl.other_findings or not expl.paths:
        lines += ["## Other findings about the target", "",
                  *_finding_lines(expl.other_findings, expl.findings_included), ""]
    return "\n".join(lines)


def can_reach_markdown(result: CanReach, limit: int = MAX_MARKDOWN_ROWS) -> str:
    detail = ", ".join(x for x in (result.environment, result.classification, result.system_kind) if x)
    lines = [f"# Who can reach {code(result.system, table=False)}" + (f" ({esc(detail)})" if detail else ""), "",
             f"As of {result.as_of}: {len(result.identities)} identities, "
             f"{len(result.integrations)} integrations.", ""]
    if result.integrations:
        lines += ["| integration | verdict | identities |", "|---|---|---|"]
        lines += [f"| {code(i.integration)} | {i.verdict} | {', '.join(code(x) for x in i.identities)} |"
                  for i in result.integrations]
        lines.append("")
    for r in result.identities[:limit]:
        how = f"through a chain of {len(r.hops)} hops" if r.via_chain else "directly"
        names = ", ".join(f"{v.integration} ({v.verdict})" for v in r.integrations) or "no integration"
        lines += [f"- **{esc(r.identity.name)}** {code(r.identity.id, table=False)} — {r.access}, {how} — "
                  f"**{r.verdict}** "
                  f"({esc(names)})", *_hops(r.hops, "    ")]
    if len(result.identities) > limit:
        lines.append(f"\n*{len(result.identities) - limit} more: use `--format json` for all.*")
    lines += ["", *(f"> {esc(note)}" for note in result.notes[:limit])] if result.notes else []
    return "\n".join(lines)
