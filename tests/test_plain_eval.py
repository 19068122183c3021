"""CEL in Python (rules_engine/plain_eval.py) gives the CEL library's own result whenever it decides.

The reference is the library: every expression here, and every expression of every shipped rule, is
evaluated by both on generated facts. Python must give the same value, or leave the case to CEL (Undecided),
and must never decide a case where the library reports an error.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhiaudit.rules_engine.cel_core import cel_core
from nhiaudit.rules_engine.engine import _python
from nhiaudit.rules_engine.guards import UNDECIDED, plain
from nhiaudit.rules_engine.loader import load_rules
from nhiaudit.rules_engine.plain_eval import compile_plain
from nhiaudit.rules_engine.plain_ops import Undecided

_ERRORS = (KeyError, ValueError, TypeError, RuntimeError, IndexError, OverflowError, ZeroDivisionError)


def _cel(source: str, variables: dict[str, Any]) -> Any:
    try:
        return _python(cel_core().compile(source).execute(variables))
    except _ERRORS:
        return "error"


def _mine(source: str, variables: dict[str, Any]) -> Any:
    node = compile_plain(source)
    assert node is not None, source
    try:
        value = plain(node(dict(variables)))
    except Undecided:
        return UNDECIDED
    return value


def _agree(source: str, variables: dict[str, Any]) -> bool:
    """True when Python decided (and then it gave CEL's value); fails the test on any disagreement."""
    mine = _mine(source, variables)
    if mine is UNDECIDED:
        return False
    theirs = _cel(source, variables)
    assert theirs != "error", (source, variables, mine)
    assert type(mine) is type(theirs) and mine == theirs, (source, variables, mine, theirs)
    return True


_EXPRESSIONS = [
    "1 + 2 * 3 - 4", "-(3) * 2", "'a' + \"b\"", "[1, 2] + [3]", "[] + []", "true && false || true",
    "!true || !false", "1 < 2 && 'a' < 'b' && 2 >= 2 && 3 > 1 && 1 <= 1", "true ? 1 : 2", "false ? 1 : 'x'",
    "1 == 1", "1 != 2", "'a' == 'a'", "true == 1", "1 == null", "null == null", "'1' == 1", "null != 'x'",
    "1 in [1, 2]", "'x' in ['a', 'x']", "3 in []", "'k' in x.m", "1 in [true, 1]", "null in [null]",
    "[1, 2, 3].filter(v, v > 1)", "[1, 2, 3].map(v, v * 2)", "[1, 2].exists(v, v == 2)", "[1, 2].all(v, v > 1)",
    "[].exists(v, v)", "[].all(v, v)", "'abc'.size()", "size([1, 2])", "x.m.size()", "has(x.m)", "has(x.n)",
    "has(x.m.k)", "'abcdef'.startsWith('abc')", "'abc'.endsWith('bc')", "'abc'.contains('d')", "x.l[1]", "x.m['k']",
    "x.l.filter(e, e > 0).size()", "x.l.map(e, e + 1)",
    "x.s + ' from ' + x.s", "x.l.exists(e, e in [1, 2]) && !x.b", "x.b ? x.s : 'none'",
    "9223372036854775807 - 1", "x.i * x.i", "x.i + x.i", "x.i - 1 > 0",
]
_VARIABLES = [
    {"x": {"m": {"k": 1}, "l": [1, 2, 3], "s": "s", "b": True, "i": 3}},
    {"x": {"m": {}, "l": [], "s": "é", "b": False, "i": 2**62}},
    {"x": {"m": {"k": None}, "l": [0, -1], "s": "", "b": None, "i": -(2**63)}},
    {"x": {"m": [1], "l": ["a"], "s": 1, "b": "yes", "i": 1.5}},
    {"x": None},
]


@pytest.mark.parametrize("source", _EXPRESSIONS)
def test_expressions_agree_with_the_library(source):
    decided = sum(_agree(source, variables) for variables in _VARIABLES)
    if "x." not in source:
        assert decided == len(_VARIABLES), source  # literals alone are always decided


def test_errors_are_left_to_cel():
    for source, variables in [("x.nope", {"x": {}}), ("x.l[5]", {"x": {"l": []}}), ("1 && true", {}),
                              ("9223372036854775807 + 1", {}), ("x.i * x.i", {"x": {"i": 2**62}}),
                              ("'é'.size()", {}), ("x.f > 1", {"x": {"f": 1.5}}), ("[1] == [1]", {}),
                              ("y", {}), ("x.m.k", {"x": {"m": [1]}}), ("true ? x.a : 1", {"x": {}})]:
        assert _mine(source, variables) is UNDECIDED, source


@pytest.mark.parametrize("source", [
    "x == 1u", "x == 1.0", "{'a': 1}", "x / 2", "x % 2", "x.matches(y)", "x // comment", "'it\\'s'", "r'x'",
    "b'x'", "'''x'''", "1 < 2 < 3", "timestamp('2026-01-01T00:00:00Z')", "x.map(a, b, c)", "0x10", "1e3",
    "x.exists_one(v, v)", "dyn(x)", "(x", "x)", "", "x.", "[1,]", "size(1, 2)",
])
def test_shapes_outside_the_subset_do_not_compile(source):
    assert compile_plain(source) is None


def _shipped_expressions() -> list[str]:
    out = []
    for compiled in load_rules(include_disabled=True):
        rule = compiled.rule
        out.append(rule.when if not rule.for_each else f"({rule.for_each}).filter(item, {rule.when})")
        out.extend(rule.evidence.values())
        out.extend(o.when for o in rule.severity_overrides)
    return out


def test_nearly_every_shipped_expression_runs_in_python():
    """CEL stays the reference and the fallback; the shipped rules should rarely need it."""
    expressions = _shipped_expressions()
    missing = [e for e in expressions if compile_plain(e) is None]
    assert len(missing) <= len(expressions) // 10, missing


_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([2**63, -(2**63), 2**62]),
                    st.sampled_from(["", "a", "nhi", "prod", "é", "*"]), st.just(1.5))
