"""AWS policy documents from `resource pattern -> actions`, merged and compacted to fit AWS's size limits.

Statements are merged first (patterns with the same actions -> one statement with many resources; each
pattern has one action set, so equal resources already share one statement with many actions). An action
list that holds every action of a service on those resources is written `service:*` (the same grant). When
the document is still too large, each further step is taken only if the previous did not fit: resource
patterns merged to a common prefix (each merge accepted only when the caller's check, the evaluator, says it
reaches no system outside may_reach), then action prefixes (`s3:Get*`) and whole services (`s3:*`), on may_reach
resources only, each without and then with merged resources. `fixed` statements (sts:AssumeRole on the exact
roles of a chain the boundary keeps) are written as given in every step: never merged, never widened.
What still does not fit is an error that says why: nothing is ever truncated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nhiaudit.enforce.model import Compaction
from nhiaudit.errors import UsageError
from nhiaudit.permissions.catalogue import ActionCatalogue

MANAGED_POLICY_LIMIT = 6144  # IAM managed policy (and permissions boundary), characters without whitespace
SCP_LIMIT = 5120  # AWS Organizations service control policy, characters
POLICY_VERSION = "2012-10-17"

_VERB = re.compile(r"^([A-Z][a-z]+)")

# Is `candidate` (covering `covered`, for `actions`) acceptable: does it reach nothing new outside may_reach?
WideningCheck = Callable[[str, tuple[str, ...], tuple[str, ...]], bool]


class DocumentTooLarge(UsageError):
    """The guardrail cannot be written within AWS's limit without granting or denying something else."""


@dataclass(frozen=True, slots=True)
class Fitted:
    document: dict[str, Any]
    size: int
    compaction: Compaction


