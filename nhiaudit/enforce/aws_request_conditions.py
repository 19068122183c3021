"""AWS: the request-time condition a generated boundary's Allow statements carry for an integration with
`require_conditions` (policy/request_conditions.py says which condition keys narrow a grant).

The condition is the one the integration's identities' grants already carry: the narrowing conditions of their
Allow statements (identity policies and current boundary) on a key the requirement accepts, those on the
required systems' resources first, the first key in sorted order, values merged across statements with the same
operator. The boundary then asks for what the
grants already ask for. When no grant carries one, the statement gets the first AWS key the requirement
names (a class: `network` -> `aws:SourceVpce`, `time` -> `aws:CurrentTime`, `tag` -> `aws:ResourceTag/...`,
`resource` -> `aws:ResourceAccount`) with the value `PLACEHOLDER`, which the user must replace: verification
re-analyses the boundary without a placeholder condition, so it never claims it.

The condition goes on each Allow statement that reaches a system the requirement covers (`systems`, or all of
`may_reach`); a statement merged across a required and another system narrows both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nhiaudit.inventory.model import Identity, Policy, Provider, Statement
from nhiaudit.permissions.patterns import glob_match, resources_intersect
from nhiaudit.policy.model import Integration
from nhiaudit.policy.request_conditions import expand, narrowing_operator

PLACEHOLDER = "NHIAUDIT-FILL-IN"
MAX_VALUES = 50  # values taken from today's grants per key: a condition stays reviewable
_CLASS_DEFAULTS = {"network": ("StringEquals", "aws:SourceVpce"), "time": ("DateLessThan", "aws:CurrentTime"),
                   "tag": ("StringEquals", f"aws:ResourceTag/{PLACEHOLDER}"),
                   "resource": ("StringEquals", "aws:ResourceAccount")}

Condition = dict[str, dict[str, list[str]]]


@dataclass(frozen=True)
class RequiredCondition:
    integration: str
    condition: Condition
    placeholder: bool
    systems: tuple[str, ...]
    source: str  # where the values come from, for the plan


def _existing(identities: Iterable[Identity], policies: Mapping[str, Policy], keys: tuple[str, ...],
              patterns: tuple[str, ...]) -> Condition:
    """The narrowing condition today's Allow statements carry on an accepted key: those on the required systems'
    resources first (the same requests), then any (where the identity works from)."""
    ids = sorted({p for i in identities for p in (*i.policy_ids, i.boundary_policy_id or "") if p})
    statements = [st for pid in ids if (policy := policies.get(pid)) is not None and policy.provider is Provider.AWS
                  for st in policy.statements if st.effect == "Allow"]
    related = [st for st in statements if st.not_resources or any(resources_intersect(r, p) for r in st.resources
                                                                  for p in patterns)]
    return _first_condition(related, keys) or _first_condition(statements, keys)


def _first_condition(statements: Iterable[Statement], keys: tuple[str, ...]) -> Condition:
    found: Condition = {}
    for st in statements:
        for operator, body in st.conditions.items():
            if not isinstance(body, Mapping) or not narrowing_operator(str(operator)):
                continue
            for key, values in body.items():
                if any(glob_match(k, str(key), case_sensitive=False) for k in keys):
                    listed = [values] if not isinstance(values, list) else values
                    found.setdefault(str(operator), {}).setdefault(str(key), []).extend(
                        _value(v) for v in listed if isinstance(v, str | int | bool))
    if not found:
        return {}
    operator, key = min((op, k) for op, body in found.items() for k in body)
    values = sorted(set(found[operator][key]))[:MAX_VALUES]
    return {operator: {key: values}} if values else {}


def _value(v: str | int | bool) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)  # JSON's spelling, as IAM writes it


def _placeholder(any_of: Iterable[str]) -> Condition:
    for entry in any_of:
        if entry in _CLASS_DEFAULTS:
            operator, key = _CLASS_DEFAULTS[entry]
            return {operator: {key: [PLACEHOLDER]}}
        if ":" in entry and not entry.startswith("@"):
            return {"StringEquals": {entry.replace("*", PLACEHOLDER): [PLACEHOLDER]}}
    return {}


def required_conditions(entries: Iterable[Integration], identities: list[Identity], policies: Mapping[str, Policy],
                        patterns: Mapping[str, tuple[str, ...]]) -> list[RequiredCondition]:
    out = []
    for entry in entries:
        required = entry.require_conditions
        if required is None:
            continue
        keys = expand(required.any_of)["aws"]
        systems = tuple(sorted(set(required.systems or entry.may_reach) & set(entry.may_reach)))
        condition = _existing(identities, policies, keys, tuple(p for s in systems for p in patterns.get(s, ())))
        if condition:
            out.append(RequiredCondition(entry.name, condition, False, systems, "the grants it holds today"))
        elif placeholder := _placeholder(required.any_of):
            out.append(RequiredCondition(entry.name, placeholder, True, systems, "a placeholder"))
    return out


def _merge(into: dict[str, Any], condition: Condition) -> dict[str, Any]:
    out = {op: dict(body) for op, body in into.items()}
    for operator, body in condition.items():
        for key, values in body.items():
            out.setdefault(operator, {})[key] = sorted({*out.get(operator, {}).get(key, []), *values})
    return out


def without_placeholders(conditions: Mapping[str, Any]) -> dict[str, Any]:
    """A statement's conditions without the keys whose value is a placeholder: what verification applies."""
    out = {}
    for operator, body in conditions.items():
        kept = {k: v for k, v in body.items() if PLACEHOLDER not in str(k) and PLACEHOLDER not in str(v)} \
            if isinstance(body, Mapping) else body
        if kept:
            out[operator] = kept
    return out


def with_conditions(document: dict[str, Any], required: list[RequiredCondition],
                    patterns: Mapping[str, tuple[str, ...]]) -> tuple[dict[str, Any], list[str]]:
    """The document with each requirement's condition on the Allow statements reaching its systems, and plan
    notes."""
    statements = []
    notes: list[str] = []
    for st in document["Statement"]:
        resources = [st["Resource"]] if isinstance(st["Resource"], str) else list(st["Resource"])
        if st["Effect"] != "Allow":
            statements.append(st)
            continue
        condition = dict(st.get("Condition", {}))
        for r in required:
            covered = [p for s in r.systems for p in patterns.get(s, ()) if any(resources_intersect(x, p)
                                                                                for x in resources)]
            if covered:
                condition = _merge(condition, r.condition)
        statements.append({**st, "Condition": condition} if condition else st)
    for r in required:
        text = "; ".join(f"{op} {k} {', '.join(v)}" for op, body in sorted(r.condition.items())
                         for k, v in sorted(body.items()))
        if r.placeholder:
            notes.append(f"require_conditions of {r.integration}: no grant of its identities carries one today, so "
                         f"its Allow statements carry `{text}`: replace {PLACEHOLDER} with the real value before "
                         "applying (not verified until then)")
        else:
            notes.append(f"require_conditions of {r.integration}: its Allow statements carry `{text}`, taken from "
                         f"{r.source}")
    return {**document, "Statement": statements}, notes
