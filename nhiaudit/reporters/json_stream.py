"""An indented JSON document in pieces, so its large lists are written one element at a time.

The document is first rendered with those lists empty (its skeleton); each list is then spliced in, one
element per piece, each element rendered on its own and re-indented to its depth. Joined, the pieces are
byte for byte what rendering the whole document with `indent=2` gives: JSON strings cannot hold a raw
newline, so re-indenting by replacing newlines never touches data, and an object's keys are unique, so the
marker of an empty list at a given indentation occurs once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

INDENT = 2


class SkeletonError(RuntimeError):
    """The skeleton lacks the empty list to splice (a bug: the document and its splices disagree)."""


def spliced(skeleton: str, lists: Sequence[tuple[str, int, Iterable[str]]]) -> Iterator[str]:
    """The skeleton with each `(key, indent, elements)` list filled in, in document order. `indent` is the
    column of the key; every element is a JSON text rendered with `indent=2` from column 0."""
    rest = skeleton
    for key, indent, elements in lists:
        marker = f'\n{" " * indent}"{key}": []'
        head, found, rest = rest.partition(marker)
        if not found:
            raise SkeletonError(f"no empty list {key!r} at indentation {indent} to fill")
        yield head + marker[:-2]
        yield from _list(elements, indent + INDENT)
    yield rest


def _list(elements: Iterable[str], indent: int) -> Iterator[str]:
    newline = "\n" + " " * indent
    empty = True
    for text in elements:
        yield ("[" if empty else ",") + newline + text.replace("\n", newline)
        empty = False
    yield "[]" if empty else "\n" + " " * (indent - INDENT) + "]"
