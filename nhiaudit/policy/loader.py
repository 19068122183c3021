"""Load the written policy: YAML with a line/column for every entry, pydantic validation, semantic checks.

Every problem in the file is collected and raised as one InputError with `file:line:col` locations, so a
user fixes them all in one round instead of one per run.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.findings import Category
from nhiaudit.limits import MAX_POLICY_BYTES, read_text_limited
from nhiaudit.policy.model import WrittenPolicy
from nhiaudit.policy.request_conditions import require_conditions_problems
from nhiaudit.yaml_guard import yaml_error_location

YamlPath = tuple[str | int, ...]
Position = tuple[int, int]

MAX_POLICY_NODES = 200_000
"""Bounds alias expansion ("billion laughs") and absurd files before anything walks the data."""
MAX_POLICY_DEPTH = 64

_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")
)


class _PolicyYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading (libyaml's parser when present: ~3x faster) without implicit timestamps: dates stay
    strings so pydantic reports bad ones (PyYAML's timestamp for 2027-13-01 raises a bare ValueError) and
    the JSON Schema sees what editors see."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_BAD = object()  # a scalar that could not be read (already reported)


class _TooLarge(Exception):
    def __init__(self, node: Node, message: str) -> None:
        self.node, self.message = node, message


@dataclass
class LocatedYaml:
    """Plain YAML data plus where each entry is. `values`: every mapping value and sequence item (the key's
    position when the value starts on a later line, i.e. block collections); `keys`: every mapping key."""

    data: Any
    values: dict[YamlPath, Position] = field(default_factory=dict)
    keys: dict[YamlPath, Position] = field(default_factory=dict)
    problems: list[tuple[Position, str]] = field(default_factory=list)
    rejected: set[YamlPath] = field(default_factory=set)  # already reported; pydantic stays quiet below

    def position(self, path: YamlPath) -> Position:
        """Position of `path`, or of its nearest recorded parent."""
        key = tuple(path)
        while key:
            if key in self.values:
                return self.values[key]
            key = key[:-1]
        return self.values.get((), (1, 1))


def _pos(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns composed nodes into plain data, recording positions, rejecting duplicate keys and odd tags."""

    def __init__(self, loader: _PolicyYamlLoader, out: LocatedYaml, max_nodes: int) -> None:
        self.loader, self.out, self.max_nodes, self.count = loader, out, max_nodes, 0

    def _problem(self, node: Node, message: str, path: YamlPath | None = None) -> None:
        self.out.problems.append((_pos(node), message))
        if path is not None:
            self.out.rejected.add(path)

    def _tick(self, node: Node, depth: int) -> None:
        self.count += 1
        if self.count > self.max_nodes:
            raise _TooLarge(node, f"policy has more than {self.max_nodes} YAML nodes (aliases expanded)")
        if depth > MAX_POLICY_DEPTH:
            raise _TooLarge(node, f"policy nesting is deeper than {MAX_POLICY_DEPTH} levels")

    def build(self, node: Node, path: YamlPath, depth: int = 0) -> Any:
        self._tick(node, depth)
        if node.tag not in _PLAIN_TAGS:
            self._problem(
                node, f"unsupported YAML tag {node.tag!r}; use plain strings, numbers, lists, maps", path
            )
            return None
        if isinstance(node, ScalarNode):
            value = self._scalar(node, path)
            return None if value is _BAD else value
        if isinstance(node, SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.out.values[(*path, i)] = _pos(item)
                items.append(self.build(item, (*path, i), depth + 1))
            return items
        result: dict[Any, Any] = {}
        for key, key_node, value_node in self._pairs(node, depth):
            sub = (*path, key)
            self.out.keys.setdefault(sub, _pos(key_node))
            same_line = value_node.start_mark.line == key_node.start_mark.line
            self.out.values.setdefault(sub, _pos(value_node if same_line else key_node))
            result[key] = self.build(value_node, sub, depth + 1)
        return result

    def _scalar(self, node: ScalarNode, path: YamlPath | None) -> Any:
        try:
            return self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self._problem(node, f"cannot read value {node.value[:60]!r}: {exc}", path)
            return _BAD

    def _pairs(self, node: MappingNode, depth: int) -> list[tuple[Any, Node, Node]]:
        """Explicit pairs first (duplicates rejected), then `<<` merge keys for keys not set explicitly."""
        pairs: list[tuple[Any, Node, Node]] = []
        seen: dict[Any, Node] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                self._problem(key_node, "mapping keys must be plain scalars")
                continue
            self._tick(key_node, depth)
            key = self._scalar(key_node, None)
            if key is _BAD:
                continue
            if key in seen:
                first = _pos(seen[key])
                self._problem(key_node, f"duplicate key {key!r} (first defined at line {first[0]})")
                continue
            seen[key] = key_node
            pairs.append((key, key_node, value_node))
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                self._tick(source, depth + 1)
                if not isinstance(source, MappingNode):
                    self._problem(source, "merge key '<<' expects a mapping or a list of mappings")
                    continue
                for key, key_node, value_node in self._pairs(source, depth + 1):
                    if key not in seen:
                        seen[key] = key_node
                        pairs.append((key, key_node, value_node))
        return pairs


def parse_located_yaml(text: str, file: str, max_nodes: int = MAX_POLICY_NODES) -> LocatedYaml:
    """Parse one YAML document safely, with positions. Syntax errors and size bombs raise an InputError
    with one problem; structural problems (duplicate keys, odd tags) are returned in `.problems`."""
    loader = _PolicyYamlLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return LocatedYaml(data=None)
        out = LocatedYaml(data=None, values={(): _pos(root)})
        out.data = _Builder(loader, out, max_nodes).build(root, ())
        return out
    except yaml.YAMLError as exc:
        line, col, message = yaml_error_location(exc, text)
        raise InputError.single(file, message, line, col) from None
    except _TooLarge as exc:
        raise InputError.single(file, exc.message, *_pos(exc.node)) from None
    except RecursionError:
        raise InputError.single(file, f"policy nesting is deeper than {MAX_POLICY_DEPTH} levels") from None
    finally:
        loader.dispose()


def load_policy(path: Path, known_rule_ids: Collection[str] | None = None) -> WrittenPolicy:
    """Read, parse and validate a written policy file. Raises InputError listing every problem."""
    text = read_text_limited(path, MAX_POLICY_BYTES, "policy file")
    return load_policy_text(text, str(path), known_rule_ids)


def load_policy_text(text: str, file: str, known_rule_ids: Collection[str] | None = None) -> WrittenPolicy:
    """Like load_policy, for text already in memory; `file` is only used in messages."""
    located = parse_located_yaml(text, file)
    data = located.data
    if data is None and located.problems:  # e.g. a tag on the root node: say so, not "empty"
        raise InputError([InputProblem(SourceLocation(file, line, col), msg)
                          for (line, col), msg in sorted(set(located.problems))])
    if data is None:
        raise InputError.single(file, "policy file is empty; it needs at least `version: 1`")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise InputError.single(
            file, f"the policy must be a mapping of `key: value` entries, got {kind}", *located.position(())
        )
    found: list[tuple[Position, str]] = list(located.problems)
    policy: WrittenPolicy | None = None
    try:
        policy = WrittenPolicy.model_validate(data)
    except ValidationError as exc:
        found.extend(_validation_problems(exc, located))
    found.extend((located.position(p), m) for p, m in _semantic_problems(data, located, known_rule_ids))
    if found or policy is None:
        unique = sorted(set(found))
        raise InputError([InputProblem(SourceLocation(file, line, col), msg) for (line, col), msg in unique])
    policy._source_file = file
    policy._lines = dict(located.values)
    return policy


def policy_warnings(policy: WrittenPolicy, as_of: date) -> list[InputProblem]:
    """Not errors, but worth saying: exceptions that have already expired (they no longer except anything)."""
    warnings = []
    for i, exc in enumerate(policy.exceptions):
        if exc.expires < as_of:
            line, col = _policy_position(policy, ("exceptions", i, "expires"))
            warnings.append(
                InputProblem(
                    SourceLocation(policy.source_file, line, col),
                    f"exceptions[{i}]: exception for rule {exc.rule!r} on {exc.identity!r} expired on "
                    f"{exc.expires.isoformat()}; matching findings are violations again",
                )
            )
    return warnings


def _policy_position(policy: WrittenPolicy, path: YamlPath) -> Position:
    lines: dict[YamlPath, Position] = policy._lines
    key = tuple(path)
    while key and key not in lines:
        key = key[:-1]
    return lines.get(key, (1, 1))


# --- messages -----------------------------------------------------------------------------------------


def dotted(path: Iterable[str | int]) -> str:
    """("integrations", 0, "may_reach", 1) -> "integrations[0].may_reach[1]"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _shown(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, dict | list):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _validation_problems(exc: ValidationError, located: LocatedYaml) -> list[tuple[Position, str]]:
    problems: list[tuple[Position, str]] = []
    missing: dict[YamlPath, list[str]] = {}
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]")
        if any(loc[: len(r)] == r for r in located.rejected):
            continue
        kind, got = err["type"], err.get("input")
        where = dotted(loc)
        if kind == "missing":
            missing.setdefault(loc[:-1], []).append(str(loc[-1]))
            continue
        if loc == ("version",):
            msg = f"version: unsupported policy format version {_shown(got)}; this nhiaudit reads version 1"
        elif kind == "extra_forbidden":
            allowed = _fields_at(loc[:-1])
            hint = _did_you_mean(str(loc[-1]), allowed) or (
                f" (allowed: {', '.join(allowed)})" if allowed else ""
            )
            problems.append((located.keys.get(loc, located.position(loc)), f"{where}: unknown field{hint}"))
            continue
        elif kind.startswith("date_"):
            msg = f"{where}: expected a date YYYY-MM-DD, got {_shown(got)}"
        elif kind == "string_too_short":
            msg = f"{where}: must not be empty"
        elif kind == "too_short":
            msg = f"{where}: must list at least {err.get('ctx', {}).get('min_length', 1)} item(s)"
        else:
            text = err["msg"]
            msg = f"{where}: {text[:1].lower()}{text[1:]}, got {_shown(got)}"
        problems.append((located.position(loc), msg))
    for parent, names in missing.items():
        if parent == ():
            hint = " (start the file with `version: 1`)" if "version" in names else ""
            msg = f"missing required field(s): {', '.join(names)}{hint}"
        else:
            msg = f"{dotted(parent)}: missing required field(s): {', '.join(names)}"
        problems.append((located.position(parent), msg))
    return problems


def _fields_at(loc: YamlPath) -> list[str]:
    """Field names of the model at `loc` (for "did you mean" on unknown fields)."""
    annotation: Any = WrittenPolicy
    for part in loc:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            if info is None:
                return []
            annotation = info.annotation
            continue
        annotation = _strip_optional(annotation)
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) is list and isinstance(part, int):
            annotation = args[0]
        elif typing.get_origin(annotation) is dict:
            annotation = args[1]
        else:
            return []
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


# --- semantic checks (on the raw data, so they run even when pydantic rejected something else) ----------


def _semantic_problems(
    data: dict[str, Any], located: LocatedYaml, known_rule_ids: Collection[str] | None
) -> list[tuple[YamlPath, str]]:
    problems: list[tuple[YamlPath, str]] = []
    systems = data.get("systems")
    system_names = {str(k) for k in systems} if isinstance(systems, dict) else set()
    integrations = data.get("integrations")
    first_by_name: dict[str, int] = {}
    for i, entry in enumerate(integrations if isinstance(integrations, list) else []):
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if isinstance(name, str) and name:
            if name in first_by_name:
                first_line = located.position(("integrations", first_by_name[name]))[0]
                problems.append(
                    (
                        ("integrations", i, "name"),
                        f"integrations[{i}].name: duplicate integration name {name!r} "
                        f"(first defined at line {first_line})",
                    )
                )
            else:
                first_by_name[name] = i
        allowed = entry.get("may_reach")
        allowed = allowed if isinstance(allowed, list) else []
        for field_name in ("may_reach", "must_not_reach"):
            refs = entry.get(field_name)
            for j, ref in enumerate(refs if isinstance(refs, list) else []):
                if not isinstance(ref, str):
                    continue
                path: YamlPath = ("integrations", i, field_name, j)
                if ref not in system_names:
                    hint = _did_you_mean(ref, system_names) or (
                        "" if system_names else " (no systems are defined under `systems:`)"
                    )
                    problems.append((path, f"{dotted(path)}: unknown system {ref!r}{hint}"))
                elif field_name == "must_not_reach" and ref in allowed:
                    other = located.position(("integrations", i, "may_reach", allowed.index(ref)))[0]
                    problems.append(
                        (
                            path,
                            f"{dotted(path)}: system {ref!r} is also in may_reach "
                            f"(line {other}); an integration cannot both may and must not reach it",
                        )
                    )
    problems.extend(_classification_problems(data))
    problems.extend(require_conditions_problems(integrations if isinstance(integrations, list) else []))
    exceptions = data.get("exceptions")
    categories = [c.value for c in Category]
    for i, entry in enumerate(exceptions if isinstance(exceptions, list) else []):
        if not isinstance(entry, dict):
            continue
        expires = entry.get("expires")
        if "expires" in entry and expires is not None and not isinstance(expires, str):
            problems.append(
                (
                    ("exceptions", i, "expires"),
                    f"exceptions[{i}].expires: expected a date YYYY-MM-DD, got {_shown(expires)}",
                )
            )
        rule = entry.get("rule")
        if known_rule_ids is None or not isinstance(rule, str) or not rule:
            continue
        if rule not in categories and rule not in known_rule_ids:
            hint = _did_you_mean(rule, [*categories, *known_rule_ids])
            problems.append(
                (
                    ("exceptions", i, "rule"),
                    f"exceptions[{i}].rule: {rule!r} is neither a rule id nor a finding category{hint}",
                )
            )
    return problems


def _classification_problems(data: dict[str, Any]) -> list[tuple[YamlPath, str]]:
    """A tag value listed as both human and nhi (keys and values compare case-insensitively) can never
    decide anything: say so instead of silently treating every such identity as conflicting."""
    defaults = data.get("defaults")
    block = defaults.get("classification") if isinstance(defaults, dict) else None
    tags = block.get("tags") if isinstance(block, dict) else None
    problems: list[tuple[YamlPath, str]] = []
    for key, sides in (tags.items() if isinstance(tags, dict) else ()):
        if not isinstance(sides, dict):
            continue
        human, nhi = sides.get("human"), sides.get("nhi")
        human_values = {str(v).strip().casefold() for v in human if isinstance(v, str)} \
            if isinstance(human, list) else set()
        for j, value in enumerate(nhi if isinstance(nhi, list) else []):
            if isinstance(value, str) and value.strip().casefold() in human_values:
                path: YamlPath = ("defaults", "classification", "tags", key, "nhi", j)
                problems.append((path, f"{dotted(path)}: value {_shown(value)} of tag {_shown(key)} is listed as both "
                                       f"human and nhi"))
    return problems