_any = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "k", "class"]), inner, max_size=3)),
    max_leaves=8)


def _usually(typed: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the expected type, sometimes anything (the error and undecided paths)."""
    return st.one_of(typed, typed, typed, _any)


_ints = st.one_of(st.integers(-3, 3), st.sampled_from([2**62, -(2**62), 2**63 - 1]))
_strs = st.sampled_from(["", "a", "nhi", "prod", "é", "*", "a*"])
# x: facts of the usual shapes; the expressions below read them by name.
_facts = st.fixed_dictionaries({
    "i": _usually(_ints), "s": _usually(_strs), "b": _usually(st.booleans()),
    "l": _usually(st.lists(_ints, max_size=4)), "t": _usually(st.lists(_strs, max_size=4)),
    "m": _usually(st.dictionaries(_strs, _any, max_size=3)),
    "r": _usually(st.lists(st.fixed_dictionaries({"s": _usually(_strs), "b": _usually(st.booleans())}),
                           max_size=3)),
})


def _typed(depth: int) -> dict[str, st.SearchStrategy[str]]:
    """Expressions of each CEL type (int, string, bool, list), well typed but for the facts' values."""
    leaves = {"int": st.sampled_from(["x.i", "0", "1", "-2", "9223372036854775807", "x.l.size()", "x.s.size()",
                                      "x.m.size()", "x.r.size()"]),
              "str": st.sampled_from(["x.s", "'a'", "\"nhi\"", "''", "'é'", "x.t[0]", "x.m['a']"]),
              "bool": st.sampled_from(["x.b", "true", "false", "has(x.m.a)", "(x.s == null)", "x.r[0].b"]),
              "list": st.sampled_from(["x.l", "x.t", "[]", "[1, 2]", "['a', 'nhi']", "x.r.map(e, e.s)"])}
    if depth == 0:
        return leaves
    sub = _typed(depth - 1)
    i, s, b, lst = sub["int"], sub["str"], sub["bool"], sub["list"]
    return {
        "int": st.one_of(leaves["int"], st.builds(lambda a, op, c: f"({a} {op} {c})", i, st.sampled_from("+-*"), i),
                         st.builds(lambda a: f"-{a}", i), st.builds(lambda a: f"{a}.size()", st.one_of(s, lst)),
                         st.builds(lambda c, a, d: f"({c} ? {a} : {d})", b, i, i)),
        "str": st.one_of(leaves["str"], st.builds(lambda a, c: f"({a} + {c})", s, s),
                         st.builds(lambda c, a, d: f"({c} ? {a} : {d})", b, s, s)),
        "bool": st.one_of(
            leaves["bool"], st.builds(lambda a, op, c: f"({a} {op} {c})", b, st.sampled_from(["&&", "||", "==", "!="]),
                                      b),
            st.builds(lambda a: f"!{a}", b),
            st.builds(lambda a, op, c: f"({a} {op} {c})", i, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), i),
            st.builds(lambda a, op, c: f"({a} {op} {c})", s, st.sampled_from(["==", "!=", "<", ">="]), s),
            st.builds(lambda a, c: f"({a} in {c})", st.one_of(i, s), lst),
            st.builds(lambda a, f, c: f"{a}.{f}({c})", s, st.sampled_from(["startsWith", "endsWith", "contains"]), s),
            st.builds(lambda a, m, c: f"{a}.{m}(v, {c})", lst, st.sampled_from(["exists", "all"]),
                      st.sampled_from(["v == 1", "v != 'a'", "v in ['a', 1]", "v.size() > 0", "v > 0"])),
            st.builds(lambda a, op, c: f"(x.i {op} null {c} {a})", b, st.sampled_from(["==", "!="]),
                      st.sampled_from(["&&", "||"]))),
        "list": st.one_of(leaves["list"], st.builds(lambda a, c: f"({a} + {c})", lst, lst),
                          st.builds(lambda a, c: f"{a}.filter(v, {c})", lst,
                                    st.sampled_from(["v == 1", "v != 'a'", "v in ['a', 1]", "true", "v > 0"])),
                          st.builds(lambda a: f"{a}.map(v, [v])", lst)),
    }


