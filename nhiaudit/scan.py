"""Run a scan and assemble the versioned report (shared by the CLI commands)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from nhiaudit import __version__
from nhiaudit.analysis import Analysis, StageTimer, analyse
from nhiaudit.errors import UsageError
from nhiaudit.forked import requested_jobs
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.permissions.gcp_names import is_domain_name
from nhiaudit.permissions.unknown_actions import unknown_actions
from nhiaudit.policy.model import EMPTY_POLICY, WrittenPolicy
from nhiaudit.report import CollectionStatus, Report, Summary, unknown_action_warnings
from nhiaudit.rules_engine.loader import CompiledRule, load_rules
from nhiaudit.rules_engine.selection import RuleSelection, select_rules

# A DNS name of two labels or more (case-insensitive, as the policy's defaults.gcp.domains).


@dataclass
class ScanResult:
    report: Report
    analysis: Analysis
    rules: list[CompiledRule]


@dataclass(frozen=True)
class ScanSetup:
    """The rules and the policy of a run, loaded and checked before any collection starts."""

    rules: list[CompiledRule]
    policy: WrittenPolicy
    selection: RuleSelection = field(default_factory=RuleSelection)


def load_policy_file(path: Path | None, rules: list[CompiledRule]) -> WrittenPolicy:
    if path is None:
        return EMPTY_POLICY
    from nhiaudit.policy.loader import load_policy

    return load_policy(path, known_rule_ids={r.rule.id for r in rules})


def load_setup(policy_path: Path | None, rule_dirs: list[Path], selection: RuleSelection = RuleSelection(),
               timer: StageTimer | None = None) -> ScanSetup:
    """Rules (every one is known to the policy's exceptions, whichever run) and the policy; InputError or
    UsageError on the first problem, so a live scan fails before its first request."""
    timer = timer or StageTimer()
    requested_jobs()  # $NHIAUDIT_JOBS, checked now rather than after a long collection
    every = timer.run("load", load_rules, rule_dirs, include_disabled=True)
    policy = timer.run("load", load_policy_file, policy_path, every)
    return ScanSetup(select_rules(every, selection), policy, selection)


def build_report(snapshot: Snapshot, policy: WrittenPolicy, analysis: Analysis, rules: list[CompiledRule],
                 as_of: date) -> Report:
    findings = analysis.findings
    used_rules = {f.rule_id for f in findings}
    unknown = unknown_actions(snapshot.policies, analysis.context.evaluator.catalogue)
    return Report(
        tool={"name": "nhiaudit", "version": __version__},
        generated_at=datetime.now(UTC),
        as_of=as_of,
        policy_file=policy.source_file or None,
        collection=CollectionStatus(
            complete=snapshot.complete,
            errors=list(snapshot.collection_issues),
            sources=[s.model_dump(mode="json") for s in snapshot.sources],
            warnings=unknown_action_warnings(unknown),
            unknown_actions=len(unknown),
        ),
        summary=Summary(
            identities=len(snapshot.identities),
            credentials=len(snapshot.credentials),
            integrations=len(policy.integrations),
            findings=len(findings),
            by_severity=dict(Counter(f.severity.value for f in findings)),
            by_status=dict(Counter(f.status.value for f in findings)),
            by_category=dict(Counter(f.category.value for f in findings)),
        ),
        access_paths=analysis.access_paths,
        findings=findings,
        rules=[r.rule.doc() for r in rules if r.rule.id in used_rules],
    )


def analysis_domains(values: Sequence[str]) -> tuple[str, ...]:
    """--gcp-domain, checked and in lower case. An analysis option: it applies to snapshots and imports as
    much as to live collection, so it is checked here and not only by the live connector."""
    bad = [d for d in values if not is_domain_name(d)]
    if bad:
        raise UsageError(f"--gcp-domain: not a domain name: {', '.join(repr(d) for d in bad)}")
    return tuple(sorted({d.lower() for d in values}))


def run_scan(snapshot: Snapshot, policy_path: Path | None, rule_dirs: list[Path], as_of: date,
             timer: StageTimer | None = None, gcp_domains: tuple[str, ...] = (),
             setup: ScanSetup | None = None) -> ScanResult:
    """`setup` (from load_setup) replaces `policy_path` and `rule_dirs` when the caller loaded them first."""
    timer = timer or StageTimer()
    setup = setup or load_setup(policy_path, rule_dirs, timer=timer)
    rules, policy = setup.rules, setup.policy
    analysis = analyse(snapshot, policy, as_of, rules, timer, gcp_domains)
    threshold = setup.selection.threshold
    if threshold is not None:  # --min-severity: by each finding's own severity, after its overrides
        analysis = replace(analysis, findings=[f for f in analysis.findings if f.severity.rank >= threshold.rank])
    report = timer.run("report", build_report, snapshot, policy, analysis, rules, as_of)
    return ScanResult(report, analysis, rules)
