"""Estate-wide derived data, computed once per FactContext on first use.

Fact builders run once per subject; anything that needs the whole estate (escalation targets,
act-as paths toward admins) is built once here and then read per subject.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from nhiaudit.facts.context import FactContext

T = TypeVar("T")


def memo(ctx: FactContext, name: str, build: Callable[[], T]) -> T:
    """The value named `name` for this context, built by `build()` the first time."""
    store: dict[str, Any] = ctx.derived
    if name not in store:
        store[name] = build()
    return store[name]
