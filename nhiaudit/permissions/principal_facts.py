"""What every request an AWS identity makes carries, for condition keys (`aws_conditions`).

Exact facts only, from the inventory:
- MFA: a user without an MFA device can never present MFA: its access-key requests lack
  `aws:MultiFactorAuthPresent` (long-term credentials never carry it) and its console sessions carry
  `false`. A role that only services or OIDC web identities can assume never has MFA sessions (`false`).
  A user with an MFA device, or a role that users, accounts or SAML providers can assume: unknown.
- `aws:PrincipalTag/*`: the identity's own tags (a key it lacks is absent). Session tags passed at
  AssumeRole are not modelled.
- `aws:PrincipalAccount`, `aws:PrincipalArn`: the identity's account and ARN.
- `aws:PrincipalOrgID`: the organisation id, when the source recorded one.
- `aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOrgID`, `aws:SourceOrgPaths` and SNS's `aws:SourceOwner`:
  absent. AWS puts them in the request context only when an AWS service principal calls on behalf of a
  resource, never for a request an IAM user or role makes (IAM User Guide, "AWS global condition context
  keys"), so SNS's default topic policy (`*` when `AWS:SourceOwner` is the owner) grants an identity nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nhiaudit.inventory.model import Identity, IdentityKind, Provider, Trust, TrustKind
from nhiaudit.permissions.aws_conditions import ABSENT, Value

_TAG_PREFIX = "aws:principaltag/"
_KEYS = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage", "aws:principalaccount",
                   "aws:principalarn", "aws:principalorgid"})
_SOURCE_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:sourceorgid",
                          "aws:sourceorgpaths"})
_NO_MFA_USER: frozenset[Value] = frozenset({ABSENT, "false"})
_NO_MFA_SESSION: frozenset[Value] = frozenset({"false"})
_NOT_SENT: frozenset[Value] = frozenset({ABSENT})  # the key is absent from the request


def is_principal_key(key: str) -> bool:
    """Is the (lower-cased) condition key one `PrincipalFacts.lookup` may answer?"""
    return key in _KEYS or key in _SOURCE_KEYS or key.startswith(_TAG_PREFIX)


@dataclass(frozen=True, slots=True)
class PrincipalFacts:
    """Condition-key facts of one AWS identity; `lookup` is a `Facts` function."""

    mfa: frozenset[Value] | None
    tags: tuple[tuple[str, str], ...] | None  # lower-cased keys; None: tags do not apply (not AWS)
    account: str | None
    arn: str | None
    org_id: str | None = None

    def lookup(self, key: str) -> frozenset[Value] | None:
        if key == "aws:multifactorauthpresent":
            return self.mfa
        if key == "aws:multifactorauthage":
            return _NOT_SENT if self.mfa is not None else None
        if key.startswith(_TAG_PREFIX):
            if self.tags is None:
                return None
            wanted = key[len(_TAG_PREFIX):]
            return frozenset({next((v for k, v in self.tags if k == wanted), ABSENT)})
        if key == "aws:principalaccount" and self.account:
            return frozenset({self.account})
        if key == "aws:principalarn" and self.arn:
            return frozenset({self.arn})
        if key == "aws:principalorgid" and self.org_id:
            return frozenset({self.org_id})
        if key in _SOURCE_KEYS and self.account:
            return _NOT_SENT  # only service principals' requests carry them
        return None

    def cache_key(self, keys: Iterable[str]) -> tuple[object, ...]:
        """The facts that matter for condition keys `keys` (lower-cased): identities that agree on them
        can share evaluation results."""
        return tuple((k, tuple(sorted(map(repr, v))) if (v := self.lookup(k)) is not None else None)
                     for k in sorted(set(keys)))


UNKNOWN_PRINCIPAL = PrincipalFacts(None, None, None, None)

# Trust principals whose sessions never carry MFA.
_MFA_FREE_TRUSTS = frozenset({TrustKind.SERVICE})


def _role_mfa(trusts: Iterable[Trust]) -> frozenset[Value] | None:
    trusts = list(trusts)
    if not trusts:
        return None
    for t in trusts:
        if t.kind in _MFA_FREE_TRUSTS:
            continue
        if t.kind is TrustKind.FEDERATED and ":saml-provider/" not in t.principal:
            continue  # OIDC web identity (a workload's token)
        return None
    return _NO_MFA_SESSION


def principal_facts(identity: Identity, trusts: Iterable[Trust], org_id: str | None = None) -> PrincipalFacts:
    """Facts of an AWS identity given the trusts that let others act as it (its own trust policy)."""
    if identity.provider is not Provider.AWS:
        return UNKNOWN_PRINCIPAL
    if identity.kind is IdentityKind.USER:
        human = identity.human_use
        # Without a credential report the MFA state is unknown.
        mfa = _NO_MFA_USER if human is not None and not human.mfa_active else None
    elif identity.kind is IdentityKind.ROLE:
        mfa = _role_mfa(trusts)
    else:
        mfa = None
    tags = tuple(sorted((k.lower(), v) for k, v in identity.tags.items()))
    return PrincipalFacts(mfa, tags, identity.account, identity.id, org_id)
