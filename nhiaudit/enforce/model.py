"""What `enforce` produces: frozen records, provider-neutral where they can be (one generator per provider)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# The tag the SCP snippet tests: its value names the declared integration the principal acts for.
INTEGRATION_TAG = "nhiaudit:integration"


class GuardrailKind(StrEnum):
    PERMISSIONS_BOUNDARY = "aws-permissions-boundary"
    SERVICE_CONTROL_POLICY = "aws-service-control-policy"
    GCP_DENY_POLICY = "gcp-deny-policy"  # iam v2 deny policy on a project / folder / organization
    GCP_CONDITIONAL_BINDING = "gcp-conditional-binding"  # a role binding narrowed by an IAM condition
    AZURE_ROLE_ASSIGNMENT = "azure-role-assignment"  # a role assignment narrowed in scope (and ABAC condition)
    AZURE_GRAPH_REMOVAL = "azure-graph-permission-removal"  # Graph permissions outside the policy, to remove


class Compaction(StrEnum):
    """How far a document was merged to fit its size limit (each step only when the previous did not fit)."""

    EXACT = "exact"  # today's actions, listed; statements merged by equal actions / equal resources
    RESOURCE_WILDCARDS = "resource-wildcards"  # resource patterns merged; checked to reach no other system
    ACTION_PREFIXES = "action-prefixes"  # `s3:Get*`: more actions, on may_reach resources only
    ACTION_PREFIXES_AND_RESOURCE_WILDCARDS = "action-prefixes+resource-wildcards"
    SERVICE_WILDCARDS = "service-wildcards"  # `s3:*`: every action of the service, on may_reach resources only
    SERVICE_AND_RESOURCE_WILDCARDS = "service-wildcards+resource-wildcards"


@dataclass(frozen=True, slots=True)
class SystemGrant:
    """What a boundary allows on one may_reach system: today's actions of the integration's identities."""

    system: str
    patterns: tuple[str, ...]
    actions: tuple[str, ...]  # sorted; empty: the identities cannot act on it today (nothing allowed)
    written: tuple[str, ...] = ()  # the same, `service:*` where that is every action of the service there


@dataclass(frozen=True, slots=True)
class Target:
    """An identity a guardrail applies to, and what applying it means for that identity."""

    identity_id: str
    name: str
    kind: str  # role | user
    account: str
    existing_boundary: str | None  # replaced (a principal has one boundary); the new one is never wider
    command: str | None  # the AWS CLI command that applies it (None: the name is no valid IAM name)


@dataclass(frozen=True, slots=True)
class Guardrail:
    kind: GuardrailKind
    name: str  # the AWS policy name (GCP / Azure: the guardrail's name, unique in the plan)
    integrations: tuple[str, ...]  # the integrations whose written scope it enforces
    document: dict[str, Any]  # the policy document, as the provider's API takes it
    size: int  # characters without whitespace, as AWS counts them
    limit: int  # 0: no character limit applies (GCP / Azure guardrails)
    compaction: Compaction
    targets: tuple[Target, ...] = ()
    grants: tuple[SystemGrant, ...] = ()
    denied_systems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()  # GCP / Azure: inventory policy ids (bindings, assignments) it replaces
    attachment: str | None = None  # GCP deny policy: the project / folder / organization it attaches to


@dataclass(frozen=True, slots=True)
class TagAssignment:
    identity_id: str
    value: str
    command: str | None  # `aws iam tag-role ...` (None: the name is no valid IAM name)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AccessChange:
    """One identity's access to one system, before and after the guardrails (access levels; None: none)."""

    identity_id: str
    system: str
    before: str | None
    after: str | None
    via: tuple[str, ...] = ()  # the identities of the role chain it was reached through, in order (empty: direct)

    @property
    def via_chain(self) -> bool:
        return bool(self.via)


@dataclass(frozen=True, slots=True)
class GuardrailCheck:
    """Re-analysis of the estate with one guardrail applied to its targets."""

    guardrail: str
    closed: tuple[str, ...] = ()  # findings (rule id: message) of the checked categories that go away
    remaining: tuple[str, ...] = ()  # findings of the checked categories that stay: the guardrail falls short
    unclosable: tuple[str, ...] = ()  # findings that stay but are not about reach (tags, membership): no guardrail can
    removed: tuple[AccessChange, ...] = ()  # access to systems outside may_reach taken away
    lost: tuple[AccessChange, ...] = ()  # access to may_reach systems lowered or taken away: fails the check
    evaluated: bool = True
    note: str | None = None
    broken: tuple[str, ...] = ()  # what the guardrail must keep and does not (SCP: a declared identity's AI use)

    @property
    def holds(self) -> bool:
        """Nothing of the checked categories remains, nothing it must keep breaks, no may_reach access is lost."""
        return self.evaluated and not self.remaining and not self.broken and not self.lost


@dataclass(frozen=True, slots=True)
class EnforcePlan:
    policy_file: str
    guardrails: tuple[Guardrail, ...]
    tags: tuple[TagAssignment, ...]
    checks: tuple[GuardrailCheck, ...] = ()
    skipped: tuple[str, ...] = ()  # integrations or identities no guardrail covers, and why
    checked_categories: tuple[str, ...] = field(default=("scope-drift", "environment-crossing",
                                                         "undeclared-ai-identity"))

    @property
    def verified(self) -> bool:
        return all(c.holds for c in self.checks if c.evaluated)
