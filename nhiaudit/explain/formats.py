"""Output formats of `nhiaudit explain` (a leaf module: the CLI imports it at start-up)."""

from __future__ import annotations

from enum import StrEnum


class ExplainFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
