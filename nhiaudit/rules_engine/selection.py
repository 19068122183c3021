"""Which loaded rules a run uses: --skip-rule, --only-rule and --min-severity (the engine never sees the rest)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from nhiaudit.errors import UsageError
from nhiaudit.findings import Severity
from nhiaudit.rules_engine.loader import CompiledRule


@dataclass(frozen=True)
class RuleSelection:
    skip: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # empty: every enabled rule
    min_severity: str | None = None  # a Severity value; findings below it are not reported

    @property
    def threshold(self) -> Severity | None:
        return Severity(self.min_severity) if self.min_severity else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def highest_severity(compiled: CompiledRule) -> Severity:
    """The highest severity a finding of the rule can have (its own, or one of its overrides)."""
    rule = compiled.rule
    return max([rule.severity, *(Severity(s) for _, s in compiled.severity_overrides)], key=lambda s: s.rank)


def select_rules(rules: list[CompiledRule], selection: RuleSelection) -> list[CompiledRule]:
    """The rules to run, from every loaded rule (disabled ones included: --only-rule may name one).

    Unknown ids are a UsageError naming the closest known id, so a typo never silently runs everything.
    """
    known = {r.rule.id for r in rules}
    for option, ids in (("--skip-rule", selection.skip), ("--only-rule", selection.only)):
        for rule_id in ids:
            if rule_id not in known:
                raise UsageError(f"{option}: no rule {rule_id!r}{did_you_mean(rule_id, known)} "
                                 "(`nhiaudit rules list` shows them)")
    both = sorted(set(selection.skip) & set(selection.only))
    if both:
        raise UsageError(f"--skip-rule and --only-rule both name {', '.join(both)}")
    only, skip = set(selection.only), set(selection.skip)
    chosen = [r for r in rules if (r.rule.id in only if only else r.rule.enabled) and r.rule.id not in skip]
    threshold = selection.threshold
    if threshold is not None:  # a rule none of whose findings can reach the threshold need not run
        chosen = [r for r in chosen if highest_severity(r).rank >= threshold.rank]
    return chosen
