"""Resource-based policies as the permission engine sees them: one Policy per statement (so the statements that
name a principal can be put together for it), and an index of statements by the principal they name.

Principals match an AWS identity by
- its own ARN, with or without the IAM path, or a session of the role (`arn:aws:sts::A:assumed-role/name/s`);
- `*` (any principal; with conditions the engine decides from the identity's facts, e.g. aws:PrincipalOrgID);
- its account (`arn:aws:iam::A:root` or `A`): the account *delegates* to its identity policies, which is not a
  grant to the principal itself (graph/resource_reach.py applies AWS's same- and cross-account rules);
- Allow/Deny with NotPrincipal: every principal whose ARN and account the statement does not list.
Unique ids (a deleted principal), services, federated and canonical users are recorded and never match.

S3 Block Public Access: IgnorePublicAcls (bucket or account) removes the ACL grants to AllUsers and
AuthenticatedUsers; RestrictPublicBuckets limits an unconditional `*` Allow of the bucket policy (a public policy)
to the bucket owner's own principals. BlockPublicAcls and BlockPublicPolicy only refuse *new* public ACLs and
policies, so they change nothing about the ones in place.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from nhiaudit.inventory.model import Identity, Policy, Provider
from nhiaudit.inventory.resources import ResourcePolicy, ResourceStatement

RESOURCE_POLICY_PREFIX = "resource-policy:"
ANY = "*"
_KINDS = {"s3": "bucket policy", "kms": "key policy", "secretsmanager": "secret resource policy",
          "lambda": "function policy", "sqs": "queue policy", "sns": "topic policy",
          "sagemaker": "model package group policy"}


def principal_key(value: str) -> str | None:
    """`*`, `ACCOUNT|root`, `ACCOUNT|role|NAME` or `ACCOUNT|user|NAME` for a principal or identity ARN; None for
    anything that names no IAM principal (services, unique ids, malformed values)."""
    if value == ANY:
        return ANY
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[4]:
        return None
    service, account, resource = parts[2], parts[4], parts[5]
    if service == "iam":
        if resource == "root":
            return f"{account}|root"
        kind, _, rest = resource.partition("/")
        if kind in ("role", "user") and rest:
            return f"{account}|{kind}|{rest.rsplit('/', 1)[-1]}"
    if service == "sts" and resource.startswith("assumed-role/"):
        name = resource.split("/")[1]
        return f"{account}|role|{name}" if name else None
    return None


def account_key(account: str) -> str:
    return f"{account}|root"


def statement_policy_id(record: ResourcePolicy, stmt: ResourceStatement) -> str:
    return f"{RESOURCE_POLICY_PREFIX}{record.id}#{stmt.origin}{stmt.index}"


def statement_title(record: ResourcePolicy, stmt: ResourceStatement) -> str:
    """What evidence calls the document: "bucket policy of arn:aws:s3:::b", "KMS grant on arn:aws:kms:..."."""
    if stmt.origin == "acl":
        return f"bucket ACL of {record.id}"
    if stmt.origin == "grant":
        return f"KMS grant on {record.id}"
    return f"{_KINDS.get(record.service, 'resource policy')} of {record.id}"


def restricting_blocks(record: ResourcePolicy) -> tuple[bool, bool]:
    """(IgnorePublicAcls, RestrictPublicBuckets) in force for the bucket: its own setting or its account's."""
    blocks = [b for b in (record.public_access_block, record.account_public_access_block) if b is not None]
    return any(b.ignore_public_acls for b in blocks), any(b.restrict_public_buckets for b in blocks)


def is_public_statement(stmt: ResourceStatement) -> bool:
    """An Allow to `*` (or NotPrincipal) with no condition: anyone, in any account."""
    return (stmt.statement.effect == "Allow" and not stmt.statement.conditions
            and (stmt.not_principal or ANY in stmt.principals))


@dataclass(frozen=True)
class Match:
    """The statements of one resource that concern one identity (policy ids, in document order)."""

    direct: tuple[str, ...] = ()  # Allows naming the identity itself, or `*`
    account: tuple[str, ...] = ()  # Allows naming only its account
    denies: tuple[str, ...] = ()  # Denies naming it, its account or `*`


@dataclass
class ResourceIndex:
    """One resource's statements, by the principal they name."""

    record: ResourcePolicy
    policies: dict[str, Policy] = field(default_factory=dict)  # statement policy id -> its one-statement Policy
    statements: dict[str, ResourceStatement] = field(default_factory=dict)
    public: bool = False  # some statement lets anyone in, and Block Public Access does not neutralise it
    _allow: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _deny: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _owner_only: list[str] = field(default_factory=list)  # public Allows restricted to the owner account
    _negated: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)  # (pid, effect, keys excluded)
    _rank: dict[str, int] = field(default_factory=dict)  # statement policy id -> position

    @classmethod
    def build(cls, record: ResourcePolicy) -> ResourceIndex:
        index = cls(record)
        ignore_acls, restrict = restricting_blocks(record) if record.service == "s3" else (False, False)
        for stmt in record.statements:
            if stmt.origin == "acl" and ignore_acls and ANY in stmt.principals:
                continue  # IgnorePublicAcls: S3 ignores public ACL grants
            pid = statement_policy_id(record, stmt)
            index.statements[pid] = stmt
            index.policies[pid] = Policy.model_construct(
                id=pid, provider=Provider.AWS, name=statement_title(record, stmt), kind="customer",
                statements=(stmt.statement,), principals=())
            effect = stmt.statement.effect
            public = is_public_statement(stmt)
            if public and restrict and stmt.origin == "policy":
                index._owner_only.append(pid)
                continue
            index.public = index.public or public
            if stmt.not_principal:
                keys = frozenset(k for p in stmt.principals if (k := principal_key(p)) is not None)
                index._negated.append((pid, effect, keys))
                continue
            table = index._allow if effect == "Allow" else index._deny
            for key in dict.fromkeys(k for p in stmt.principals if (k := principal_key(p)) is not None):
                table[key].append(pid)
        index._rank = {pid: i for i, pid in enumerate(index.statements)}
        return index

    def match(self, identity: Identity) -> Match:
        own = principal_key(identity.id)
        if own is None:
            return Match()
        acct = account_key(identity.account)
        direct = [*self._allow.get(own, ()), *self._allow.get(ANY, ())]
        if identity.account == self.record.account:
            direct.extend(self._owner_only)
        denies = [*self._deny.get(own, ()), *self._deny.get(ANY, ()), *self._deny.get(acct, ())]
        for pid, effect, excluded in self._negated:
            if own not in excluded and acct not in excluded:
                (direct if effect == "Allow" else denies).append(pid)
        return Match(direct=self._ordered(direct), account=self._ordered(self._allow.get(acct, ())),
                     denies=self._ordered(denies))

    def _ordered(self, pids: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        return tuple(pids) if len(pids) < 2 else tuple(sorted(set(pids), key=self._rank.__getitem__))
