"""The written-policy loader: locations, every problem at once, semantic checks, limits, schema, starter."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from nhiaudit.errors import InputError
from nhiaudit.limits import MAX_POLICY_BYTES
from nhiaudit.policy.loader import (
    load_policy,
    load_policy_text,
    parse_located_yaml,
    policy_warnings,
)
from nhiaudit.policy.schema import policy_json_schema, policy_json_schema_text
from nhiaudit.policy.template import starter_policy, uncomment_examples

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "policies").glob("*.yaml"))

VALID = textwrap.dedent("""\
    version: 1
    defaults:
      credentials: {max_age_days: 60, require_expiry: true}
    systems:
      tickets:
        resources: ["arn:aws:s3:::tickets*"]
      pii:
        resources: ["arn:aws:s3:::pii*"]
    integrations:
      - name: bot-a
        identities: ["arn:aws:iam::1:role/bot-a"]
        may_reach: [tickets]
        must_not_reach: [pii]
      - name: bot-b
        identities: ["arn:aws:iam::1:role/bot-b-*"]
        credentials: {max_age_days: 1}
    exceptions:
      - rule: long-lived-credential
        identity: "arn:aws:iam::1:user/smtp"
        reason: vendor appliance
        owner: it@example.com
        expires: 2027-03-31
    """)


def problems(text: str, **kwargs: object) -> list[str]:
    with pytest.raises(InputError) as info:
        load_policy_text(text, "p.yaml", **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_valid_policy_loads_with_locations(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(VALID)
    policy = load_policy(path)
    assert policy.source_file == str(path)
    assert [i.name for i in policy.integrations] == ["bot-a", "bot-b"]
    assert policy.exceptions[0].expires == date(2027, 3, 31)
    assert policy.line_of("integrations", 0) == 10
    assert policy.line_of("integrations", 1) == 14
    assert policy.line_of("integrations", 1, "credentials", "max_age_days") == 16
    assert policy.line_of("systems", "pii") == 7
    assert policy.line_of("exceptions", 0, "no-such-field") == 18
    eff = policy.effective_credentials(policy.integrations[1])
    assert (eff.max_age_days, eff.require_expiry, eff.max_unused_days) == (1, True, 30)


def test_typo_bad_date_and_unknown_field_are_all_reported_sorted() -> None:
    text = (
        VALID.replace("may_reach: [tickets]", "may_reach: [tikets]")
        .replace("expires: 2027-03-31", "expires: 2027-13-01")
        .replace("- name: bot-b", "- nmae: bot-b")
    )
    assert problems(text) == [
        "p.yaml:12:17: integrations[0].may_reach[0]: unknown system 'tikets'; did you mean 'tickets'?",
        "p.yaml:14:5: integrations[1].nmae: unknown field; did you mean 'name'?",
        "p.yaml:14:5: integrations[1]: missing required field(s): name",
        "p.yaml:22:14: exceptions[0].expires: expected a date YYYY-MM-DD, got '2027-13-01'",
    ]


def test_yaml_syntax_error_is_one_problem_at_the_mark() -> None:
    (problem,) = problems(VALID.replace("may_reach: [tickets]", "may_reach: [tickets"))
    # libyaml and pure-Python PyYAML word it differently; the place is the same.
    assert problem.startswith("p.yaml:13:19: YAML syntax error: ")
    assert "expected ',' or ']'" in problem and "(while parsing a flow sequence, line 12)" in problem


def test_duplicate_keys_are_rejected_with_both_lines() -> None:
    text = VALID.replace("  pii:\n", "  tickets:\n    resources: [x]\n  pii:\n")
    assert problems(text) == ["p.yaml:7:3: duplicate key 'tickets' (first defined at line 5)"]
    assert problems("version: 1\nversion: 1\n") == [
        "p.yaml:2:1: duplicate key 'version' (first defined at line 1)"
    ]


def test_duplicate_integration_names() -> None:
    assert problems(VALID.replace("name: bot-b", "name: bot-a")) == [
        "p.yaml:14:11: integrations[1].name: duplicate integration name 'bot-a' (first defined at line 10)"
    ]


def test_system_both_allowed_and_forbidden() -> None:
    text = VALID.replace("must_not_reach: [pii]", "must_not_reach: [pii, tickets]")
    assert problems(text) == [
        "p.yaml:13:27: integrations[0].must_not_reach[1]: system 'tickets' is also in may_reach (line 12); "
        "an integration cannot both may and must not reach it"
    ]


def test_unknown_system_without_any_systems() -> None:
    text = "version: 1\nintegrations:\n  - name: a\n    may_reach: [db]\n"
    assert problems(text) == [
        "p.yaml:4:17: integrations[0].may_reach[0]: unknown system 'db' "
        "(no systems are defined under `systems:`)"
    ]


def test_exception_rule_checked_only_when_rule_ids_are_known() -> None:
    text = VALID.replace("rule: long-lived-credential", "rule: long-lived-credentail")
    assert load_policy_text(text, "p.yaml").exceptions[0].rule == "long-lived-credentail"
    assert problems(text, known_rule_ids={"aws-access-key-age"}) == [
        "p.yaml:18:11: exceptions[0].rule: 'long-lived-credentail' is neither a rule id nor a finding "
        "category; "
        "did you mean 'long-lived-credential'?"
    ]
    ok = VALID.replace("rule: long-lived-credential", "rule: aws-access-key-age")
    assert load_policy_text(ok, "p.yaml", known_rule_ids={"aws-access-key-age"}).exceptions[0].rule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "p.yaml:1:1: policy file is empty; it needs at least `version: 1`"),
        ("# only a comment\n", "p.yaml:1:1: policy file is empty; it needs at least `version: 1`"),
        ("- a\n- b\n", "p.yaml:1:1: the policy must be a mapping of `key: value` entries, got a list"),
        (
            "systems: {}\n",
            "p.yaml:1:1: missing required field(s): version (start the file with `version: 1`)",
        ),
        (
            "version: 2\n",
            "p.yaml:1:10: version: unsupported policy format version 2; this nhiaudit reads version 1",
        ),
        ("version: 1\n---\nversion: 1\n", None),
        ("version: 1\nsystems: !!python/object:os.system {}\n", "p.yaml:2:10: unsupported YAML tag"),
        ("version: 1\nsystems: !!int abc\n", "p.yaml:2:10: cannot read value 'abc'"),
        (
            "version: 1\nexceptions:\n  - {rule: x, identity: i, reason: r, owner: o, expires: 0}\n",
            "p.yaml:3:58: exceptions[0].expires: expected a date YYYY-MM-DD, got 0",
        ),
        (
            "version: 1\nsystems:\n  a: {resources: []}\n",
            "p.yaml:3:18: systems.a.resources: must list at least 1 item(s)",
        ),
        (
            "version: 1\ndefaults: {credentials: {max_age_days: ninety}}\n",
            "p.yaml:2:40: defaults.credentials.max_age_days: input should be a valid integer, "
            "unable to parse "
            "string as an integer, got 'ninety'",
        ),
    ],
)
def test_structural_problems(text: str, expected: str | None) -> None:
    (problem,) = problems(text)
    assert problem.startswith(
        expected
        or "p.yaml:2:1: YAML syntax error: but found another document "
        "(expected a single document in the stream, line 1)"
    )


def test_merge_keys_work_and_explicit_keys_win() -> None:
    text = VALID.replace(
        "credentials: {max_age_days: 60, require_expiry: true}",
        "credentials: &creds {max_age_days: 60, require_expiry: true}",
    ).replace("credentials: {max_age_days: 1}", "credentials: {<<: *creds, max_age_days: 1}")
    policy = load_policy_text(text, "p.yaml")
    assert policy.integrations[1].credentials.require_expiry is True
    assert policy.integrations[1].credentials.max_age_days == 1


def test_alias_bomb_and_deep_nesting_are_bounded() -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 12)
    ]
    (problem,) = problems("\n".join(lines) + "\n")
    assert "more than 200000 YAML nodes" in problem
    (problem,) = problems("version: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nesting" in problem and problem.startswith("p.yaml:")
    (problem,) = problems("version: 1\nx: &r [*r]\n")
    assert "nesting is deeper than 64 levels" in problem


def test_oversize_and_missing_files(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"version: 1\n" + b"#" * MAX_POLICY_BYTES)
    with pytest.raises(InputError, match="limit is 5242880 bytes"):
        load_policy(big)
    with pytest.raises(InputError, match="policy file not found"):
        load_policy(tmp_path / "nope.yaml")


def test_expired_exceptions_are_warnings() -> None:
    policy = load_policy_text(VALID, "p.yaml")
    assert policy_warnings(policy, date(2027, 3, 31)) == []
    (warning,) = policy_warnings(policy, date(2027, 4, 1))
    assert str(warning) == (
        "p.yaml:22:14: exceptions[0]: exception for rule 'long-lived-credential' on "
        "'arn:aws:iam::1:user/smtp' "
        "expired on 2027-03-31; matching findings are violations again"
    )


def test_schema_file_in_docs_is_the_generated_one() -> None:
    committed = (ROOT / "docs" / "policy.schema.json").read_text(encoding="utf-8")
    assert committed == policy_json_schema_text(), (
        "regenerate: nhiaudit policy schema -o docs/policy.schema.json"
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_load_and_validate_against_the_schema(path: Path) -> None:
    load_policy(path, known_rule_ids=())
    data = parse_located_yaml(path.read_text(), str(path)).data
    jsonschema.Draft202012Validator(policy_json_schema()).validate(data)


def test_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(policy_json_schema())
    assert len(EXAMPLES) >= 2
    assert not validator.is_valid({"version": 1, "integrations": [{"nmae": "x"}]})
    assert not validator.is_valid({"version": 2})
    assert json.loads(policy_json_schema_text())["$schema"].endswith("2020-12/schema")


def test_starter_policy_loads_cleanly_and_matches_the_schema() -> None:
    text = starter_policy()
    # The editor header names the schema file `policy init -o` writes, never a URL nobody publishes.
    assert text.startswith("# yaml-language-server: $schema=./nhiaudit-policy.schema.json\n")
    assert "nhiaudit policy schema -o nhiaudit-policy.schema.json" in text
    policy = load_policy_text(text, "starter.yaml", known_rule_ids=())
    assert not policy.integrations and not policy.systems  # examples are comments: nothing to go stale
    jsonschema.Draft202012Validator(policy_json_schema()).validate(parse_located_yaml(text, "s").data)
    examples = uncomment_examples(text)
    policy = load_policy_text(examples, "starter.yaml", known_rule_ids=())
    assert policy.integrations[0].name == "support-copilot" and set(policy.systems) == {
        "support-tickets", "customer-pii", "bedrock-models"}
    assert policy.humans and policy.exceptions
    jsonschema.Draft202012Validator(policy_json_schema()).validate(parse_located_yaml(examples, "s").data)
