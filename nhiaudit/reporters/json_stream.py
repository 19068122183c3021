"""An indented JSON document in pieces, so its large lists are written a batch of elements at a time.

The document is first rendered with those lists empty (its skeleton); each list is then spliced in, one
batch of elements per piece: each batch rendered on its own as a JSON array and re-indented to its depth
(one encoder call per batch costs less than one per element). Joined, the pieces are byte for byte what
rendering the whole document with `indent=2` gives: JSON strings cannot hold a raw newline, so re-indenting
by replacing newlines never touches data, and an object's keys are unique, so the marker of an empty list
at a given indentation occurs once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from nhiaudit.forked import alternately

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
        yield from _list(pieces, indent)
    yield rest


def list_pieces(items: Sequence[T], render: Callable[[Sequence[T]], str], indent: int,
                parallel: bool = False) -> Iterator[str]:
    """The pieces of a list whose key is at column `indent`: its items BATCH at a time, each batch rendered by
    `render` as a JSON array (`indent=2`, from column 0) and moved to the list's depth. A non-empty array is
    "[\n  e1,\n  e2\n]": its inside, "\n  e1,\n  e2", holds the elements one level deeper than its own
    column, so `pad` moves them one level deeper than the key; every piece starts with "," (`_list` opens the
    first). With `parallel`, a long list's batches are rendered in two processes (forked.alternately): worth it
    where rendering is Python work (SARIF's results), not where a batch is one call into pydantic's encoder
    (the JSON report: there the child's copy-on-write faults and the pipe cost more than it saves)."""
    pad = "\n" + " " * indent

    def piece(run: Sequence[T]) -> str:
        return "," + render(run)[1:-2].replace("\n", pad)

    runs = [items[start:start + BATCH] for start in range(0, len(items), BATCH)]
    return alternately(piece, runs) if parallel else map(piece, runs)


def _list(pieces: Iterable[str], indent: int) -> Iterator[str]:
    empty = True
    for piece in pieces:
        yield "[" + piece[1:] if empty else piece
        empty = False
    yield "[]" if empty else "\n" + " " * indent + "]"
