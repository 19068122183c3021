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
from nhiaudit.policy.model import WrittenPolicy
from nhiaudit.scan import ScanSetup


@dataclass
class Prepared:
    context: FactContext
    findings: list[Finding] | None  # None: the rules were not run
    system: str | None = None  # the resolved system name when prepared for one system (--can-reach)


def load_policy(policy_path: Path | None, rule_dirs: list[Path], timer: StageTimer) -> WrittenPolicy:
    """The policy, validated against the known rule ids exactly as scan does."""
    from nhiaudit.scan import load_setup

    return load_setup(policy_path, rule_dirs, timer=timer).policy


def prepare_inputs(snapshot: Snapshot, policy_path: Path | None, rule_dirs: list[Path], as_of: date,
                   with_findings: bool, timer: StageTimer | None = None,
                   only_system: str | None = None, gcp_domains: tuple[str, ...] = (),
                   setup: ScanSetup | None = None) -> Prepared:
    """With findings: the full scan. Without: graph and reachability only (graph export, --no-findings).
    `setup` (rules and policy loaded before the estate) replaces `policy_path` and `rule_dirs`.

    With `only_system` (what the user typed after --can-reach): the graph gets reach edges for that one
    system only. Reachability of a system depends only on its own edges and the act-as edges, so the
    answer is the same as on the full graph, for a fraction of the permission evaluation.
    """
    timer = timer or StageTimer()
    if with_findings:
        from nhiaudit.scan import run_scan

        result = run_scan(snapshot, policy_path, rule_dirs, as_of, timer, gcp_domains, setup=setup)
        return Prepared(result.analysis.context, result.analysis.findings)
    policy = setup.policy if setup is not None else load_policy(policy_path, rule_dirs, timer)
    system = None
    if only_system is not None:
        from nhiaudit.explain.target import resolve_system

        system = resolve_system(policy, only_system)
        # model_copy keeps the loader's private source file and line map.
        policy = policy.model_copy(update={"systems": {system: policy.systems[system]}})
    return Prepared(prepare(snapshot, policy, as_of, timer, gcp_domains), None, system)
