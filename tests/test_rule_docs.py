"""Every shipped rule's documentation says each thing once: `rules show` prints one "How to fix", and the
remediation's later paragraphs add to its first one (the one-line fix findings carry) instead of saying it
again in other words."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.rules_engine.loader import load_rules

SHIPPED = sorted((c.rule for c in load_rules(include_disabled=True)), key=lambda r: r.id)
RESTATED = 0.6  # share of the first paragraph's words that a later paragraph repeats: a restatement


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9_:-]+", text.lower()) if len(w) > 3}


def _prose(text: str) -> list[str]:
    """Paragraphs, without fenced code (commands repeat words for good reason)."""
    return [p for p in re.split(r"\n\s*\n", text.strip()) if not p.lstrip().startswith("```")]


def restatements(remediation: str) -> list[tuple[float, str]]:
    paragraphs = _prose(remediation)
    first = _words(paragraphs[0])
    shares = [(len(first & _words(p)) / max(1, len(first)), p) for p in paragraphs[1:]]
    return [(round(share, 2), p) for share, p in shares if share >= RESTATED]


def test_the_check_catches_a_restated_summary() -> None:
    """What ai-identity-wildcard said before: the summary, then the same sentence with more words."""
    restated = ("Replace the wildcard with the actions the integration uses, on the resources of its may_reach "
                "systems.\n\nReplace the wildcard with the actions the integration uses (IAM Access Analyzer can "
                "generate them from CloudTrail) on the resources of its `may_reach` systems.\n")
    assert restatements(restated)


@pytest.mark.parametrize("rule", SHIPPED, ids=lambda r: r.id)
def test_remediation_does_not_restate_its_summary(rule) -> None:
    assert not restatements(rule.remediation), restatements(rule.remediation)


def test_rules_show_prints_each_section_once() -> None:
    for rule in SHIPPED:
        result = CliRunner().invoke(build_app(), ["rules", "show", rule.id, "--format", "markdown"])
        assert result.exit_code == 0, result.output
        text = result.stdout
        for heading in ("## What it does", "## Why is this bad", "## How to fix"):
            assert text.count(heading) == 1, (rule.id, heading)
        summary = " ".join(_prose(rule.remediation)[0].split())
        assert " ".join(text.split()).count(summary) == 1, rule.id
