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

from nhiaudit.rules_engine.plain_ops import (
    ARITHMETIC,
    INT64,
    STRING_TESTS,
    UNDECIDED,
    Unsupported,
    as_bool,
    as_int,
    as_list,
    checked,
    compare,
    index,
    matches_regex,
    member,
    safe_regex,
    size_of,
    string_test,
)

Env = Mapping[str, Any]
Node = Callable[[Env], Any]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<int>[0-9]+)(?![0-9A-Za-z_.])
    | (?P<str>"[^"\\\n]*"(?!")|'[^'\\\n]*'(?!'))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)(?!["'])
    | (?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*?:.,()\[\]])
    )""", re.VERBOSE)
_MACROS = ("filter", "map", "exists", "all")
_RELATIONS = ("==", "!=", "<=", ">=", "<", ">", "in")


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos, end = 0, len(source)
        while pos < end:
            match = _TOKEN.match(source, pos)
            if match is None or match.end() == pos:
                if source[pos:].strip():
                    raise Unsupported(source[pos:pos + 20])
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
            raise Unsupported(value)

    def next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise Unsupported("end")
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
        return lambda env: yes(env) if as_bool(test(env)) else no(env)

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
            raise Unsupported("chained comparison")
        return lambda env: compare(op, left(env), right(env))

    def sum(self) -> Node:
        node = self.product()
        while (op := "+" if self.peek("+") else "-" if self.peek("-") else None) is not None:
            self.at += 1
            node = _binary(ARITHMETIC[op], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.take("*"):
            node = _binary(ARITHMETIC["*"], node, self.unary())
        if self.peek("/"):
            raise Unsupported("/")
        return node

    def unary(self) -> Node:
        if self.take("!"):
            inner = self.unary()
            return lambda env: not as_bool(inner(env))
        if self.take("-"):
            inner = self.unary()
            return lambda env: checked(-as_int(inner(env)))
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.take("."):
                kind, name = self.next()
                if kind != "name":
                    raise Unsupported(name)
                node = self.method(node, name) if self.take("(") else _field(node, name)
            elif self.take("["):
                key = self.expr()
                self.expect("]")
                node = _binary(index, node, key)
            else:
                return node

    def method(self, target: Node, name: str) -> Node:
        if name in _MACROS:
            kind, var = self.next()
            if kind != "name":
                raise Unsupported(var)
            self.expect(",")
            body = self.expr()
            self.expect(")")
            return _macro(name, target, var, body)
        args = self.arguments()
        if name == "size" and not args:
            return lambda env: size_of(target(env))
        if name in STRING_TESTS and len(args) == 1:
            test, (arg,) = STRING_TESTS[name], args
            return lambda env: string_test(test, target(env), arg(env))
        if name == "matches" and len(args) == 1 and isinstance(getattr(args[0], "literal", None), str):
            regex = safe_regex(args[0].literal)  # type: ignore[attr-defined]
            return lambda env: matches_regex(regex, target(env))
        raise Unsupported(name)

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
            if value not in INT64:
                raise Unsupported(text)
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
        raise Unsupported(text)

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
            raise Unsupported(text)
        if self.take("("):
            if text == "size":
                args = self.arguments()
                if len(args) != 1:
                    raise Unsupported("size() of other than one argument")
                (arg,) = args
                return lambda env: size_of(arg(env))
            if text == "has":
                field = self.expr()
                self.expect(")")
                return _has(field)
            raise Unsupported(text)
        return lambda env: _variable(env, text)


def _variable(env: Env, name: str) -> Any:
    if name not in env:
        raise UNDECIDED
    return env[name]


def _field(target: Node, name: str) -> Node:
    node = lambda env: member(target(env), name)  # noqa: E731
    node.has_parts = (target, name)  # type: ignore[attr-defined]  # for has()
    return node


def _has(field: Node) -> Node:
    parts = getattr(field, "has_parts", None)
    if parts is None:
        raise Unsupported("has() of something else than a field")
    target, name = parts

    def present(env: Env) -> bool:
        value = target(env)
        if type(value) is not dict or not all(type(k) is str for k in value):
            raise UNDECIDED
        return name in value

    return present


def _binary(op: Callable[[Any, Any], Any], left: Node, right: Node) -> Node:
    return lambda env: op(left(env), right(env))


def _logic(left: Node, right: Node, settled_by: bool) -> Node:
    """`&&` (settled by a false left side) or `||` (by a true one); otherwise the right side's bool."""
    def logic(env: Env) -> bool:
        if as_bool(left(env)) is settled_by:
            return settled_by
        return as_bool(right(env))

    return logic


def _macro(name: str, target: Node, var: str, body: Node) -> Node:
    def each(env: Env) -> list[tuple[Any, Any]]:
        scope = dict(env)
        out = []
        for element in as_list(target(env)):
            scope[var] = element
            out.append((element, body(scope)))
        return out

    if name == "filter":
        return lambda env: [element for element, keep in each(env) if as_bool(keep)]
    if name == "map":
        return lambda env: [value for _, value in each(env)]
    if name == "exists":
        return lambda env: any([as_bool(v) for _, v in each(env)])
    return lambda env: all([as_bool(v) for _, v in each(env)])


def compile_plain(source: str) -> Node | None:
    """The expression as a Python function of its variables (None outside the subset). It returns the value
    or raises Undecided; the value may hold the facts' own objects (see `plain` for CEL's view of them)."""
    try:
        parser = _Parser(source)
        node = parser.expr()
        if parser.at != len(parser.tokens):
            return None
        return node
    except (Unsupported, RecursionError):
        return None
