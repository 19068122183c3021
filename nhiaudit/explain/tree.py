"""Rich tree views of an explanation and of a --can-reach answer (the terminal format)."""

from __future__ import annotations

from rich.text import Text
from rich.tree import Tree

from nhiaudit.explain.model import (
    CanReach,
    CredentialView,
    Explanation,
    FindingView,
    HopView,
    IdentityView,
    PathView,
    ReachView,
)
from nhiaudit.textsafe import rich_assemble, rich_text

VERDICT_STYLE = {"allowed": "green", "must_not_reach": "bold red", "not_in_may_reach": "yellow",
                 "undeclared": "magenta"}
SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan",
                  "info": "dim"}
MAX_LISTED = 200  # rows per list in the terminal; JSON always has everything
MAX_ACTORS = 20


def _hop_branch(parent: Tree, hops: tuple[HopView, ...]) -> None:
    for i, hop in enumerate(hops, 1):
        edge = hop.kind + (f": {hop.access}" if hop.access else "")
        node = parent.add(rich_assemble(f"{i}. ", (hop.source_label, "bold"), f" --[{edge}]--> ",
                                        (hop.target_label, "bold")))
        node.add(rich_assemble(("because ", "dim"), hop.reason or "(no reason recorded)"))


def _who(tree: Tree, identity: IdentityView, path: PathView) -> None:
    where = f"[{identity.provider} {identity.kind} {identity.account}] {identity.id}"
    who = tree.add(rich_assemble(("who: ", "bold"), f"{identity.name} ", (where, "dim")))
    if identity.owner:
        who.add(rich_text(f"owner: {identity.owner}"))
    if identity.disabled:
        who.add(rich_text("disabled", style="dim"))
    who.add(classification_text(identity))
    who.add(rich_text(f"last activity: {identity.last_activity or 'never recorded'}"))
    if identity.max_session_seconds is not None:
        who.add(rich_text(f"max session: {session_text(identity.max_session_seconds)}"))
    for w in () if path.model_callers else path.workloads:  # else listed under "who calls the model"
        who.add(rich_assemble(("runs in: ", "bold"), f"{w.kind} {w.name}",
                              (f" {w.region or ''} {w.id}", "dim")))
    for actor in identity.acted_as_by[:MAX_ACTORS]:
        who.add(rich_assemble(("acted as by: ", "bold"), f"{actor.label} ({actor.kind}) ",
                              (actor.reason, "dim")))
    if len(identity.acted_as_by) > MAX_ACTORS:
        who.add(rich_text(f"(+{len(identity.acted_as_by) - MAX_ACTORS} more: use --format json)", style="dim"))


def session_text(seconds: int) -> str:
    """43200 -> `43200 s (12 h)`: a role's longest session, as AWS counts it and as people read it."""
    hours, rest = divmod(seconds, 3600)
    readable = f"{hours} h" if not rest else f"{-(-seconds // 60)} min"
    return f"{seconds} s ({readable})"


def _callers(tree: Tree, path: PathView) -> None:
    """Who calls the model: the workloads that run as an identity with AI access (or serving an integration)."""
    if not path.model_callers:
        return
    branch = tree.add(rich_text("who calls the model:", style="bold"))
    for w in path.model_callers[:MAX_LISTED]:
        branch.add(rich_assemble(f"{w.kind} ", (w.name, "bold"), (f" {w.region or 'global'} {w.id}", "dim")))
    if len(path.model_callers) > MAX_LISTED:
        branch.add(rich_text(f"(+{len(path.model_callers) - MAX_LISTED} more: use --format json)", style="dim"))


def classification_text(identity: IdentityView) -> Text:
    """`classified: nhi (tag): tag kind=workload`: used by a person or by software, and why."""
    why = "; ".join(identity.classification_reasons) or "no evidence"
    style = {"nhi": "cyan", "human": "green"}.get(identity.classification, "yellow")
    return rich_assemble(("classified: ", "bold"), (identity.classification, style),
                         (f" ({identity.classification_source}): ", "dim"), why)


