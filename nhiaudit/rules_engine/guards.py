"""Simple rule expressions decided in Python, with exactly the result CEL would give.

Handing values to the CEL library costs far more than the tests most rules make (it converts every value
node by node, then copies the whole context again on the next evaluation), so the engine evaluates the
simple parts of a rule itself when the facts have the plain types involved, and leaves the rest to CEL:
- the leading conjuncts of `when` (`!subject.disabled && subject.declared && subject.x.size() > 0 && ...`).
  One false: the rule cannot fire. CEL's `&&` short-circuits on false (and is false whatever the other
  side, errors included), and `list.filter(item, false && ...)` keeps nothing. All true and they are the
  whole `when`: the rule fires.
These are the engine's first, cheapest test of each rule on each subject; what they leave open is evaluated
in Python by plain_eval.py where it can be, else by CEL.
Anything else (a fact missing or of another type, an expression of another shape) is UNDECIDED: the
rule is evaluated in full, and errors are reported exactly as before. Only a prefix of conjuncts counts (a
later one could error first), and only in a plain conjunction: a top-level `||` or `?:` (lower precedence
than `&&`), a comment or a backslash make the analysis give up. It is never wrong, at worst useless.

Guard shapes: `P`, `!P` (a bool); `X op Y` where X and Y are `P`, `P.size()`, an integer or a plain string
literal and op one of == != < <= > >= (ints on both sides, or == / != between two strings or two bools);
`(g1 || g2 ...)` of guards. P is `subject.a.b`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

UNDECIDED: Any = object()
Direct = Callable[[Mapping[str, Any], Any], Any]  # on (subject, item): the value, or UNDECIDED
Guard = Direct  # in `when`: on (subject, None), True / False or UNDECIDED
_Operand = Callable[[Mapping[str, Any], Any], Any]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_LITERAL = r"-?[0-9]+(?![0-9A-Za-z_.])|\"[^\"\n]*\"|'[^'\n]*'"
_OPS = r"==|!=|<=|>=|<|>"
_EACH_FACT = re.compile(rf"\s*subject\.({_NAME})\s*\Z")
_OPEN, _CLOSE = "([{", ")]}"
_INT64 = range(-(2**63), 2**63)
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class _Shapes:
    """The regular expressions for one set of roots (`subject`, or `subject` and `item`)."""

    def __init__(self, roots: str) -> None:
        path = rf"(?:{roots})(?:\.{_NAME})+"
        operand = rf"{path}(?:\.size\(\s*\))?|{_LITERAL}"
        self.path = re.compile(rf"\s*({path})\s*\Z")
        self.truth = re.compile(rf"\s*(!\s*)?({path})\s*\Z")
        self.compare = re.compile(rf"\s*({operand})\s*({_OPS})\s*({operand})\s*\Z")


_SUBJECT_ONLY = _Shapes("subject")


def top_level_split(expr: str, separator: str) -> list[str] | None:
    """`a && b && c` split at its top-level `&&` (or `||`); None unless the expression is exactly that: no
    operator of lower precedence at the top level (`?`, and `||` when splitting at `&&`), no comment, no
    backslash (escapes and raw strings are not worth parsing here)."""
    if "\\" in expr:
        return None
    lower = ("?", "||") if separator == "&&" else ("?",)
    parts: list[str] = []
    depth, start, i, n = 0, 0, 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch in "'\"":
            quote = ch * 3 if expr.startswith(ch * 3, i) else ch
            end = expr.find(quote, i + len(quote))
            if end < 0:
                return None
            i = end + len(quote)
            continue
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth < 0:
                return None
        elif expr.startswith("//", i) or (depth == 0 and expr.startswith(lower, i)):
            return None
        elif depth == 0 and expr.startswith(separator, i):
            parts.append(expr[start:i])
            start = i + 2
            i += 1
        i += 1
    if depth != 0:
        return None
    parts.append(expr[start:])
    return parts


def _path(dotted: str) -> _Operand:
    root, *names = dotted.split(".")
    of_item = root == "item"
    if not of_item and len(names) == 1:  # the common case, `subject.fact`
        name = names[0]
        return lambda subject, item: subject.get(name, UNDECIDED)

    def value(subject: Mapping[str, Any], item: Any) -> Any:
        current: Any = item if of_item else subject
        for name in names:
            if not isinstance(current, dict) or name not in current:
                return UNDECIDED  # CEL reports the missing key (or the wrong type)
            current = current[name]
        return current

    return value


def _size(of: _Operand) -> _Operand:
    def value(subject: Mapping[str, Any], item: Any) -> Any:
        found = of(subject, item)
        return len(found) if isinstance(found, list | tuple | dict) else UNDECIDED

    return value


def _operand(text: str) -> _Operand:
    if text[0] in "'\"":
        literal: Any = text[1:-1]
    elif text[0] in "-0123456789":
        literal = int(text)
    elif text.endswith(")"):
        return _size(_path(text[: text.rindex(".size")]))
    else:
        return _path(text)
    return lambda subject, item: literal


def _kind(value: Any) -> str | None:
    """The CEL type a Python value converts to, for the types guards compare."""
    if type(value) is bool:
        return "bool"
    if type(value) is int and value in _INT64:
        return "int"
    if type(value) is str:
        return "string"
    return None


def _truth(of: _Operand, negate: bool) -> Direct:
    def decide(subject: Mapping[str, Any], item: Any) -> Any:
        value = of(subject, item)
        return value is not negate if type(value) is bool else UNDECIDED

    return decide


def _compare(left: _Operand, op: str, right: _Operand) -> Direct:
    compare = _ORDER[op]
    ordered = op not in ("==", "!=")

    def decide(subject: Mapping[str, Any], item: Any) -> Any:
        a, b = left(subject, item), right(subject, item)
        kind = _kind(a)
        if kind is None or kind != _kind(b) or (ordered and kind != "int"):
            return UNDECIDED
        return compare(a, b)

    return decide


def _any(tests: list[Direct]) -> Direct:
    """`a || b || ...`: left to right, an undecided test before a true one leaves the result undecided."""
    if len(tests) == 1:
        return tests[0]

    def any_true(subject: Mapping[str, Any], item: Any) -> Any:
        for test in tests:
            value = test(subject, item)
            if value is not False:
                return value
        return False

    return any_true


def _disjunction(text: str, shapes: _Shapes) -> Direct | None:
    tests = [_guard(d, shapes) for d in top_level_split(text, "||") or []]
    if not tests or None in tests:
        return None
    return _any([t for t in tests if t is not None])


def _guard(text: str, shapes: _Shapes) -> Direct | None:
    if match := shapes.truth.match(text):
        return _truth(_path(match.group(2)), negate=match.group(1) is not None)
    if match := shapes.compare.match(text):
        return _compare(_operand(match.group(1)), match.group(2), _operand(match.group(3)))
    inner = text.strip()
    # `(g1 || g2)`; `(a) || (b)` is not one group: its inside `a) || (b` does not split (unbalanced).
    if inner.startswith("(") and inner.endswith(")"):
        return _disjunction(inner[1:-1], shapes)
    return None


def leading_guards(when: str) -> tuple[tuple[Guard, ...], bool]:
    """The leading guards of `when` (on the subject only), and whether they are the whole expression."""
    guards: list[Guard] = []
    for conjunct in top_level_split(when, "&&") or []:
        decide = _guard(conjunct, _SUBJECT_ONLY)
        if decide is None:
            return tuple(guards), False
        guards.append(decide)
    return tuple(guards), bool(guards)


def guards_pass(guards: tuple[Guard, ...], subject: Mapping[str, Any]) -> bool | None:
    """False when a guard is false (the rule cannot fire), True when all hold, None when one cannot be
    decided here (CEL decides, and reports an error as it would have)."""
    for guard in guards:
        verdict = guard(subject, None)
        if verdict is not True:
            return None if verdict is UNDECIDED else verdict
    return True


def for_each_fact(for_each: str | None) -> str | None:
    """The fact a `for_each` iterates when it is exactly `subject.<fact>`."""
    match = _EACH_FACT.match(for_each or "")
    return match.group(1) if match else None


def plain(value: Any) -> Any:
    """What a value becomes on its way through CEL and back (`engine._python`: lists, maps with sorted
    string keys), for the plain JSON types; UNDECIDED for anything else (CEL converts it)."""
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is float:
        return value
    if kind is int:
        return value if value in _INT64 else UNDECIDED
    if kind is list or kind is tuple:
        out = [plain(v) for v in value]
        return UNDECIDED if any(v is UNDECIDED for v in out) else out
    if kind is dict:
        if any(type(k) is not str for k in value):
            return UNDECIDED
        converted = {k: plain(value[k]) for k in sorted(value)}
        return UNDECIDED if any(v is UNDECIDED for v in converted.values()) else converted
    return UNDECIDED
