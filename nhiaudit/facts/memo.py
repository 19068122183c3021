"""Estate-wide derived data, computed once per FactContext on first use.

Fact builders run once per subject; anything that needs the whole estate (escalation targets,
act-as paths toward admins) is built once here and then read per subject.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_SLOT = "_derived_facts"


def memo(ctx: Any, name: str, build: Callable[[], T]) -> T:
    """The value named `name` for this context, built by `build()` the first time."""
    store: dict[str, Any] = vars(ctx).setdefault(_SLOT, {})
    if name not in store:
        store[name] = build()
    return store[name]
