"""A fast checker for the subset of JSON Schema (Draft 2020-12) that nhiaudit's import shapes use.

The shapes are JSON Schema files (data, readable by any editor or by the `jsonschema` library, which the
tests use as the reference). The `jsonschema` library needs ~4 s for a 5,000-user authorization-details
export, more than the whole scan, so imports check with closures compiled once from the same files:
one pass, a few hundred nanoseconds per value, no recursion beyond the schema's own depth (values in
fields the schema does not describe are never visited, whatever their nesting).

Supported keywords: type, properties, required, items, additionalProperties, enum, const, minimum,
if/then/else, anyOf, $ref (to `#/$defs/...` or another registered schema by file name), format (custom
checks given by the caller), and contentMediaType "application/json" + contentSchema for JSON documents
carried in strings (URL-encoded or not, as AWS's API returns policy documents). Keywords starting with
`x-` are nhiaudit's annotations for messages: `x-expected` names the expected value, `x-anyOf` explains
an anyOf. Any other keyword is refused when compiling, so a schema cannot silently mean more than is checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

JsonPath = tuple[str | int, ...]
DECODED = "(decoded)"
"""Path element between a string and the JSON document decoded from it."""


@dataclass(frozen=True)
class ShapeProblem:
    path: JsonPath  # where in the instance; a DECODED element marks a document decoded from a string
    message: str


Problems = list[tuple[JsonPath, str]] | None
Check = Callable[[Any], Problems]
FormatCheck = Callable[[str], str | None]  # None when valid, else the problem
Decoder = Callable[[str], Any]  # text of a string-carried document -> the value; raises ValueError

_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "examples"})
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})
_MISSING = object()
_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "boolean": "true or false",
    "null": "null",
    "integer": "an integer",
    "number": "a number",
}


def json_type(value: Any) -> str:
    for name in ("boolean", "null", "object", "array", "string", "integer", "number"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


def describe(value: Any) -> str:
    """A short, terminal-safe description of a value for messages: `integer 5`, `string 'abc'`."""
    kind = json_type(value)
    if kind in ("object", "array"):
        return f"{'an' if kind == 'object' else 'a'} {'object' if kind == 'object' else 'list'}"
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


class SchemaError(Exception):
    """A schema file uses something this checker does not support (a bug in nhiaudit's data files)."""


class Compiler:
    """Compiles registered schemas into checks. `schemas`: file name -> schema (for cross-file $ref)."""

    def __init__(
        self,
        schemas: Mapping[str, Mapping[str, Any]],
        formats: Mapping[str, FormatCheck] | None = None,
        decoder: Decoder | None = None,
    ) -> None:
        self.schemas = schemas
        self.formats = dict(formats or {})
        self.decoder = decoder or json.loads
        self._refs: dict[tuple[str, str], Check] = {}

    def compile(self, name: str) -> Check:
        return self._ref(name, "")

    def _ref(self, file: str, pointer: str) -> Check:
        # Shapes are not recursive (a $ref cycle would recurse here): each target is compiled once.
        key = (file, pointer)
        if key not in self._refs:
            self._refs[key] = self._node(self._resolve(file, pointer), file, None)
        return self._refs[key]

    def _node(self, schema: Any, file: str, expected: str | None) -> Check:
        if schema is True:
            return lambda v: None
        if schema is False:
            return lambda v: [((), "no value is allowed here")]
        expected = expected or schema.get("x-expected")
        checks: list[Check] = []
        fused = schema.get("type") == "object"
        if fused:  # the hot path: one closure per object instead of one per keyword
            checks.append(self._object(schema, file, expected))
        for keyword, arg in schema.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-") or keyword in ("then", "else", "contentSchema"):
                continue
            if fused and keyword in _OBJECT_KEYWORDS:
                continue
            checks.append(self._keyword(keyword, arg, schema, file, expected))
        if len(checks) == 1:
            return checks[0]

        def check_all(value: Any) -> Problems:
            found: Problems = None
            for check in checks:
                problems = check(value)
                if problems:
                    found = problems if found is None else found + problems
            return found

        return check_all

    def _keyword(self, keyword: str, arg: Any, schema: Mapping[str, Any], file: str, expected: str | None) -> Check:
        builder = getattr(self, "_k_" + keyword.lstrip("$"), None)
        if builder is None:
            raise SchemaError(f"{file}: unsupported keyword {keyword!r}")
        return builder(arg, schema, file, expected)

    def _object(self, schema: Mapping[str, Any], file: str, expected: str | None) -> Check:
        """type: object with its properties, required and additionalProperties, in one closure."""
        want = expected or "an object"
        required = tuple(schema.get("required", ()))
        properties = schema.get("properties", {})
        strings = tuple(name for name, sub in properties.items() if sub == {"type": "string"})
        others = tuple((name, self._node(sub, file, None)) for name, sub in properties.items() if name not in strings)
        extra = self._node(schema["additionalProperties"], file, None) if "additionalProperties" in schema else None
        known = frozenset(properties)

        def check_object(value: Any) -> Problems:
            if not isinstance(value, dict):
                return [((), f"expected {want}, got {describe(value)}")]
            found: list[tuple[JsonPath, str]] = []
            for name in required:
                if name not in value:
                    found.append(((), f"missing field {name!r}"))
            for name in strings:
                item = value.get(name, _MISSING)
                if item is not _MISSING and not isinstance(item, str):
                    found.append(((name,), f"expected a string, got {describe(item)}"))
            for name, check in others:
                if name in value:
                    problems = check(value[name])
                    if problems:
                        found.extend(((name, *p), m) for p, m in problems)
            if extra is not None:
                for name, item in value.items():
                    if name not in known:
                        problems = extra(item)
                        if problems:
                            found.extend(((name, *p), m) for p, m in problems)
            return found or None

        return check_object

    # ---- keywords --------------------------------------------------------------------------------

    def _k_type(self, arg: Any, schema: Any, file: str, expected: str | None) -> Check:
        names = [arg] if isinstance(arg, str) else list(arg)
        want = expected or " or ".join(_TYPE_WORDS[n] for n in names)
        plain = {"object": dict, "array": list, "string": str}
        if all(n in plain for n in names):  # the common case, without a call per test
            classes = tuple(plain[n] for n in names)

            def check_class(value: Any) -> Problems:
                return None if isinstance(value, classes) else [((), f"expected {want}, got {describe(value)}")]

            return check_class
        tests = [_TYPES[n] for n in names]

        def check_type(value: Any) -> Problems:
            for test in tests:
                if test(value):
                    return None
            return [((), f"expected {want}, got {describe(value)}")]

        return check_type

    def _k_properties(self, arg: Mapping[str, Any], schema: Any, file: str, expected: str | None) -> Check:
        props = [(name, self._node(sub, file, None)) for name, sub in arg.items()]

        def check_properties(value: Any) -> Problems:
            if not isinstance(value, dict):
                return None
            found: Problems = None
            for name, check in props:
                if name in value:
                    problems = check(value[name])
                    if problems:
                        found = (found or []) + [((name, *p), m) for p, m in problems]
            return found

        return check_properties

    def _k_additionalProperties(self, arg: Any, schema: Any, file: str, expected: str | None) -> Check:
        known = frozenset(schema.get("properties", ()))
        check = self._node(arg, file, None)

        def check_additional(value: Any) -> Problems:
            if not isinstance(value, dict):
                return None
            found: Problems = None
            for name, item in value.items():
                if name not in known:
                    problems = check(item)
                    if problems:
                        found = (found or []) + [((name, *p), m) for p, m in problems]
            return found

        return check_additional

    def _k_required(self, arg: list[str], schema: Any, file: str, expected: str | None) -> Check:
        def check_required(value: Any) -> Problems:
            if not isinstance(value, dict):
                return None
            missing = [name for name in arg if name not in value]
            return [((), f"missing field {name!r}") for name in missing] or None

        return check_required

    def _k_items(self, arg: Any, schema: Any, file: str, expected: str | None) -> Check:
        check = self._node(arg, file, None)

        def check_items(value: Any) -> Problems:
            if not isinstance(value, list):
                return None
            found: Problems = None
            for index, item in enumerate(value):
                problems = check(item)
                if problems:
                    found = (found or []) + [((index, *p), m) for p, m in problems]
            return found

        return check_items

    def _k_enum(self, arg: list[Any], schema: Any, file: str, expected: str | None) -> Check:
        allowed = [(json_type(a), a) for a in arg]
        want = expected or "one of " + ", ".join(json.dumps(a) for a in arg)
        if all(isinstance(a, str) for a in arg):
            texts = frozenset(arg)

            def check_text(value: Any) -> Problems:
                if isinstance(value, str) and value in texts:
                    return None
                return [((), f"expected {want}, got {describe(value)}")]

            return check_text

        def check_enum(value: Any) -> Problems:
            if (json_type(value), value) in allowed:
                return None
            return [((), f"expected {want}, got {describe(value)}")]

        return check_enum

    def _k_const(self, arg: Any, schema: Any, file: str, expected: str | None) -> Check:
        return self._k_enum([arg], schema, file, expected)

    def _k_minimum(self, arg: float, schema: Any, file: str, expected: str | None) -> Check:
        def check_minimum(value: Any) -> Problems:
            if _TYPES["number"](value) and value < arg:
                return [((), f"expected a number >= {arg}, got {describe(value)}")]
            return None

        return check_minimum

    def _k_format(self, arg: str, schema: Any, file: str, expected: str | None) -> Check:
        test = self.formats.get(arg)
        if test is None:
            raise SchemaError(f"{file}: no check registered for format {arg!r}")

        def check_format(value: Any) -> Problems:
            if not isinstance(value, str):
                return None
            problem = test(value)
            return [((), problem)] if problem else None

        return check_format

    def _k_ref(self, arg: str, schema: Any, file: str, expected: str | None) -> Check:
        target, _, pointer = arg.partition("#")
        target = target or file
        if expected is None:
            return self._ref(target, pointer)
        # The outer wording names the value better ("a statement or a list of them"): compile it in.
        return self._node(self._resolve(target, pointer), target, expected)

    def _resolve(self, file: str, pointer: str) -> Any:
        node: Any = self.schemas[file]
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            node = node[part]
        return node

    def _k_if(self, arg: Any, schema: Mapping[str, Any], file: str, expected: str | None) -> Check:
        test = self._node(arg, file, None)
        then = self._node(schema.get("then", True), file, expected)
        otherwise = self._node(schema.get("else", True), file, expected)
        return lambda value: then(value) if not test(value) else otherwise(value)

    def _k_anyOf(self, arg: list[Any], schema: Mapping[str, Any], file: str, expected: str | None) -> Check:
        options = [self._node(sub, file, expected) for sub in arg]
        reason = schema.get("x-anyOf")

        def check_any(value: Any) -> Problems:
            first: Problems = None
            for option in options:
                problems = option(value)
                if not problems:
                    return None
                first = first or problems
            return [((), reason)] if reason else first

        return check_any

    def _k_contentMediaType(self, arg: str, schema: Mapping[str, Any], file: str, expected: str | None) -> Check:
        if arg != "application/json":
            raise SchemaError(f"{file}: unsupported contentMediaType {arg!r}")
        inner = self._node(schema.get("contentSchema", True), file, None)
        decode = self.decoder

        def check_content(value: Any) -> Problems:
            if not isinstance(value, str):
                return None
            try:
                document = decode(value)
            except ValueError as exc:
                return [((), str(exc))]
            problems = inner(document)
            return [((DECODED, *p), m) for p, m in problems] if problems else None

        return check_content


def problems_of(check: Check, value: Any) -> list[ShapeProblem]:
    return [ShapeProblem(path, message) for path, message in check(value) or []]


def format_path(path: JsonPath) -> str:
    """`RoleDetailList[3].AssumeRolePolicyDocument.Statement[0]`; a document decoded from a string reads
    `AssumeRolePolicyDocument (decoded).Statement[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == DECODED:
            out += " " + DECODED
        else:
            out += ("." if out else "") + (part if part.isidentifier() else json.dumps(part))
    return out
