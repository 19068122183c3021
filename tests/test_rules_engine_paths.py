"""The rule engine's fast paths give exactly what plain CEL evaluation gives.

The engine skips rules whose leading guards are false, decides simple `when`s, evidence and severity
overrides in Python, hands CEL only the facts the remaining rules read and reuses one context per subject
for evidence (issue 17). The reference here is the straightforward evaluation the engine replaced: every
rule in CEL on the whole subject, a new context per violation for overrides and evidence.
"""

from __future__ import annotations

import copy
import gc
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

import nhiaudit.rules_engine.engine as engine
from nhiaudit.facts.schema import SubjectKind
from nhiaudit.findings import Severity
from nhiaudit.gc_pause import paused_gc, process_ends_after
from nhiaudit.inventory.snapshot import load_snapshot
from nhiaudit.rules_engine.cel_core import cel_core
from nhiaudit.rules_engine.engine import RuleEvaluationError, RuleRunner, Violation, _python
from nhiaudit.rules_engine.guards import UNDECIDED, leading_guards, plain, top_level_split
from nhiaudit.rules_engine.loader import CompiledRule, compile_rule, load_rules
from nhiaudit.rules_engine.model import Rule
from nhiaudit.rules_engine.template import render_message
from nhiaudit.scan import run_scan

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"
RULES = load_rules(include_disabled=True)


def _reference(rules: list[CompiledRule], kind: SubjectKind, subjects: list[dict[str, Any]]) -> list[tuple]:
    """Every rule in CEL on the whole subject; a new context per violation (the engine before issue 17)."""
    core = cel_core()
    out = []
    for subject in subjects:
        for compiled in rules:
            rule = compiled.rule
            if rule.subject is not kind:
                continue
            params = dict(rule.parameters)
            ctx = core.Context({"subject": subject, "params": params})
            try:
                if rule.for_each:
                    items = [_python(i) for i in core.compile(f"({rule.for_each}).filter(item, {rule.when})")
                             .execute(ctx) or []]
                else:
                    items = [None] if compiled.when.execute(ctx) is True else []
            except (KeyError, ValueError, TypeError, RuntimeError) as exc:
                raise RuleEvaluationError(f"{rule.id}: {exc}") from None
            for item in items:
                scope = core.Context({"subject": subject, "item": item, "params": params})
                severity = rule.severity
                for program, level in compiled.severity_overrides:
                    if program.execute(scope) is True:
                        severity = Severity(level)
                        break
                evidence = {name: _python(p.execute(scope)) for name, p in compiled.evidence.items()}
                message = render_message(rule.message, {"subject": subject, "item": item, "params": params})
                out.append((rule.id, subject.get("id") or subject.get("name"), item, severity, message, evidence))
    return out


def _engine(rules: list[CompiledRule], kind: SubjectKind, subjects: list[dict[str, Any]]) -> list[tuple]:
    return [(v.rule.rule.id, v.subject.get("id") or v.subject.get("name"), v.item, v.severity, v.message,
             v.evidence) for v in RuleRunner(rules).run(kind, subjects)]


@pytest.fixture(scope="module")
def demo_subjects() -> dict[SubjectKind, list[dict[str, Any]]]:
    """The subjects the engine sees when scanning the demo estate."""
    captured: dict[SubjectKind, list[dict[str, Any]]] = defaultdict(list)
    original = RuleRunner.run

    def capture(self: RuleRunner, kind: SubjectKind, subjects: Any) -> list[Violation]:
        subjects = list(subjects)
        captured[kind].extend(copy.deepcopy(subjects))
        return original(self, kind, subjects)

    RuleRunner.run = capture  # type: ignore[method-assign]
    try:
        run_scan(load_snapshot(DEMO / "snapshot.json"), DEMO / "policy.yaml", [], date(2026, 11, 28))
    finally:
        RuleRunner.run = original  # type: ignore[method-assign]
    return dict(captured)


def _variants(subject: dict[str, Any]) -> list[dict[str, Any]]:
    """The subject, and one variant per flipped bool fact and per emptied or dropped list fact: guards
    and for_each lists decide differently, evidence and overrides take their other branches."""
    out = [subject]
    for key, value in subject.items():
        if type(value) is bool:
            out.append({**subject, key: not value})
        elif isinstance(value, list | tuple) and value:
            out.append({**subject, key: []})
        elif isinstance(value, dict) and "class" in value:  # classification
            out.extend({**subject, key: {**value, "class": c}} for c in ("human", "nhi", "unknown"))
    return out


@pytest.mark.parametrize("kind", list(SubjectKind), ids=[k.value for k in SubjectKind])
def test_engine_matches_plain_cel_on_the_demo_and_variants(demo_subjects, kind):
    subjects = [v for s in demo_subjects.get(kind, []) for v in _variants(s)]
    assert subjects or kind is SubjectKind.INTEGRATION
    expected = _reference(RULES, kind, subjects)
    assert _engine(RULES, kind, subjects) == expected
    if kind is SubjectKind.IDENTITY:  # the variants reach for_each rules, overrides and evidence
        fired = {e[0] for e in expected}
        assert {"privesc-single-step", "scope-forbidden-system", "admin-access", "human-use-of-nhi",
                "env-reaches-production", "azure-graph-broad-permission"} <= fired
        assert {e[3] for e in expected if e[0] == "admin-access"} == {Severity.HIGH, Severity.CRITICAL}


