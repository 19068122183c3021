"""CEL's operations on plain values, as the CEL library performs them (for plain_eval.py).

Each operation returns CEL's result, or raises `Undecided` where Python cannot be sure to give it: a value
that is not plain JSON, a type the operator is not defined for, a missing key, an int64 overflow (see
plain_eval.py for the whole contract). `Unsupported` is raised while compiling: that shape is left to CEL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

INT64 = range(-(2**63), 2**63)
_SCALARS = (bool, int, str, type(None))
STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith, "endsWith": str.endswith, "contains": str.__contains__,
}


class Undecided(Exception):
    """Python cannot give CEL's exact result here: CEL evaluates the expression."""


UNDECIDED = Undecided()


def scalar(value: Any) -> bool:
    """A CEL bool, int (int64), string or null."""
    kind = type(value)
    return kind in _SCALARS and (kind is not int or value in INT64)


def as_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise UNDECIDED
    return value


def as_int(value: Any) -> int:
    if type(value) is not int or value not in INT64:
        raise UNDECIDED
    return value


def as_list(value: Any) -> list | tuple:
    if type(value) is not list and type(value) is not tuple:
        raise UNDECIDED
    return value


def equal(a: Any, b: Any) -> bool:
    if not (scalar(a) and scalar(b)):
        raise UNDECIDED
    return type(a) is type(b) and a == b


def size_of(value: Any) -> int:
    kind = type(value)
    if kind is str and value.isascii():
        return len(value)
    if kind is list or kind is tuple or (kind is dict and all(type(k) is str for k in value)):
        return len(value)
    raise UNDECIDED


def member(value: Any, name: str) -> Any:
    if type(value) is not dict or name not in value:
        raise UNDECIDED
    return value[name]


def index(value: Any, key: Any) -> Any:
    kind = type(value)
    if kind is dict and type(key) is str and key in value:
        return value[key]
    if (kind is list or kind is tuple) and type(key) is int and 0 <= key < len(value):
        return value[key]
    raise UNDECIDED


def contains(container: Any, element: Any) -> bool:
    kind = type(container)
    if kind is dict:
        if not scalar(element) or not all(type(k) is str for k in container):
            raise UNDECIDED
        return type(element) is str and element in container
    return any(equal(element, e) for e in as_list(container))


def checked(result: int) -> int:
    if result not in INT64:
        raise UNDECIDED  # CEL: overflow error
    return result


def add(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is int and type(b) is int:
        return checked(as_int(a) + as_int(b))
    if kind is str and type(b) is str:
        return a + b
    if kind in (list, tuple) and type(b) in (list, tuple):
        return [*a, *b]
    raise UNDECIDED


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": add, "-": lambda a, b: checked(as_int(a) - as_int(b)), "*": lambda a, b: checked(as_int(a) * as_int(b)),
}


def compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if op == "in":
        return contains(b, a)
    kind = type(a)
    if kind is not type(b) or kind not in (int, str) or (kind is int and (a not in INT64 or b not in INT64)):
        raise UNDECIDED
    return _ORDER[op](a, b)


class Unsupported(Exception):
    """The expression is outside the subset: it does not compile here."""



# `matches` is decided here only where Python's `re` and the library's RE2 agree and cannot be slow: a
# literal pattern of letters, digits and `_ : - . | ( ) ^ $ ? * +`, optionally led by `(?i)`, with no repeated
# group and at most two unbounded repeats, searched in an ASCII string of at most 256 characters. `$` becomes
# `\Z`: Python's `$` also matches before a final newline, RE2's does not. Anything else: CEL.
_REGEX_BODY = re.compile(r"[A-Za-z0-9_:\-.|()^$?*+]*")
_MATCHED_CHARS = 256


def safe_regex(pattern: str) -> re.Pattern[str]:
    body = pattern.removeprefix("(?i)")
    if (len(pattern) > 100 or not _REGEX_BODY.fullmatch(body) or re.search(r"\)[*+?]*[*+]", body)
            or body.count("*") + body.count("+") > 2 or "(?" in body or "??" in body or "*?" in body
            or "+?" in body):
        raise Unsupported("regular expression")
    try:
        return re.compile(body.replace("$", r"\Z"), re.IGNORECASE if body != pattern else 0)
    except re.error:
        raise Unsupported("regular expression") from None


def matches_regex(regex: re.Pattern[str], value: Any) -> bool:
    if type(value) is not str or not value.isascii() or len(value) > _MATCHED_CHARS:
        raise UNDECIDED
    return regex.search(value) is not None


def string_test(test: Callable[[str, str], bool], value: Any, arg: Any) -> bool:
    if type(value) is not str or type(arg) is not str:
        raise UNDECIDED
    return test(value, arg)
