"""Hostile wildcard patterns: matching is linear (no catastrophic backtracking) and keeps its semantics.

Estate data is attacker-controlled: one IAM action `s3:` + k stars + `a` used to take seconds (k=6) to
minutes (k>=9) in the regex-based matcher. Reference implementations below are deliberately naive
(dynamic programming, small inputs only) and the new code must agree with them exactly.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from functools import cache

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nhiaudit.connectors.imports import import_files
from nhiaudit.permissions import globbing, patterns
from nhiaudit.permissions.patterns import (
    glob_covers,
    glob_match,
    globs_intersect,
    resources_intersect,
    widen_variables,
)

ACCOUNT = "111122223333"
FAST = 0.5  # seconds per call; the old matcher needed minutes for the larger cases

# --- references ------------------------------------------------------------------------------------------


def ref_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """Textbook DP glob matcher: `*` any run, `?` one character, everything else literal."""
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()

    @cache
    def f(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(value)
        if pattern[i] == "*":
            return f(i + 1, j) or (j < len(value) and f(i, j + 1))
        return j < len(value) and (pattern[i] == "?" or pattern[i] == value[j]) and f(i + 1, j + 1)

    return f(0, 0)


def ref_intersect(a: str, b: str, case_sensitive: bool = True) -> bool:
    """The previous (row-by-row, list-based) intersection DP, exact."""
    if not case_sensitive:
        a, b = a.lower(), b.lower()
    n, m = len(a), len(b)
    nxt = [False] * (m + 1)
    nxt[m] = True
    for j in range(m - 1, -1, -1):
        nxt[j] = nxt[j + 1] and b[j] == "*"
    for i in range(n - 1, -1, -1):
        ca = a[i]
        cur = [False] * (m + 1)
        cur[m] = ca == "*" and nxt[m]
        for j in range(m - 1, -1, -1):
            cb = b[j]
            if ca == "*":
                cur[j] = nxt[j] or cur[j + 1]
            elif cb == "*":
                cur[j] = cur[j + 1] or nxt[j]
            else:
                cur[j] = (ca == cb or ca == "?" or cb == "?") and nxt[j + 1]
        nxt = cur
    return nxt[0]


def ref_covers_text(general: str, specific: str, case_sensitive: bool = True) -> bool:
    """The previous cover test (regex over the specific pattern's text), safe on small inputs only."""
    parts = [".*" if c == "*" else "[^*]" if c == "?" else re.escape(c) for c in general]
    flags = re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE
    return re.fullmatch("".join(parts), specific, flags) is not None


def clear_caches() -> None:
    for fn in (glob_match, glob_covers, globs_intersect, resources_intersect, widen_variables,
               globbing.compile_glob):
        fn.cache_clear()


def timed(fn, *args):
    clear_caches()
    started = time.perf_counter()
    result = fn(*args)
    elapsed = time.perf_counter() - started
    assert elapsed < FAST, f"{fn.__name__} took {elapsed:.2f}s on a {len(args[0])}-char pattern"
    return result


# --- linear time on hostile patterns ---------------------------------------------------------------------


@pytest.mark.parametrize("k", [6, 9, 12, 50])
def test_star_runs_do_not_backtrack(k):
    action = "s3:" + "*" * k + "a"
    long_action = "s3:" + "b" * 2000
    assert timed(glob_match, action, long_action, False) is False
    assert timed(glob_match, action, long_action + "A", False) is True
    assert timed(glob_covers, action, "s3:" + "*b" * 500, False) is False
    assert timed(globs_intersect, action, "s3:" + "b*" * 500, False) is True
    assert timed(globs_intersect, action, "s3:" + "*b" * 500, False) is False
    resource = "arn:aws:s3:::" + "*" * k + "x"
    assert timed(resources_intersect, resource, "arn:aws:s3:::" + "*b" * 500) is False
    assert timed(resources_intersect, resource, "arn:aws:s3:::acme-" + "?" * 300 + "*") is True


def test_many_star_separated_segments_are_linear():
    pattern = "*a" * 30 + "b"
    assert timed(glob_match, pattern, "a" * 100_000) is False
    assert timed(glob_match, pattern, "a" * 100_000 + "b") is True
    assert timed(glob_covers, pattern, "*a" * 5000) is False
    assert timed(globs_intersect, pattern, "a*" * 3000) is True
    assert timed(globs_intersect, pattern, "*a" * 3000) is False


def test_long_question_mark_segments_are_searched_without_quadratic_blowup():
    pattern = "*" + "a?" * 2000 + "x*"  # a middle segment with `?`: bit-parallel search
    assert timed(glob_match, pattern, "a" * 50_000) is False
    assert timed(glob_match, pattern, "a" * 50_000 + "x") is True
    assert timed(glob_covers, pattern, "a" * 50_000 + "x?*") is True


def test_widen_variables_is_linear_on_unclosed_variables():
    assert timed(widen_variables, "${" * 100_000) == "${" * 100_000  # the regex took ~16 s here
    assert timed(widen_variables, "arn:aws:s3:::${aws:username}/${x" + "${" * 50_000) == \
        "arn:aws:s3:::*/${x" + "${" * 50_000


# --- same answers as the reference implementations ------------------------------------------------------

ALPHABET = "aAbB:/[]?*"
small = st.text(alphabet=ALPHABET, max_size=9)
literal = st.text(alphabet="aAbB:/[]", max_size=12)
# Subjects built from a pattern by filling its wildcards, so that matches are common, not just misses.


@st.composite
def pattern_and_subject(draw: st.DrawFn) -> tuple[str, str]:
    pattern = draw(small)
    if draw(st.booleans()):
        return pattern, draw(literal)
    out = []
    for c in pattern:
        if c == "*":
            out.append(draw(st.text(alphabet="aAbB:/[]", max_size=3)))
        elif c == "?":
            out.append(draw(st.sampled_from("aAbB:/[]")))
        else:
            out.append(draw(st.sampled_from([c, c.swapcase()])))
    return pattern, "".join(out)


@settings(max_examples=400, deadline=None)
@given(case=pattern_and_subject(), case_sensitive=st.booleans())
def test_glob_match_agrees_with_reference(case, case_sensitive):
    pattern, value = case
    assert glob_match(pattern, value, case_sensitive) == ref_match(pattern, value, case_sensitive)


@settings(max_examples=400, deadline=None)
@given(a=small, b=small, case_sensitive=st.booleans())
def test_globs_intersect_agrees_with_reference(a, b, case_sensitive):
    assert globs_intersect(a, b, case_sensitive) == ref_intersect(a, b, case_sensitive)


@settings(max_examples=300, deadline=None)
@given(general=small, specific=small, case_sensitive=st.booleans(), seed=st.integers(0, 2**16))
def test_glob_covers_is_sound_and_unchanged(general, specific, case_sensitive, seed):
    covered = glob_covers(general, specific, case_sensitive)
    # Same answer as the old regex formulation where that one is defined (general != specific shortcut aside).
    if general != "*" and general != specific and any(c in specific for c in "*?") and any(
            c in general for c in "*?"):
        old = ref_covers_text(general, re.sub(r"\*+", "*", specific), case_sensitive)
        assert covered == old
    if covered:  # soundness: every string the specific pattern matches, the general one matches too
        rng = random.Random(seed)
        for _ in range(20):
            sample = "".join(
                "".join(rng.choice("aAbB:/[]") for _ in range(rng.randint(0, 3))) if c == "*"
                else rng.choice("aAbB:/[]") if c == "?" else c for c in specific)
            assert ref_match(specific, sample, case_sensitive)
            assert ref_match(general, sample, case_sensitive), (general, specific, sample)


long_segment = st.text(alphabet="ab?", min_size=20, max_size=40)  # from 24 chars: the Shift-And search


@settings(max_examples=200, deadline=None)
@given(segments=st.lists(long_segment, min_size=1, max_size=3), edges=st.tuples(st.booleans(), st.booleans()),
       filler=st.text(alphabet="ab*?", max_size=30), seed=st.integers(0, 2**16))
def test_long_question_mark_segments_agree_with_reference(segments, edges, filler, seed):
    pattern = ("*" if edges[0] else "") + "*".join(segments) + ("*" if edges[1] else "")
    rng = random.Random(seed)
    filled = "".join(rng.choice("ab*?") if c == "?" else c for c in pattern.replace("*", filler))
    for value in (filled, filled.replace("*", "a").replace("?", "b"), filler + filled[::-1]):
        plain = value.replace("*", "").replace("?", "")
        assert glob_match(pattern, plain) == ref_match(pattern, plain)
        if "*" in pattern and any(c in value for c in "*?"):
            assert glob_covers(pattern, value) == ref_covers_text(pattern, re.sub(r"\*+", "*", value))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="${}a*", max_size=20))
