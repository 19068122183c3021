"""AWS Organizations guardrails (SCPs and RCPs) as caps on what identity policies grant.

AWS's rules (Organizations user guide, "SCP evaluation" and "Resource control policies"):
- SCPs limit the principals of member accounts. An action is allowed only if, at *every* level of the
  account's path (root, each OU, the account itself), some SCP attached at that level allows it, and no
  SCP attached anywhere on the path denies it. The management account is never limited; service-linked
  roles (path `/aws-service-role/`) are not limited either.
- RCPs limit requests to the resources of member accounts, whoever makes them. Custom RCPs can only
  deny (the only allowing RCP is AWS's RCPFullAWSAccess), so they apply here as Denies, on resources whose
  owning account is known: the ARN's account field, or `resource_account` (an S3 ARN names no account;
  another module may feed bucket owners). Resources of the management account and requests by
  service-linked roles are not limited.

Conservative both ways, as for identity Denies: an SCP Deny applies only when it has no undecided
condition and its resources cover the grant's; a conditional or partial one is recorded in evidence. An
allow-list level removes only actions no statement attached there can allow (a conditional or partial SCP
Allow counts as allowing). A level with no SCP recorded (incomplete data) caps nothing.

Conditions are decided from the principal (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalOrgID`,
tags, MFA: permissions/principal_facts.py; `aws:PrincipalIsAWSService` is false for IAM users and roles)
and from the question's resource: `aws:RequestedRegion` is the region of the resource ARN when it names one
without wildcards (a Bedrock model `arn:aws:bedrock:eu-west-1::foundation-model/x`), `aws:ResourceAccount`
its account. Caps are built once per account and shared by all its identities; identities whose principal
facts decide the guardrails' conditions alike share every cached answer (`key`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider
from nhiaudit.inventory.organization import RCP, SCP, AwsOrganization, OrgPolicy
from nhiaudit.permissions._core import (
    Grant,
    GrantBuilder,
    Residual,
    Stmt,
    Universe,
    allow_targets,
    deny_covers,
    intact_wildcards,
    spec_covers,
    spec_may_match,
    specialize,
)
from nhiaudit.permissions.aws_conditions import Facts, Value, chain
from nhiaudit.permissions.patterns import has_wildcard
from nhiaudit.permissions.principal_facts import PrincipalFacts
from nhiaudit.permissions.scopes import ResourceScopes

SERVICE_LINKED_PATH = "/aws-service-role/"
_CACHE_LIMIT = 200_000
_NOT_A_SERVICE: frozenset[Value] = frozenset({"false"})


@dataclass(frozen=True, slots=True)
class Removal:
    """What a guardrail took away from a grant: which policy (statement), attached where."""

    kind: str  # "SCP" or "RCP"
    policy_id: str
    policy_name: str
    attached_to: str  # r-..., ou-... or an account id
    statement_index: int | None  # None: an allow-list level where no SCP allows the actions
    sid: str | None
    actions: tuple[str, ...]  # removed actions, at most 10, most privileged first

    @property
    def text(self) -> str:
        if self.statement_index is None:
            return f"not allowed by any SCP attached to {self.attached_to} ({self.policy_name})"
        sid = f" ({self.sid})" if self.sid else ""
        return (f"removed by {self.kind} {self.policy_id} ({self.policy_name}), statement "
                f"{self.statement_index}{sid}, attached to {self.attached_to}")


@dataclass(frozen=True, slots=True)
class _Level:
    node: str
    allows: tuple[Stmt, ...]
    names: str  # "p-1 (name), p-2 (name)" for evidence


@dataclass(frozen=True, slots=True)
class _Caps:
    levels: tuple[_Level, ...]  # SCP allow-lists, root first (empty for RCPs)
    denies: tuple[tuple[Stmt, str, str], ...]  # (statement, attached to, "SCP"/"RCP")


_NO_CAPS = _Caps((), ())


def _as_policy(p: OrgPolicy) -> Policy:
    label = "SCP" if p.type == SCP else "RCP"
    return Policy(id=p.id, provider=Provider.AWS, name=f"{label} {p.name}", kind="managed", statements=p.statements)


def _concrete(value: str) -> str | None:
    return value if value and not has_wildcard(value) and "$" not in value else None


def _arn_field(target: str, pattern: str, index: int) -> str | None:
    """A field (3: region, 4: account) of the resource a question is about, when the statement resource or
    the question's pattern fixes it (the resource matches both)."""
    for text in (target, pattern):
        parts = text.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn":
            found = _concrete(parts[index])
            if found is not None:
                return found
    return None


