"""One generic test: every shipped rule passes its own failing and passing cases."""

from __future__ import annotations

import pytest

from nhiaudit.findings import Category
from nhiaudit.rules_engine.cases import run_rule_cases
from nhiaudit.rules_engine.loader import load_rules

RULES = load_rules()


@pytest.mark.parametrize("compiled", RULES, ids=[r.rule.id for r in RULES])
def test_rule_cases(compiled):
    results = run_rule_cases(compiled)
    failures = [f"{r.case}: {r.detail}" for r in results if not r.ok]
    assert not failures, failures


@pytest.mark.parametrize("compiled", RULES, ids=[r.rule.id for r in RULES])
def test_rule_docs_complete(compiled):
    rule = compiled.rule
    assert rule.description and rule.rationale and rule.remediation
    assert rule.frameworks.owasp_nhi and rule.frameworks.nist_csf
    assert all(x.endswith(":2025") for x in rule.frameworks.owasp_nhi)
    assert all(x.split(".")[0] in {"GV", "ID", "PR", "DE", "RS", "RC"} for x in rule.frameworks.nist_csf)
    assert not any(x.startswith("PR.AC") for x in rule.frameworks.nist_csf), "CSF 2.0 ids, not 1.1"


def test_shipped_categories_are_known():
    assert {r.rule.category for r in RULES} <= set(Category)
