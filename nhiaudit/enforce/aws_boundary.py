"""AWS: one permissions boundary per group of identities that serve the same integrations.

Allowed: on each resource pattern of the integration's `may_reach` systems (AI-model systems included), the
actions its identities can perform there today (Evaluator.actions_on: identity policies, existing boundary
and certain Denies applied). Today's access, not the service's whole catalogue, because the boundary then
takes nothing away inside the declared scope and adds nothing to it: replacing an existing boundary (a
principal has one) can never widen what the identity does (a boundary `enforce` generated before excepted: it
is read through, see `_without_own_boundary`). Denied: every action on the resources of its
`must_not_reach` systems, explicitly, so an overlap between a may_reach and a must_not_reach pattern is denied.

A boundary also limits sts:AssumeRole. Where the analysis shows an identity reaching a may_reach system at its
best level only through a role chain, the boundary allows sts:AssumeRole on exactly the chain's first role, if
that role reaches nothing else: no system outside may_reach (must_not_reach included, through further chains
too) and no resource outside the may_reach patterns in its own policies (`outside_scope`). Otherwise it is not
allowed, a note names the role and what else it reaches, and the verification fails on the loss.

An identity several integrations declare gets one boundary for all of them: it may reach what any of them
may, except what any of them forbids (the loss of a system one allows and another forbids is reported).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nhiaudit.analysis import Analysis
from nhiaudit.enforce.aws_document import (
    MANAGED_POLICY_LIMIT,
    DocumentTooLarge,
    assume_statement,
    document_size,
    fit_boundary,
    full_services,
)
from nhiaudit.enforce.aws_request_conditions import required_conditions, with_conditions
from nhiaudit.enforce.model import Guardrail, GuardrailKind, SystemGrant, Target
from nhiaudit.enforce.names import is_iam_name, policy_name, shell_words
from nhiaudit.enforce.verify import chained
from nhiaudit.graph.build import system_provider
from nhiaudit.graph.model import EdgeKind
from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.patterns import glob_covers
from nhiaudit.policy.model import WrittenPolicy

BOUNDARY_PREFIX = "nhiaudit-boundary"
BOUNDED_KINDS = (IdentityKind.ROLE, IdentityKind.USER)  # the principals AWS takes a permissions boundary on


def aws_patterns(policy: WrittenPolicy, systems: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """system -> its AWS resource patterns (systems without any are left out)."""
    out = {}
    for name in sorted(set(systems)):
        system = policy.systems.get(name)
        patterns = tuple(sorted({p for p in system.resources if system_provider(p) is Provider.AWS})) if system else ()
        if patterns:
            out[name] = patterns
    return out


MAX_LISTED_OUTSIDE = 20  # statements listed per boundary as access it removes outside may_reach


def outside_scope(identities: list[Identity], policies: Mapping[str, Policy], allowed: Iterable[str]) -> list[str]:
    """What the identities' policies allow on resources no may_reach pattern covers (logs, keys, queues...):
    the boundary removes it, whether or not a policy system names it. One line per statement and resource;
    each distinct policy is read once however many identities share it."""
    allowed = tuple(allowed)
    found: set[str] = set()
    for pid in sorted({pid for i in identities for pid in i.policy_ids}):
        policy = policies.get(pid)
        for n, st in enumerate(policy.statements if policy and policy.provider is Provider.AWS else ()):
            if st.effect != "Allow":
                continue
            acts = ", ".join(st.actions[:3]) + (f" (+{len(st.actions) - 3})" if len(st.actions) > 3 else "") \
                if st.actions else "all actions except " + ", ".join(st.not_actions[:3])
            where = f"{policy.name} statement {n}"
            if st.not_resources:
                found.add(f"{acts} on all resources except {', '.join(st.not_resources[:3])} ({where})")
            found.update(f"{acts} on {r} ({where})" for r in st.resources
                         if not any(glob_covers(p, r) for p in allowed))
    return sorted(found)


class BoundaryBuilder:
    def __init__(self, policy: WrittenPolicy, today: Analysis, policies: Mapping[str, Policy]) -> None:
        self._policy = policy
        self._today = today
        self._evaluator = today.context.evaluator
        self._policies = policies
        self._probes: dict[str, Policy] = {}
        self._probe_evaluator = Evaluator(self._probes, self._evaluator.catalogue)

    def build(self, integrations: tuple[str, ...], identities: list[Identity]) -> Guardrail:
        entries = [i for i in self._policy.integrations if i.name in integrations]
        forbidden = aws_patterns(self._policy, (s for i in entries for s in i.must_not_reach))
        allowed_systems = {s for i in entries for s in i.may_reach if not any(s in j.must_not_reach for j in entries)}
        may = aws_patterns(self._policy, allowed_systems)
        may_patterns = tuple(p for pats in may.values() for p in pats)
        roles, notes = self._chains(identities, allowed_systems, set(forbidden), may_patterns)
        outside = {name: pats for name, pats in aws_patterns(self._policy, self._policy.systems).items()
                   if name not in may}
        allowed: dict[str, frozenset[str]] = {}
        grants = []
        for system, patterns in may.items():
            actions: set[str] = set()
            for pattern in patterns:
                today = frozenset().union(*(self._evaluator.actions_on(_without_own_boundary(i), pattern)
                                            for i in identities))
                allowed[pattern] = allowed.get(pattern, frozenset()) | today
                actions |= today
            written = tuple(full_services(frozenset(actions), patterns, self._evaluator.catalogue))
            grants.append(SystemGrant(system, patterns, tuple(sorted(actions)), written))
        label = " + ".join(integrations)
        fitted = fit_boundary(
            {p: a for p, a in allowed.items() if a}, (p for pats in forbidden.values() for p in pats),
            self._evaluator.catalogue, lambda cand, covered, acts: self._reaches_nothing_new(cand, covered, acts,
                                                                                              outside),
            fixed=[assume_statement(roles)] if roles else [], limit=MANAGED_POLICY_LIMIT,
            label=f"permissions boundary of {label}")
        name = policy_name(BOUNDARY_PREFIX, "+".join(integrations))
        document, conditioned = with_conditions(fitted.document, required_conditions(entries, identities,
                                                                                     self._policies, may), may)
        notes += conditioned
        size = document_size(document)
        if size > MANAGED_POLICY_LIMIT:
            raise DocumentTooLarge(f"the permissions boundary of {label} is {size:,} characters with its required "
                                   f"request conditions, over AWS's {MANAGED_POLICY_LIMIT:,}")
        if not any(g.actions for g in grants) and not roles:
            notes.append("its identities reach none of its may_reach systems today: the boundary allows nothing")
        unlisted = outside_scope(identities, self._policies, (*may_patterns, *roles))
        if unlisted:
            more = f" (+{len(unlisted) - MAX_LISTED_OUTSIDE} more)" if len(unlisted) > MAX_LISTED_OUTSIDE else ""
            notes.append("also removes what no may_reach system covers: "
                         + "; ".join(unlisted[:MAX_LISTED_OUTSIDE]) + more)
        overlap = sorted({s for i in entries for s in i.may_reach if any(s in j.must_not_reach for j in entries)})
        if overlap:
            notes.append(f"{', '.join(overlap)}: allowed by one of its integrations, forbidden by another: denied")
        return Guardrail(
            kind=GuardrailKind.PERMISSIONS_BOUNDARY, name=name, integrations=integrations, document=document,
            size=size, limit=MANAGED_POLICY_LIMIT, compaction=fitted.compaction,
            targets=tuple(_target(i, name) for i in sorted(identities, key=lambda i: i.id)),
            grants=tuple(grants), denied_systems=tuple(sorted(forbidden)), notes=tuple(notes))

    def _chains(self, identities: list[Identity], allowed: set[str], forbidden: set[str],
                may_patterns: tuple[str, ...]) -> tuple[list[str], list[str]]:
        """The roles whose sts:AssumeRole the boundary keeps (the first role of a chain through which an identity
        reaches a may_reach system at its best level today, reaching nothing else), and notes on each chain."""
        through: dict[str, set[str]] = {}  # first role of a chain -> the may_reach systems reached through it
        for identity in identities:
            for system in sorted(allowed):
                found = self._today.reach.reach(identity.id, system)
                path = chained(found) if found is not None and found.hops[0].kind == EdgeKind.CAN_ASSUME else ()
                if path:
                    through.setdefault(path[0], set()).add(system)
        roles, notes = [], []
        for role, systems in sorted(through.items()):
            reached = ", ".join(sorted(systems))
            beyond = self._beyond(role, allowed, forbidden, may_patterns)
            if beyond is None:
                roles.append(role)
                notes.append(f"allows sts:AssumeRole on {role}: its identities reach may_reach {reached} with "
                             "their highest access today through it, and it reaches nothing outside may_reach")
            else:
                notes.append(f"does not allow sts:AssumeRole on {role}, through which its identities reach may_reach "
                             f"{reached} with their highest access today: {beyond}. Limit that role to may_reach "
                             "(its own permissions boundary) or remove the chain, then generate again")
        return roles, notes

    def _beyond(self, role_id: str, allowed: set[str], forbidden: set[str],
                may_patterns: tuple[str, ...]) -> str | None:
        """What the chained role reaches outside may_reach (None: nothing)."""
        role = self._today.estate.identities.get(role_id)
        if role is None or role.provider is not Provider.AWS or role.kind is not IdentityKind.ROLE:
            return "it is no AWS role of the estate"
        others = sorted(r.system + (" (must_not_reach)" if r.system in forbidden else "")
                        for r in self._today.reach.systems_for(role_id) if r.system not in allowed)
        if others:
            return f"it also reaches {', '.join(others)}"
        unlisted = outside_scope([role], self._policies, may_patterns)
        if unlisted:
            more = f" (+{len(unlisted) - 1} more)" if len(unlisted) > 1 else ""
            return f"its policies also allow {unlisted[0]}{more}, which no may_reach system covers"
        return None

    def _reaches_nothing_new(self, candidate: str, covered: tuple[str, ...], actions: tuple[str, ...],
                             outside: dict[str, tuple[str, ...]]) -> bool:
        """Does `actions` on `candidate` reach no system outside may_reach that `actions` on `covered` does not?"""
        wide = self._probe(actions, (candidate,))
        exact = self._probe(actions, covered)
        return all(self._probe_evaluator.reach(wide, pats) is None or self._probe_evaluator.reach(exact, pats)
                   is not None for pats in outside.values())

    def _probe(self, actions: tuple[str, ...], resources: tuple[str, ...]) -> Identity:
        pid = f"nhiaudit-enforce-probe:{len(self._probes)}"
        self._probes[pid] = Policy(id=pid, provider=Provider.AWS, name="probe", kind="boundary",
                                   statements=(Statement(actions=actions, resources=resources),))
        return Identity(id=pid, provider=Provider.AWS, account="", kind=IdentityKind.ROLE, name="probe",
                        policy_ids=(pid,))


def is_generated_boundary(policy_id: str | None) -> bool:
    """A boundary `enforce` generated before (an ARN ending `:policy/nhiaudit-boundary-...`)."""
    return bool(policy_id) and policy_id.rpartition(":policy/")[2].startswith(f"{BOUNDARY_PREFIX}-")


def _without_own_boundary(identity: Identity) -> Identity:
    """Regenerating: a boundary generated earlier is the one being replaced, so today's actions are read
    without it. Otherwise it would hold the scope at what it allowed once, and a permission added since inside
    may_reach would never reach the new boundary (nor `--check`'s attention). Any other boundary stays in force."""
    if is_generated_boundary(identity.boundary_policy_id):
        return identity.model_copy(update={"boundary_policy_id": None})
    return identity


def _target(identity: Identity, boundary_name: str) -> Target:
    kind = "role" if identity.kind is IdentityKind.ROLE else "user"
    arn = f"arn:aws:iam::{identity.account}:policy/{boundary_name}"
    command = (shell_words("aws", "iam", f"put-{kind}-permissions-boundary", f"--{kind}-name", identity.name,
                           "--permissions-boundary", arn)
               if is_iam_name(identity.name) and identity.account.isdigit() else None)
    return Target(identity_id=identity.id, name=identity.name, kind=kind, account=identity.account,
                  existing_boundary=identity.boundary_policy_id, command=command)
