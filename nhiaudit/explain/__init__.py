"""`nhiaudit explain`: the four questions for one identity or integration, and who can reach a system.

Public API (imported lazily so that `nhiaudit --help` does not pay for networkx and the evaluator):
prepare_inputs, resolve, resolve_system, explain, can_reach, render, ExplainFormat, Explanation, CanReach.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "prepare_inputs": "nhiaudit.explain.inputs", "Prepared": "nhiaudit.explain.inputs",
    "resolve": "nhiaudit.explain.target", "resolve_system": "nhiaudit.explain.target",
    "Target": "nhiaudit.explain.target",
    "explain": "nhiaudit.explain.build", "can_reach": "nhiaudit.explain.build",
    "render": "nhiaudit.explain.render", "ExplainFormat": "nhiaudit.explain.formats",
    "Explanation": "nhiaudit.explain.model", "CanReach": "nhiaudit.explain.model",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
