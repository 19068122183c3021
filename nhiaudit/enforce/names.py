"""Names derived from policy and estate text: AWS policy names, tag values, Terraform labels, shell words.

Integration names are free text and identity names come from the estate (attacker-controlled): a name that
is not already valid where it goes is turned into a safe slug with a short digest of the original, so two
different names never meet in one slug, and the same input always gives the same name."""

from __future__ import annotations

import hashlib
import re
import shlex

_IAM_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,128}$")  # IAM role / user / policy names (ASCII word chars)
# AWS tag values: letters, digits, spaces and _ . : / = + - @ (up to 256). ASCII only here, to be safe everywhere.
_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+\-@]{0,256}$")
_SLUG_OUT = re.compile(r"[^A-Za-z0-9-]+")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def slug(text: str, limit: int = 64) -> str:
    """Lower-case letters, digits and `-`; a digest of the original when anything had to change."""
    cleaned = _SLUG_OUT.sub("-", text).strip("-").lower()
    if cleaned == text and len(cleaned) <= limit and cleaned:
        return cleaned
    return f"{cleaned[: max(0, limit - 9)].strip('-')}-{_digest(text)}".lstrip("-")


def is_iam_name(name: str) -> bool:
    return bool(_IAM_NAME.match(name))


def policy_name(prefix: str, text: str) -> str:
    return f"{prefix}-{slug(text, 128 - len(prefix) - 1)}"


def tag_value(integration: str) -> str:
    """The `nhiaudit:integration` tag value for an integration: its name when AWS takes it as a tag value."""
    return integration if _TAG_VALUE.match(integration) and integration.strip() else slug(integration, 256)


def tf_label(text: str) -> str:
    """A Terraform block label: letters, digits, `_` (and `-`), not starting with a digit."""
    label = slug(text).replace("-", "_")
    return label if label[:1].isalpha() else f"x_{label}"


def shell_words(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in words)
