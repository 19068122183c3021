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
    """The skeleton with each `(key, indent, pieces)` list filled in, in document order. `indent` is the
    column of the key; `pieces` are the list's elements as `list_pieces` makes them."""
    rest = skeleton
    for key, indent, pieces in lists:
        marker = f'\n{" " * indent}"{key}": []'
        head, found, rest = rest.partition(marker)
        if not found:
            raise SkeletonError(f"no empty list {key!r} at indentation {indent} to fill")
        yield head + marker[:-2]
        yield from _list(pieces, indent + INDENT)
    yield rest


def batches(items: Iterable[T], render: Callable[[list[T]], str]) -> Iterator[str]:
    """`render` (a JSON array of its items, `indent=2`) applied to successive runs of BATCH items."""
    source = iter(items)
    while run := list(itertools.islice(source, BATCH)):
        yield render(run)


def list_pieces(arrays: Iterable[str], indent: int, safe: Callable[[str], str] = str) -> Iterator[str]:
    """Arrays of a list's next elements (JSON rendered with `indent=2` from column 0) as the pieces of that
    list at `indent`, the column of its key, each passed through `safe`. A non-empty array is
    "[\n  e1,\n  e2\n]": its inside, "\n  e1,\n  e2", holds the elements one level deeper than its own
    column, so `pad` moves them to theirs; every piece starts with "," (`_list` opens the first)."""
    pad = "\n" + " " * indent
    for text in arrays:
        if text != "[]":
            yield safe("," + text[1:-2].replace("\n", pad))


def _list(pieces: Iterable[str], indent: int) -> Iterator[str]:
    empty = True
    for piece in pieces:
        yield "[" + piece[1:] if empty else piece
        empty = False
    yield "[]" if empty else "\n" + " " * (indent - INDENT) + "]"