def document_size(document: Mapping[str, Any]) -> int:
    """Characters as AWS counts them: the JSON without whitespace outside strings."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))


def _service_of(action: str) -> str:
    return action.partition(":")[0]


def full_services(actions: frozenset[str], patterns: Iterable[str], catalogue: ActionCatalogue) -> list[str]:
    """Actions with each service written `svc:*` where they are all its actions on every pattern (same grant)."""
    patterns = tuple(patterns)
    out: list[str] = []
    for service in sorted({_service_of(a) for a in actions}):
        mine = {a for a in actions if _service_of(a) == service}
        every = frozenset().union(*(catalogue.actions_on(service, p) for p in patterns)) if patterns else frozenset()
        out.extend([f"{service}:*"] if every and every <= mine else sorted(mine))
    return out


def _prefixes(actions: Iterable[str]) -> list[str]:
    """`s3:GetObject`, `s3:GetObjectAcl` -> `s3:Get*` (wider: more actions of the service, same resources)."""
    groups: dict[str, list[str]] = {}
    for action in actions:
        service, _, name = action.partition(":")
        verb = _VERB.match(name)
        key = f"{service}:{verb.group(1)}*" if verb and name != "*" else action
        groups.setdefault(key, []).append(action)
    return sorted(k if len(v) > 1 else v[0] for k, v in groups.items())


def _services(actions: Iterable[str]) -> list[str]:
    return sorted({f"{_service_of(a)}:*" for a in actions})


def _allow_statements(by_pattern: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for pattern in sorted(by_pattern):
        actions = tuple(sorted(set(by_pattern[pattern])))
        if actions:
            by_actions.setdefault(actions, []).append(pattern)
    statements = []
    for n, (actions, patterns) in enumerate(sorted(by_actions.items(), key=lambda kv: (kv[1], kv[0])), 1):
        statements.append({"Sid": f"MayReach{n}", "Effect": "Allow",
                           "Action": _one_or_list(actions), "Resource": _one_or_list(patterns)})
    return statements


def _one_or_list(values: tuple[str, ...] | list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _deny_statement(patterns: Iterable[str]) -> list[dict[str, Any]]:
    denied = sorted(set(patterns))
    if not denied:
        return []
    return [{"Sid": "MustNotReach", "Effect": "Deny", "Action": "*", "Resource": _one_or_list(denied)}]


# AWS takes no policy without a statement: a boundary that allows nothing is written as one that denies all.
_NOTHING_ALLOWED = {"Sid": "NothingInScopeToday", "Effect": "Deny", "Action": "*", "Resource": "*"}


def assume_statement(roles: Iterable[str]) -> dict[str, Any]:
    """sts:AssumeRole on exactly these role ARNs (the chains a boundary keeps)."""
    return {"Sid": "MayReachThroughRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": _one_or_list(sorted(set(roles)))}


def boundary_document(statements: list[dict[str, Any]], denied: Iterable[str],
                      fixed: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"Version": POLICY_VERSION,
            "Statement": [*statements, *fixed, *_deny_statement(denied)] or [_NOTHING_ALLOWED]}


def fit_boundary(
    allowed: Mapping[str, frozenset[str]], denied: Iterable[str], catalogue: ActionCatalogue,
    accept: WideningCheck, *, fixed: Sequence[dict[str, Any]] = (), limit: int = MANAGED_POLICY_LIMIT,
    label: str = "boundary",
) -> Fitted:
    """The smallest-change document for `allowed` (pattern -> today's actions), `fixed` statements (as given)
    and `denied` within `limit`."""
    denied = tuple(denied)
    exact = {p: full_services(a, (p,), catalogue) for p, a in allowed.items()}
    steps = [
        (Compaction.EXACT, Compaction.RESOURCE_WILDCARDS, exact),
        (Compaction.ACTION_PREFIXES, Compaction.ACTION_PREFIXES_AND_RESOURCE_WILDCARDS,
         {p: _prefixes(a) for p, a in exact.items()}),
        (Compaction.SERVICE_WILDCARDS, Compaction.SERVICE_AND_RESOURCE_WILDCARDS,
         {p: _services(a) for p, a in exact.items()}),
    ]
    size = 0
    for plain, merged, by_pattern in steps:
        document = boundary_document(_allow_statements(by_pattern), denied, fixed)
        size = document_size(document)
        if size <= limit:
            return Fitted(document, size, plain)
        document = boundary_document(_merged_resources(by_pattern, accept), denied, fixed)
        size = document_size(document)
        if size <= limit:
            return Fitted(document, size, merged)
    raise DocumentTooLarge(
        f"the {label} does not fit AWS's limit of {limit:,} characters: {size:,} after merging statements, "
        f"writing whole services and merging resource patterns where that reaches no other system "
        f"({len(allowed)} allowed and {len(denied)} denied resource patterns). Group the systems' resources "
        "under fewer patterns in the written policy, or split the integration")


def _merged_resources(by_pattern: Mapping[str, list[str]], accept: WideningCheck) -> list[dict[str, Any]]:
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for pattern in sorted(by_pattern):
        actions = tuple(sorted(set(by_pattern[pattern])))
        if actions:
            by_actions.setdefault(actions, []).append(pattern)
    merged = {actions: merge_patterns(patterns, lambda c, cov, a=actions: accept(c, cov, a))
              for actions, patterns in by_actions.items()}
    return _allow_statements({p: list(a) for a, ps in merged.items() for p in ps})


def _arn_head(pattern: str) -> str:
    """`arn:aws:s3:::bucket/*` -> `arn:aws:s3:::`: patterns are only merged within one service and account."""
    parts = pattern.split(":", 5)
    return ":".join(parts[:5]) + ":" if len(parts) == 6 else pattern


def _common_prefix(values: list[str]) -> str:
    first, last = min(values), max(values)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def merge_patterns(patterns: Iterable[str], accept: Callable[[str, tuple[str, ...]], bool]) -> list[str]:
    """Fewer patterns covering these: each group's common prefix + `*` where `accept` allows it, else the
    group split by its next character (a trie walk: at most one check per distinct prefix)."""
    groups: dict[str, list[str]] = {}
    for p in sorted(set(patterns)):
        groups.setdefault(_arn_head(p), []).append(p)
    out: list[str] = []
    for head, members in groups.items():
        out.extend(_merge_group(head, members, accept))
    return sorted(set(out))


def _merge_group(head: str, members: list[str], accept: Callable[[str, tuple[str, ...]], bool]) -> list[str]:
    if len(members) == 1:
        return members
    prefix = _common_prefix(members)
    if len(prefix) > len(head) and accept(prefix + "*", tuple(members)):
        return [prefix + "*"]
    by_next: dict[str, list[str]] = {}
    for m in members:
        by_next.setdefault(m[len(prefix):len(prefix) + 1], []).append(m)
    if len(by_next) == 1:  # cannot split further (equal prefixes): keep them as they are
        return members
    out: list[str] = []
    for part in by_next.values():
        out.extend(_merge_group(head, part, accept))
    return out
