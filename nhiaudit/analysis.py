"""The analysis pipeline: snapshot + policy -> graph -> facts -> rules -> findings. Never calls a cloud."""

from __future__ import annotations

import contextlib
import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as day_time
from typing import Any

from nhiaudit.facts.context import FactContext, load_ai_capability
from nhiaudit.facts.credential import credential_facts, shared_fingerprints
from nhiaudit.facts.escalation import adopt_profiles, estate_profiles, new_profiles
from nhiaudit.facts.gcp_facts import principal_facts
from nhiaudit.facts.identity import identity_facts
from nhiaudit.facts.policy_entries import binding_facts, exception_facts, integration_facts
from nhiaudit.facts.profiles import Prefetch
from nhiaudit.facts.schema import SubjectKind
from nhiaudit.facts.sighting import sighting_facts
from nhiaudit.findings import Finding
from nhiaudit.forked import can_fork, requested_jobs, run_tasks, runs
from nhiaudit.gc_pause import paused_gc
from nhiaudit.graph.build import EstateGraph, build_graph
from nhiaudit.graph.reach import Reachability
from nhiaudit.inventory.model import Credential, Identity, Trust
from nhiaudit.inventory.resources import ResourcePolicy
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.packing import Packed, pack, unpack
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.principal_facts import principal_facts as aws_principal_facts
from nhiaudit.permissions.scopes import estate_scopes
from nhiaudit.policy.model import WrittenPolicy
from nhiaudit.report import AccessPath
from nhiaudit.rules_engine.engine import RuleRunner
from nhiaudit.rules_engine.findings_builder import FindingsBuilder
from nhiaudit.rules_engine.loader import CompiledRule

MIN_IDENTITIES_PER_JOB = 500


@dataclass
class StageTimer:
    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, fn, *args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass
class Analysis:
    estate: EstateGraph
    reach: Reachability
    context: FactContext
    findings: list[Finding]
    access_paths: list[AccessPath]
    timer: StageTimer


def _graph_and_reach(snapshot: Snapshot, policy: WrittenPolicy, evaluator: Evaluator, jobs: int,
                     beside_trust: Callable[[], object] | None) -> tuple[EstateGraph, Reachability]:
    estate = build_graph(snapshot, policy, evaluator, jobs, beside_trust)
    return estate, Reachability(estate)


def prepare(snapshot: Snapshot, policy: WrittenPolicy, as_of: date,
            timer: StageTimer | None = None, gcp_domains: tuple[str, ...] = (), jobs: int = 1,
            beside_trust: Callable[[Evaluator], object] | None = None) -> FactContext:
    """Graph and reachability: shared by scan, explain and graph. `gcp_domains` (--gcp-domain) add to the
    policy's `defaults.gcp.domains`: an analysis option, as valid for snapshots and imports as for live data.
    `jobs`: processes for the graph's reach edges (see _jobs). `beside_trust(evaluator)` is called when only
    this process works, on the trust edges (graph/build.py): the moment to start work in other processes."""
    timer = timer or StageTimer()
    policies = {p.id: p for p in snapshot.policies}
    trusts_of: dict[str, list[Trust]] = defaultdict(list)
    for trust in snapshot.trusts:
        trusts_of[trust.identity_id].append(trust)
    org_ids = {s.account: s.organization_id for s in snapshot.sources if s.organization_id}  # aws:PrincipalOrgID
    for org in snapshot.aws_organizations:  # the organisation's own listing of its accounts says it too
        org_ids.update((a.account, org.id) for a in org.accounts if a.account not in org_ids)
    # GCP: folder/organisation ancestry of the projects; binding conditions evaluated at the end of --as-of.
    # AWS: condition keys of each identity's requests (MFA, its tags) from its own record and trust policy.
    evaluator = Evaluator(policies, scopes=estate_scopes(snapshot.sources),
                          now=datetime.combine(as_of, day_time(23, 59, 59), UTC),
                          principal_facts=lambda ident: aws_principal_facts(ident, trusts_of.get(ident.id, ()),
                                                                            org_ids.get(ident.account)),
                          organizations=snapshot.aws_organizations,  # SCPs and RCPs (permissions/guardrails.py)
                          resource_account=bucket_owners(snapshot.resource_policies))
    with paused_gc():
        # One timed stage: stage progress moves on to the facts when it ends.
        estate, reach = timer.run("graph", _graph_and_reach, snapshot, policy, evaluator, jobs,
                                  (lambda: beside_trust(evaluator)) if beside_trust else None)
    return FactContext(estate=estate, reach=reach, evaluator=evaluator, as_of=as_of,
                       ai_capability=load_ai_capability(), extra_gcp_domains=tuple(gcp_domains))


