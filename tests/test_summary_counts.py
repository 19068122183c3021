"""The report summary's counts per severity, status and category (scan.value_counts)."""

from __future__ import annotations

from collections import Counter

import report_factory

from nhiaudit.findings import Category, FindingStatus, Severity
from nhiaudit.scan import value_counts


def test_counts_are_those_of_a_counter_in_first_seen_order() -> None:
    severities = [Severity.LOW, Severity.HIGH, Severity.LOW, Severity.CRITICAL, Severity.HIGH, Severity.LOW]
    findings = [report_factory.finding(severity=s, status=FindingStatus.EXCEPTED if i % 3 else FindingStatus.OPEN)
                for i, s in enumerate(severities)]
    for name, values in (("severity", Severity), ("status", FindingStatus), ("category", Category)):
        expected = dict(Counter(getattr(f, name).value for f in findings))
        counted = value_counts(findings, name, values)
        assert counted == expected and list(counted) == list(expected)
    assert list(value_counts(findings, "severity", Severity)) == ["low", "high", "critical"]
    assert value_counts([], "severity", Severity) == {}


def test_a_value_that_is_not_a_member_is_counted_by_its_text() -> None:
    findings = [report_factory.finding(severity=Severity.LOW), report_factory.finding(severity=Severity.LOW)]
    odd = findings[1].model_copy(update={"severity": "low"})  # a plain string, as no code path builds it
    assert value_counts([findings[0], odd], "severity", Severity) == {"low": 2}