def days(n: int | None) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def credential_text(c: CredentialView) -> Text:
    parts = ["static" if c.static else "short-lived", "active" if c.active else "inactive"]
    parts.append(f"{days(c.age_days)} old" if c.age_days is not None else "age unknown")
    if c.expires:
        parts.append(f"expires {c.expires[:10]}" + (" (expired)" if (c.days_to_expiry or 0) < 0 else ""))
    else:
        parts.append("no expiry")
    if c.last_used:
        parts.append(f"last used {days(c.days_since_use)} ago" + (f" ({c.last_used_service})"
                                                                 if c.last_used_service else ""))
    else:
        parts.append("never used")
    text = rich_assemble((f"{c.type} ", "bold"), f"{c.id} ", (f"({', '.join(parts)})", "dim"))
    if c.forbidden:
        text.append(" FORBIDDEN", style="bold red")
    return text


def no_credential_text(identity_kind: str) -> str:
    if identity_kind in ("role", "managed_identity"):
        return "no stored credential (temporary credentials through the trust policy or the workload)"
    return "no stored credential in the inventory"


def _with(tree: Tree, path: PathView) -> None:
    if not path.credentials:
        tree.add(rich_assemble(("with: ", "bold"), no_credential_text(path.identity.kind)))
        return
    branch = tree.add(rich_text("with:", style="bold"))
    for c in path.credentials:
        node = branch.add(credential_text(c))
        for note in c.policy_notes:
            node.add(rich_text(note, style="red" if "forbidden" in note else "yellow"))
        if c.shared_with_identities:
            node.add(rich_text("same secret held by " + ", ".join(c.shared_with_identities), style="yellow"))


def _for(tree: Tree, path: PathView) -> None:
    task = path.task
    if not task.declared:
        tree.add(rich_assemble(("for: ", "bold"), ("undeclared: no integration in the policy (shadow AI)",
                                                   "magenta")))
        return
    node = tree.add(rich_assemble(("for: ", "bold"), f"integration {task.integration}",
                                  (f" ({task.kind})" if task.kind else "", "dim"),
                                  (f"  policy line {task.policy_line}" if task.policy_line else "", "dim")))
    node.add(rich_text(f"owner: {task.owner or 'not set'}"))
    node.add(rich_text(f"purpose: {task.purpose or 'not set'}"))
    node.add(rich_text(f"environment: {task.environment or 'not set'}"))
    node.add(rich_text(f"may reach: {', '.join(task.may_reach) or 'nothing listed'}"))
    if task.must_not_reach:
        node.add(rich_text(f"must not reach: {', '.join(task.must_not_reach)}"))


def reach_text(r: ReachView) -> Text:
    how = f"through a chain of {len(r.hops)} hops" if r.via_chain else "directly"
    detail = ", ".join(x for x in (r.environment, r.classification, r.system_kind) if x)
    return rich_assemble((r.system, "bold"), (f" [{detail}]" if detail else "", "dim"), f" {r.access} {how} ",
                         (r.verdict, VERDICT_STYLE.get(r.verdict, "")))


def _reaches(tree: Tree, path: PathView) -> None:
    if not path.reach:
        tree.add(rich_assemble(("reaches: ", "bold"), "no system named in the policy"))
        return
    branch = tree.add(rich_text("reaches:", style="bold"))
    for r in path.reach:
        _hop_branch(branch.add(reach_text(r)), r.hops)


def finding_text(f: FindingView) -> Text:
    sev = f.severity.upper() + ("" if f.status == "open" else f" ({f.status})")
    return rich_assemble((sev, SEVERITY_STYLE.get(f.severity, "") if f.status == "open" else "dim"), " ",
                         (f.rule_id, "dim"), " ", f.message)


def _findings(tree: Tree, findings: tuple[FindingView, ...], included: bool, title: str = "findings") -> None:
    if not included:
        tree.add(rich_text(f"{title}: not evaluated (--no-findings)", style="dim"))
        return
    branch = tree.add(rich_text(f"{title}: " + ("none" if not findings else str(len(findings))), style="bold"))
    for f in findings:
        branch.add(finding_text(f))


