"""The labelled estate as plain, frozen records: accounts, principals, integrations, expected findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HUMAN, NHI = "human", "nhi"

# Rule -> finding category (family), as documented in rules/*.yaml and by issue 11's decisions. Kept here,
# not read from nhiaudit, so the labels do not depend on the code they judge.
RULE_FAMILIES: dict[str, str] = {
    "admin-access": "overbroad-permissions",
    "ai-identity-wildcard": "overbroad-permissions",
    "ai-undeclared": "undeclared-ai-identity",
    "ai-undeclared-via-chain": "undeclared-ai-identity",
    "cred-multiple-active-keys": "long-lived-credential",
    "cred-too-old": "long-lived-credential",
    "cred-unused": "unused-credential",
    "env-multiple-environments": "environment-crossing",
    "env-reaches-other-environment": "environment-crossing",
    "env-reaches-production": "environment-crossing",
    "human-use-of-nhi": "human-use-of-nhi",
    "identity-reused-across-integrations": "reused-identity",
    "identity-unused": "unused-credential",
    "policy-unknown-identity": "stale-policy",
    "privesc-latent": "privilege-escalation",
    "privesc-single-step": "privilege-escalation",
    "privesc-via-chain": "privilege-escalation",
    "scope-forbidden-system": "scope-drift",
    "scope-not-allowed-system": "scope-drift",
    "static-key-forbidden": "static-credential-forbidden",
    "trust-any-principal": "risky-trust",
    "trust-federated-unconstrained": "risky-trust",
    "trust-foreign-account-no-external-id": "risky-trust",
    # newer families (shapes_resources.py, shapes_audit.py, shapes_secrets.py, shapes_conditions.py)
    "audit-data-access-not-logged": "audit-gap",
    "audit-model-calls-not-logged": "audit-gap",
    "scope-unconditioned-grant": "scope-drift",
    "secret-leaked-credential": "leaked-credential",
    "secret-unknown-credential": "leaked-credential",
}


@dataclass(frozen=True)
class Expected:
    """One finding the subject must get: the rule and why, in the words of the rule's documentation."""

    rule: str
    why: str

    @property
    def family(self) -> str:
        return RULE_FAMILIES[self.rule]


@dataclass(frozen=True)
class Account:
    id: str
    environment: str  # prod | staging | dev

    @property
    def root(self) -> str:
        return f"arn:aws:iam::{self.id}:root"


@dataclass(frozen=True)
class Key:
    """An access key slot of the credential report. Ages are days before --as-of."""

    active: bool
    age_days: int
    last_used_days: int | None  # None: never used
    service: str = "s3"
    region: str = "us-east-1"


@dataclass(frozen=True)
class Console:
    last_used_days: int | None  # None: the password was never used
    mfa: bool


@dataclass(frozen=True)
class Principal:
    account: Account
    kind: str  # user | role
    name: str
    cls: str  # ground truth: human | nhi
    plant: str  # the shape that made it (clean shapes too)
    created_days: int
    path: str = "/"
    tags: tuple[tuple[str, str], ...] = ()
    inline: tuple[tuple[str, dict[str, Any]], ...] = ()  # (policy name, document)
    managed: tuple[str, ...] = ()  # attached managed policy ARNs
    groups: tuple[str, ...] = ()
    console: Console | None = None  # users
    keys: tuple[Key, ...] = ()  # users, slot order
    trust: dict[str, Any] | None = None  # roles: the trust policy document
    last_used_days: int | None = None  # roles: RoleLastUsed (None: never)
    instance_profile: bool = False
    boundary: str | None = None  # permissions boundary policy ARN
    unknown_actions: tuple[str, ...] = ()  # actions of its inline policies that are no IAM action
    traits: tuple[str, ...] = ()
    expected: tuple[Expected, ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account.id}:{self.kind}{self.path}{self.name}"


@dataclass(frozen=True)
class Integration:
    """An integration of the written policy; `expected` are findings whose subject is the integration."""

    name: str
    environment: str
    identities: tuple[str, ...]
    may_reach: tuple[str, ...]
    must_not_reach: tuple[str, ...] = ()
    kind: str = "agent"
    owner: str = ""
    purpose: str = ""
    static_keys: str | None = None  # forbidden | allowed | None (defaults)
    plant: str = "integration"
    expected: tuple[Expected, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()  # further policy fields (audit, require_conditions)


@dataclass(frozen=True)
class Group:
    account: Account
    name: str
    managed: tuple[str, ...] = ()
    inline: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account.id}:group/{self.name}"


@dataclass(frozen=True)
class CustomerPolicy:
    account: Account
    name: str
    document: dict[str, Any]

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account.id}:policy/{self.name}"


@dataclass(frozen=True)
class ExportFile:
    """A further AWS CLI output of one account. With a target it is imported as `--import TARGET=FILE`
    (the output does not say what it is about), else from the account's directory."""

    account: Account
    name: str
    data: Any
    target: str | None = None


@dataclass
class Estate:
    as_of: str
    seed: int
    accounts: list[Account]
    principals: list[Principal] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    customer_policies: list[CustomerPolicy] = field(default_factory=list)
    integrations: list[Integration] = field(default_factory=list)
    files: list[ExportFile] = field(default_factory=list)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)  # policy systems beyond systems.py's
    # findings about no identity or integration: (subject, the shape that made it, expected finding)
    loose: list[tuple[str, str, Expected]] = field(default_factory=list)
