"""Evaluate compiled rules against subjects' facts.

Hot path: one CEL context per subject (its facts are converted once) and one program execution per
rule. `for_each` rules run as a single `list.filter(item, when)` program, so items cost nothing extra.
Messages, evidence and severity overrides are computed only for the subjects that fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cel

from nhiaudit.errors import NhiauditError
from nhiaudit.facts.schema import SubjectKind
from nhiaudit.findings import Severity
from nhiaudit.rules_engine.loader import CompiledRule
from nhiaudit.rules_engine.template import render_message


class RuleEvaluationError(NhiauditError):
    """A rule's expression failed at run time (e.g. a missing map key). Exit status 2."""


@dataclass(frozen=True)
class Violation:
    rule: CompiledRule
    subject: dict[str, Any]
    item: dict[str, Any] | None
    severity: Severity
    message: str
    evidence: dict[str, Any]


_PARAMS = re.compile(r"\bparams\.")
_SUBJECT_FACT = re.compile(r"\bsubject\.([A-Za-z_][A-Za-z0-9_]*)")
_SUBJECT_ANY = re.compile(r"\bsubject\b(?!\.)")


def referenced_facts(sources: Iterable[str]) -> set[str] | None:
    """Top-level facts the expressions read; None when one uses `subject` as a whole."""
    names: set[str] = set()
    for source in sources:
        if _SUBJECT_ANY.search(source):
            return None
        names.update(_SUBJECT_FACT.findall(source))
    return names


@dataclass(frozen=True)
class _Prepared:
    compiled: CompiledRule
    program: Any  # cel.Program returning bool (plain) or the failing items (for_each)


def _prepare(compiled: CompiledRule) -> _Prepared:
    rule = compiled.rule
    scoped = f"params['{rule.id}']."

    def scope(expr: str) -> str:
        return _PARAMS.sub(scoped, expr)

    source = f"({scope(rule.for_each)}).filter(item, {scope(rule.when)})" if rule.for_each else scope(rule.when)
    return _Prepared(compiled, cel.compile(source))


def _python(value: Any) -> Any:
    """CEL results back to plain JSON-able Python."""
    if isinstance(value, dict):
        return {str(k): _python(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_python(v) for v in value]
    return value


class RuleRunner:
    def __init__(self, rules: Iterable[CompiledRule], param_overrides: Mapping[str, dict] | None = None) -> None:
        self._by_kind: dict[SubjectKind, list[_Prepared]] = {}
        self._params: dict[str, dict[str, Any]] = {}
        rules = list(rules)
        # Converting facts to CEL values dominates evaluation: hand CEL only the facts the rules read.
        self._needed: dict[SubjectKind, set[str] | None] = {}
        for compiled in rules:
            r = compiled.rule
            needed = referenced_facts([r.when, *([r.for_each] if r.for_each else [])])
            current = self._needed.get(r.subject, set())
            self._needed[r.subject] = None if needed is None or current is None else current | needed
        self._violation_facts: dict[str, set[str] | None] = {}
        for compiled in rules:
            r = compiled.rule
            self._violation_facts[r.id] = referenced_facts(
                [*r.evidence.values(), *(o.when for o in r.severity_overrides)])
            self._by_kind.setdefault(compiled.rule.subject, []).append(_prepare(compiled))
            params = dict(compiled.rule.parameters)
            params.update((param_overrides or {}).get(compiled.rule.id, {}))
            self._params[compiled.rule.id] = params

    def kinds(self) -> set[SubjectKind]:
        return set(self._by_kind)

    def run(self, kind: SubjectKind, subjects: Iterable[dict[str, Any]]) -> list[Violation]:
        prepared = self._by_kind.get(kind, [])
        if not prepared:
            return []
        out: list[Violation] = []
        needed = self._needed.get(kind)
        ctx = cel.Context({"params": self._params})  # parameters are converted once, subjects per subject
        for subject in subjects:
            visible = subject if needed is None else {k: subject[k] for k in needed if k in subject}
            ctx.add_variable("subject", visible)
            for p in prepared:
                try:
                    result = p.program.execute(ctx)
                except (KeyError, ValueError, TypeError, RuntimeError) as exc:
                    raise RuleEvaluationError(
                        f"rule {p.compiled.rule.id} ({p.compiled.rule.source_file}) failed on "
                        f"{subject.get('id') or subject.get('name') or subject}: {type(exc).__name__}: {exc}"
                    ) from None
                if p.compiled.rule.for_each:
                    for item in result or []:
                        out.append(self._violation(p.compiled, subject, _python(item)))
                elif result is True:
                    out.append(self._violation(p.compiled, subject, None))
        return out

    def _violation(self, compiled: CompiledRule, subject: dict[str, Any], item: dict[str, Any] | None) -> Violation:
        rule = compiled.rule
        values = {"subject": subject, "item": item, "params": self._params[rule.id]}
        scope = None
        if compiled.evidence or compiled.severity_overrides:
            needed = self._violation_facts[rule.id]
            visible = subject if needed is None else {k: subject[k] for k in needed if k in subject}
            scope = cel.Context({**values, "subject": visible})
        severity = rule.severity
        for program, level in compiled.severity_overrides:
            if program.execute(scope) is True:
                severity = Severity(level)
                break
        evidence = {name: _python(prog.execute(scope)) for name, prog in compiled.evidence.items()}
        return Violation(compiled, subject, item, severity, render_message(rule.message, values), evidence)


def run_case(compiled: CompiledRule, subject: dict[str, Any], params: dict[str, Any] | None = None) -> int:
    """Number of violations a rule reports on one subject (for rule test cases)."""
    runner = RuleRunner([compiled], {compiled.rule.id: params or {}})
    return len(runner.run(compiled.rule.subject, [subject]))
