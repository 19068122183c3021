"""AWS Organizations guardrails in the inventory: service control policies (SCPs), resource control policies
(RCPs), where they are attached, and where each account sits in the organisation (root -> OUs -> account).

Analysis applies them as caps on what identity policies grant (permissions/guardrails.py). They are kept per
organisation (one record each), so merging per-account or per-shard snapshots keeps one copy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nhiaudit.inventory.model import Statement, _Record

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
OrgPolicyType = Literal["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"]

# Bounds on what one organisation may hold (AWS quotas: 1,000 policies of a type, 5 levels of OUs below
# the root, 10,000 accounts by default; each far above usual estates). Collection and import refuse more.
MAX_ORG_POLICIES = 2_000
MAX_ORG_TARGETS = 20_000  # attachments of one policy
MAX_ORG_ACCOUNTS = 50_000
MAX_ORG_DEPTH = 7  # root, up to five OUs, the account


class OrgPolicy(_Record):
    """One SCP or RCP, its statements in the normalised shape, and the roots, OUs and accounts it is
    attached to."""

    id: str  # p-... (AWS managed: p-FullAWSAccess, p-RCPFullAWSAccess)
    arn: str
    name: str
    type: OrgPolicyType
    aws_managed: bool = False
    statements: tuple[Statement, ...] = ()
    targets: tuple[str, ...] = ()  # r-..., ou-..., or 12-digit account ids, sorted


class OrgAccount(_Record):
    """Where one account sits: its ancestors from the root down to its own OU (`r-...`, `ou-...`)."""

    account: str
    parents: tuple[str, ...]  # root first, the account's direct parent last


class AwsOrganization(_Record):
    """What the guardrails of one organisation are, as collected or imported."""

    id: str  # o-...
    management_account: str | None = None  # SCPs never limit it; RCPs never limit its resources
    # Policy types in force at the root (ListRoots `PolicyTypes` with Status ENABLED); None: not read, and the
    # types present in `policies` are taken to be in force.
    enabled_types: tuple[OrgPolicyType, ...] | None = None
    policies: tuple[OrgPolicy, ...] = ()
    accounts: tuple[OrgAccount, ...] = Field(default=())  # sorted by account
