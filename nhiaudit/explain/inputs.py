"""Snapshot + policy (+ rules) -> the prepared analysis context that explain and graph read.

Uses the scan's own pipeline (nhiaudit.scan / nhiaudit.analysis), so explain shows exactly what scan finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from nhiaudit.analysis import StageTimer, prepare
from nhiaudit.facts.context import FactContext
from nhiaudit.findings import Finding
from nhiaudit.inventory.snapshot import Snapshot


@dataclass
class Prepared:
    context: FactContext
    findings: list[Finding] | None  # None: the rules were not run


def prepare_inputs(snapshot: Snapshot, policy_path: Path | None, rule_dirs: list[Path], as_of: date,
                   with_findings: bool, timer: StageTimer | None = None) -> Prepared:
    """With findings: the full scan. Without: the policy (validated against the rule ids, as scan does),
    the graph and reachability only, which is what --can-reach and graph export need."""
    timer = timer or StageTimer()
    if with_findings:
        from nhiaudit.scan import run_scan

        result = run_scan(snapshot, policy_path, rule_dirs, as_of, timer)
        return Prepared(result.analysis.context, result.analysis.findings)
    from nhiaudit.rules_engine.loader import load_rules
    from nhiaudit.scan import load_policy_file

    rules = timer.run("load", load_rules, rule_dirs)
    policy = timer.run("load", load_policy_file, policy_path, rules)
    return Prepared(prepare(snapshot, policy, as_of, timer), None)
