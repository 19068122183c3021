"""IAM conditions on GCP bindings (CEL): the documented common shapes are evaluated, the rest is kept.

Evaluated, as a conjunction (`&&`) of clauses:
- `request.time < timestamp("RFC 3339")` (also `<=`, `>`, `>=`): the grant is in force at --as-of or not;
  a grant out of force gives nothing;
- `resource.name.startsWith("NAME")` and `resource.name == "NAME"`, alone or as a disjunction (`||`) of
  such clauses: the grant applies only to those names (canonical form, `gcp_names`);
- `resource.type == "SERVICE.googleapis.com/Type"`: only permissions of that service apply;
- `resource.service == "SERVICE.googleapis.com"`: the same.
Any other clause is kept verbatim as the unevaluated rest: access is reported as possible and the finding
is marked conditional, never dropped. A clause that is false at --as-of makes the whole conjunction false.

A small exact parser, not a CEL interpreter: string literals are read with their escapes, and anything
it does not recognise becomes the unevaluated rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from nhiaudit.permissions.gcp_names import canonical_resource

MAX_EXPRESSION = 4096  # longer expressions are kept unevaluated (bounded work on hostile input)
_STRING = r'"((?:[^"\\]|\\.)*)"'
_TIME = re.compile(r"^request\.time\s*(<=|<|>=|>)\s*timestamp\(\s*" + _STRING + r"\s*\)$")
_STARTS = re.compile(r"^resource\.name\.startsWith\(\s*" + _STRING + r"\s*\)$")
_NAME_EQ = re.compile(r"^resource\.name\s*==\s*" + _STRING + "$")
_TYPE_EQ = re.compile(r"^resource\.type\s*==\s*" + _STRING + "$")
_SERVICE_EQ = re.compile(r"^resource\.service\s*==\s*" + _STRING + "$")
_SERVICE_HOST = re.compile(r"^([a-z0-9-]+)\.googleapis\.com(?:/|$)")


@dataclass(frozen=True, slots=True)
class ConditionVerdict:
    in_force: bool  # False: the grant gives nothing at --as-of
    resources: tuple[str, ...] | None = None  # names the grant is narrowed to (path globs), None: unchanged
    services: tuple[str, ...] | None = None  # permission prefixes (`storage.`) it is narrowed to
    rest: str = ""  # the unevaluated part ("" when everything was evaluated)
    evaluated: tuple[str, ...] = ()  # what was evaluated, for evidence


def split_top(text: str, op: str) -> list[str] | None:
    """Split on `op` outside parentheses and strings; None when the brackets or quotes do not balance."""
    parts, depth, start, i, n = [], 0, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                return None
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and text.startswith(op, i):
            parts.append(text[start:i])
            i += len(op)
            start = i
            continue
        i += 1
    if depth:
        return None
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _encloses(clause: str) -> bool:
    """Does the first `(` close at the last character (so the parentheses wrap the whole clause)?"""
    depth, i, n = 0, 0, len(clause)
    while i < n:
        c = clause[i]
        if c == '"':
            i += 1
            while i < n and clause[i] != '"':
                i += 2 if clause[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i == n - 1
        i += 1
    return False


def _unwrap(clause: str) -> str:
    while clause.startswith("(") and clause.endswith(")") and _encloses(clause):
        clause = clause[1:-1].strip()
    return clause


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _timestamp(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _name_pattern(name: str, prefix: bool) -> str:
    """A resource name (or prefix) as a path glob (GCP names hold no `*`; one would only widen the grant)."""
    canonical = canonical_resource(name)
    return canonical + "**" if prefix else canonical


def _names(clause: str) -> tuple[str, ...] | None:
    """`resource.name` clauses, possibly or-ed: the name patterns they allow, else None."""
    pieces = split_top(clause, "||")
    if pieces is None:
        return None
    out = []
    for piece in pieces:
        piece = _unwrap(piece)
        m = _STARTS.match(piece) or _NAME_EQ.match(piece)
        if m is None:
            return None
        out.append(_name_pattern(_unescape(m.group(1)), m.re is _STARTS))
    return tuple(out)


def evaluate_condition(expression: str, now: datetime | None) -> ConditionVerdict:
    """The verdict on one binding condition at `now` (None: time clauses stay unevaluated)."""
    text = expression.strip()
    if not text or len(text) > MAX_EXPRESSION:
        return ConditionVerdict(True, rest=text[:MAX_EXPRESSION])
    clauses = split_top(text, "&&")
    if clauses is None:
        return ConditionVerdict(True, rest=text)
    in_force = True
    resources: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    rest: list[str] = []
    evaluated: list[str] = []
    for raw in clauses:
        clause = _unwrap(raw)
        if (m := _TIME.match(clause)) is not None and now is not None:
            when = _timestamp(_unescape(m.group(2)))
            if when is None:
                rest.append(clause)
                continue
            op = m.group(1)
            holds = {"<": now < when, "<=": now <= when, ">": now > when, ">=": now >= when}[op]
            evaluated.append(f"request.time {op} {when.isoformat()}: {'in force' if holds else 'not in force'}")
            in_force = in_force and holds
        elif (names := _names(clause)) is not None:
            resources = names if resources is None else tuple(n for n in names if n in resources) or ("",)
            evaluated.append("resource.name in " + ", ".join(names))
        elif (m := _TYPE_EQ.match(clause) or _SERVICE_EQ.match(clause)) is not None and (
                host := _SERVICE_HOST.match(_unescape(m.group(1)))) is not None:
            prefix = (f"{host.group(1)}.",)
            services = prefix if services is None or prefix == services else ("",)
            evaluated.append(f"{clause.split('==')[0].strip()} is {_unescape(m.group(1))}")
        else:
            rest.append(clause)
    return ConditionVerdict(in_force, resources, services, " && ".join(rest), tuple(evaluated))