def test_widen_variables_agrees_with_the_regex(text):
    assert widen_variables(text) == re.sub(r"\$\{[^}]*\}", "*", text)


def test_case_rules_are_kept():
    assert glob_match("S3:Get*", "s3:getobject", False) and not glob_match("S3:Get*", "s3:getobject")
    assert patterns.action_matches("s3:get?bject", "S3:GetObject")
    assert not patterns.resources_intersect("arn:aws:s3:::Bucket*", "arn:aws:s3:::bucket")
    assert patterns.resources_intersect("/subscriptions/S1/*", "/subscriptions/s1/rg")  # Azure ids fold case
    assert glob_match("İ?", "İx", False) and glob_match("?x", "İx", False)  # `?` is one character folded too


def test_brackets_are_literal_not_character_classes():
    assert glob_match("arn:aws:iam::1:role/ai[1]/*", "arn:aws:iam::1:role/ai[1]/bot")
    assert not glob_match("arn:aws:iam::1:role/ai[1]/*", "arn:aws:iam::1:role/ai1/bot")
    assert not glob_match("sts:assume[r]ole", "sts:assumerole")


# --- through the import and the real CLI -----------------------------------------------------------------


def _role(name: str, path: str, statement: dict, trust_action: str = "sts:AssumeRole") -> dict:
    return {
        "Path": path, "RoleName": name, "RoleId": "AROA" + name.upper().ljust(17, "X")[:17],
        "Arn": f"arn:aws:iam::{ACCOUNT}:role{path}{name}", "CreateDate": "2025-01-15T09:30:00+00:00",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": trust_action}]},
        "InstanceProfileList": [],
        "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}],
        "AttachedManagedPolicies": [], "Tags": [],
    }


