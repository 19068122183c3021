"""The records of one Azure export file, with their paths in the file: `az` lists (a JSON array or one
object), raw Graph / ARM pages (`{"value": [...], "@odata.context": ...}`) and several pages in one file
(a JSON array of pages, as a paging loop that saves each reply writes them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nhiaudit.connectors.azure import export_shapes as shapes
from nhiaudit.jsonshape import JsonPath

_PAGE_KEYS = frozenset({"value", "@odata.context", "@odata.nextLink", "@odata.deltaLink", "@odata.count",
                        "nextLink", "@microsoft.graph.tips"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Record:
    item: Any
    path: JsonPath  # in the file
    context: str | None  # the page's @odata.context, when the record came from a Graph page


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def _is_page(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("value"), list) and set(value) <= _PAGE_KEYS


def pages_of(data: Any) -> list[tuple[Mapping[str, Any], JsonPath]] | None:
    """The Graph / ARM pages of a file, None when it holds none."""
    if _is_page(data):
        return [(data, ())]
    if isinstance(data, list) and data and all(_is_page(p) for p in data):
        return [(page, (i,)) for i, page in enumerate(data)]
    return None


def records(data: Any) -> list[Record]:
    pages = pages_of(data)
    if pages is not None:
        out = []
        for page, path in pages:
            context = page.get("@odata.context")
            context = context if isinstance(context, str) else None
            out.extend(Record(item, (*path, "value", i), context) for i, item in enumerate(page["value"]))
        return out
    if isinstance(data, list):
        return [Record(item, (i,), None) for i, item in enumerate(data)]
    return [Record(data, (), None)]


def detect(data: Any) -> str | None:
    """The kind of a file, None when it is no Azure export. A page's @odata.context decides; without one,
    every record must be of one kind. (Pages of one file may list the children of different parents.)"""
    pages = pages_of(data)
    kinds: set[str | None] = set()
    if pages is not None:
        for page, _ in pages:
            context = page.get("@odata.context")
            if isinstance(context, str):
                kind = shapes.kind_of_context(context)[0]
                if kind is not None:
                    kinds.add(kind)
                    continue
            kinds.update(shapes.kind_of_item(item) for item in page["value"])
        if not kinds:
            return shapes.EMPTY  # empty pages without a context: nothing to import
    elif isinstance(data, list):
        if not data:
            return None
        kinds = {shapes.kind_of_item(item) for item in data}
    else:
        kinds = {shapes.kind_of_item(data)}
    return kinds.pop() if len(kinds) == 1 else None