def _decide(s: Stmt, decided: dict[tuple[str, int], Stmt | None], facts: Facts) -> Stmt | None:
    """The statement with its principal clauses decided (`decided`, per identity) and its other clauses
    decided from `facts` (the request's region, the resource's account); None: a Deny that never applies."""
    if s.dynamic:
        found = decided.get((s.policy_id, s.index), s)
        if found is None:
            return None
        s = found
    if not s.clauses:
        return s
    # `specialize` decides only identity/request keys: mark the rest as such for this one call.
    out = specialize((replace(s, dynamic=frozenset({c.lkey for c in s.clauses})),), facts)
    return out[0] if out else None


@dataclass
class _Index:
    scp_enabled: dict[str, bool] = field(default_factory=dict)  # organisation id -> SCPs in force
    rcp_enabled: dict[str, bool] = field(default_factory=dict)
    paths: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)  # account -> (org, mgmt, path)
    attached: dict[tuple[str, str, str], list[OrgPolicy]] = field(default_factory=dict)  # (org, type, node)


class Guardrails:
    """The organisations' caps, applied to grants the evaluator computed from identity policies."""

    def __init__(
        self, organizations: Sequence[AwsOrganization], builder: GrantBuilder, scopes: ResourceScopes,
        principal: Callable[[Identity], PrincipalFacts], compile_now: Callable[[Policy], tuple[Stmt, ...]],
        resource_account: Callable[[str], str | None] | None = None,
    ) -> None:
        self._b = builder
        self._scopes = scopes
        self._principal = principal
        self._resource_account = resource_account or (lambda _arn: None)
        self._ix = _Index()
        self._stmts: dict[str, tuple[Stmt, ...]] = {}
        for org in organizations:
            present = {p.type for p in org.policies}
            enabled = set(org.enabled_types) if org.enabled_types is not None else present
            self._ix.scp_enabled[org.id] = SCP in enabled
            self._ix.rcp_enabled[org.id] = RCP in enabled
            for a in org.accounts:
                self._ix.paths.setdefault(a.account, (org.id, org.management_account or "", (*a.parents, a.account)))
            for p in org.policies:
                self._stmts.setdefault(p.id, compile_now(_as_policy(p)))
                for t in p.targets:
                    self._ix.attached.setdefault((org.id, p.type, t), []).append(p)
        self._dynamic = tuple(s for stmts in self._stmts.values() for s in stmts if s.dynamic)
        self._caps: dict[tuple[str, str], _Caps] = {}
        self._keys: dict[str, tuple[Identity, tuple[object, ...], dict[tuple[str, int], Stmt | None]]] = {}
        self._capped: dict[tuple[object, ...], tuple[list[Grant], list[tuple[Stmt, str, str, frozenset[str],
                                                                              tuple[Residual, ...]]],
                                                      list[Removal]]] = {}
        # Only Deny statements of RCPs cap anything (RCPFullAWSAccess allows all): without one, no identity
        # needs RCP caps.
        self.rcps = any(self._ix.rcp_enabled.get(org) and any(s.effect == "Deny" for p in ps
                                                              for s in self._stmts.get(p.id, ()))
                        for (org, kind, _), ps in self._ix.attached.items() if kind == RCP)

    # --- who is capped --------------------------------------------------------------------------------

    def _account_caps(self, account: str, kind: str) -> _Caps:
        key = (account, kind)
        hit = self._caps.get(key)
        if hit is None:
            hit = self._caps[key] = self._build_caps(account, kind)
        return hit

    def _build_caps(self, account: str, kind: str) -> _Caps:
        found = self._ix.paths.get(account)
        if found is None:
            return _NO_CAPS  # not in a recorded organisation, or its place is unknown
        org, management, path = found
        enabled = self._ix.scp_enabled if kind == SCP else self._ix.rcp_enabled
        if account == management or not enabled.get(org):
            return _NO_CAPS
        levels: list[_Level] = []
        denies: list[tuple[Stmt, str, str]] = []
        label = "SCP" if kind == SCP else "RCP"
        for node in path:
            policies = sorted(self._ix.attached.get((org, kind, node), ()), key=lambda p: p.id)
            stmts = [(p, s) for p in policies for s in self._stmts.get(p.id, ())]
            denies.extend((s, node, label) for _, s in stmts if s.effect == "Deny")
            if kind == SCP and policies:  # RCPs only deny; a level with no SCP recorded caps nothing
                names = ", ".join(f"{p.id} {p.name}" for p in policies[:5])
                levels.append(_Level(node, tuple(s for _, s in stmts if s.effect == "Allow"), names))
        return _Caps(tuple(levels), tuple(denies))

    @staticmethod
    def exempt(identity: Identity) -> bool:
        """Service-linked roles: neither SCPs nor RCPs limit them (AWS documents both)."""
        return (identity.kind is IdentityKind.ROLE
                and identity.attributes.get("path", "").startswith(SERVICE_LINKED_PATH))

    def applies(self, identity: Identity) -> bool:
        if identity.provider is not Provider.AWS or self.exempt(identity):
            return False
        return self.rcps or self._capped_account(identity.account)

    def _capped_account(self, account: str) -> bool:
        """Do the account's SCPs cap anything? Not when every level allows `*` on `*` unconditionally
        (FullAWSAccess) and no SCP denies: then its identities keep the evaluator's shared fast paths."""
        caps = self._account_caps(account, SCP)
        return bool(caps.denies) or not all(
            any(not s.conditions and not s.not_actions and "*" in s.actions and "*" in s.wide_resources
                and not s.not_resources for s in level.allows) for level in caps.levels)

    def key(self, identity: Identity) -> tuple[object, ...]:
        """What decides the caps of this identity: its account (when capped) and how its principal facts
        decide the guardrails' conditions. () when no guardrail can apply to it."""
        return self._view(identity)[0]

    def _view(self, identity: Identity) -> tuple[tuple[object, ...], dict[tuple[str, int], Stmt | None]]:
        hit = self._keys.get(identity.id)
        if hit is not None and hit[0] is identity:
            return hit[1], hit[2]
        decided: dict[tuple[str, int], Stmt | None] = {}
        if not self.applies(identity):
            key: tuple[object, ...] = ()
        else:
            facts = self._facts(identity, None, None)
            signature = []
            for s in self._dynamic:
                out = specialize((s,), facts)
                decided[(s.policy_id, s.index)] = out[0] if out else None
                signature.append((s.policy_id, s.index, out[0].conditions if out else None,
                                  bool(out and (out[0].actions or out[0].not_actions))))
            key = ("guardrails", identity.account if self._capped_account(identity.account) else "",
                   tuple(signature))
        if len(self._keys) >= _CACHE_LIMIT:
            self._keys.clear()
        self._keys[identity.id] = (identity, key, decided)
        return key, decided

    def _facts(self, identity: Identity, region: str | None, resource_account: str | None) -> Facts:
        extra: dict[str, frozenset[Value]] = {"aws:principalisawsservice": _NOT_A_SERVICE}
        if region:
            extra["aws:requestedregion"] = frozenset({region})
        if resource_account:
            extra["aws:resourceaccount"] = frozenset({resource_account})
        return chain(self._principal(identity).lookup, extra.get)

    # --- capping grants --------------------------------------------------------------------------------

    def cap(self, identity: Identity, p: str, u: Universe, grants: Iterable[Grant],
            notes: Callable[[Stmt, str, str, frozenset[str], tuple[Residual, ...]], None],
            removed: list[Removal] | None) -> list[Grant]:
        """The grants as the guardrails leave them; Denies recorded through `notes`, removals in `removed`."""
        key, decided = self._view(identity)
        if not key:
            return list(grants)
        out: list[Grant] = []
        for g in grants:
            ck = (g, p, u.key, key)
            hit = self._capped.get(ck)
            if hit is None:
                if len(self._capped) >= _CACHE_LIMIT:
                    self._capped.clear()
                hit = self._capped[ck] = self._cap_grant(identity, g, p, u, decided)
            kept, grant_notes, grant_removed = hit
            out.extend(kept)
            for entry in grant_notes:
                notes(*entry)
            if removed is not None:
                removed.extend(grant_removed)
        return out

    def _cap_grant(self, identity: Identity, g: Grant, p: str, u: Universe,
                   decided: dict[tuple[str, int], Stmt | None]) -> tuple[list[Grant], list, list[Removal]]:
        by_result: dict[tuple[frozenset[str], tuple[Residual, ...]], list[str]] = {}
        notes: list = []
        removed: list[Removal] = []
        for t in g.targets or (p,):
            known, residual = self._cap_target(identity, g, t, p, u, decided, notes, removed)
            by_result.setdefault((known, residual), []).append(t)
        if len(by_result) == 1 and next(iter(by_result)) == (g.known, g.residual):
            return [g], notes, removed
        kept = []
        for (known, residual), targets in by_result.items():
            if not known and all(r.level is None for r in residual):
                continue
            ws = intact_wildcards(g.wildcard_services, u, known)
            kept.append(self._b.build(g.stmt, tuple(targets), known, residual, ws))
        return kept, notes, removed

    def _cap_target(self, identity: Identity, g: Grant, t: str, p: str, u: Universe,
                    decided: dict[tuple[str, int], Stmt | None], notes: list,
                    removed: list[Removal]) -> tuple[frozenset[str], tuple[Residual, ...]]:
        region = _arn_field(t, p, 3)
        owner = _arn_field(t, p, 4) or self._resource_account(t if t != "*" else p)
        facts = self._facts(identity, region, owner)

        def ready(s: Stmt) -> Stmt | None:
            return _decide(s, decided, facts)

        known, residual = g.known, g.residual
        scp = self._account_caps(identity.account, SCP)
        for level in scp.levels:
            allows = [a for a in map(ready, level.allows)
                      if a is not None and (a.actions or a.not_actions) and allow_targets(a, t, self._scopes)]
            allowed = frozenset().union(*(self._b.spec_known(a, u) for a in allows)) if allows else frozenset()
            lost = known - allowed
            lost_residual = tuple(r for r in residual if not any(spec_may_match(a, r.name) for a in allows))
            if lost or lost_residual:
                known = known - lost
                residual = tuple(r for r in residual if r not in lost_residual)
                removed.append(Removal("SCP", "", level.names, level.node, None, None,
                                       self._shown(lost, lost_residual)))
        rcp = self._account_caps(owner, RCP) if owner and not self.exempt(identity) else _NO_CAPS
        for d0, node, label in (*scp.denies, *rcp.denies):
            d = ready(d0)
            if d is None:
                continue
            mk = self._b.spec_known(d, u) & known
            mr = tuple(r for r in residual if spec_may_match(d, r.name))
            if not mk and not mr:
                continue
            if d.conditions:
                note = f"{label} attached to {node}: conditional Deny: recorded, not applied"
            elif deny_covers(d, t, self._scopes) or deny_covers(d, p, self._scopes):
                mr = tuple(r for r in mr if spec_covers(d, r.name))
                known = known - mk
                residual = tuple(r for r in residual if r not in mr)
                note = f"{label} attached to {node}: Deny applied: removes these actions"
                removed.append(Removal(label, d.policy_id, d.policy_name.partition(" ")[2], node, d.index, d.sid,
                                       self._shown(mk, mr)))
            else:
                note = f"{label} attached to {node}: Deny covers only part of the resources: recorded, not applied"
            notes.append((d, node, note, mk, mr))
        return known, residual

    def _shown(self, known: frozenset[str], residual: tuple[Residual, ...]) -> tuple[str, ...]:
        ranked = sorted(known, key=lambda a: (-self._b.rank(a), a))
        return tuple([*sorted(r.name for r in residual), *ranked][:10])

    # --- administrators ---------------------------------------------------------------------------------

    def admin_cap(self, identity: Identity, is_star: Callable[[Stmt], bool]) -> tuple[Removal | None, list[str]]:
        """(what removes `*` on `*`, or None; the guardrail Denies that restrict it). It is removed when an
        allow-list level allows no `*` on `*`, or an unconditional Deny covers everything."""
        key, decided = self._view(identity)
        if not key:
            return None, []
        facts = self._facts(identity, None, None)

        def ready(s: Stmt) -> Stmt | None:
            return _decide(s, decided, facts)

        scp = self._account_caps(identity.account, SCP)
        for level in scp.levels:
            if not any(a is not None and is_star(a) for a in map(ready, level.allows)):
                return Removal("SCP", "", level.names, level.node, None, None, ("*",)), []
        restricting = []
        for d0, node, label in scp.denies:
            d = ready(d0)
            if d is None:
                continue
            if not d.conditions and spec_covers(d, "*") and deny_covers(d, "*", self._scopes):
                return Removal(label, d.policy_id, d.policy_name.partition(" ")[2], node, d.index, d.sid, ("*",)), []
            restricting.append(f"{label} {d.policy_id} statement {d.index} (attached to {node})")
        return None, restricting
