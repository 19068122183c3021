"""Permission questions answered once per distinct (policy ids, boundary) combination.

Many identities share the same managed policies, so admin rights, AI capability and the escalation
techniques an identity's permissions allow are evaluated once per combination and shared.
Escalation techniques are pre-filtered per policy on the raw statements (an over-approximation:
Denies, boundaries and conditions only remove), and only the survivors are evaluated precisely. When the
policies' conditions test the identity (MFA, its tags), identities that differ on those facts get their
own profile (`Evaluator.context_key`). A technique passing a role to a service asks for `iam:PassRole`
with that request's condition keys (`permissions/passed_role.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nhiaudit.facts.escalation_data import EscalationCatalogue, Technique
from nhiaudit.forked import Tasks, runs
from nhiaudit.inventory.model import Identity, Policy, Provider
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.passed_role import passed_role_request
from nhiaudit.permissions.patterns import glob_match, is_broad_resource
from nhiaudit.permissions.results import StatementEvidence

Key = tuple[tuple[str, ...], str | None, tuple[object, ...]]


@dataclass(frozen=True)
class TechniqueMatch:
    technique: Technique
    evidence: dict[str, tuple[StatementEvidence, ...]]  # required action -> allowing statements


@dataclass(frozen=True)
class Profile:
    admin: StatementEvidence | None
    ai: tuple[StatementEvidence, ...]
    techniques: tuple[TechniqueMatch, ...]


class Prefetch:
    """Profiles being built in forked workers (`Profiles.begin_prefetch`); a context manager (forked.Tasks)."""

    def __init__(self, profiles: Profiles, tasks: Tasks[dict[Key, Profile]]) -> None:
        self._profiles, self._tasks = profiles, tasks

    @property
    def profiles(self) -> Profiles:
        return self._profiles

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tasks.__exit__(*exc)

    def finish(self) -> None:
        """Build what no worker has taken, then take in the workers' profiles."""
        for built in self._tasks.finish():
            self._profiles._cache.update(built)


