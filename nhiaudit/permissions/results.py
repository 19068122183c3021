"""Evaluation results: frozen, shareable between identities, serialisable to plain dicts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter
from typing import Any, Literal, TypeVar

from nhiaudit.permissions.heuristics import AccessLevel

MAX_LISTED_ACTIONS = 10


class ReachLevel(StrEnum):
    READ = "read"  # list / read
    WRITE = "write"  # write / tagging (and a question's unknown targets matched by a wildcard, conservatively)
    ADMIN = "admin"  # permissions management, or a full `*` / `service:*` wildcard

    @property
    def rank(self) -> int:
        return _REACH_RANK[self]

    @staticmethod
    def from_access(level: AccessLevel) -> ReachLevel:
        if level in (AccessLevel.LIST, AccessLevel.READ):
            return ReachLevel.READ
        if level == AccessLevel.PERMISSIONS_MANAGEMENT:
            return ReachLevel.ADMIN
        return ReachLevel.WRITE


_REACH_RANK = {ReachLevel.READ: 0, ReachLevel.WRITE: 1, ReachLevel.ADMIN: 2}
REACH_BY_RANK = (ReachLevel.READ, ReachLevel.WRITE, ReachLevel.ADMIN)


def _join(items: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


T = TypeVar("T")


def positional_pickling(cls: type[T]) -> type[T]:
    """Pickle records of a frozen slotted dataclass as a call of the class with every field positional:
    its default pickling sets each field of each record through `object.__setattr__`, 2-3x slower, which
    mattered for the results crossing from a forked worker (graph/build.py) on a large estate."""
    fields = attrgetter(*(f.name for f in dataclasses.fields(cls)))  # type: ignore[arg-type]

    def __reduce__(self: T) -> tuple[type[T], tuple[object, ...]]:
        return cls, fields(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


@positional_pickling
@dataclass(frozen=True, slots=True)
class StatementEvidence:
    """One statement that allows (or, for effect Deny, restricts) what a result talks about."""

    policy_id: str
    policy_name: str
    statement_index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]
    source: Literal["identity", "boundary", "resource"]  # resource: a resource-based policy (bucket, key...)
    statement_actions: tuple[str, ...]  # the statement's Action (or NotAction) entries
    not_action: bool
    statement_resources: tuple[str, ...]  # the statement's Resource (or NotResource) entries
    not_resource: bool
    actions: tuple[str, ...]  # matched actions, most privileged first, at most MAX_LISTED_ACTIONS
    action_count: int  # how many actions matched in total
    conditions: tuple[str, ...] = ()  # "StringEquals aws:SourceVpce": undecided clauses, recorded, not evaluated
    level: ReachLevel | None = None
    unknown_actions: tuple[str, ...] = ()  # matched actions the catalogue does not know (no level of their own)
    note: str | None = None  # e.g. why a Deny did not apply; what was decided ("condition Bool ...: met")

    @property
    def statement_ref(self) -> str:
        return f"statement {self.statement_index}" + (f' "{self.sid}"' if self.sid else "")

    @property
    def reason(self) -> str:
        verb = "allows" if self.effect == "Allow" else "denies"
        acts = ("all actions except " if self.not_action else "") + _join(self.statement_actions)
        res = ("all resources except " if self.not_resource else "") + _join(self.statement_resources)
        text = f"policy {self.policy_name} ({self.policy_id}) {self.statement_ref} {verb} {acts} on {res}"
        if self.source == "resource":  # policy_name: "bucket policy of arn:aws:s3:::b"
            text = f"{self.policy_name}, {self.statement_ref} {verb} {acts} on {res}"
        if self.source == "boundary":
            text = "permissions boundary " + text
        if self.conditions:
            text += f" when {'; '.join(self.conditions)}"
        if self.note:
            text += f" [{self.note}]"
        return text

    def to_evidence(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "policy_name": self.policy_name,
            "statement": self.sid if self.sid is not None else self.statement_index,
            "statement_index": self.statement_index,
            "sid": self.sid,
            "effect": self.effect,
            "source": self.source,
            "statement_actions": list(self.statement_actions),
            "not_action": self.not_action,
            "statement_resources": list(self.statement_resources),
            "not_resource": self.not_resource,
            "actions": list(self.actions),
            "action_count": self.action_count,
            "conditions": list(self.conditions),
            "level": self.level.value if self.level else None,
            "unknown_actions": list(self.unknown_actions),
            "note": self.note,
            "reason": self.reason,
        }


@positional_pickling
@dataclass(frozen=True, slots=True)
class Reach:
    """What an identity can do on a system (a set of resource patterns)."""

    level: ReachLevel
    resource_patterns: tuple[str, ...]
    statements: tuple[StatementEvidence, ...]  # allowing statements, identity policies only
    denies: tuple[StatementEvidence, ...] = ()  # Deny statements that removed actions or were recorded
    unknown_actions: tuple[str, ...] = ()
    boundary_policy_id: str | None = None
    missing_policy_ids: tuple[str, ...] = ()  # referenced by the identity but absent from the snapshot
    # Access that needs several policies to allow (cross-account: a resource policy AND an identity policy),
    # one of which allows only under conditions.
    required_conditional: bool = False
    # `statements` start with resource-policy statements that must allow AND continue with identity-policy ones
    # that must allow too (another account's resource; a KMS key whose policy names the account).
    joint: bool = False

    @property
    def conditional(self) -> bool:
        """Every allowing statement carries conditions (access may be narrower than shown)."""
        return self.required_conditional or all(s.conditions for s in self.statements)

    @property
    def reason(self) -> str:
        first = self.statements[0].reason if self.statements else ""
        shown = 1
        if self.joint:
            also = next((s for s in self.statements if s.source != "resource"), None)
            if also is not None:
                first, shown = f"{first}, and {also.reason}", 2
        more = f" (+{len(self.statements) - shown} more statements)" if len(self.statements) > shown else ""
        text = f"{self.level.value} access to {_join(self.resource_patterns, 3)}: {first}{more}"
        if self.boundary_policy_id:
            text += f"; limited by permissions boundary {self.boundary_policy_id}"
        return text

    def to_evidence(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "resource_patterns": list(self.resource_patterns),
            "statements": [s.to_evidence() for s in self.statements],
            "denies": [d.to_evidence() for d in self.denies],
            "unknown_actions": list(self.unknown_actions),
            "conditional": self.conditional,
            "boundary_policy_id": self.boundary_policy_id,
            "missing_policy_ids": list(self.missing_policy_ids),
            "reason": self.reason,
        }
