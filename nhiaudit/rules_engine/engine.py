"""Evaluate compiled rules against subjects' facts.

Hot path: the CEL library converts every value handed to it, node by node, and copies the whole context
again on the first evaluation after each change, so its cost follows the size of the facts it is given:
- per subject, the rules its guards decide (`guards.py`: `!subject.disabled && ...` false, an empty
  `for_each` list, or a `when` made only of such tests) cost nothing more;
- the others are evaluated in Python on the facts in place (`plain_eval.py`: the CEL the rules use, exactly
  as the library evaluates it), and only what Python cannot decide exactly goes to CEL, which gets only the
  facts the remaining rules read, converted once into one context, and runs one program per rule
  (`for_each` rules as a single `list.filter(item, when)` program);
- messages, evidence and severity overrides are computed only for the subjects that fail: in Python where
  it decides, the rest in one CEL context per subject (its facts converted once) in which only `item` and
  `params` change per violation.
Results are exactly those of evaluating every expression in CEL on the whole subject
(tests/test_rules_engine_paths.py, tests/test_plain_eval.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from nhiaudit.errors import NhiauditError
from nhiaudit.facts.schema import SubjectKind
from nhiaudit.findings import Severity
from nhiaudit.rules_engine.cel_core import cel_core
from nhiaudit.rules_engine.guards import UNDECIDED, Guard, for_each_fact, guards_pass, leading_guards, plain
from nhiaudit.rules_engine.loader import CompiledRule
from nhiaudit.rules_engine.plain_eval import Node, compile_plain
from nhiaudit.rules_engine.plain_ops import Undecided
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
_PARAMS_ANY = re.compile(r"\bparams\b")
_SUBJECT_FACT = re.compile(r"\bsubject\.([A-Za-z_][A-Za-z0-9_]*)")
# `subject` used as a whole: not followed by `.field`, or followed by a method or macro (`subject.size()`,
# `subject.exists(k, ...)`), which would see which facts the context holds.
_SUBJECT_ANY = re.compile(r"\bsubject\b(?!\.)|\bsubject\.[A-Za-z_][A-Za-z0-9_]*\s*\(")


def referenced_facts(sources: Iterable[str]) -> set[str] | None:
    """Top-level facts the expressions read; None when one uses `subject` as a whole."""
    names: set[str] = set()
    for source in sources:
        if _SUBJECT_ANY.search(source):
            return None
        names.update(_SUBJECT_FACT.findall(source))
    return names


def _union(parts: Iterable[frozenset[str] | None]) -> tuple[str, ...] | None:
    """Sorted union of fact names (a stable order whatever PYTHONHASHSEED); None means the whole subject."""
    names: set[str] = set()
    for part in parts:
        if part is None:
            return None
        names |= part
    return tuple(sorted(names))


def _visible(subject: dict[str, Any], names: tuple[str, ...] | None) -> dict[str, Any]:
    return subject if names is None else {k: subject[k] for k in names if k in subject}


Scope = dict[str, Any]  # the variables of one evaluation in Python: subject, params and item


def _value(node: Node | None, scope: Scope) -> Any:
    """The expression's value as CEL would hand it back (plain JSON, maps with sorted keys), or UNDECIDED."""
    if node is None:
        return UNDECIDED
    try:
        return plain(node(scope))
    except Undecided:
        return UNDECIDED


def _truth(node: Node | None, scope: Scope) -> Any:
    """True or False, or UNDECIDED (not decidable in Python, or not a bool: CEL reports that)."""
    if node is None:
        return UNDECIDED
    try:
        value = node(scope)
    except Undecided:
        return UNDECIDED
    return value if type(value) is bool else UNDECIDED