def _outcome(run: Any, rules: list[CompiledRule], subjects: list[dict[str, Any]]) -> Any:
    try:
        return run(rules, SubjectKind.IDENTITY, subjects)
    except RuleEvaluationError:
        return "error"


def test_facts_of_unexpected_types_behave_as_before(demo_subjects):
    """A guard on a fact CEL cannot use (null, a string, missing) is left to CEL, which reports the error,
    or absorbs it when another conjunct is false (CEL's commutative `&&`)."""
    compiled = _rule(when="!subject.disabled && subject.declared && subject.age_days > 3")
    outcomes = []
    for disabled in (None, "no", "missing", False, True):
        for declared in (True, False, None):
            for age in (1, 5, "5"):
                subject = {"name": "n", "declared": declared, "age_days": age}
                if disabled != "missing":
                    subject["disabled"] = disabled
                expected = _outcome(_reference, [compiled], [subject])
                assert _outcome(_engine, [compiled], [subject]) == expected, subject
                outcomes.append(expected == "error")
    assert any(outcomes) and not all(outcomes)
    base = demo_subjects[SubjectKind.IDENTITY][0]
    for broken in ({**base, "disabled": None}, {**base, "is_admin": "yes"}, {**base, "escalations": None},
                   {k: v for k, v in base.items() if k != "disabled"}):
        assert _outcome(_engine, RULES, [broken]) == _outcome(_reference, RULES, [broken])


def _rule(**fields: Any) -> CompiledRule:
    data = {"id": "t-rule", "title": "t", "category": "scope-drift", "severity": "low", "subject": "identity",
            "message": "{subject.name}: {item.system} {params.limit}", "description": "d", "rationale": "r",
            "remediation": "x", **fields}
    return compile_rule(Rule.model_validate(data), {}, "test.yaml")


def test_for_each_rule_with_overrides_params_and_subject_evidence():
    compiled = _rule(
        when="!subject.disabled && item.access == 'write'", for_each="subject.reach",
        parameters={"limit": 3},
        evidence={"system": "item.system", "count": "subject.reach.size()", "who": "subject.name",
                  "limit": "params.limit", "chain": "item.via_chain"},
        severity_overrides=[{"when": "item.via_chain || subject.declared", "severity": "high"},
                            {"when": "subject.reach.size() > params.limit", "severity": "critical"}])
    subjects = [
        {"name": "a", "disabled": False, "declared": False, "reach": [
            {"system": "s1", "access": "write", "via_chain": False},
            {"system": "s2", "access": "read", "via_chain": True},
            {"system": "s3", "access": "write", "via_chain": True}]},
        {"name": "b", "disabled": True, "declared": True, "reach": [{"system": "s1", "access": "write"}]},
        {"name": "c", "disabled": False, "declared": True, "reach": [
            {"system": f"s{i}", "access": "write", "via_chain": False} for i in range(5)]},
        {"name": "d", "disabled": False, "declared": False, "reach": []},
    ]
    expected = _reference([compiled], SubjectKind.IDENTITY, subjects)
    assert _engine([compiled], SubjectKind.IDENTITY, subjects) == expected
    assert [e[3] for e in expected] == [Severity.LOW, Severity.HIGH] + [Severity.HIGH] * 5
    assert expected[0][4] == "a: s1 3" and expected[0][5]["limit"] == 3


def test_a_for_each_decided_by_its_guards_keeps_every_item_as_cel_would():
    compiled = _rule(when="!subject.disabled", for_each="subject.escalations",
                     severity_overrides=[{"when": "item.to_admin", "severity": "critical"}])
    subjects = [{"name": "x", "disabled": False, "escalations": [
        {"title": "t", "actions": ("iam:PassRole",), "to_admin": True, "n": 2**40, "f": 1.5, "z": None},
        {"title": "u", "actions": [], "to_admin": False, "nested": {"b": 1, "a": [{"k": "v"}]}}]},
        # Not plain JSON: the engine asks CEL, as before.
        {"name": "y", "disabled": False, "escalations": [{"when": datetime(2026, 1, 1, tzinfo=UTC),
                                                           "to_admin": "yes"}]}]
    expected = _reference([compiled], SubjectKind.IDENTITY, subjects)
    assert _engine([compiled], SubjectKind.IDENTITY, subjects) == expected
    assert len(expected) == 3 and expected[0][2]["actions"] == ["iam:PassRole"]