_RECORDED_STYLE = {"yes": "green", "no": "red", "unknown": "yellow"}


def _audit(node: Tree, path: PathView) -> None:
    if not path.audit:
        return
    branch = node.add(rich_text("recorded:", style="bold"))
    for a in path.audit:
        what = a.kind.replace("_", " ") + (f" ({a.system})" if a.system else "")
        where = f" — by {', '.join(a.where)}" if a.where else ""
        branch.add(rich_assemble((what, "bold"), " ", (a.recorded, _RECORDED_STYLE.get(a.recorded, "")),
                                 (f" [{a.requirement}]", "dim"), f": {a.detail}", (where, "dim")))


def explanation_tree(expl: Explanation) -> Tree:
    title = rich_assemble(("explain ", "bold"), f"{expl.target_kind} ", (expl.target, "bold cyan"),
                          (f" ({expl.target_label})" if expl.target_label and expl.target_label != expl.target
                           else "", "dim"), (f"  as of {expl.as_of}", "dim"))
    root = Tree(title)
    for note in expl.notes:
        root.add(rich_text(note, style="yellow"))
    for path in expl.paths[:MAX_LISTED]:
        label = path.task.integration or "undeclared"
        ai = ("  can call AI models", "magenta") if path.can_invoke_ai else ("  no AI access found", "dim")
        node = root.add(rich_assemble(("AI access path: ", "bold"), label, " -> ", path.identity.name, ai))
        _who(node, path.identity, path)
        _callers(node, path)
        _with(node, path)
        _for(node, path)
        for reason in path.ai_access:
            node.add(rich_assemble(("calls AI: ", "bold"), reason))
        _reaches(node, path)
        _audit(node, path)
        _findings(node, path.findings, expl.findings_included)
    if len(expl.paths) > MAX_LISTED:
        root.add(rich_text(f"(+{len(expl.paths) - MAX_LISTED} more paths: use --format json for all)", style="dim"))
    if expl.other_findings or not expl.paths:
        _findings(root, expl.other_findings, expl.findings_included, "other findings about the target")
    return root


def can_reach_tree(result: CanReach, limit: int = MAX_LISTED) -> Tree:
    detail = ", ".join(x for x in (result.environment, result.classification, result.system_kind) if x)
    root = Tree(rich_assemble(("who can reach ", "bold"), (result.system, "bold cyan"),
                              (f" [{detail}]" if detail else "", "dim"),
                              f": {len(result.identities)} identities, "
                              f"{len(result.integrations)} integrations",
                              (f"  as of {result.as_of}", "dim")))
    if result.by_verdict:
        root.add(rich_text("by verdict: " + ", ".join(f"{k}={v}" for k, v in sorted(result.by_verdict.items()))))
    if result.integrations:
        branch = root.add(rich_text("integrations:", style="bold"))
        for item in result.integrations:
            branch.add(rich_assemble((item.integration, "bold"), " ",
                                     (item.verdict, VERDICT_STYLE.get(item.verdict, "")),
                                     f" via {', '.join(item.identities)}"))
    branch = root.add(rich_text("identities:", style="bold"))
    for r in result.identities[:limit]:
        how = f"through a chain of {len(r.hops)} hops" if r.via_chain else "directly"
        names = ", ".join(v.integration for v in r.integrations) or "no integration"
        where = f" [{r.identity.provider} {r.identity.kind}] {r.identity.id}"
        node = branch.add(rich_assemble((r.identity.name, "bold"), (where, "dim"),
                                        f" {r.access} {how} ", (r.verdict, VERDICT_STYLE.get(r.verdict, "")),
                                        (f" ({names})", "dim")))
        _hop_branch(node, r.hops)
    if len(result.identities) > limit:
        branch.add(rich_text(f"(+{len(result.identities) - limit} more: use --format json for all)", style="dim"))
    for note in result.notes[:limit]:  # access organisation guardrails removed
        root.add(rich_text(note, style="yellow"))
    return root
