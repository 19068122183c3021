"""The JSON report: the Report model as-is (its JSON Schema is docs/report.schema.json)."""

from __future__ import annotations

import json

from pydantic_core import PydanticSerializationError

from nhiaudit.report import Report
from nhiaudit.reporters.interface import RenderContext, Reporter
from nhiaudit.textsafe import json_safe

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class JsonReporter(Reporter):
    def render(self, report: Report, context: RenderContext) -> str:
        try:
            return json_safe(report.model_dump_json(indent=2)) + "\n"
        except PydanticSerializationError:
            # A lone surrogate from an imported `\ud800` escape cannot be encoded as UTF-8: the same JSON
            # through the json module (json_safe turns such characters into U+FFFD).
            data = report.model_dump(mode="json")
            return json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


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
