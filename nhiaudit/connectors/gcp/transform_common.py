"""Helpers shared by the GCP transforms: the typed error for malformed raw data, dates, member and
resource-name normalisation. Pure functions over raw REST JSON (see raw.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nhiaudit.jsonshape import JsonPath, format_path
from nhiaudit.permissions.gcp_names import canonical_resource

_IAM_HOST = "//iam.googleapis.com/"
SA_DOMAIN = ".iam.gserviceaccount.com"
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})


class GcpDataError(ValueError):
    """A raw GCP document does not have the shape the API documents (the caller adds file or operation).

    `path` locates the value in the raw document (`bindings[2].members[0]`); transforms add prefixes with
    `within` so an importer can point at the line and column of the offending value."""

    def __init__(self, message: str, path: JsonPath = ()) -> None:
        super().__init__(message)
        self.message, self.path = message, tuple(path)

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}" if self.path else self.message

    def within(self, *prefix: str | int) -> GcpDataError:
        return GcpDataError(self.message, (*prefix, *self.path))


def parse_time(value: Any) -> datetime | None:
    """A UTC datetime from an RFC 3339 timestamp (nanosecond fractions allowed), None for absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise GcpDataError(f"expected a timestamp, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    date_part, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds: trim nanoseconds, keep the offset
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{date_part}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise GcpDataError(f"not a timestamp: {value[:60]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def expiry_time(value: Any) -> datetime | None:
    """validBeforeTime: the year-9999 value GCP uses for keys that never expire means no expiry."""
    parsed = parse_time(value)
    return None if parsed is None or parsed.year >= 9999 else parsed


def project_of_email(email: str) -> str | None:
    """The project of a user-created service account (NAME@PROJECT.iam.gserviceaccount.com)."""
    local, _, domain = email.rpartition("@")
    if local and domain.endswith(SA_DOMAIN):
        return domain[: -len(SA_DOMAIN)] or None
    return None


def normalise_member(member: str) -> str:
    """A binding member as a trust principal: `serviceAccount:E` -> `E`; anything else as written."""
    if member.startswith("serviceAccount:"):
        return member[len("serviceAccount:"):]
    return member


def condition_of(binding: Mapping[str, Any]) -> dict[str, str] | None:
    """The binding's condition as stored in statements and trusts ({"expression", "title"}), or None."""
    cond = binding.get("condition")
    if not cond:
        return None
    out = {"expression": str(cond.get("expression", ""))}
    if cond.get("title"):
        out["title"] = str(cond["title"])
    return out


def condition_suffix(condition: Mapping[str, str] | None) -> str:
    """`#title`, or `#` + a short hash of the expression when untitled, '' without a condition."""
    if condition is None:
        return ""
    title = condition.get("title")
    if title:
        return f"#{title}"
    return "#" + hashlib.sha256(condition["expression"].encode("utf-8", "surrogatepass")).hexdigest()[:12]


def sa_resource(project: str, email: str) -> str:
    return f"projects/{project}/serviceAccounts/{email}"


def binding_resource(
    resource: str, sa_index: Mapping[str, str], project_id: str, project_number: str | None = None
) -> str:
    """The canonical name of a binding's resource. Service accounts, which Cloud Asset names by unique id
    (`//iam.googleapis.com/projects/P/serviceAccounts/ID`) and the IAM API sometimes with `projects/-`,
    become `projects/P/serviceAccounts/EMAIL` (the name grants and escalation targets use).
    Cloud Asset names projects by number: the project's own number becomes its id.
    `sa_index`: e-mail or unique id -> e-mail, for the project's service accounts."""
    name = resource[len(_IAM_HOST):] if resource.startswith(_IAM_HOST) else resource
    parts = name.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "serviceAccounts":
        email = sa_index.get(parts[3], parts[3])
        project = parts[1] if parts[1] != "-" else (project_of_email(email) or project_id)
        return sa_resource(project, email)
    canonical = canonical_resource(resource)
    if project_number and canonical == f"projects/{project_number}":
        return f"projects/{project_id}"
    return canonical


def sa_of_resource(resource: str) -> str | None:
    """The service-account e-mail of a canonical `projects/P/serviceAccounts/E` name, else None."""
    parts = resource.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "serviceAccounts" and "@" in parts[3]:
        return parts[3]
    return None


def str_attributes(pairs: Any) -> dict[str, str]:
    """Provider extras as the model's dict[str, str], dropping empty values."""
    return {str(k): str(v) for k, v in pairs if v not in (None, "", [], {})}


def labels_of(item: Mapping[str, Any]) -> dict[str, str]:
    labels = item.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise GcpDataError("expected an object of labels", ("labels",))
    return {str(k): str(v) for k, v in sorted(labels.items())}
