"""AWS trust-policy conditions, evaluated per caller.

A trust record's Condition block is evaluated (permissions/aws_conditions) against what the caller's
requests carry (permissions/principal_facts: MFA possible or not, its tags, account, ARN, organisation id)
and against the moment of the scan (`--as-of`: `aws:CurrentTime`, `aws:EpochTime`):

- a clause no request of the caller can meet removes the trust for that caller: no edge (a trust that
  requires MFA gives a service role or an access-key user without an MFA device nothing);
- met clauses leave the edge's conditions; what was not evaluated stays, and keeps the edge conditional;
- `sts:ExternalId` is a shared identifier the trusted party is expected to hold, not a secret: a clause on
  it is met, and the edge's reason says "requires sts:ExternalId" (never the value).

Caller-dependent keys (`CALLER_KEYS`, `aws:PrincipalTag/*`) make a verdict depend on the caller; every
other key only on the trust, so most trusts are evaluated once. Trusts without conditions cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from nhiaudit.inventory.model import Trust
from nhiaudit.permissions.aws_conditions import (
    ABSENT,
    Chosen,
    Clause,
    Facts,
    Truth,
    Value,
    chain,
    clause_at,
    evaluate_allow,
    facts_from,
    parse_block,
    time_facts,
)
from nhiaudit.permissions.principal_facts import PrincipalFacts

EXTERNAL_ID = "sts:externalid"
CALLER_KEYS: Final = frozenset({
    "aws:multifactorauthpresent", "aws:multifactorauthage", "aws:principalarn", "aws:principalaccount",
    "aws:principalorgid",
})
_TAG_PREFIX = "aws:principaltag/"
DATE_KEYS: Final = frozenset({"aws:currenttime", "aws:epochtime"})
# The trusted party may send any external id, or none.
_EXTERNAL_ID_FACTS = facts_from({EXTERNAL_ID: (ABSENT, Chosen("*"))})
# Operators that require the key to be present with one of the listed values (no IfExists, no negation,
# no ForAllValues, which an absent key satisfies).
_REQUIRING = frozenset({"StringEquals", "StringLike", "StringEqualsIgnoreCase", "ArnEquals", "ArnLike"})


def is_caller_key(key: str) -> bool:
    return key in CALLER_KEYS or key.startswith(_TAG_PREFIX)


def requires(clause: Clause) -> bool:
    """The clause admits only requests that carry its key with a listed value other than a bare wildcard."""
    return (clause.base in _REQUIRING and not clause.if_exists and clause.set_op in ("", "ForAnyValue")
            and any(v.strip("*?") for v in clause.values))


def pinned_keys(clauses: Iterable[Clause]) -> tuple[str, ...]:
    """Lower-case keys some clause requires (see `requires`), sorted: what a trust pins its caller to."""
    return tuple(sorted({c.lkey for c in clauses if requires(c)}))


@dataclass(frozen=True, slots=True)
class TrustVerdict:
    """A trust usable by a caller: the conditions still to be met (as written) and what was decided."""

    conditions: dict[str, Any]
    note: str  # "" or "; requires sts:ExternalId; StringEquals aws:PrincipalTag/team met"


OPEN: Final = TrustVerdict({}, "")


def _residual(conditions: Mapping[str, Any], rest: tuple[Clause, ...]) -> dict[str, Any]:
    """The original block restricted to the clauses still to be met (their values as written)."""
    keep = {(c.operator, c.key) for c in rest}
    out: dict[str, Any] = {}
    for operator, body in conditions.items():
        if not isinstance(body, Mapping):
            out[operator] = body  # not an IAM clause: never evaluated
            continue
        kept = {k: v for k, v in body.items() if (operator, str(k)) in keep}
        if kept:
            out[operator] = kept
    return out


def _note(clauses: tuple[Clause, ...], rest: tuple[Clause, ...]) -> str:
    met = [c for c in clauses if c not in rest]
    parts = []
    if any(c.lkey == EXTERNAL_ID for c in met):
        parts.append("requires sts:ExternalId" if any(requires(c) for c in met if c.lkey == EXTERNAL_ID)
                     else "sts:ExternalId condition met")
    parts.extend(f"{summary} met" for summary in dict.fromkeys(c.summary() for c in met if c.lkey != EXTERNAL_ID))
    return "".join(f"; {p}" for p in parts)


class TrustConditions:
    """Verdicts of the estate's AWS trusts for its callers: clauses parsed once per trust, verdicts cached per
    (trust, what the caller's facts say about the caller-dependent keys the trust tests)."""

    def __init__(self, now: datetime | None) -> None:
        self._base: Facts = chain(_EXTERNAL_ID_FACTS, time_facts(now))
        self._parsed: dict[int, tuple[Trust, tuple[Clause, ...], frozenset[str]]] = {}
        self._verdicts: dict[tuple[int, tuple[object, ...]], TrustVerdict | None] = {}

    def _parse(self, trust: Trust) -> tuple[tuple[Clause, ...], frozenset[str]]:
        hit = self._parsed.get(id(trust))
        if hit is None:  # the record is held with its parse, so its id cannot be reused meanwhile
            clauses = parse_block(trust.conditions)
            keys = frozenset(c.lkey for c in clauses if is_caller_key(c.lkey))
            hit = self._parsed[id(trust)] = (trust, clauses, keys)
        return hit[1], hit[2]

    def clauses(self, trust: Trust) -> tuple[Clause, ...]:
        return self._parse(trust)[0] if trust.conditions else ()

    def caller_keys(self, trust: Trust) -> frozenset[str]:
        """Caller-dependent keys the trust's conditions test (empty: same verdict for every caller)."""
        return self._parse(trust)[1] if trust.conditions else frozenset()

    def verdict(self, trust: Trust, caller: PrincipalFacts) -> TrustVerdict | None:
        """The trust for this caller, or None when no request of the caller can meet its conditions."""
        if not trust.conditions:
            return OPEN
        clauses, keys = self._parse(trust)
        key = (id(trust), caller.cache_key(keys) if keys else ())
        if key not in self._verdicts:
            facts = chain(caller.lookup, self._base) if keys else self._base
            self._verdicts[key] = self._decide(trust, clauses, facts)
        return self._verdicts[key]

    @staticmethod
    def _decide(trust: Trust, clauses: tuple[Clause, ...], facts: Facts) -> TrustVerdict | None:
        if not clauses:  # shapes that are not IAM condition blocks: kept as they are, as before
            return TrustVerdict(dict(trust.conditions), "")
        result = evaluate_allow(clauses, facts)
        if result.truth is Truth.FAILS:
            return None
        return TrustVerdict(_residual(trust.conditions, result.rest), _note(clauses, result.rest))


def caller_class(caller: PrincipalFacts, clauses_by_key: Mapping[str, tuple[Clause, ...]]) -> tuple[object, ...]:
    """What decides every clause on caller-dependent keys for this caller: per key, the set of truth vectors
    of its clauses over the values the caller's requests may carry (None: unknown). Callers of one class get
    the same verdict from every trust whose caller-dependent clauses are among these (exact, see
    aws_conditions.evaluate_allow: it reads the facts only through clause_at)."""
    out: list[object] = []
    for key in sorted(clauses_by_key):
        values = caller.lookup(key)
        if values is None:
            out.append((key, None))
            continue
        clauses = clauses_by_key[key]
        out.append((key, tuple(sorted({tuple(clause_at(c, v).value for c in clauses) for v in values}))))
    return tuple(out)


def _value_text(value: Value) -> str:
    return "absent" if value is ABSENT else str(value)[:40]


def class_label(caller: PrincipalFacts, clauses_by_key: Mapping[str, tuple[Clause, ...]]) -> str:
    """A caller class in words, from one of its callers' facts: 'aws:MultiFactorAuthPresent unknown'."""
    parts = []
    for key in sorted(clauses_by_key):
        values = caller.lookup(key)
        shown = "unknown" if values is None else " or ".join(sorted(_value_text(v) for v in values))
        parts.append(f"{clauses_by_key[key][0].key} {shown}")
    return "; ".join(parts)


def _date_facts(now: datetime) -> Facts:
    times = time_facts(now)

    def lookup(key: str) -> frozenset[Value] | None:
        return times(key) if key in DATE_KEYS else None

    return lookup


def dates_in_force(trust: Trust, now: datetime | None) -> bool:
    """False when an AWS date condition of the trust (`aws:CurrentTime`, `aws:EpochTime`) cannot hold at `now`
    (an expired or not-yet-valid trust), for any kind of trust."""
    if now is None or not trust.conditions:
        return True
    clauses = [c for c in parse_block(trust.conditions) if c.lkey in DATE_KEYS]
    return not clauses or evaluate_allow(clauses, _date_facts(now)).truth is not Truth.FAILS
