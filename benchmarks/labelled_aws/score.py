"""Compare a scan's JSON report with the manifest on (subject, rule) pairs; format the tables.

The subject of a finding is its identity's id (credential findings: the identity the credential
authenticates), else its integration (stale policy entries), else the place a sighting is written (an unknown
credential in a task definition's environment: the task definition ARN). Every finding counts as reported, whatever its
status: the estate has no exceptions or baseline.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

Pair = tuple[str, str]  # (subject, rule)


@dataclass(frozen=True)
class Tally:
    planted: int
    reported: int
    tp: int

    @property
    def fp(self) -> int:
        return self.reported - self.tp

    @property
    def fn(self) -> int:
        return self.planted - self.tp

    @property
    def precision(self) -> float | None:
        return self.tp / self.reported if self.reported else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.planted if self.planted else None


@dataclass
class Score:
    planted: dict[Pair, dict[str, Any]]  # pair -> manifest entry
    reported: dict[Pair, dict[str, Any]]  # pair -> first finding
    families: dict[str, str] = field(default_factory=dict)  # rule -> family

    def _tally(self, keep: set[str]) -> Tally:
        planted = {p for p in self.planted if p[1] in keep}
        reported = {p for p in self.reported if p[1] in keep}
        return Tally(len(planted), len(reported), len(planted & reported))

    def by_family(self) -> dict[str, Tally]:
        rules: dict[str, set[str]] = defaultdict(set)
        for rule, family in self.families.items():
            rules[family].add(rule)
        return {family: self._tally(rules[family]) for family in sorted(rules)}

    def by_rule(self) -> dict[str, Tally]:
        return {rule: self._tally({rule}) for rule in sorted(self.families)}

    def false_positives(self) -> list[Pair]:
        return sorted(set(self.reported) - set(self.planted), key=lambda p: (p[1], p[0]))

    def false_negatives(self) -> list[Pair]:
        return sorted(set(self.planted) - set(self.reported), key=lambda p: (p[1], p[0]))


def finding_subject(finding: dict[str, Any]) -> str:
    """The identity, else the integration, else (a sighting of no inventory credential) the resource or file
    where the value is written."""
    identity = finding.get("identity") or {}
    evidence = finding.get("evidence") or {}
    return str(identity.get("id") or finding.get("integration") or evidence.get("location") or "")


def score(manifest: dict[str, Any], report: dict[str, Any]) -> Score:
    planted = {(f["subject"], f["rule"]): f for f in manifest["findings"]}
    reported: dict[Pair, dict[str, Any]] = {}
    for finding in report.get("findings", []):
        reported.setdefault((finding_subject(finding), str(finding["rule_id"])), finding)
    families = {f["rule"]: f["family"] for f in manifest["findings"]}
    for (_, rule), finding in reported.items():
        families.setdefault(rule, str(finding.get("category", "?")))
    return Score(planted, reported, families)


def warning_subject(warning: dict[str, Any]) -> str:
    """The identity an inline policy belongs to (`inline:<holder arn>:<name>`), else the policy id."""
    policy = str(warning.get("policy_id", ""))
    if policy.startswith("inline:"):
        return policy[len("inline:"):].rsplit(":", 1)[0]
    return policy


def unknown_action_lines(manifest: dict[str, Any], report: dict[str, Any], show: int) -> list[str]:
    """Planted unknown actions against the report's unknown-action warnings (issue 11, point 6)."""
    planted = {(w["subject"], w["action"]) for w in manifest.get("warnings", []) if w["kind"] == "unknown_action"}
    found = {(warning_subject(w), str(w.get("action", ""))) for w in (report.get("collection") or {}).get(
        "warnings") or [] if isinstance(w, dict) and w.get("kind") == "unknown_action"}
    lines = [f"unknown-action warnings: planted {len(planted)}, reported {len(found)}, "
             f"matched {len(planted & found)}"]
    lines += [f"  unexpected: {action} in a policy of {subject}" for subject, action in sorted(found - planted)[:show]]
    lines += [f"  missing: {action} in a policy of {subject}" for subject, action in sorted(planted - found)[:show]]
    return lines


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(title: str, rows: dict[str, Tally]) -> list[str]:
    width = max([len(title), *map(len, rows)])
    lines = [f"{title:<{width}}  planted reported     TP     FP     FN  precision  recall",
             "-" * (width + 57)]
    for name, t in rows.items():
        if t.planted or t.reported:
            lines.append(f"{name:<{width}}  {t.planted:7d} {t.reported:8d} {t.tp:6d} {t.fp:6d} {t.fn:6d}"
                         f"  {_ratio(t.precision):>9}  {_ratio(t.recall):>6}")
    return lines


def plants_of(manifest: dict[str, Any]) -> dict[str, str]:
    """Subject -> the shape that made it (principals by ARN, integrations by name, other places by theirs)."""
    out = {p["arn"]: p["plant"] for p in manifest["principals"]}
    out.update({i["name"]: i["plant"] for i in manifest.get("integrations", [])})
    out.update({p["subject"]: p["plant"] for p in manifest.get("places", [])})
    return out


def error_classes(result: Score, manifest: dict[str, Any]) -> list[str]:
    """FP and FN counted per (rule, planted shape of the subject): which plant each error class comes from."""
    plants = plants_of(manifest)
    counts: Counter[tuple[str, str, str]] = Counter()
    for subject, rule in result.false_positives():
        counts[("FP", rule, plants.get(subject, "?"))] += 1
    for subject, rule in result.false_negatives():
        counts[("FN", rule, plants.get(subject, "?"))] += 1
    return [f"{kind}  {rule:<38} {plant:<32} {n:5d}"
            for (kind, rule, plant), n in sorted(counts.items(), key=lambda x: (x[0][0], x[0][1], -x[1], x[0][2]))]


def examples(result: Score, show: int) -> list[str]:
    """Up to `show` false positives and false negatives per rule, with the finding's message or the why."""
    lines: list[str] = []
    per_rule: Counter[tuple[str, str]] = Counter()
    for subject, rule in result.false_positives():
        per_rule[("FP", rule)] += 1
        if per_rule[("FP", rule)] <= show:
            message = " ".join(str(result.reported[(subject, rule)].get("message", "")).split())
            lines.append(f"FP {rule} {subject}: {message[:220]}")
    for subject, rule in result.false_negatives():
        per_rule[("FN", rule)] += 1
        if per_rule[("FN", rule)] <= show:
            lines.append(f"FN {rule} {subject}: planted because {result.planted[(subject, rule)]['why']}")
    return lines


def render(result: Score, manifest: dict[str, Any], report: dict[str, Any], show: int) -> str:
    out = [*table("family", result.by_family()), "", *table("rule", result.by_rule()), "",
           *unknown_action_lines(manifest, report, show)]
    classes = error_classes(result, manifest)
    if classes:
        out += ["", "errors by rule and planted shape (kind  rule  shape  count)", *classes]
    if show:
        detail = examples(result, show)
        if detail:
            out += ["", f"examples (up to {show} per rule and kind)", *detail]
    return "\n".join(out) + "\n"
