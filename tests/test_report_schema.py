"""docs/report.schema.json is generated from the Report model and describes what the JSON reporter writes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import report_factory as rf

from nhiaudit.reporters import RenderContext, get_reporter
from nhiaudit.reporters.json_report import report_json_schema

DOC = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"
REGENERATE = (
    ".venv/bin/python -c 'from nhiaudit.reporters.json_report import report_json_schema as s; "
    "print(s(), end=\"\")' > docs/report.schema.json"
)


def test_docs_schema_is_the_generated_one():
    assert DOC.read_text(encoding="utf-8") == report_json_schema(), f"regenerate it: {REGENERATE}"


def test_json_report_validates_against_the_schema():
    schema = json.loads(report_json_schema())
    validator = jsonschema.validators.validator_for(schema)(schema)
    document = json.loads(get_reporter("json").render(rf.demo_report(), RenderContext()))
    assert list(validator.iter_errors(document)) == []
    document["findings"][0]["severity"] = "catastrophic"
    assert list(validator.iter_errors(document))  # the check can fail