@dataclass(frozen=True)
class _Prepared:
    compiled: CompiledRule
    source: str  # the CEL program's text
    program: Any  # cel.Program returning bool (plain) or the failing items (for_each)
    facts: frozenset[str] | None  # what `when` and `for_each` read (None: the whole subject)
    guards: tuple[Guard, ...]
    decided: bool  # `when` is only guards: when they hold, the rule fires (on every item of a for_each)
    each_fact: str | None  # `for_each: subject.<fact>`
    extras: bool  # has evidence or severity overrides
    extra_facts: frozenset[str] | None  # what evidence and overrides read
    when_python: Node | None  # `when` in Python (None: CEL only)
    each_python: Node | None  # `for_each` in Python
    overrides: tuple[tuple[Node | None, Any, str], ...]  # (Python form, CEL program, severity)
    evidence: tuple[tuple[str, Node | None, Any], ...]  # (name, Python form, CEL program)

    def verdict(self, subject: Mapping[str, Any]) -> bool | None:
        """False: the rule certainly reports nothing on this subject (see guards.py); True: it certainly
        fires (on every item of its `for_each`); None: CEL decides."""
        if self.compiled.rule.for_each:
            items = subject.get(self.each_fact) if self.each_fact else None
            if not isinstance(items, list | tuple):
                return None  # CEL decides (and reports a wrong type or a missing fact as before)
            if not items:
                return False
        passed = guards_pass(self.guards, subject)
        if passed is False:
            return False
        return True if passed and self.decided else None

    def fired(self, subject: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any] | None] | Any:
        """What the rule reports on the subject, decided in Python: [None] or [] for a plain rule, the failing
        items (as CEL hands them back) for a `for_each`; UNDECIDED when CEL must say."""
        scope: Scope = {"subject": subject, "params": params}
        if not self.compiled.rule.for_each:
            verdict = _truth(self.when_python, scope)
            return verdict if verdict is UNDECIDED else [None] if verdict else []
        if self.when_python is None or self.each_python is None:
            return UNDECIDED
        try:
            items = self.each_python(scope)
        except Undecided:
            return UNDECIDED
        if type(items) is not list and type(items) is not tuple:
            return UNDECIDED
        failing = []
        for item in items:
            scope["item"] = item
            verdict = _truth(self.when_python, scope)
            if verdict is UNDECIDED:
                return UNDECIDED
            if verdict:
                failing.append(plain(item))
        return UNDECIDED if any(item is UNDECIDED for item in failing) else failing


