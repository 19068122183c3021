"""Systems drafted from granted resources (pure): grouping by family and name prefix, exactly the patterns
seen, no overlap between systems, wide grants left out; and the YAML quoting of estate strings."""

from __future__ import annotations

import yaml

from nhiaudit.drafting.systems import SeenResource, draft_systems, groupable
from nhiaudit.drafting.yaml_text import comment_text, quoted, unique_names
from nhiaudit.permissions.patterns import resources_intersect


def systems(*patterns: str) -> dict[str, list[str]]:
    return {s.name: s.resources for s in draft_systems([SeenResource(p, "test") for p in patterns])}


def test_prefix_at_a_separator_groups_and_patterns_stay_exact():
    got = systems("arn:aws:s3:::acme-pii/*", "arn:aws:s3:::acme-pii-exports", "arn:aws:s3:::acme-pii-exports/*",
                  "arn:aws:s3:::acme-piip/*", "arn:aws:s3:::acme-www/*")
    assert got == {
        "s3-acme-pii": ["arn:aws:s3:::acme-pii-exports", "arn:aws:s3:::acme-pii-exports/*", "arn:aws:s3:::acme-pii/*"],
        "s3-acme-piip": ["arn:aws:s3:::acme-piip/*"],  # no separator: another bucket
        "s3-acme-www": ["arn:aws:s3:::acme-www/*"],
    }


def test_families_keep_apart_and_name_predictably():
    got = systems("arn:aws:dynamodb:us-east-1:1:table/tickets", "arn:aws:s3:::tickets/*",
                  "arn:aws:bedrock:*::foundation-model/*", "projects/acme-ml-prod",
                  "//storage.googleapis.com/projects/_/buckets/acme-contracts-eu",
                  "/subscriptions/s1/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/x",
                  "delegated:Microsoft Graph/Mail.Read")
    assert sorted(got) == ["azure-rg-ai", "bedrock-foundation-model", "delegated-microsoft-graph",
                           "dynamodb-table-tickets", "gcp-acme-ml-prod", "gcs-acme-contracts-eu", "s3-tickets"]


def test_a_star_joins_what_it_covers_and_no_two_systems_overlap():
    drafted = draft_systems([SeenResource(p, "t") for p in (
        "arn:aws:s3:::acme-*", "arn:aws:s3:::acme-pii/*", "arn:aws:s3:::other/*", "arn:aws:s3:::ac*")])
    for a in drafted:
        for b in drafted:
            if a is not b:
                assert not any(resources_intersect(x, y) for x in a.resources for y in b.resources), (a, b)
    merged = next(s for s in drafted if "arn:aws:s3:::acme-pii/*" in s.resources)
    assert {"arn:aws:s3:::acme-*", "arn:aws:s3:::ac*"} <= set(merged.resources)


def test_wide_grants_give_no_system():
    assert not groupable("*") and not groupable("arn:aws:s3:::*") and not groupable("arn:aws:dynamodb:*:*:table/*")
    assert groupable("arn:aws:bedrock:*::foundation-model/*") and groupable("projects/p")
    assert not groupable("arn:aws:s3:::" + "a" * 2000)
    assert systems("*", "arn:aws:s3:::*") == {}


def test_guesses_are_guesses():
    (pii,) = draft_systems([SeenResource("arn:aws:s3:::acme-prod-customer-pii/*", "t")])
    assert (pii.kind, pii.environment, pii.classification) == ("data", "prod", "restricted")
    (model,) = draft_systems([SeenResource("arn:aws:bedrock:*::foundation-model/*", "t")])
    assert (model.kind, model.classification) == ("ai-model", None)


def test_quoting_round_trips_and_comments_stay_on_one_line():
    for value in ['a"b', "x\ny: 1", "\u2028\u2029\u0085", "#c", "\\", "\t\x00\x7f\x9b", "\U0001f600", "{[*&!|>%@`"]:
        assert yaml.safe_load(f"k: {quoted(value)}") == {"k": value}
        text = f"k: 1  # {comment_text(value)}"
        assert yaml.safe_load(text) == {"k": 1} and len(text.splitlines()) == 1


def test_unique_names():
    assert unique_names(["a", "a", "a-2", "b", "a"]) == ["a", "a-3", "a-2", "b", "a-4"]
