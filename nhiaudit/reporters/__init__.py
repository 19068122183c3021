"""Reporters: render a Report as table, JSON, SARIF or Markdown (`get_reporter(fmt).render(report, ctx)`, or
`.chunks(...)` to write it piece by piece).

Names are imported on first use: the CLI imports this package at start-up, and the reporters need pydantic.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["OutputFormat", "RenderContext", "Reporter", "RuleDoc", "get_reporter"]
_HOME = {"OutputFormat": "nhiaudit.reporters.formats", "RenderContext": "nhiaudit.reporters.interface",
         "Reporter": "nhiaudit.reporters.interface", "RuleDoc": "nhiaudit.reporters.interface",
         "get_reporter": "nhiaudit.reporters.interface"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
