"""Helpers shared by the Azure transforms: the typed error for malformed raw data, timestamps, and small
accessors. Pure functions over raw Graph / ARM JSON (see raw.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nhiaudit.jsonshape import JsonPath, format_path

# Microsoft's own tenants: apps they publish are first party (raw.py, Identity.attributes["publisher"]).
MICROSOFT_TENANTS = frozenset({"f8cdef31-a31e-4b4a-93e4-5f571e91255a", "72f988bf-86f1-41af-91ab-2d7cd011db47"})


class AzureDataError(ValueError):
    """A raw Graph / ARM document does not have the documented shape. `path` locates the value in the raw
    data (`applications[2].passwordCredentials[0]`); `within` adds prefixes so an importer can point at
    the line and column of the offending value."""

    def __init__(self, message: str, path: JsonPath = ()) -> None:
        super().__init__(message)
        self.message, self.path = message, tuple(path)

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}" if self.path else self.message

    def within(self, *prefix: str | int) -> AzureDataError:
        return AzureDataError(self.message, (*prefix, *self.path))


def parse_time(value: Any) -> datetime | None:
    """A UTC datetime from a Graph/ARM timestamp (7-digit fractions allowed), None for absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AzureDataError(f"expected a timestamp, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    date_part, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds; Graph writes up to 7 fraction digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{date_part}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise AzureDataError(f"not a timestamp: {value[:60]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def text(item: Mapping[str, Any], key: str) -> str | None:
    """A string field, None when absent or null; anything else is malformed."""
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AzureDataError(f"expected a string, got {type(value).__name__}", (key,))
    return value


def required(item: Mapping[str, Any], key: str) -> str:
    value = text(item, key)
    if not value:
        raise AzureDataError("missing", (key,))
    return value


def items_of(item: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A list of objects (absent or null: empty)."""
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise AzureDataError("expected a list", (key,))
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise AzureDataError("expected an object", (key, index))
    return value


def strings_of(item: Mapping[str, Any], key: str) -> list[str]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AzureDataError("expected a list of strings", (key,))
    return list(value)


def str_attributes(pairs: Any) -> dict[str, str]:
    """Provider extras as the model's dict[str, str], dropping empty values."""
    return {str(k): str(v) for k, v in pairs if v not in (None, "", [], {})}


def arm_id(value: str) -> str:
    """ARM ids are case-insensitive; keep the case as written but strip a trailing slash."""
    return value.rstrip("/") or "/"


def time_field(item: Mapping[str, Any], key: str) -> datetime | None:
    """parse_time of item[key], an error located at the field."""
    try:
        return parse_time(item.get(key))
    except AzureDataError as exc:
        raise exc.within(key) from None
