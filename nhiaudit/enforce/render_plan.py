"""`--format plan` (the default): what would change for whom, and whether re-analysis confirms it.

Plain text: every value from the policy or the estate goes through `terminal_safe`, so a name cannot move the
cursor, recolour the terminal or forge a line."""

from __future__ import annotations

from nhiaudit.enforce.model import INTEGRATION_TAG, AccessChange, EnforcePlan, Guardrail, GuardrailCheck, GuardrailKind
from nhiaudit.enforce.render_plan_cloud import cloud_section, is_cloud
from nhiaudit.textsafe import terminal_safe as safe

_LISTED = 8  # actions shown per system (the JSON and Terraform outputs hold them all)


def _actions(actions: tuple[str, ...]) -> str:
    if not actions:
        return "nothing (no access today)"
    shown = ", ".join(actions[:_LISTED])
    return shown + (f" (+{len(actions) - _LISTED} more)" if len(actions) > _LISTED else "")


# Why a may_reach loss happens and what to do, by guardrail kind, for losses through a role chain.
_CHAIN_LOSS = {
    GuardrailKind.PERMISSIONS_BOUNDARY: "the boundary allows sts:AssumeRole only on a chained role that reaches "
    "nothing outside may_reach (the note names the role and what else it reaches): limit that role to may_reach "
    "or remove the chain, then generate again",
    GuardrailKind.SERVICE_CONTROL_POLICY: "the SCP stops AI invocation by the undeclared role at the end of the "
    "chain: declare that role in an integration allowed the model (and tag it), or remove the chain",
}
_OTHER_LOSS = ("the guardrail cannot keep it without allowing more (see the notes): change what they name, or take "
               "the system out of may_reach, then generate again")


def _change(a: AccessChange) -> str:
    after = a.after or "none"
    how = f" (through a role chain: {safe(' -> '.join(a.via))})" if a.via else ""
    return f"{safe(a.identity_id)}: {safe(a.system)} {a.before} -> {after}{how}"


def _check_lines(check: GuardrailCheck | None, kind: GuardrailKind) -> list[str]:
    if check is None:
        return []
    if not check.evaluated:
        return [f"    verification: {safe(check.note or 'not evaluated')}"]
    lines = [f"    closes: {safe(c)}" for c in check.closed]
    lines += [f"    removes: {_change(a)}" for a in check.removed]
    lines += [f"    LOSES (allowed by may_reach): {_change(a)}" for a in check.lost]
    if check.lost:
        why = _CHAIN_LOSS.get(kind, _OTHER_LOSS) if all(a.via for a in check.lost) else _OTHER_LOSS
        lines.append(f"    FAILS on the loss: the written policy allows that access; {why}")
    lines += [f"    REMAINS: {safe(r)}" for r in check.remaining]
    lines += [f"    BREAKS: {safe(b)}" for b in check.broken]
    lines += [f"    remains, no guardrail can close it: {safe(r)}" for r in check.unclosable]
    lines += [f"    checked: {safe(check.note)}"] if check.note else []
    verdict = "holds" if check.holds else "FAILS"
    kept = f"{len(check.lost)} may_reach access(es) lost" if check.lost else "access on may_reach kept"
    lines.append(f"    verification: {verdict} (re-analysed: {len(check.closed)} finding(s) closed, "
                 f"{len(check.remaining)} remaining; {kept})")
    return lines


def _boundary(g: Guardrail, check: GuardrailCheck | None) -> list[str]:
    lines = [f"~ permissions boundary {safe(g.name)}  (integrations: {safe(', '.join(g.integrations))})",
             f"    size: {g.size:,} of {g.limit:,} characters, {len(g.document['Statement'])} statement(s), "
             f"{g.compaction.value}"]
    for t in g.targets:
        replaces = f", replaces boundary {safe(t.existing_boundary)}" if t.existing_boundary else ""
        lines.append(f"    applies to: {safe(t.identity_id)}{replaces}")
    lines += [f"    allows on {safe(s.system)}: {safe(_actions(s.written or s.actions))}" for s in g.grants]
    lines += [f"    denies: {safe(s)} (every action)" for s in g.denied_systems]
    lines += [f"    note: {safe(n)}" for n in g.notes]
    lines += _check_lines(check, g.kind)
    lines += [f"    apply: {safe(t.command)}" if t.command else
              f"    apply: no command for {safe(t.identity_id)}: its name is no valid IAM name (check it first)"
              for t in g.targets]
    return lines


def _scp(g: Guardrail, check: GuardrailCheck | None, plan: EnforcePlan) -> list[str]:
    lines = [f"~ service control policy {safe(g.name)}",
             f"    size: {g.size:,} of {g.limit:,} characters; denies AI invocation unless the principal's "
             f"{INTEGRATION_TAG} tag names one of: {safe(', '.join(g.integrations)) or '(none)'}"]
    lines += [f"    note: {safe(n)}" for n in g.notes]
    lines += _check_lines(check, g.kind)
    for t in plan.tags:
        lines.append(f"    tag {safe(t.identity_id)} = {safe(t.value)}" + (f"  ({safe(t.note)})" if t.note else ""))
        if t.command:
            lines.append(f"      {safe(t.command)}")
    return lines


def render_plan(plan: EnforcePlan) -> str:
    checks = {c.guardrail: c for c in plan.checks}
    boundaries = sum(g.kind is GuardrailKind.PERMISSIONS_BOUNDARY for g in plan.guardrails)
    out = [f"nhiaudit enforce: {len(plan.guardrails)} guardrail(s), {boundaries} permissions boundar"
           f"{'y' if boundaries == 1 else 'ies'}; nothing is applied by this command", ""]
    for g in plan.guardrails:
        if is_cloud(g):
            render = cloud_section(g, _check_lines(checks.get(g.name), g.kind))
        else:
            render = _boundary(g, checks.get(g.name)) if g.kind is GuardrailKind.PERMISSIONS_BOUNDARY else \
                _scp(g, checks.get(g.name), plan)
        out += [*render, ""]
    out += [f"- not covered: {safe(s)}" for s in plan.skipped]
    failing = [c.guardrail for c in plan.checks if c.evaluated and not c.holds]
    verdict = f"FAILS for {safe(', '.join(failing))}" if failing else "every evaluated guardrail holds"
    out += ["", f"verification: {verdict} (categories re-checked: {', '.join(plan.checked_categories)})"]
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"
