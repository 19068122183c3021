"""The JSON report: the Report model as-is (its JSON Schema is docs/report.schema.json).

Streamed: the report without its access paths and findings, then those a batch at a time (json_stream), so a
large estate's report is never one string; the bytes are those of `model_dump_json(indent=2)`.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError

from nhiaudit.report import Report
from nhiaudit.reporters.interface import RenderContext, Reporter
from nhiaudit.reporters.json_stream import list_pieces, spliced
from nhiaudit.textsafe import json_safe

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The report's lists that grow with the estate, in document order.
STREAMED_LISTS = ("access_paths", "findings")


class JsonReporter(Reporter):
    def render(self, report: Report, context: RenderContext) -> str:
        return "".join(self.chunks(report, context))

    def chunks(self, report: Report, context: RenderContext) -> Iterator[str]:
        skeleton = _dump(_adapter(Report), report.model_copy(update={name: [] for name in STREAMED_LISTS}))
        lists = [(name, LISTS_INDENT, _elements(name, getattr(report, name))) for name in STREAMED_LISTS]
        for piece in spliced(skeleton, lists):
            yield json_safe(piece)
        yield "\n"


LISTS_INDENT = 2  # column of the streamed lists' keys


def _elements(name: str, items: list[Any]) -> Iterator[str]:
    adapter = _adapter(list[_item_type(name)])  # type: ignore[misc]
    return list_pieces(items, lambda run: _dump(adapter, run), LISTS_INDENT)


@functools.cache
def _item_type(name: str) -> Any:
    (item,) = typing.get_args(Report.model_fields[name].annotation)
    return item


@functools.cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def _dump(adapter: TypeAdapter[Any], value: Any) -> str:
    try:
        return adapter.dump_json(value, indent=2).decode("utf-8")
    except PydanticSerializationError:
        # A lone surrogate from an imported `\ud800` escape cannot be encoded as UTF-8: the same JSON
        # through the json module (json_safe turns such characters into U+FFFD).
        return json.dumps(adapter.dump_python(value, mode="json"), indent=2, ensure_ascii=False)


def report_json_schema() -> str:
    """The text of docs/report.schema.json (a test keeps the file equal to this)."""
    schema = Report.model_json_schema(mode="serialization")
    schema = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "nhiaudit scan report",
        "description": "The JSON report of `nhiaudit scan --format json` (see docs/reports.md).",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"
