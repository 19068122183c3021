"""Read a YAML baseline file safely into plain data plus the line and column of every value.

Scalars of the baseline's text fields stay the text as written (an identity `2026`, a reason `yes` are
strings, not a number or a boolean); only `null`/`~` and integers are interpreted. Aliases are bounded
before anything walks the tree (yaml_guard), and any tag beyond plain YAML is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.limits import MAX_REPORTED_PROBLEMS
from nhiaudit.yaml_guard import YamlTooLarge, check_expansion, yaml_error_location

_MAX_DEPTH = 16  # a baseline nests three levels; anything deeper is not one
_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp"))

YamlPath = tuple[str | int, ...]
Locator = Callable[[YamlPath], tuple[int, int]]


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_located_yaml(text: str, file: str, max_nodes: int) -> tuple[Any, Locator]:
    """The single document's data and a locator (path -> line, column of the nearest recorded value).
    InputError for syntax errors, size bombs, duplicate keys and unsupported tags, each at its place."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InputError.single(file, "baseline is empty; it needs `baseline_version: 1` and `findings`")
        check_expansion(root, max_nodes, _MAX_DEPTH, "baseline")
        builder = _Builder(file)
        data = builder.build(root, ())
    except yaml.YAMLError as exc:
        line, col, message = yaml_error_location(exc, text)
        raise InputError.single(file, message, line, col) from None
    except YamlTooLarge as exc:
        raise InputError.single(file, exc.message, *exc.position) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise InputError(builder.problems[:MAX_REPORTED_PROBLEMS])
    positions = builder.positions

    def where(path: YamlPath) -> tuple[int, int]:
        key = tuple(path)
        while key and key not in positions:
            key = key[:-1]
        return positions.get(key, (1, 1))

    return data, where


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[YamlPath, tuple[int, int]] = {}
        self.problems: list[InputProblem] = []

    def _problem(self, node: Node, message: str) -> None:
        self.problems.append(InputProblem(SourceLocation(self.file, *_pos(node)), message))

    def build(self, node: Node, path: YamlPath) -> Any:
        self.positions.setdefault(path, _pos(node))
        if node.tag not in _PLAIN_TAGS:
            self._problem(node, f"unsupported YAML tag {node.tag!r}; use plain strings, numbers, lists, maps")
            return None
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        return _scalar(node)  # type: ignore[arg-type]

    def _mapping(self, node: MappingNode, path: YamlPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                self._problem(key_node, "mapping keys must be plain strings (no `<<` merges, no complex keys)")
                continue
            key = key_node.value
            if key in lines:
                self._problem(key_node, f"duplicate key {key!r} (first defined at line {lines[key]})")
                continue
            lines[key] = _pos(key_node)[0]
            result[key] = self.build(value_node, (*path, key))
        return result


def _scalar(node: ScalarNode) -> Any:
    if node.tag == _TAG + "null":
        return None
    if node.tag == _TAG + "int":
        try:
            return int(node.value.replace("_", ""), 10)
        except ValueError:
            return node.value  # 0x1f, 0o17...: not a baseline version anyone writes; reported as text
    return node.value
