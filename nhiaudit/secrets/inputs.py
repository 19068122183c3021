"""`scan --secrets-in DIR [--history]`: the trees' sightings joined to the estate before analysis."""

from __future__ import annotations

from pathlib import Path

from nhiaudit.errors import UsageError
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.report import SecretsScan
from nhiaudit.secrets.budget import Budget
from nhiaudit.secrets.sightings import scan_trees


def check_trees(trees: list[Path], history: bool) -> None:
    """Usage errors before any collection: every tree is a directory; --history needs a tree."""
    if history and not trees:
        raise UsageError("--history reads the git history of --secrets-in trees: give at least one --secrets-in DIR")
    missing = [str(t) for t in trees if not t.is_dir()]
    if missing:
        raise UsageError(f"--secrets-in: not a directory: {', '.join(missing)}")


def with_tree_sightings(estate: Snapshot, trees: list[Path], history: bool,
                        budget: Budget | None = None) -> tuple[Snapshot, SecretsScan, list[str]]:
    """The estate with the trees' sightings added, the scan's account, and its warnings (what was skipped)."""
    budget = budget or Budget()
    found, warnings = scan_trees(trees, history, budget)
    summary = SecretsScan(
        trees=[str(t) for t in trees], history=history, files_read=budget.files_read,
        commits_read=budget.commits_read, sightings=len(found), skipped=dict(sorted(budget.skipped.items())),
        skipped_examples={k: sorted(v) for k, v in sorted(budget.examples.items()) if v})
    updated = estate.model_copy(update={"credential_sightings": [*estate.credential_sightings, *found]})
    return updated, summary, warnings
