"""AWS IAM condition blocks evaluated against what is known of a request.

A block is `{Operator: {key: value | [values]}}`; the operator may carry a set prefix
(`ForAnyValue:` / `ForAllValues:`) and an `IfExists` suffix. Clauses are ANDed, the values of one
clause ORed (negated operators: the request value must match none of them).

What is known of a request comes from `Facts`: a function from a lower-cased key to the values the key
may take in some request of the identity (None: unknown, the clause is left as a condition). A value
is a string, `ABSENT` (the key is missing from the request context), or `Chosen(glob)` (a value the
caller picks freely within the glob: the name of a Lambda function it creates, say).

Possible values are alternatives, and the caller picks the request it makes, so:
- an Allow is *usable* when, for every key it tests, some possible value satisfies every clause on that
  key; it is *unusable* when, for some key, no possible value does (an MFA-only grant to a service
  role); otherwise the unevaluated clauses remain conditions;
- a Deny *certainly applies* only when every clause holds for every possible value, and *never applies*
  when some key fails for every possible value. Anything in between stays a conditional Deny.

Keys are case-insensitive, as in IAM. Values that hold policy variables (`${aws:username}`) are not
evaluated. Matching uses the linear-time globs of `patterns`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from nhiaudit.permissions.patterns import glob_covers, glob_match, globs_intersect, has_variable, has_wildcard


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


@dataclass(frozen=True, slots=True)
class Chosen:
    """A request value the caller chooses within a glob (e.g. `arn:aws:lambda:*:*:function:*`)."""

    glob: str


Value = str | _Absent | Chosen
Facts = Callable[[str], frozenset[Value] | None]

# Keys that describe the request a permission question is about (`Evaluator.allowed_actions(..., request=)`),
# not the identity or the moment.
REQUEST_KEYS: Final = frozenset({"iam:passedtoservice", "iam:associatedresourcearn"})


def no_facts(_key: str) -> frozenset[Value] | None:
    return None


def facts_from(mapping: Mapping[str, Iterable[Value]]) -> Facts:
    """Facts from a mapping of (any-case) keys to possible values; other keys are unknown."""
    table = {k.lower(): frozenset(v) for k, v in mapping.items()}
    return table.get


def chain(*sources: Facts) -> Facts:
    """The first source that knows a key answers for it."""

    def lookup(key: str) -> frozenset[Value] | None:
        for source in sources:
            found = source(key)
            if found is not None:
                return found
        return None

    return lookup


class Truth(StrEnum):
    HOLDS = "holds"
    FAILS = "fails"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Clause:
    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # as written
    values: tuple[str, ...]
    base: str  # operator without set prefix and IfExists, e.g. "StringLike"
    set_op: str  # "", "ForAnyValue" or "ForAllValues"
    if_exists: bool

    @property
    def lkey(self) -> str:
        return self.key.lower()

    def summary(self) -> str:
        return f"{self.operator} {self.key}"


@dataclass(frozen=True, slots=True)
class BlockVerdict:
    truth: Truth
    rest: tuple[Clause, ...]  # clauses still to be met (Truth.UNKNOWN); () otherwise
    evaluated: tuple[str, ...]  # what was decided, for evidence ("Bool aws:MultiFactorAuthPresent: never met")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_block(block: Mapping[str, Any]) -> tuple[Clause, ...]:
    """The clauses of a Condition block (shape already validated on import; odd entries are skipped)."""
    out: list[Clause] = []
    for operator, body in block.items():
        if not isinstance(operator, str) or not isinstance(body, Mapping):
            continue
        set_op, _, name = operator.rpartition(":")
        if_exists = name.endswith("IfExists")
        base = name[: -len("IfExists")] if if_exists else name
        for key, raw in body.items():
            items = raw if isinstance(raw, list | tuple) else [raw]
            out.append(Clause(operator, str(key), tuple(_text(v) for v in items), base, set_op, if_exists))
    return tuple(out)


# --- one clause at one possible value -------------------------------------------------------------------


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b, "NotEquals": lambda a, b: a != b,
    "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b,
}


def _ordered(kind: str, op: str, value: str, wanted: tuple[str, ...]) -> Truth:
    parse = _parse_time if kind == "Date" else _parse_number
    compare = _ORDER.get(op)
    left = parse(value)
    rights = [parse(w) for w in wanted]
    if compare is None or left is None or any(r is None for r in rights):
        return Truth.UNKNOWN
    lv = left.timestamp() if isinstance(left, datetime) else left
    results = [compare(lv, r.timestamp() if isinstance(r, datetime) else r) for r in rights]  # type: ignore[union-attr]
    if op == "NotEquals":
        return Truth.HOLDS if all(results) else Truth.FAILS
    return Truth.HOLDS if any(results) else Truth.FAILS


def _arn_parts(text: str) -> list[str] | None:
    """The six colon-separated components of an ARN (the resource may hold more colons); None otherwise."""
    parts = text.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def _pairwise(wanted: str, value: str, test: Callable[[str, str], bool], arn: bool) -> bool:
    """`test` on the whole strings, or component by component when both are ARNs and `arn` asks for it
    (ARN operators compare each component separately, and a chosen ARN's `*` never spans a colon)."""
    if arn:
        w, v = _arn_parts(wanted), _arn_parts(value)
        if w is not None and v is not None:
            return all(test(a, b) for a, b in zip(w, v, strict=True))
    return test(wanted, value)


def _matches(base: str, wanted: str, value: str | Chosen) -> bool:
    """Does one policy value accept the request value (the caller's best choice, for Chosen)?"""
    arn = base.startswith("Arn")
    like = base.endswith("Like") or arn  # ArnEquals matches wildcards like ArnLike
    fold = base.endswith("IgnoreCase")
    if isinstance(value, Chosen):
        if like and has_wildcard(wanted):
            return _pairwise(wanted, value.glob, lambda w, v: globs_intersect(w, v, case_sensitive=not fold), True)
        return _pairwise(wanted, value.glob, lambda w, v: glob_match(v, w, case_sensitive=not fold), True)
    if like:
        return _pairwise(wanted, value, lambda w, v: glob_match(w, v, case_sensitive=not fold), arn)
    return wanted.lower() == value.lower() if fold else wanted == value


def _negated_fails(base: str, wanted: str, value: str | Chosen) -> bool:
    """Negated operators: does this policy value exclude the request value whatever the caller picks?"""
    if isinstance(value, Chosen):
        like = base.endswith("Like") or base.startswith("Arn")
        if like:
            return _pairwise(wanted, value.glob, glob_covers, True)
        return not has_wildcard(value.glob) and wanted == value.glob
    return _matches(base, wanted, value)


def clause_at(clause: Clause, value: Value) -> Truth:
    """The clause for one possible request value of its key."""
    if isinstance(value, _Absent):
        if clause.base == "Null":
            return _bool_truth(clause.values, True)
        if clause.if_exists or clause.set_op == "ForAllValues":
            return Truth.HOLDS
        if clause.set_op == "ForAnyValue":
            return Truth.FAILS  # no value at all: none matches
        # IAM: a missing key matches nothing, so a negated operator (StringNotEquals, ArnNotLike,
        # NumericNotEquals...) holds and every other one fails.
        return Truth.HOLDS if _negated(clause.base) else Truth.FAILS
    if clause.base == "Null":
        return _bool_truth(clause.values, False)
    if any(has_variable(v) for v in clause.values):
        return Truth.UNKNOWN
    base = clause.base
    if base == "Bool":
        if isinstance(value, Chosen):
            return Truth.UNKNOWN
        return Truth.HOLDS if value.lower() in {v.lower() for v in clause.values} else Truth.FAILS
    for kind in ("Date", "Numeric"):
        if base.startswith(kind):
            if isinstance(value, Chosen):
                return Truth.UNKNOWN
            return _ordered(kind, base[len(kind):], value, clause.values)
    if base.startswith(("String", "Arn")):
        if "Not" in base:
            positive = base.replace("Not", "")
            return Truth.FAILS if any(_negated_fails(positive, w, value) for w in clause.values) else Truth.HOLDS
        return Truth.HOLDS if any(_matches(base, w, value) for w in clause.values) else Truth.FAILS
    return Truth.UNKNOWN  # IpAddress, BinaryEquals, unknown operators


def _negated(base: str) -> bool:
    return (base.startswith(("String", "Arn")) and "Not" in base) or base in ("NumericNotEquals", "DateNotEquals")


def _bool_truth(values: tuple[str, ...], absent: bool) -> Truth:
    wanted = {v.lower() for v in values}
    if wanted <= {"true", "false"} and wanted:
        return Truth.HOLDS if ("true" if absent else "false") in wanted else Truth.FAILS
    return Truth.UNKNOWN


# --- a block ------------------------------------------------------------------------------------------


def _by_key(clauses: Iterable[Clause]) -> dict[str, list[Clause]]:
    groups: dict[str, list[Clause]] = {}
    for c in clauses:
        groups.setdefault(c.lkey, []).append(c)
    return groups


def _group(clauses: list[Clause], values: frozenset[Value]) -> tuple[bool, bool]:
    """(some possible value meets every clause, every possible value does). A `Chosen` value meets a clause
    when the caller *can* pick a matching one, so it never makes a group met for every request."""
    rows = [all(clause_at(c, v) is Truth.HOLDS for c in clauses) for v in sorted(values, key=repr)]
    chosen = any(isinstance(v, Chosen) for v in values)
    return any(rows), all(rows) and not chosen


def _never(clauses: list[Clause], values: frozenset[Value]) -> bool:
    """No possible value meets every clause (for a `Chosen` value: no pick can)."""
    return all(any(clause_at(c, v) is Truth.FAILS for c in clauses) for v in values)


def _evaluate(clauses: Iterable[Clause], facts: Facts, *, for_every_request: bool) -> BlockVerdict:
    rest: list[Clause] = []
    evaluated: list[str] = []
    for key, group in _by_key(clauses).items():
        values = facts(key)
        if not values:
            rest.extend(group)
            continue
        if _never(group, values):
            return BlockVerdict(Truth.FAILS, (), (f"{_names(group)}: cannot be met",))
        some, every = _group(group, values)
        if every if for_every_request else some:
            evaluated.append(f"{_names(group)}: {'always met' if for_every_request else 'met'}")
        else:
            rest.extend(group)
    return BlockVerdict(Truth.UNKNOWN if rest else Truth.HOLDS, tuple(rest), tuple(evaluated))


def evaluate_allow(clauses: Iterable[Clause], facts: Facts) -> BlockVerdict:
    """Can the identity make a request this Allow's conditions accept?"""
    return _evaluate(clauses, facts, for_every_request=False)


def evaluate_deny(clauses: Iterable[Clause], facts: Facts) -> BlockVerdict:
    """Does this Deny's condition hold for every request the identity can make?"""
    return _evaluate(clauses, facts, for_every_request=True)


def _names(group: list[Clause]) -> str:
    return ", ".join(dict.fromkeys(c.summary() for c in group))


def time_facts(now: datetime | None) -> Facts:
    """`aws:CurrentTime` / `aws:EpochTime` at the moment of evaluation (`--as-of`), and TLS (SDKs and the
    CLI always call AWS over HTTPS); nothing when the moment is unknown."""
    table: dict[str, frozenset[Value]] = {"aws:securetransport": frozenset({"true"})}
    if now is not None:
        moment = now if now.tzinfo else now.replace(tzinfo=UTC)
        table["aws:currenttime"] = frozenset({moment.strftime("%Y-%m-%dT%H:%M:%SZ")})
        table["aws:epochtime"] = frozenset({str(int(moment.timestamp()))})
    return table.get