_GENERATED = st.one_of(*_typed(2).values())


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_GENERATED, x=_facts)
def test_generated_expressions_agree_with_the_library(source, x):
    assert compile_plain(source) is not None, source
    _agree(source, {"x": x})


_PATTERNS = ["(?i)write", "(^|:)sub(ject)?$", "(^|:)(sub(ject)?|aud(iences)?)$", "^a.b$", "x*y+", "ab?c", "^$",
             "a|b|", "(?i)^AUD$", ".*:sub"]


@settings(max_examples=400, deadline=None)
@given(pattern=st.sampled_from(_PATTERNS),
       value=st.one_of(st.text(alphabet="abcdsujetiknorwxyAUDSW:.\n", max_size=12),
                       st.sampled_from(["sub", "token:sub", "aud\n", "sub\n", "Write", "WRITE", "é:sub", "x" * 300])))
def test_matches_agrees_with_the_library(pattern, value):
    source = f'x.matches("{pattern}")'
    assert compile_plain(source) is not None
    decided = _agree(source, {"x": value})
    assert decided == (value.isascii() and len(value) <= 256)


@pytest.mark.parametrize("pattern", ["(a+)+", "(a*)*b", "(ab)*", "[a-z]", "a{2,}", "a\\\\d", "a*b*c*", "(?=a)",
                                     "(?P<n>a)", "a+?", "(?s).", "x" * 101])
def test_matches_of_other_patterns_is_left_to_cel(pattern):
    assert compile_plain(f'x.matches("{pattern}")') is None
