"""Switching rules, through the real CLI on the demo estate: short override files (`id:` with `enabled:` /
`severity:`), --skip-rule, --only-rule and --min-severity; unknown ids are usage errors with a suggestion;
every rule-file problem is printed once."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from scan_support import DEMO_ARGS, run_cli

from nhiaudit.findings import Severity

ROOT = Path(__file__).resolve().parent.parent
DEMO = DEMO_ARGS
run = run_cli


def scan(*args: str) -> dict[str, Any]:
    result = run("scan", *DEMO, "--format", "json", "--fail-on", "none", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rules_of(report: dict[str, Any]) -> Counter[str]:
    return Counter(f["rule_id"] for f in report["findings"])


def overrides(tmp_path: Path, **files: str) -> Path:
    directory = tmp_path / "overrides"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def full() -> dict[str, Any]:
    return scan()


def person_with_a_key(tmp_path: Path) -> list[str]:
    """The demo with ci-deployer (an access-key user) named as a person: what human-access-key reports."""
    policy = tmp_path / "policy.yaml"
    policy.write_text((ROOT / "examples/demo/policy.yaml").read_text(encoding="utf-8")
                      + '\nhumans:\n  - "arn:aws:iam::111122223333:user/ci-deployer"\n', encoding="utf-8")
    return [*DEMO, "--policy", str(policy)]  # a later --policy wins


def without(report: dict[str, Any], *rule_ids: str) -> list[str]:
    return sorted(f["fingerprint"] for f in report["findings"] if f["rule_id"] not in rule_ids)


def test_an_override_switches_a_shipped_rule_off(tmp_path: Path, full: dict[str, Any]) -> None:
    assert rules_of(full)["identity-unused"] == 1
    report = scan("--rules", str(overrides(tmp_path, off="id: identity-unused\nenabled: false\n")))
    assert "identity-unused" not in rules_of(report)
    assert sorted(f["fingerprint"] for f in report["findings"]) == without(full, "identity-unused")
    listing = json.loads(run("rules", "list", "--rules", str(tmp_path / "overrides"), "--format", "json").stdout)
    assert next(r for r in listing if r["id"] == "identity-unused")["enabled"] is False


def test_an_override_sets_the_severity_of_every_finding_of_a_rule(tmp_path: Path, full: dict[str, Any]) -> None:
    assert {f["severity"] for f in full["findings"] if f["rule_id"] == "admin-access"} == {"critical"}
    report = scan("--rules", str(overrides(tmp_path, low="id: admin-access\nseverity: low\n")))
    severities = [f["severity"] for f in report["findings"] if f["rule_id"] == "admin-access"]
    assert severities == ["low"] * rules_of(full)["admin-access"]  # its conditional overrides no longer apply
    assert without(report, "admin-access") == without(full, "admin-access")
    shown = run("rules", "show", "admin-access", "--rules", str(tmp_path / "overrides"), "--format", "json")
    assert json.loads(shown.stdout)["severity"] == "low"


def test_an_override_turns_on_a_rule_that_is_off_by_default(tmp_path: Path) -> None:
    demo = person_with_a_key(tmp_path)
    assert "human-access-key" not in rules_of(scan(*demo))
    report = scan(*demo, "--rules", str(overrides(tmp_path, on="id: human-access-key\nenabled: true\n")))
    assert rules_of(report)["human-access-key"] == 1


def test_override_problems_are_located_and_suggest_the_id(tmp_path: Path) -> None:
    directory = overrides(tmp_path, typo="# switch it off\nid: identity-unsued\nenabled: false\n",
                          bad="id: admin-access\nseverity: severe\n")
    result = run("scan", *DEMO, "--rules", str(directory))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert f"error: {directory / 'typo.yaml'}:2:1: override of an unknown rule 'identity-unsued'; did you mean " \
           "'identity-unused'?" in lines
    assert any(line.startswith(f"error: {directory / 'bad.yaml'}:2:1: severity: ") for line in lines), lines
    assert len(lines) == 2


def test_a_partial_rule_is_one_problem_with_a_hint_not_nine(tmp_path: Path) -> None:
    directory = overrides(tmp_path, partial="id: identity-unused\ntitle: my title\nenabled: false\n")
    result = run("rules", "validate", str(directory))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "missing required field(s): category, severity, subject, when, message, description" in result.stderr
    assert "give just `id:` with `enabled:` and/or `severity:`" in result.stderr


def test_a_rule_directory_given_twice_reports_each_problem_once(tmp_path: Path) -> None:
    directory = overrides(tmp_path, broken="id: my-rule\ntitle: half a rule\n")
    (tmp_path / "link").symlink_to(directory)
    result = run("scan", *DEMO, "--rules", str(directory), "--rules", f"{directory}/", "--rules",
                 str(tmp_path / "link"))
    assert result.exit_code == 2
    assert result.stderr.count("missing required field(s)") == 1, result.stderr


def test_rules_validate_accepts_overrides_of_shipped_rules(tmp_path: Path) -> None:
    directory = overrides(tmp_path, off="id: identity-unused\nenabled: false\n")
    shutil.copy(ROOT / "rules" / "cred-unused.yaml", directory / "mine.yaml")
    result = run("rules", "validate", str(directory))
    assert result.exit_code == 0, result.output
    assert "ok (1 rules)" in result.stderr


def test_skip_rule_and_only_rule(tmp_path: Path, full: dict[str, Any]) -> None:
    skipped = scan("--skip-rule", "admin-access", "--skip-rule", "cred-too-old")
    assert sorted(f["fingerprint"] for f in skipped["findings"]) == without(full, "admin-access", "cred-too-old")
    demo = person_with_a_key(tmp_path)
    only = scan(*demo, "--only-rule", "admin-access", "--only-rule", "human-access-key")
    counts = rules_of(only)
    assert set(counts) == {"admin-access", "human-access-key"}  # a rule off by default runs when named
    assert counts["admin-access"] == rules_of(scan(*demo))["admin-access"]
    assert only["summary"]["findings"] == sum(counts.values())


def test_min_severity_filters_by_each_findings_own_severity(full: dict[str, Any]) -> None:
    report = scan("--min-severity", "high")
    expected = sorted(f["fingerprint"] for f in full["findings"]
                      if Severity(f["severity"]).rank >= Severity.HIGH.rank)
    assert sorted(f["fingerprint"] for f in report["findings"]) == expected
    assert report["summary"]["findings"] == len(expected)
    assert set(report["summary"]["by_severity"]) <= {"high", "critical"}


@pytest.mark.parametrize(("args", "message"), [
    (["--skip-rule", "admin-acess"], "--skip-rule: no rule 'admin-acess'; did you mean 'admin-access'?"),
    (["--only-rule", "cred-to-old"], "--only-rule: no rule 'cred-to-old'; did you mean 'cred-too-old'?"),
    (["--skip-rule", "admin-access", "--only-rule", "admin-access"], "both name admin-access"),
    (["--min-severity", "severe"], "'severe' is not one of"),
])
def test_unknown_rule_switches_are_usage_errors(args: list[str], message: str) -> None:
    result = run("scan", *DEMO, *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_explain_honours_the_switches() -> None:
    def rule_ids(*args: str) -> set[str]:
        result = run("explain", *DEMO, "support-copilot", "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return {f["rule_id"] for path in json.loads(result.stdout)["paths"] for f in path.get("findings", [])}

    assert "scope-forbidden-system" in rule_ids()
    assert "scope-forbidden-system" not in rule_ids("--skip-rule", "scope-forbidden-system")
    assert rule_ids("--min-severity", "critical") <= rule_ids()
    assert run("explain", *DEMO, "support-copilot", "--only-rule", "nope").exit_code == 2


def test_policy_exceptions_may_name_a_skipped_or_disabled_rule(tmp_path: Path) -> None:
    """The demo policy excepts cred-too-old: skipping or switching the rule off must not make it invalid."""
    assert "rule: cred-too-old" in (ROOT / "examples/demo/policy.yaml").read_text(encoding="utf-8")
    assert run("scan", *DEMO, "--skip-rule", "cred-too-old", "--fail-on", "none").exit_code == 0
    directory = overrides(tmp_path, off="id: cred-too-old\nenabled: false\n")
    assert run("scan", *DEMO, "--rules", str(directory), "--fail-on", "none").exit_code == 0
    assert run("policy", "validate", str(ROOT / "examples/demo/policy.yaml"), "--rules", str(directory)).exit_code == 0
