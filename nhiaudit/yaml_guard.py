"""Reading untrusted YAML: where an error is, and bounds on what aliases can expand to.

Safe loading builds shared references for aliases, so a "billion laughs" file loads in microseconds; the
cost comes later, in whatever walks the data as a tree (validation, CEL conversion). `check_expansion`
measures the composed node graph once per distinct node, before anything walks it.
"""

from __future__ import annotations

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode


class YamlTooLarge(Exception):
    """The document expands to too many nodes, nests too deeply or refers to itself."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node, self.message = node, message

    @property
    def position(self) -> tuple[int, int]:
        return self.node.start_mark.line + 1, self.node.start_mark.column + 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_expansion(root: Node, max_nodes: int, max_depth: int, what: str = "document") -> None:
    """Raise YamlTooLarge when `root`, with every alias expanded, has more than `max_nodes` nodes, nests
    deeper than `max_depth`, or contains itself (a recursive alias). Iterative: deep input cannot overflow."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    open_nodes: set[int] = set()  # expanded, not finished: the current path from the root
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            heights[key] = 1 + max((heights[id(c)] for c in children), default=0)
            if sizes[key] > max_nodes:
                raise YamlTooLarge(node, f"{what} has more than {max_nodes} YAML nodes (aliases expanded)")
            if heights[key] > max_depth:
                raise YamlTooLarge(node, f"{what} nesting is deeper than {max_depth} levels")
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlTooLarge(node, f"{what} contains a recursive alias (a node that includes itself)")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def yaml_error_location(exc: yaml.YAMLError, text: str) -> tuple[int, int, str]:
    """Line, column (1-based) and message of a YAML error, including reader errors (NUL and other
    characters YAML refuses), which carry an offset instead of a mark."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context:
            where = f", line {exc.context_mark.line + 1}" if exc.context_mark else ""
            message += f" ({exc.context}{where})"
        return line, col, f"YAML syntax error: {message}"
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _offset_position(text, exc.position, in_bytes=exc.encoding == "?")
        char = exc.character
        shown = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        return line, col, f"YAML error: unacceptable character {shown}: {exc.reason}"
    return 1, 1, f"YAML error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"


def _offset_position(text: str, offset: int, in_bytes: bool) -> tuple[int, int]:
    # libyaml reports byte offsets into the UTF-8 encoding; the pure-Python reader, character offsets.
    before = text.encode("utf-8")[:offset].decode("utf-8", errors="replace") if in_bytes else text[:offset]
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1