def bucket_owners(records: Iterable[ResourcePolicy]) -> Callable[[str], str | None]:
    """S3 ARNs name no account: the owner of a bucket (or of its objects) the snapshot holds a resource-policy
    record of, so RCPs of that account cap requests to it. Any other ARN: None (its own account field counts)."""
    owners = {r.id: r.account for r in records if r.service == "s3"}

    def owner(arn: str) -> str | None:
        return owners.get(arn.split("/", 1)[0]) if arn.startswith("arn:") and ":s3:::" in arn else None

    return owner


def _access_path(facts: dict[str, Any], integration: str | None, ctx: FactContext) -> AccessPath:
    identity = ctx.estate.identities[facts["id"]]
    reachable = [
        {"system": r["system"], "access": r["access"], "via_chain": r["via_chain"],
         "verdict": next((o["verdict"] for o in facts["out_of_scope"]
                          if o["system"] == r["system"] and o["integration"] == integration),
                         "allowed" if integration else "undeclared"),
         "path": ctx.reach.reach(identity.id, r["system"]).path_text()}
        for r in facts["reach"]
    ]
    return AccessPath(
        integration=integration, identity=identity.id, identity_name=identity.name,
        provider=identity.provider.value,
        workloads=[f"{w['kind']}:{w['name']}" for w in facts["workloads"]],
        credentials=facts["credentials"], reachable_systems=reachable, can_invoke_ai=facts["can_invoke_ai"],
    )


def analyse(snapshot: Snapshot, policy: WrittenPolicy, as_of: date, rules: list[CompiledRule],
            timer: StageTimer | None = None, gcp_domains: tuple[str, ...] = ()) -> Analysis:
    with paused_gc():
        return _analyse(snapshot, policy, as_of, rules, timer or StageTimer(), gcp_domains)


@dataclass(frozen=True)
class _Share:
    """One process's part of the per-subject work: a run of the identities and a run of the credentials."""

    identities: list[Identity]
    credentials: list[Credential]


def _share_findings(ctx: FactContext, runner: RuleRunner, builder: FindingsBuilder, share: _Share,
                    shared_keys: dict[str, list[str]], timer: StageTimer) -> tuple[list[Finding], list[AccessPath]]:
    """Findings and access paths of one share's identities and credentials (in a worker, or in this process)."""
    access_paths: list[AccessPath] = []

    def identity_subjects() -> Iterator[dict[str, Any]]:
        for identity in share.identities:
            start = time.perf_counter()
            facts = identity_facts(ctx, identity)
            # Undeclared AI access paths (the shadow-AI panel) are identities with explicit AI permissions,
            # as for the ai-undeclared rule: an admin whose only route to models is `*` is reported once,
            # by admin-access ("can call AI models: yes"), not listed as shadow AI without a finding.
            if facts["declared"] or facts["ai_explicit"]:
                for name in facts["integrations"] or [None]:
                    access_paths.append(_access_path(facts, name, ctx))
            timer.seconds["facts"] = timer.seconds.get("facts", 0.0) + time.perf_counter() - start
            yield facts

    findings: list[Finding] = []
    if share.identities:
        subjects = identity_subjects()
        findings.extend(builder.build(v) for v in runner.run(SubjectKind.IDENTITY, subjects))
        for _ in subjects:  # no identity rules: the facts are still needed for the access paths
            pass
    if share.credentials:
        identities = ctx.estate.identities
        findings.extend(builder.build(v) for v in runner.run(SubjectKind.CREDENTIAL, (
            credential_facts(ctx, cred, identities.get(cred.identity_id), shared_keys)
            for cred in share.credentials)))
    return findings, access_paths


def _subject_tasks(snapshot: Snapshot, jobs: int) -> list[_Share]:
    """The per-subject work in runs small enough that processes taking them in turn end together."""
    if jobs <= 1:
        return [_Share(snapshot.identities, snapshot.credentials)]
    return ([_Share(run, []) for run in runs(snapshot.identities)]
            + [_Share([], run) for run in runs(snapshot.credentials)])


