"""CEL expressions evaluated in Python on plain facts, with exactly the result the CEL library gives.

The CEL library converts every value handed to it node by node (and copies its whole context again after
each change), which costs more than evaluating most rules. This module compiles the part of CEL the rules
use into Python closures that read the facts in place:
literals (int, plain strings, true / false / null, lists), `subject.a.b` / `x[i]`, `!`, `-`, `&&`, `||`,
`?:`, `== != < <= > >=`, `in`, `+ - *` on ints (and `+` on strings and lists), `.size()` / `size()`,
`.startsWith() .endsWith() .contains()`, `.matches()` of a simple literal pattern, `has()`, and the
`filter map exists all` macros over lists.

It decides only what it can decide exactly. Anything else raises `Undecided` and CEL evaluates the whole
expression as before (and reports its errors as before):
- a value that is not plain JSON (a float, an enum, a very large int, a map with non-string keys...);
- a missing key or index, a type the operator is not defined for, an int overflow;
- `&&` / `||` are decided only from a left side that settles them (`false && ...`, `true || ...`) or from
  two booleans: CEL's "error && false is false" is left to CEL;
- string sizes only for ASCII strings (the library counts UTF-8 bytes, CEL's specification code points);
- equality between plain scalars of different types is false (the library's heterogeneous equality);
  containers are compared by CEL.
Expressions outside the subset (other functions, maps, doubles, escapes, comments) do not compile: None.
The reference is the library itself (tests/test_plain_eval.py compares them on generated facts).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Env = Mapping[str, Any]
Node = Callable[[Env], Any]

_INT64 = range(-(2**63), 2**63)
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<int>[0-9]+)(?![0-9A-Za-z_.])
    | (?P<str>"[^"\\\n]*"(?!")|'[^'\\\n]*'(?!'))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)(?!["'])
    | (?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*?:.,()\[\]])
    )""", re.VERBOSE)
_SCALARS = (bool, int, str, type(None))
_MACROS = ("filter", "map", "exists", "all")
_RELATIONS = ("==", "!=", "<=", ">=", "<", ">", "in")
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith, "endsWith": str.endswith, "contains": str.__contains__,
}


class Undecided(Exception):
    """Python cannot give CEL's exact result here: CEL evaluates the expression."""


_UNDECIDED = Undecided()


def _scalar(value: Any) -> bool:
    """A CEL bool, int (int64), string or null."""
    kind = type(value)
    return kind in _SCALARS and (kind is not int or value in _INT64)


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _UNDECIDED
    return value


def _int(value: Any) -> int:
    if type(value) is not int or value not in _INT64:
        raise _UNDECIDED
    return value


def _list(value: Any) -> list | tuple:
    if type(value) is not list and type(value) is not tuple:
        raise _UNDECIDED
    return value


def _equal(a: Any, b: Any) -> bool:
    if not (_scalar(a) and _scalar(b)):
        raise _UNDECIDED
    return type(a) is type(b) and a == b


def _size(value: Any) -> int:
    kind = type(value)
    if kind is str and value.isascii():
        return len(value)
    if kind is list or kind is tuple or (kind is dict and all(type(k) is str for k in value)):
        return len(value)
    raise _UNDECIDED


def _member(value: Any, name: str) -> Any:
    if type(value) is not dict or name not in value:
        raise _UNDECIDED
    return value[name]


def _index(value: Any, key: Any) -> Any:
    kind = type(value)
    if kind is dict and type(key) is str and key in value:
        return value[key]
    if (kind is list or kind is tuple) and type(key) is int and 0 <= key < len(value):
        return value[key]
    raise _UNDECIDED


def _contains(container: Any, element: Any) -> bool:
    kind = type(container)
    if kind is dict:
        if not _scalar(element) or not all(type(k) is str for k in container):
            raise _UNDECIDED
        return type(element) is str and element in container
    return any(_equal(element, e) for e in _list(container))


def _checked(result: int) -> int:
    if result not in _INT64:
        raise _UNDECIDED  # CEL: overflow error
    return result


def _add(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is int and type(b) is int:
        return _checked(_int(a) + _int(b))
    if kind is str and type(b) is str:
        return a + b
    if kind in (list, tuple) and type(b) in (list, tuple):
        return [*a, *b]
    raise _UNDECIDED


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add, "-": lambda a, b: _checked(_int(a) - _int(b)), "*": lambda a, b: _checked(_int(a) * _int(b)),
}


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op == "in":
        return _contains(b, a)
    kind = type(a)
    if kind is not type(b) or kind not in (int, str) or (kind is int and (a not in _INT64 or b not in _INT64)):
        raise _UNDECIDED
    return _ORDER[op](a, b)