def _gaad(*roles: dict) -> dict:
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": list(roles), "Policies": []}


def test_trust_action_with_brackets_grants_nothing(tmp_path):
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    gaad = _gaad(_role("plain", "/", statement), _role("bracketed", "/", statement, "sts:Assume[R]ole"))
    (tmp_path / "gaad.json").write_text(json.dumps(gaad), encoding="utf-8")
    snap = import_files([tmp_path / "gaad.json"])
    trusted = {t.identity_id.rsplit("/", 1)[-1] for t in snap.trusts}
    assert trusted == {"plain"}  # IAM has no character classes: `sts:Assume[R]ole` is no action


def test_scan_with_star_heavy_statement_finishes(tmp_path):
    statement = {"Effect": "Allow", "Action": ["s3:" + "*" * 12 + "a", "s3:Get" + "*" * 12 + "?"],
                 "Resource": ["arn:aws:s3:::" + "*" * 12 + "x", "arn:aws:s3:::acme-customer-pii" + "*?" * 12]}
    gaad = _gaad(_role("agent", "/ai[1]/", statement))
    (tmp_path / "gaad.json").write_text(json.dumps(gaad), encoding="utf-8")
    policy = {
        "version": 1,
        "systems": {"customer-pii": {"classification": "restricted",
                                     "resources": ["arn:aws:s3:::acme-customer-pii*"]}},
        "integrations": [{"name": "agent", "kind": "agent", "owner": "ai@acme.example",
                          "identities": [f"arn:aws:iam::{ACCOUNT}:role/ai[1]/*"],
                          "must_not_reach": ["customer-pii"]}],
        "exceptions": [{"rule": "scope-forbidden-system", "identity": f"arn:aws:iam::{ACCOUNT}:role/ai[1]/*",
                        "reason": "r", "owner": "o@acme.example", "expires": "2027-01-01"}],
    }
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "nhiaudit", "scan", "--import", str(tmp_path / "gaad.json"),
         "--policy", str(tmp_path / "policy.yaml"), "--as-of", "2026-11-28", "--format", "json"],
        capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 30
    assert proc.returncode in (0, 1), proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    rules = {f["rule_id"] for f in findings}
    # `[1]` in the path is literal: the integration and the exception both bind the role.
    assert "policy-exception-unmatched" not in rules
    assert "policy-unknown-identity" not in rules
    forbidden = [f for f in findings if f["rule_id"] == "scope-forbidden-system"]
    assert forbidden and all(f["status"] == "excepted" for f in forbidden)
