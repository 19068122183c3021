"""One generic test: every shipped rule passes its own failing and passing cases; and the catalogue as a
whole covers every category, maps to known framework items, is documented, and stays cheap to evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nhiaudit.facts.docs import render_rules_doc
from nhiaudit.findings import Category
from nhiaudit.rules_engine.cases import run_rule_cases
from nhiaudit.rules_engine.engine import referenced_facts
from nhiaudit.rules_engine.loader import load_rules, shipped_rules_dir

RULES = load_rules(include_disabled=True)  # rules off by default are documented and tested too
FRAMEWORKS = yaml.safe_load((shipped_rules_dir() / "data" / "frameworks.yaml").read_text(encoding="utf-8"))
DOC = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


@pytest.mark.parametrize("compiled", RULES, ids=[r.rule.id for r in RULES])
def test_rule_cases(compiled):
    results = run_rule_cases(compiled)
    failures = [f"{r.case}: {r.detail}" for r in results if not r.ok]
    assert not failures, failures


@pytest.mark.parametrize("compiled", RULES, ids=[r.rule.id for r in RULES])
def test_rule_docs_complete(compiled):
    rule = compiled.rule
    assert rule.description and rule.rationale and rule.remediation and rule.references
    assert rule.frameworks.owasp_nhi and rule.frameworks.nist_csf
    assert set(rule.frameworks.owasp_nhi) <= set(FRAMEWORKS["owasp_nhi"]["items"])
    assert set(rule.frameworks.nist_csf) <= set(FRAMEWORKS["nist_csf"]["items"]), "unknown CSF 2.0 item"
    assert not any(x.startswith("PR.AC") for x in rule.frameworks.nist_csf), "CSF 2.0 ids, not 1.1"


@pytest.mark.parametrize("compiled", RULES, ids=[r.rule.id for r in RULES])
def test_rule_reads_named_facts_only(compiled):
    """A rule naming `subject` as a whole makes the engine convert every fact of every subject."""
    rule = compiled.rule
    assert referenced_facts([rule.when, *([rule.for_each] if rule.for_each else [])]) is not None
    # Parameters are converted for every subject: shipped rules inline their constants.
    assert not rule.parameters


def test_every_category_has_a_rule_with_failing_and_passing_cases():
    by_category = {c: [r for r in RULES if r.rule.category is c] for c in Category}
    assert all(by_category.values()), [c.value for c, rules in by_category.items() if not rules]
    for rules in by_category.values():
        assert any({t.expect for t in r.rule.tests} == {"fail", "pass"} for r in rules)


def test_every_owasp_item_is_covered():
    covered = {item for r in RULES for item in r.rule.frameworks.owasp_nhi}
    assert covered == set(FRAMEWORKS["owasp_nhi"]["items"])
    assert {"PR.AA-01", "PR.AA-03", "PR.AA-04", "PR.AA-05"} <= {i for r in RULES for i in r.rule.frameworks.nist_csf}


def test_docs_rules_md_is_current():
    text = DOC.read_text(encoding="utf-8")
    assert render_rules_doc(text) == text, "run: python -m nhiaudit.facts.docs docs/rules.md"
