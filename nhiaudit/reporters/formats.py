"""The report formats (a module of its own: the CLI's options name them at start-up, before any reporter)."""

from __future__ import annotations

from enum import StrEnum


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    HTML = "html"
    GITLAB_CODEQUALITY = "gitlab-codequality"