class Profiles:
    def __init__(self, evaluator: Evaluator, policies: Iterable[Policy], catalogue: EscalationCatalogue,
                 ai_actions: dict[Provider, tuple[str, ...]]) -> None:
        self._evaluator = evaluator
        self._policies = {p.id: p for p in policies}
        self._catalogue = catalogue
        self._ai_actions = ai_actions
        self._actions = tuple(sorted(catalogue.actions()))
        self._lower = {a: a.lower() for a in self._actions}
        self._by_pattern: dict[str, frozenset[str]] = {}
        self._by_policy: dict[str, frozenset[str]] = {}
        self._cache: dict[Key, Profile] = {}
        self._keys: dict[str, tuple[Identity, Key]] = {}
        self._wild_by_policy: dict[str, tuple[tuple[str, str], ...]] = {}
        self._wild_cache: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}

    def get(self, identity: Identity) -> Profile:
        key = self._key(identity)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._build(identity)
        return hit

    def _key(self, identity: Identity) -> Key:
        seen = self._keys.get(identity.id)  # callers ask several times per identity; its key is fixed
        if seen is None or seen[0] is not identity:
            seen = self._keys[identity.id] = (identity, (identity.policy_ids, identity.boundary_policy_id,
                                                         self._evaluator.context_key(identity)))
        return seen[1]

    def prefetch(self, identities: Iterable[Identity], jobs: int) -> None:
        """Build the profiles of all these identities now, in `jobs` processes (forked.py)."""
        with self.begin_prefetch(identities, jobs) as pending:
            pending.finish()

    def begin_prefetch(self, identities: Iterable[Identity], jobs: int) -> Prefetch:
        """Start building the profiles of all these identities in `jobs - 1` forked workers; the returned
        Prefetch's `finish()` builds what is left here and takes in the workers' profiles. Between the two,
        this process may do other work (analysis.py: the trust edges): the distinct combinations are split
        into chunks that the workers and then this process take from one queue, so none waits for another."""
        todo: dict[Key, Identity] = {}
        for identity in identities:
            key = self._key(identity)
            if key not in self._cache:
                todo.setdefault(key, identity)
        items = list(todo.items())
        # A few hundred profiles take less time to build here than a worker takes to start and answer.
        processes = max(1, min(jobs, len(items) // 200))
        pieces = runs(items) if processes > 1 else [items]
        return Prefetch(self, Tasks(lambda task: {key: self._build(identity) for key, identity in pieces[task]},
                                    len(pieces), processes))

    def _build(self, identity: Identity) -> Profile:
        ev = self._evaluator
        admin = ev.is_admin(identity)
        ai_actions = self._ai_actions.get(identity.provider, ())
        ai = tuple(ev.allowed_actions(identity, ai_actions)) if ai_actions else ()
        techniques: list[TechniqueMatch] = []
        possible = (frozenset().union(*(self._policy_actions(pid) for pid in identity.policy_ids))
                    if admin is None else frozenset())
        if possible:  # most identities hold no escalation-relevant action at all
            for technique in self._catalogue.techniques(identity.provider):
                if not possible.issuperset(technique.requires):
                    continue
                match = self._match(identity, technique)
                if match is not None:
                    techniques.append(match)
        return Profile(admin, ai, tuple(techniques))

    def _match(self, identity: Identity, technique: Technique) -> TechniqueMatch | None:
        evidence = {}
        spec = technique.target
        for action in technique.requires:
            request = (passed_role_request(spec.service or "")
                       if spec is not None and spec.type == "passed_role" and action == spec.via else None)
            found = self._evaluator.allowed_actions(identity, (action,), technique.resources.get(action, "*"),
                                                    request)
            if not found:
                return None
            evidence[action] = tuple(found)
        return TechniqueMatch(technique, evidence)

    # --- the cheap per-policy pre-filter ---------------------------------------------------------------

    def _policy_actions(self, policy_id: str) -> frozenset[str]:
        hit = self._by_policy.get(policy_id)
        if hit is not None:
            return hit
        out: set[str] = set()
        policy = self._policies.get(policy_id)
        for st in policy.statements if policy else ():
            if st.effect != "Allow":
                continue
            if st.not_actions:
                excluded = frozenset().union(*(self._pattern_actions(p) for p in st.not_actions))
                out.update(a for a in self._actions if a not in excluded)
            else:
                for pattern in st.actions:
                    out.update(self._pattern_actions(pattern))
        result = self._by_policy[policy_id] = frozenset(out)
        return result

    def _pattern_actions(self, pattern: str) -> frozenset[str]:
        hit = self._by_pattern.get(pattern)
        if hit is None:
            lowered = pattern.lower()
            hit = self._by_pattern[pattern] = frozenset(
                a for a in self._actions if glob_match(lowered, self._lower[a])
            )
        return hit

    # --- service-wide wildcards, as written -------------------------------------------------------------

    def wildcards(self, identity: Identity) -> tuple[list[str], list[str]]:
        """Wildcard action patterns (`*`, `s3:*`, `Microsoft.Storage/*`, NotAction) granted on every resource
        of their scope, and the statements granting them; as attached, before boundaries."""
        key = identity.policy_ids
        hit = self._wild_cache.get(key)
        if hit is None:
            found = [w for pid in key for w in self._policy_wildcards(pid)]
            hit = self._wild_cache[key] = (sorted({p for p, _ in found}), list(dict.fromkeys(r for _, r in found)))
        return hit

    def _policy_wildcards(self, policy_id: str) -> tuple[tuple[str, str], ...]:
        hit = self._wild_by_policy.get(policy_id)
        if hit is not None:
            return hit
        out: list[tuple[str, str]] = []
        policy = self._policies.get(policy_id)
        for i, st in enumerate(policy.statements if policy else ()):
            if st.effect != "Allow" or not (st.not_resources or any(is_broad_resource(r) for r in st.resources)):
                continue
            ref = f"policy {policy.name} ({policy.id}) statement {st.sid or i}"  # type: ignore[union-attr]
            if st.not_actions:
                out.append(("NotAction", f"{ref} allows every action except {', '.join(st.not_actions)}"))
                continue
            for pattern in st.actions:
                if _service_wildcard(pattern):
                    out.append((pattern, f"{ref} allows {pattern} on {', '.join(st.resources)}"))
        result = self._wild_by_policy[policy_id] = tuple(out)
        return result


def _service_wildcard(pattern: str) -> bool:
    """`*`, `svc:*`, `Microsoft.Svc/*`, `svc.*`: every action of a service (or of all of them)."""
    if pattern in ("*", "*:*"):
        return True
    _, sep, tail = pattern.partition(":")
    if sep:
        return tail == "*"
    return pattern.endswith(("/*", ".*")) and pattern.count("/") <= 1 and "*" not in pattern[:-1]