@pytest.mark.parametrize(("expr", "parts"), [
    ("a && b && c", ["a ", " b ", " c"]),
    ("a && (b || c)", ["a ", " (b || c)"]),
    ("a && b || c", None),
    ("a && b ? c : d", None),
    ("a && 'x && y' == s", ["a ", " 'x && y' == s"]),
    ("a && \"|| ?\" == s", ["a ", " \"|| ?\" == s"]),
    ("a && '''it's && ok''' == s", ["a ", " '''it's && ok''' == s"]),
    ("a && b // c || d", None),
    ("a && 'it\\'s' == s", None),
    ("a && (b", None),
    ("a) || (b", None),
    ("a && 'open", None),
])
def test_top_level_split(expr, parts):
    assert top_level_split(expr, "&&") == parts


_VALUES: list[Any] = [True, False, None, 0, 1, 2, -1, 2**63, 1.5, "", "nhi", "human", [], [1], ["a", "b"], {},
                      {"class": "nhi"}, {"k": True}, (1, 2)]
_GUARDS = ["subject.a", "!subject.a", "subject.a.class == 'nhi'", "subject.a != \"human\"", "subject.a > 0",
           "subject.a >= subject.b", "subject.a.size() > 1", "subject.a == subject.b", "subject.a < -1",
           "subject.a.k", "!subject.a.k", "subject.a.size() == 0", "1 < subject.a",
           "(subject.a || subject.b)", "(subject.a.k || subject.b == 1 || subject.a > 0)"]


@pytest.mark.parametrize("expr", _GUARDS)
def test_guards_agree_with_cel_whenever_they_decide(expr):
    (guard,), whole = leading_guards(expr)
    assert whole
    program = cel_core().compile(expr)
    decided = 0
    for a in [*_VALUES, UNDECIDED]:
        for b in _VALUES[:8]:
            subject = {"b": b} if a is UNDECIDED else {"a": a, "b": b}
            verdict = guard(subject, None)
            if verdict is UNDECIDED:
                continue
            decided += 1
            assert program.execute({"subject": subject}) is verdict, (expr, subject)
    assert decided


class _Colour(StrEnum):
    RED = "red"


def test_plain_is_the_cel_round_trip_or_undecided():
    values = [None, True, 3, -(2**63), 2.5, "s", [1, (2, "x")], {"b": [1], "a": {"d": None, "c": 1.0}}]
    for value in values:
        assert plain(value) == _python(cel_core().compile("v").execute({"v": value}))
    assert list(plain({"b": 1, "a": 2})) == ["a", "b"]
    for other in (2**63, _Colour.RED, {1: "x"}, {True: 1}, b"x", datetime(2026, 1, 1), [{"k": _Colour.RED}]):
        assert plain(other) is UNDECIDED


def test_unsupported_shapes_are_left_to_cel():
    assert leading_guards("subject.a || subject.b") == ((), False)
    assert leading_guards("(subject.a) && (subject.b && subject.c)")[1] is False
    guards, whole = leading_guards("!subject.a && subject.b.exists(x, x) && subject.c")
    assert len(guards) == 1 and not whole  # only the prefix before the first other shape


def test_engine_module_does_not_import_the_cel_repl():
    code = ("import sys; from nhiaudit.rules_engine.loader import load_rules; "
            "from nhiaudit.rules_engine.engine import RuleRunner; RuleRunner(load_rules()); "
            "assert not {'prompt_toolkit', 'pygments', 'cel.cli'} & set(sys.modules), sorted(sys.modules); "
            "import cel; assert cel.compile('1 + 1').execute() == 2")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_gc_pause_freezes_only_when_the_process_ends_after():
    assert gc.isenabled()
    before = gc.get_freeze_count()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() == before  # a library caller: nothing frozen
        with process_ends_after(), paused_gc():
            kept = [[i] for i in range(1000)]
        assert gc.isenabled() and gc.get_freeze_count() >= before + len(kept)
        with paused_gc():  # outside the CLI block again: back to normal
            pass
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(("template", "expected"), [
    ("{subject.name} has {subject.keys} keys, admin: {subject.admin}", "n has a, b keys, admin: yes"),
    ("{item.x} {params.limit} {subject.missing} {subject.name.deeper} {other.name}",
     "{item.x} 3 {subject.missing} {subject.name.deeper} {other.name}"),
    ("none: {subject.empty}; {{subject.name}}", "none: none; {n}"),
])
def test_messages_render_as_before(template, expected):
    scope = {"subject": {"name": "n", "keys": ["a", "b"], "admin": True, "empty": []}, "item": None,
             "params": {"limit": 3}}
    assert render_message(template, scope) == expected


def test_engine_reports_violations_in_rule_order(demo_subjects):
    subjects = demo_subjects[SubjectKind.IDENTITY]
    order = {r.rule.id: n for n, r in enumerate(RULES)}
    seen: dict[str, list[int]] = defaultdict(list)
    for v in RuleRunner(RULES).run(SubjectKind.IDENTITY, subjects):
        seen[v.subject["id"]].append(order[v.rule.rule.id])
    assert seen and all(ids == sorted(ids) for ids in seen.values())
    assert engine.RuleRunner is RuleRunner
