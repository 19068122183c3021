"""Permission evaluation: glob patterns, the action catalogue and the identity evaluator."""

from nhiaudit.permissions.catalogue import AccessLevel, ActionCatalogue, Classification, default_catalogue
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.patterns import glob_covers, glob_match, globs_intersect, is_broad_resource
from nhiaudit.permissions.results import MAX_LISTED_ACTIONS, Reach, ReachLevel, StatementEvidence

__all__ = [
    "MAX_LISTED_ACTIONS",
    "AccessLevel",
    "ActionCatalogue",
    "Classification",
    "Evaluator",
    "Reach",
    "ReachLevel",
    "StatementEvidence",
    "default_catalogue",
    "glob_covers",
    "glob_match",
    "globs_intersect",
    "is_broad_resource",
]