def _packed(results: tuple[list[Finding], list[AccessPath]]) -> tuple[Packed[Finding], Packed[AccessPath]]:
    """A task's findings and access paths, packed to cross the pipe from a worker (packing.py)."""
    findings, access_paths = results
    return pack(Finding, findings), pack(AccessPath, access_paths)


def _unpacked(packed: tuple[Packed[Finding], Packed[AccessPath]]) -> tuple[list[Finding], list[AccessPath]]:
    return unpack(packed[0]), unpack(packed[1])


def _warm(ctx: FactContext, snapshot: Snapshot, jobs: int, started: list[Prefetch]) -> None:
    """Build the estate-wide caches (escalation targets, trust index, permission profiles...) before forking,
    once, rather than once in every worker: one identity and one credential of each provider build them.
    The permission profiles of all identities, most of that work, are built in `jobs` processes: `started`
    beside the trust edges (finished here), else now."""
    for pending in started:
        pending.finish()
        adopt_profiles(ctx, pending.profiles)
    estate_profiles(ctx).prefetch(snapshot.identities, jobs)
    shared_keys = shared_fingerprints(ctx)
    for provider in sorted({i.provider for i in snapshot.identities}):
        identity_facts(ctx, next(i for i in snapshot.identities if i.provider is provider))
    for cred in snapshot.credentials[:1]:
        credential_facts(ctx, cred, ctx.estate.identities.get(cred.identity_id), shared_keys)


def _jobs(snapshot: Snapshot) -> int:
    """Processes for the per-subject work: below a few hundred identities each, forking costs more than it saves."""
    if not can_fork():
        return 1
    return max(1, min(requested_jobs(), len(snapshot.identities) // MIN_IDENTITIES_PER_JOB))


def _analyse(snapshot: Snapshot, policy: WrittenPolicy, as_of: date, rules: list[CompiledRule],
             timer: StageTimer, gcp_domains: tuple[str, ...]) -> Analysis:
    jobs = _jobs(snapshot)
    with contextlib.ExitStack() as running:
        started: list[Prefetch] = []

        def start_profiles(evaluator: Evaluator) -> None:
            """The permission profiles, begun in forked workers while this process builds the trust edges."""
            profiles = new_profiles(evaluator, snapshot.policies, load_ai_capability())
            started.append(running.enter_context(profiles.begin_prefetch(snapshot.identities, jobs)))

        ctx = prepare(snapshot, policy, as_of, timer, gcp_domains, jobs,
                      beside_trust=start_profiles if jobs > 1 else None)
        runner = RuleRunner(rules)
        builder = FindingsBuilder(policy, ctx.estate.identities, as_of)
        start = time.perf_counter()
        if jobs > 1:
            _warm(ctx, snapshot, jobs, started)
    shared_keys = shared_fingerprints(ctx)
    tasks = _subject_tasks(snapshot, jobs)
    share_work = functools.partial(_share_findings, ctx, runner, builder, shared_keys=shared_keys, timer=timer)
    findings: list[Finding] = []
    access_paths: list[AccessPath] = []
    for found, paths in run_tasks(lambda task: share_work(tasks[task]), len(tasks), jobs, _packed, _unpacked):
        findings.extend(found)
        access_paths.extend(paths)  # in task order: the order of the identities
    # Estate-wide subjects are few.
    estate_subjects = {
        SubjectKind.BINDING: lambda: binding_facts(ctx),
        SubjectKind.INTEGRATION: lambda: integration_facts(ctx),
        SubjectKind.EXCEPTION: lambda: exception_facts(ctx),
        SubjectKind.PRINCIPAL: lambda: principal_facts(ctx),
        SubjectKind.SIGHTING: lambda: sighting_facts(ctx),
    }
    for kind, source in estate_subjects.items():
        findings.extend(builder.build(v) for v in runner.run(kind, source()))
    elapsed = time.perf_counter() - start
    # With workers, "facts" is this process's share only and "rules" includes waiting for the workers.
    timer.seconds["rules"] = timer.seconds.get("rules", 0.0) + elapsed - timer.seconds.get("facts", 0.0)
    findings = timer.run("findings", builder.apply_exceptions, findings)
    # A category is a StrEnum: it orders as its value, without Enum's `.value` (a Python call per finding).
    findings.sort(key=lambda f: (-f.severity.rank, f.category, f.identity.id if f.identity else "",
                                 f.fingerprint))
    return Analysis(ctx.estate, ctx.reach, ctx, findings, access_paths, timer)