def _frozen(names: set[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


def _prepare(compiled: CompiledRule) -> _Prepared:
    rule = compiled.rule
    scoped = f"params['{rule.id}']."

    def scope(expr: str) -> str:
        return _PARAMS.sub(scoped, expr)

    source = f"({scope(rule.for_each)}).filter(item, {scope(rule.when)})" if rule.for_each else scope(rule.when)
    guards, whole = leading_guards(rule.when)
    return _Prepared(
        compiled=compiled, source=source, program=cel_core().compile(source),
        facts=_frozen(referenced_facts([rule.when, *([rule.for_each] if rule.for_each else [])])),
        guards=guards, decided=whole,
        each_fact=for_each_fact(rule.for_each),
        extras=bool(compiled.evidence or compiled.severity_overrides),
        extra_facts=_frozen(referenced_facts([*rule.evidence.values(), *(o.when for o in rule.severity_overrides)])),
        when_python=compile_plain(rule.when),
        each_python=compile_plain(rule.for_each) if rule.for_each else None,
        overrides=tuple((compile_plain(o.when), program, level)
                        for o, (program, level) in zip(rule.severity_overrides, compiled.severity_overrides,
                                                       strict=True)),
        evidence=tuple((name, compile_plain(rule.evidence[name]), program)
                       for name, program in compiled.evidence.items()),
    )


def _python(value: Any) -> Any:
    """CEL results back to plain JSON-able Python. Maps come back from CEL in a random order per process
    (a Rust hash map, whatever PYTHONHASHSEED says): keys are sorted so that reports are reproducible."""
    if isinstance(value, dict):
        return {str(k): _python(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_python(v) for v in value]
    return value


class RuleRunner:
    def __init__(self, rules: Iterable[CompiledRule], param_overrides: Mapping[str, dict] | None = None) -> None:
        self._by_kind: dict[SubjectKind, list[_Prepared]] = {}
        self._params: dict[str, dict[str, Any]] = {}
        for compiled in rules:
            self._by_kind.setdefault(compiled.rule.subject, []).append(_prepare(compiled))
            params = dict(compiled.rule.parameters)
            params.update((param_overrides or {}).get(compiled.rule.id, {}))
            self._params[compiled.rule.id] = params

    def kinds(self) -> set[SubjectKind]:
        return set(self._by_kind)

    def run(self, kind: SubjectKind, subjects: Iterable[dict[str, Any]]) -> Iterator[Violation]:
        """The violations of each subject in turn, yielded as soon as that subject is done: a caller that turns
        them into findings at once lets each subject's facts go (they are most of a large scan's memory)."""
        prepared = self._by_kind.get(kind, [])
        if not prepared:
            return
        # Parameters are converted once, subjects per subject. CEL copies the whole context again after each
        # subject's conversion: the parameters of every rule are left out when no rule of this kind reads them.
        reads_params = any(_PARAMS_ANY.search(p.source) for p in prepared)
        ctx = cel_core().Context({"params": self._params} if reads_params else {})
        # The facts CEL needs depend only on which rules it runs: few combinations, computed once each.
        facts_for: dict[tuple[int, ...], tuple[str, ...] | None] = {}
        for subject in subjects:
            plan = [(i, v) for i, p in enumerate(prepared) if (v := p.verdict(subject)) is not False]
            if not plan:
                continue
            key = tuple(i for i, v in plan if v is None)
            if key not in facts_for:
                facts_for[key] = _union(prepared[i].facts for i in key)
            fired: list[tuple[_Prepared, dict[str, Any] | None]] = []
            converted = False
            for i, certain in plan:
                p = prepared[i]
                if certain and not p.compiled.rule.for_each:
                    fired.append((p, None))
                    continue
                if certain:  # every item fires: they are what CEL would give back, unless not plain JSON
                    items = plain(subject[p.each_fact])
                    if items is UNDECIDED:
                        alone = cel_core().Context({"params": self._params,
                                                    "subject": _visible(subject, _union([p.facts]))})
                        items = [_python(item) for item in _execute(p, alone, subject) or []]
                    fired.extend((p, item) for item in items)
                    continue
                decided = p.fired(subject, self._params[p.compiled.rule.id])
                if decided is not UNDECIDED:
                    fired.extend((p, item) for item in decided)
                    continue
                if not converted:
                    ctx.add_variable("subject", _visible(subject, facts_for[key]))
                    converted = True
                result = _execute(p, ctx, subject)
                if p.compiled.rule.for_each:
                    fired.extend((p, _python(item)) for item in result or [])
                elif result is True:
                    fired.append((p, None))
            if fired:
                yield from self._violations(subject, fired)

    def _violations(self, subject: dict[str, Any],
                    fired: list[tuple[_Prepared, dict[str, Any] | None]]) -> Iterable[Violation]:
        """Messages, evidence and severity overrides of one subject's violations. Simple expressions are
        evaluated in Python (guards.direct); the others in CEL, in a context made only when needed."""
        scopes = _EvidenceScopes(subject, fired)
        for p, item in fired:
            rule = p.compiled.rule
            params = self._params[rule.id]
            severity = rule.severity
            evidence: dict[str, Any] = {}
            scope = None
            variables: Scope = {"subject": subject, "item": item, "params": params}
            for test, program, level in p.overrides:
                value = _truth(test, variables)
                if value is UNDECIDED:
                    if scope is None:
                        scope = scopes.scope(p, item, params)
                    value = program.execute(scope)
                if value is True:
                    severity = Severity(level)
                    break
            for name, read, program in p.evidence:
                value = _value(read, variables)
                if value is UNDECIDED:
                    if scope is None:
                        scope = scopes.scope(p, item, params)
                    value = _python(program.execute(scope))
                evidence[name] = value
            message = render_message(rule.message, {"subject": subject, "item": item, "params": params})
            yield Violation(p.compiled, subject, item, severity, message, evidence)


def _execute(p: _Prepared, ctx: Any, subject: dict[str, Any]) -> Any:
    try:
        return p.program.execute(ctx)
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise RuleEvaluationError(
            f"rule {p.compiled.rule.id} ({p.compiled.rule.source_file}) failed on "
            f"{subject.get('id') or subject.get('name') or subject}: {type(exc).__name__}: {exc}"
        ) from None


class _EvidenceScopes:
    """CEL contexts for one subject's evidence and overrides, made on first need. The subject's facts
    are converted once, in one context (a superset of what each rule reads is invisible to field access);
    `item` and `params` are set per violation. A rule whose expressions read no fact gets a small context."""

    def __init__(self, subject: dict[str, Any], fired: list[tuple[_Prepared, dict[str, Any] | None]]) -> None:
        self._subject = subject
        self._fired = fired
        self._shared: Any = None

    def scope(self, p: _Prepared, item: dict[str, Any] | None, params: dict[str, Any]) -> Any:
        if p.extra_facts is not None and not p.extra_facts:
            return cel_core().Context({"subject": {}, "item": item, "params": params})
        if self._shared is None:
            names = _union(q.extra_facts for q, _ in self._fired if q.extras)
            self._shared = cel_core().Context({"subject": _visible(self._subject, names)})
        self._shared.add_variable("item", item)
        self._shared.add_variable("params", params)
        return self._shared


def run_case(compiled: CompiledRule, subject: dict[str, Any], params: dict[str, Any] | None = None) -> int:
    """Number of violations a rule reports on one subject (for rule test cases)."""
    runner = RuleRunner([compiled], {compiled.rule.id: params or {}})
    return sum(1 for _ in runner.run(compiled.rule.subject, [subject]))
