"""SARIF checks shared by tests: the vendored 2.1.0 JSON Schema plus GitHub code scanning's ingestion rules.

GitHub's limits (docs.github.com, "SARIF results exceed one or more limits" and "SARIF support for
code scanning"): at most 20 runs per file, 25,000 results and 25,000 rules per run, 1,000 locations
per result, 20 tags per rule (10 shown); every result needs a location with a relative artifact uri
and a start line; security-severity is a score from 0.0 to 10.0.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema

SCHEMA_PATH = Path(__file__).with_name("sarif-2.1.0.schema.json")
LEVELS = {"none", "note", "warning", "error"}
# GitHub: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
BANDS = {
    "critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9), "info": (0.1, 3.9),
}


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)  # the schema declares draft 2020-12
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(sarif: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(sarif)]


def github_problems(sarif: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    runs = sarif.get("runs", [])
    if not 1 <= len(runs) <= 20:
        problems.append(f"{len(runs)} runs (GitHub takes 1..20)")
    for r, run in enumerate(runs):
        rules = run["tool"]["driver"].get("rules", [])
        results = run.get("results", [])
        if len(results) > 25_000:
            problems.append(f"run {r}: {len(results)} results > 25,000")
        if len(rules) > 25_000:
            problems.append(f"run {r}: {len(rules)} rules > 25,000")
        if not run.get("automationDetails", {}).get("id"):
            problems.append(f"run {r}: no automationDetails.id")
        rule_ids = [rule["id"] for rule in rules]
        if len(set(rule_ids)) != len(rule_ids):
            problems.append(f"run {r}: duplicate rule ids")
        for rule in rules:
            problems += [f"rule {rule['id']}: {p}" for p in _rule_problems(rule)]
        for i, result in enumerate(results):
            problems += [f"result {i}: {p}" for p in _result_problems(result, rule_ids)]
    return problems


def _rule_problems(rule: dict[str, Any]) -> list[str]:
    problems = []
    props = rule.get("properties", {})
    tags = props.get("tags", [])
    if len(tags) > 20:
        problems.append(f"{len(tags)} tags > 20")
    if "security" not in tags:
        problems.append("no `security` tag")
    try:
        score = float(props["security-severity"])
        if not 0.0 <= score <= 10.0:
            problems.append(f"security-severity {score} out of 0..10")
    except (KeyError, TypeError, ValueError):
        problems.append("security-severity missing or not a number")
    if not rule.get("shortDescription", {}).get("text"):
        problems.append("no shortDescription")
    if not (rule.get("help", {}).get("text") and rule.get("help", {}).get("markdown")):
        problems.append("help text or markdown missing")
    if rule.get("defaultConfiguration", {}).get("level") not in LEVELS:
        problems.append("bad defaultConfiguration.level")
    return problems


def _result_problems(result: dict[str, Any], rule_ids: list[str]) -> list[str]:
    problems = []
    if result.get("ruleId") not in rule_ids:
        problems.append(f"ruleId {result.get('ruleId')} not among the rules")
    elif "ruleIndex" in result and rule_ids[result["ruleIndex"]] != result["ruleId"]:
        problems.append("ruleIndex does not point at ruleId")
    if not result.get("message", {}).get("text"):
        problems.append("empty message")
    if not result.get("partialFingerprints", {}).get("primaryLocationLineHash"):
        problems.append("no partialFingerprints.primaryLocationLineHash")
    locations = result.get("locations", [])
    if not 1 <= len(locations) <= 1000:
        problems.append(f"{len(locations)} locations")
    for loc in locations:
        physical = loc.get("physicalLocation", {})
        uri = physical.get("artifactLocation", {}).get("uri", "")
        if not uri:
            problems.append("location without artifactLocation.uri")
        elif urlparse(uri).scheme or uri.startswith("/") or "\\" in uri:
            problems.append(f"uri {uri!r} is not relative")
        start = physical.get("region", {}).get("startLine")
        if not isinstance(start, int) or start < 1:
            problems.append(f"bad region.startLine {start!r}")
    return problems
