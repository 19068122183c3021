"""Glob matching, intersection and coverage, checked against brute force over small alphabets."""

from __future__ import annotations

import itertools
import re

import pytest

from nhiaudit.permissions.patterns import (
    action_covers,
    action_matches,
    actions_intersect,
    glob_covers,
    glob_match,
    globs_intersect,
    has_wildcard,
    is_broad_resource,
    resource_covers,
    resources_intersect,
    widen_variables,
)

SYMBOLS = "ab*?"
# Witness strings: the literals plus one letter no pattern uses (what a `?` or `*` may consume).
# A shortest common match of two patterns of length <= 3 is at most 6 characters long.
STRINGS = ["".join(p) for n in range(7) for p in itertools.product("abc", repeat=n)]
PATTERNS = ["".join(p) for n in range(4) for p in itertools.product(SYMBOLS, repeat=n)]


def _reference_match(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


@pytest.fixture(scope="module")
def languages() -> dict[str, frozenset[int]]:
    return {p: frozenset(i for i, s in enumerate(STRINGS) if _reference_match(p, s)) for p in PATTERNS}


def test_glob_match_agrees_with_reference() -> None:
    for p in PATTERNS:
        for s in STRINGS[:121]:  # strings up to length 4
            assert glob_match(p, s) == _reference_match(p, s), (p, s)


def test_globs_intersect_matches_brute_force(languages: dict[str, frozenset[int]]) -> None:
    mismatches = [
        (a, b)
        for a in PATTERNS
        for b in PATTERNS
        if globs_intersect(a, b) != bool(languages[a] & languages[b])
    ]
    assert mismatches == []


def test_globs_intersect_is_symmetric_on_longer_patterns() -> None:
    cases = [
        "arn:aws:s3:::acme-*",
        "arn:aws:s3:::acme-customer-pii*",
        "*pii*",
        "arn:*:s3:::*/*",
        "a?c*d",
        "*x*y*",
    ]
    for a in cases:
        for b in cases:
            assert globs_intersect(a, b) == globs_intersect(b, a)


def test_glob_covers_is_sound(languages: dict[str, frozenset[int]]) -> None:
    for general in PATTERNS:
        for specific in PATTERNS:
            if glob_covers(general, specific):
                assert languages[specific] <= languages[general], (general, specific)


def test_glob_covers_is_exact_for_star_prefix_equal_and_literals(
    languages: dict[str, frozenset[int]],
) -> None:
    for general in PATTERNS:
        simple_general = (
            general == "*"
            or not has_wildcard(general)
            or (general.endswith("*") and not has_wildcard(general[:-1]))
        )
        for specific in PATTERNS:
            if simple_general or general == specific or not has_wildcard(specific):
                expected = languages[specific] <= languages[general]
                assert glob_covers(general, specific) == expected, (general, specific)


def test_glob_covers_is_conservative_beyond_the_exact_cases() -> None:
    # Both mean "one or more characters", but proving it is beyond the cheap check: False is safe.
    assert glob_covers("?*", "*?") is False
    assert glob_covers("a*c", "ab*c") is True


def test_a_broad_bucket_pattern_overlaps_and_covers_a_narrower_system() -> None:
    # A grant on `acme-*` reaches a system declared as `acme-customer-pii*` (the demo policy's customer-pii).
    assert resources_intersect("arn:aws:s3:::acme-*", "arn:aws:s3:::acme-customer-pii*")
    assert resource_covers("arn:aws:s3:::acme-*", "arn:aws:s3:::acme-customer-pii*")
    assert not resource_covers("arn:aws:s3:::acme-customer-pii*", "arn:aws:s3:::acme-*")
    assert not resources_intersect("arn:aws:s3:::other-*", "arn:aws:s3:::acme-customer-pii*")


def test_arn_fields_do_not_bleed_into_each_other() -> None:
    # A plain glob would let `pii*` spell `:ssm:...`; ARN fields never contain a colon.
    assert not resources_intersect("arn:*:ssm:*:*:document/*", "arn:aws:s3:::acme-customer-pii*")
    assert resources_intersect("arn:*:s3:::*/*", "arn:aws:s3:::acme-customer-pii*")
    assert resources_intersect("arn:*", "arn:aws:s3:::bucket")  # short patterns keep IAM semantics


def test_actions_are_case_insensitive_resources_are_not() -> None:
    assert action_matches("S3:get*", "s3:GetObject")
    assert actions_intersect("s3:Get*", "S3:*Object")
    assert action_covers("S3:*", "s3:GetObject")
    assert not resources_intersect("arn:aws:s3:::Acme-*", "arn:aws:s3:::acme-pii")
    assert glob_match("abc", "ABC", case_sensitive=False)
    assert not glob_match("abc", "ABC")


def test_azure_resource_ids_compare_case_insensitively() -> None:
    # Azure ids are path globs: `*` stays within one segment, `**` crosses segments.
    assert resources_intersect(
        "/subscriptions/S1/resourceGroups/RG/**", "/subscriptions/s1/resourcegroups/rg/providers/x"
    )
    assert not resources_intersect(
        "/subscriptions/S1/resourceGroups/RG/*", "/subscriptions/s1/resourcegroups/rg/providers/x"
    )
    assert resource_covers("/SUBSCRIPTIONS/s1/**", "/subscriptions/s1/resourceGroups/rg")


def test_policy_variables_widen_to_star() -> None:
    assert widen_variables("arn:aws:s3:::home/${aws:username}/*") == "arn:aws:s3:::home/*/*"
    assert widen_variables("arn:aws:s3:::plain") == "arn:aws:s3:::plain"


@pytest.mark.parametrize(
    ("resource", "broad"),
    [
        ("*", True),
        ("arn:aws:iam::111122223333:role/*", True),
        ("arn:aws:iam::111122223333:role/app-*", False),
        ("arn:aws:s3:::*", True),
        ("arn:aws:s3:::acme-*", False),
        ("arn:aws:s3:::bucket/*", False),
        ("arn:aws:secretsmanager:*:*:secret:*", True),
        ("projects/acme-prod", True),
        ("//cloudresourcemanager.googleapis.com/projects/acme-prod", True),
        ("projects/acme-prod/datasets/pii", False),
        ("/subscriptions/s1", True),
        ("/subscriptions/s1/resourceGroups/rg", True),
        ("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x", False),
    ],
)
def test_is_broad_resource(resource: str, broad: bool) -> None:
    assert is_broad_resource(resource) is broad
