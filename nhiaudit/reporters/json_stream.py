"""An indented JSON document in pieces, so its large lists are written a batch of elements at a time.

The document is first rendered with those lists empty (its skeleton); each list is then spliced in, one
batch of elements per piece: each batch rendered on its own as a JSON array and re-indented to its depth
(one encoder call per batch costs less than one per element). Joined, the pieces are byte for byte what
rendering the whole document with `indent=2` gives: JSON strings cannot hold a raw newline, so re-indenting
by replacing newlines never touches data, and an object's keys are unique, so the marker of an empty list
at a given indentation occurs once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

INDENT = 2
T = TypeVar("T")


class SkeletonError(RuntimeError):
    """The skeleton lacks the empty list to splice (a bug: the document and its splices disagree)."""


BATCH = 256  # elements per encoder call and per piece


def spliced(skeleton: str, lists: Sequence[tuple[str, int, Iterable[str]]]) -> Iterator[str]:
    """The skeleton with each `(key, indent, batches)` list filled in, in document order. `indent` is the
    column of the key; every batch is a JSON array of the list's next elements, rendered with `indent=2`
    from column 0 (`batches` below makes them)."""
    rest = skeleton
    for key, indent, arrays in lists:
        marker = f'\n{" " * indent}"{key}": []'
        head, found, rest = rest.partition(marker)
        if not found:
            raise SkeletonError(f"no empty list {key!r} at indentation {indent} to fill")
        yield head + marker[:-2]
        yield from _list(arrays, indent + INDENT)
    yield rest


def batches(items: Iterable[T], render: Callable[[list[T]], str]) -> Iterator[str]:
    """`render` (a JSON array of its items, `indent=2`) applied to successive runs of BATCH items."""
    source = iter(items)
    while run := list(itertools.islice(source, BATCH)):
        yield render(run)


def _list(arrays: Iterable[str], indent: int) -> Iterator[str]:
    # A non-empty array rendered with indent=2 is "[\n  e1,\n  e2\n]": its inside, "\n  e1,\n  e2", is the
    # elements one level deeper than the array's own column; `pad` moves them to `indent`.
    pad = "\n" + " " * (indent - INDENT)
    empty = True
    for text in arrays:
        if text == "[]":
            continue
        yield ("[" if empty else ",") + text[1:-2].replace("\n", pad)
        empty = False
    yield "[]" if empty else pad + "]"
