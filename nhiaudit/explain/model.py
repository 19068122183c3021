"""The explanation as plain data: frozen dataclasses that renderers read and `to_dict` serialises."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

EXPLAIN_SCHEMA_VERSION = 1

# Policy verdict of one reachable system for one access path, worst first.
VERDICTS = ("must_not_reach", "not_in_may_reach", "undeclared", "allowed")
VERDICT_RANK = {v: i for i, v in enumerate(VERDICTS)}

_FIELDS: dict[type, tuple[str, ...]] = {}


def plain(obj: Any) -> Any:
    """Dataclasses -> dicts, tuples -> lists (like dataclasses.asdict, without its deep copies: a
    --can-reach answer can hold thousands of paths)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELDS.get(type(obj))
        if names is None:
            names = _FIELDS[type(obj)] = tuple(f.name for f in fields(obj))
        return {n: plain(getattr(obj, n)) for n in names}
    if isinstance(obj, tuple | list):
        return [plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    return obj


@dataclass(frozen=True)
class HopView:
    source: str  # graph node id
    source_label: str
    target: str
    target_label: str
    kind: str  # can_assume | can_impersonate | can_reach
    reason: str  # the statement or trust policy that allows the hop
    access: str | None = None  # on the final can_reach hop


@dataclass(frozen=True)
class ReachView:
    system: str
    access: str  # read | write | admin
    verdict: str  # one of VERDICTS
    via_chain: bool
    hops: tuple[HopView, ...]
    environment: str = ""
    classification: str = ""
    system_kind: str = ""


@dataclass(frozen=True)
class CredentialView:
    id: str
    type: str
    static: bool
    active: bool
    managed_by: str
    created: str | None
    age_days: int | None
    expires: str | None
    days_to_expiry: int | None  # negative: expired
    last_used: str | None
    days_since_use: int | None
    last_used_service: str | None
    shared_with_integrations: tuple[str, ...]  # other integrations that use this credential
    shared_with_identities: tuple[str, ...]  # other identities holding the same secret (fingerprint)
    forbidden: bool  # static, and the policy forbids static keys for this path
    policy_notes: tuple[str, ...]  # why it conflicts with the written policy, in words


@dataclass(frozen=True)
class WorkloadView:
    id: str
    kind: str
    name: str
    region: str | None = None


@dataclass(frozen=True)
class ActorView:
    """Someone who can act as the identity (assume / impersonate / external trust)."""

    principal: str
    label: str
    kind: str
    reason: str


@dataclass(frozen=True)
class IdentityView:
    id: str
    name: str
    provider: str
    account: str
    kind: str
    owner: str | None = None
    created: str | None = None
    last_activity: str | None = None
    disabled: bool = False
    acted_as_by: tuple[ActorView, ...] = ()
    # Used by a person or by software (the `subject.classification` fact): human | nhi | unknown, the step
    # that decided (policy | tag | kind | signals | none) and why.
    classification: str = "unknown"
    classification_source: str = "none"
    classification_reasons: tuple[str, ...] = ()
    # AWS role: the longest session its credentials may last (MaxSessionDuration), when collected.
    max_session_seconds: int | None = None


@dataclass(frozen=True)
class TaskView:
    """The declared task: the policy's integration entry, or undeclared (shadow AI)."""

    declared: bool
    integration: str | None = None
    kind: str | None = None
    owner: str | None = None
    purpose: str | None = None
    environment: str | None = None
    may_reach: tuple[str, ...] = ()
    must_not_reach: tuple[str, ...] = ()
    policy_line: int | None = None


@dataclass(frozen=True)
class FindingView:
    rule_id: str
    severity: str
    category: str
    status: str
    message: str
    identity: str | None
    integration: str | None
    credential_id: str | None
    fingerprint: str


@dataclass(frozen=True)
class AuditView:
    """Whether the cloud records one kind of this path's access, and where (nhiaudit/facts/audit_coverage.py)."""

    kind: str  # model_invocations | secret_access | data_access
    recorded: str  # yes | no | unknown
    requirement: str  # required | optional (the path's integration over the policy defaults)
    detail: str
    where: tuple[str, ...] = ()  # trails / logging configurations (with destination) that record it
    system: str = ""  # data access: the system


@dataclass(frozen=True)
class PathView:
    """One AI access path: one identity serving one integration (or none)."""

    identity: IdentityView
    task: TaskView
    workloads: tuple[WorkloadView, ...]
    credentials: tuple[CredentialView, ...]
    can_invoke_ai: bool
    ai_access: tuple[str, ...]  # reasons it can call models
    reach: tuple[ReachView, ...]
    findings: tuple[FindingView, ...] = ()
    # Who calls the model: the workloads running as the identity when it can call AI models or serves an
    # integration (empty otherwise; `workloads` always lists them).
    model_callers: tuple[WorkloadView, ...] = ()
    audit: tuple[AuditView, ...] = ()  # what the cloud records of its model calls, secret reads, data access


@dataclass(frozen=True)
class Explanation:
    target_kind: str  # integration | identity
    target: str
    target_label: str
    as_of: str
    policy_file: str | None
    findings_included: bool  # False when explain ran without the rules (--no-findings)
    paths: tuple[PathView, ...]
    other_findings: tuple[FindingView, ...] = ()  # about the target but no single path (e.g. the entry)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "nhiaudit-explain", "schema_version": EXPLAIN_SCHEMA_VERSION, **plain(self)}


@dataclass(frozen=True)
class IntegrationVerdict:
    integration: str
    verdict: str


@dataclass(frozen=True)
class ReacherView:
    """One identity that can reach the system, how, and what the policy says about it."""

    identity: IdentityView
    access: str
    via_chain: bool
    verdict: str  # worst verdict across the integrations binding the identity; undeclared if none
    integrations: tuple[IntegrationVerdict, ...]  # verdict for this system per integration binding it
    hops: tuple[HopView, ...]


@dataclass(frozen=True)
class IntegrationReach:
    integration: str
    verdict: str
    identities: tuple[str, ...]


@dataclass(frozen=True)
class CanReach:
    system: str
    environment: str
    classification: str
    system_kind: str
    as_of: str
    policy_file: str | None
    identities: tuple[ReacherView, ...]
    integrations: tuple[IntegrationReach, ...]
    by_verdict: dict[str, int] = field(default_factory=dict)
    by_access: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # e.g. access an SCP removed from an identity

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "nhiaudit-can-reach", "schema_version": EXPLAIN_SCHEMA_VERSION, **plain(self)}
