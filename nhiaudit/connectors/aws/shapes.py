"""Shape checks on live API replies: a garbled reply must fail its call, not read as "nothing there"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError


def reply_object(reply: Any) -> Mapping[str, Any]:
    """The reply itself, which must be an object."""
    if not isinstance(reply, Mapping):
        raise RawDataError(f"reply is not an object ({type(reply).__name__})")
    return reply


def reply_list(reply: Any, key: str) -> list[Any]:
    """`reply[key]`, which must be present and a list (a 200 with an HTML body parses as {})."""
    value = reply_object(reply).get(key)
    if not isinstance(value, list):
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise RawDataError(f"reply field {key} is {found}, expected a list")
    return value


def reply_lists(reply: Any, keys: Iterable[str]) -> dict[str, Any]:
    """The reply, whose fields among `keys` must be lists, at least one of them present."""
    page = reply_object(reply)
    names = list(keys)
    if not any(k in page for k in names):
        raise RawDataError(f"reply has none of {', '.join(names)}")
    for key in names:
        if key in page and not isinstance(page[key], list):
            raise RawDataError(f"reply field {key} is a {type(page[key]).__name__}, expected a list")
    return dict(page)


def reply_str(reply: Any, key: str) -> str:
    """`reply[key]`, which must be a non-empty string."""
    value = reply_object(reply).get(key)
    if not isinstance(value, str) or not value:
        raise RawDataError(f"reply field {key} is missing or not a string")
    return value
