"""Run rules' own test cases (`tests:` in each rule file)."""

from __future__ import annotations

from dataclasses import dataclass

from nhiaudit.facts.schema import with_defaults
from nhiaudit.rules_engine.engine import RuleEvaluationError, run_case
from nhiaudit.rules_engine.loader import CompiledRule


@dataclass(frozen=True)
class CaseResult:
    rule_id: str
    case: str
    expected: str
    ok: bool
    detail: str = ""


def run_rule_cases(compiled: CompiledRule) -> list[CaseResult]:
    rule = compiled.rule
    results = []
    for case in rule.tests:
        subject = with_defaults(rule.subject, case.subject)
        try:
            fired = run_case(compiled, subject, {**rule.parameters, **case.params})
        except RuleEvaluationError as exc:
            results.append(CaseResult(rule.id, case.name, case.expect, False, str(exc)))
            continue
        ok = (fired > 0) == (case.expect == "fail")
        detail = "" if ok else f"expected {case.expect}, the rule reported {fired} finding(s)"
        results.append(CaseResult(rule.id, case.name, case.expect, ok, detail))
    if not any(c.expect == "fail" for c in rule.tests) or not any(c.expect == "pass" for c in rule.tests):
        results.append(CaseResult(rule.id, "(coverage)", "fail+pass", False,
                                  "a rule needs at least one failing and one passing case"))
    return results