class _Unsupported(Exception):
    """The expression is outside the subset: it does not compile here."""


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos, end = 0, len(source)
        while pos < end:
            match = _TOKEN.match(source, pos)
            if match is None or match.end() == pos:
                if source[pos:].strip():
                    raise _Unsupported(source[pos:pos + 20])
                break
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.at = 0

    def peek(self, value: str) -> bool:
        return self.at < len(self.tokens) and self.tokens[self.at][1] == value and self.tokens[self.at][0] in (
            "op", "name")

    def take(self, value: str) -> bool:
        if self.peek(value):
            self.at += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.take(value):
            raise _Unsupported(value)

    def next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise _Unsupported("end")
        token = self.tokens[self.at]
        self.at += 1
        return token

    # expr := or ('?' expr ':' expr)?
    def expr(self) -> Node:
        test = self.or_()
        if not self.take("?"):
            return test
        yes = self.expr()
        self.expect(":")
        no = self.expr()
        return lambda env: yes(env) if _bool(test(env)) else no(env)

    def or_(self) -> Node:
        node = self.and_()
        while self.take("||"):
            node = _logic(node, self.and_(), settled_by=True)
        return node

    def and_(self) -> Node:
        node = self.relation()
        while self.take("&&"):
            node = _logic(node, self.relation(), settled_by=False)
        return node

    def relation(self) -> Node:
        left = self.sum()
        op = next((o for o in _RELATIONS if self.peek(o)), None)
        if op is None:
            return left
        self.at += 1
        right = self.sum()
        if any(self.peek(o) for o in _RELATIONS):
            raise _Unsupported("chained comparison")
        return lambda env: _compare(op, left(env), right(env))

    def sum(self) -> Node:
        node = self.product()
        while (op := "+" if self.peek("+") else "-" if self.peek("-") else None) is not None:
            self.at += 1
            node = _binary(_ARITHMETIC[op], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.take("*"):
            node = _binary(_ARITHMETIC["*"], node, self.unary())
        if self.peek("/"):
            raise _Unsupported("/")
        return node

    def unary(self) -> Node:
        if self.take("!"):
            inner = self.unary()
            return lambda env: not _bool(inner(env))
        if self.take("-"):
            inner = self.unary()
            return lambda env: _checked(-_int(inner(env)))
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.take("."):
                kind, name = self.next()
                if kind != "name":
                    raise _Unsupported(name)
                node = self.method(node, name) if self.take("(") else _field(node, name)
            elif self.take("["):
                key = self.expr()
                self.expect("]")
                node = _binary(_index, node, key)
            else:
                return node

    def method(self, target: Node, name: str) -> Node:
        if name in _MACROS:
            kind, var = self.next()
            if kind != "name":
                raise _Unsupported(var)
            self.expect(",")
            body = self.expr()
            self.expect(")")
            return _macro(name, target, var, body)
        args = self.arguments()
        if name == "size" and not args:
            return lambda env: _size(target(env))
        if name in _STRING_TESTS and len(args) == 1:
            test, (arg,) = _STRING_TESTS[name], args
            return lambda env: _string_test(test, target(env), arg(env))
        if name == "matches" and len(args) == 1 and isinstance(getattr(args[0], "literal", None), str):
            regex = _safe_regex(args[0].literal)  # type: ignore[attr-defined]
            return lambda env: _matches(regex, target(env))
        raise _Unsupported(name)

    def arguments(self) -> list[Node]:
        args: list[Node] = []
        if self.take(")"):
            return args
        while True:
            args.append(self.expr())
            if self.take(")"):
                return args
            self.expect(",")

    def primary(self) -> Node:
        kind, text = self.next()
        if kind == "int":
            value = int(text)
            if value not in _INT64:
                raise _Unsupported(text)
            return lambda env: value
        if kind == "str":
            literal = text[1:-1]
            node = lambda env: literal  # noqa: E731
            node.literal = literal  # type: ignore[attr-defined]  # for matches()
            return node
        if kind == "name":
            return self.name(text)
        if text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if text == "[":
            items = [] if self.take("]") else self.list_items()
            return lambda env: [item(env) for item in items]
        raise _Unsupported(text)

    def list_items(self) -> list[Node]:
        items = [self.expr()]
        while self.take(","):
            items.append(self.expr())
        self.expect("]")
        return items

    def name(self, text: str) -> Node:
        constants = {"true": True, "false": False, "null": None}
        if text in constants:
            value = constants[text]
            return lambda env: value
        if text == "in":
            raise _Unsupported(text)
        if self.take("("):
            if text == "size":
                args = self.arguments()
                if len(args) != 1:
                    raise _Unsupported("size() of other than one argument")
                (arg,) = args
                return lambda env: _size(arg(env))
            if text == "has":
                field = self.expr()
                self.expect(")")
                return _has(field)
            raise _Unsupported(text)
        return lambda env: _variable(env, text)


def _variable(env: Env, name: str) -> Any:
    if name not in env:
        raise _UNDECIDED
    return env[name]


def _field(target: Node, name: str) -> Node:
    node = lambda env: _member(target(env), name)  # noqa: E731
    node.has_parts = (target, name)  # type: ignore[attr-defined]  # for has()
    return node


def _has(field: Node) -> Node:
    parts = getattr(field, "has_parts", None)
    if parts is None:
        raise _Unsupported("has() of something else than a field")
    target, name = parts

    def present(env: Env) -> bool:
        value = target(env)
        if type(value) is not dict or not all(type(k) is str for k in value):
            raise _UNDECIDED
        return name in value

    return present


# `matches` is decided here only where Python's `re` and the library's RE2 agree and cannot be slow: a
# literal pattern of letters, digits and `_ : - . | ( ) ^ $ ? * +`, optionally led by `(?i)`, with no repeated
# group and at most two unbounded repeats, searched in an ASCII string of at most 256 characters. `$` becomes
# `\Z`: Python's `$` also matches before a final newline, RE2's does not. Anything else: CEL.
_REGEX_BODY = re.compile(r"[A-Za-z0-9_:\-.|()^$?*+]*")
_MATCHED_CHARS = 256


def _safe_regex(pattern: str) -> re.Pattern[str]:
    body = pattern.removeprefix("(?i)")
    if (len(pattern) > 100 or not _REGEX_BODY.fullmatch(body) or re.search(r"\)[*+?]*[*+]", body)
            or body.count("*") + body.count("+") > 2 or "(?" in body or "??" in body or "*?" in body
            or "+?" in body):
        raise _Unsupported("regular expression")
    try:
        return re.compile(body.replace("$", r"\Z"), re.IGNORECASE if body != pattern else 0)
    except re.error:
        raise _Unsupported("regular expression") from None


def _matches(regex: re.Pattern[str], value: Any) -> bool:
    if type(value) is not str or not value.isascii() or len(value) > _MATCHED_CHARS:
        raise _UNDECIDED
    return regex.search(value) is not None


def _string_test(test: Callable[[str, str], bool], value: Any, arg: Any) -> bool:
    if type(value) is not str or type(arg) is not str:
        raise _UNDECIDED
    return test(value, arg)


def _binary(op: Callable[[Any, Any], Any], left: Node, right: Node) -> Node:
    return lambda env: op(left(env), right(env))


def _logic(left: Node, right: Node, settled_by: bool) -> Node:
    """`&&` (settled by a false left side) or `||` (by a true one); otherwise the right side's bool."""
    def logic(env: Env) -> bool:
        if _bool(left(env)) is settled_by:
            return settled_by
        return _bool(right(env))

    return logic


def _macro(name: str, target: Node, var: str, body: Node) -> Node:
    def each(env: Env) -> list[tuple[Any, Any]]:
        scope = dict(env)
        out = []
        for element in _list(target(env)):
            scope[var] = element
            out.append((element, body(scope)))
        return out

    if name == "filter":
        return lambda env: [element for element, keep in each(env) if _bool(keep)]
    if name == "map":
        return lambda env: [value for _, value in each(env)]
    if name == "exists":
        return lambda env: any([_bool(v) for _, v in each(env)])
    return lambda env: all([_bool(v) for _, v in each(env)])


def compile_plain(source: str) -> Node | None:
    """The expression as a Python function of its variables (None outside the subset). It returns the value
    or raises Undecided; the value may hold the facts' own objects (see `plain` for CEL's view of them)."""
    try:
        parser = _Parser(source)
        node = parser.expr()
        if parser.at != len(parser.tokens):
            return None
        return node
    except (_Unsupported, RecursionError):
        return None
