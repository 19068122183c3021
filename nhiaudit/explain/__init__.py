"""`nhiaudit explain`: the four questions for one identity or integration, and who can reach a system."""

from nhiaudit.explain.build import can_reach, explain
from nhiaudit.explain.inputs import Prepared, prepare_inputs
from nhiaudit.explain.model import CanReach, Explanation
from nhiaudit.explain.render import ExplainFormat, render
from nhiaudit.explain.target import Target, resolve

__all__ = ["CanReach", "ExplainFormat", "Explanation", "Prepared", "Target", "can_reach", "explain",
           "prepare_inputs", "render", "resolve"]
