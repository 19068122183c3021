"""Helpers for raw AWS shapes: live boto3 responses and AWS CLI JSON exports differ only in small ways
(datetimes vs ISO strings, URL-encoded vs parsed policy documents), and these helpers absorb that."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from nhiaudit.jsonlocate import lone_surrogate_escape
from nhiaudit.jsonshape import JsonPath, format_path

# Credential-report placeholders meaning "no value".
_NO_VALUE = frozenset({"", "N/A", "no_information", "not_supported", "none"})


class RawDataError(ValueError):
    """A raw AWS document does not have the shape AWS documents (caller adds the file or operation).

    `path` locates the value in the raw document (`RoleDetailList[3].AssumeRolePolicyDocument`); `line` and
    `column` locate it in CSV text (the credential report). Transforms add path prefixes with `within`."""

    def __init__(
        self, message: str, path: JsonPath = (), *, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.path, self.line, self.column = message, tuple(path), line, column

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}" if self.path else self.message

    def within(self, *prefix: str | int) -> RawDataError:
        return RawDataError(self.message, (*prefix, *self.path), line=self.line, column=self.column)


def parse_time(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from a boto3 datetime, an ISO string, or a report placeholder."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise RawDataError(f"expected a date, got {type(value).__name__}")
    text = value.strip()
    if text in _NO_VALUE:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise RawDataError(f"not a date: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def report_value(value: str | None) -> str | None:
    """A credential-report cell, with `N/A`, `no_information` and `not_supported` as None."""
    if value is None:
        return None
    text = value.strip()
    return None if text in _NO_VALUE else text


def report_bool(value: str | None) -> bool | None:
    text = report_value(value)
    if text is None:
        return None
    if text.lower() not in ("true", "false"):
        raise RawDataError(f"expected true or false, got {text[:60]!r}")
    return text.lower() == "true"


def as_tuple(value: Any) -> tuple[str, ...]:
    """IAM allows a single string or a list wherever it allows a list."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        if not all(isinstance(v, str) for v in value):
            raise RawDataError(f"expected strings, got {value!r}")
        return tuple(value)
    raise RawDataError(f"expected a string or a list of strings, got {type(value).__name__}")


def tags_of(item: Mapping[str, Any]) -> dict[str, str]:
    tags = item.get("Tags") or []
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, Mapping)}


def decode_document(value: Any) -> dict[str, Any]:
    """A policy document: already a dict (boto3 / AWS CLI), or JSON that may be URL-encoded (raw API).
    Duplicate keys: the last one wins, as in every JSON parser AWS's SDKs and CLI use."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            text = unquote(text)
        if lone_surrogate_escape(text) is not None:
            raise RawDataError("policy document has a lone surrogate escape (not valid Unicode)")
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RawDataError(f"policy document is not JSON ({exc.msg})") from None
        except RecursionError:
            raise RawDataError("policy document is nested too deeply") from None
        if isinstance(doc, dict):
            return doc
    raise RawDataError("policy document is not a JSON object")


def arn_parts(arn: str) -> tuple[str, str, str, str, str]:
    """(partition, service, region, account, resource) of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise RawDataError(f"not an ARN: {arn!r}")
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def account_of(arn: str) -> str:
    return arn_parts(arn)[3]


def partition_of(arn: str) -> str:
    return arn_parts(arn)[0]


def str_attributes(pairs: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Provider extras as the model's dict[str, str], dropping empty values."""
    return {k: str(v) for k, v in pairs if v not in (None, "", [], {})}
