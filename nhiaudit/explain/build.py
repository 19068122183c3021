"""Build explanations from the prepared analysis context: the four questions per AI access path, and the
reverse question (who can reach a system, and how)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from nhiaudit.explain.guardrails import guardrail_notes, system_removals
from nhiaudit.explain.model import (
    VERDICT_RANK,
    ActorView,
    AuditView,
    CanReach,
    CredentialView,
    Explanation,
    FindingView,
    HopView,
    IdentityView,
    IntegrationReach,
    IntegrationVerdict,
    PathView,
    ReacherView,
    ReachView,
    TaskView,
    WorkloadView,
)
from nhiaudit.explain.target import Target
from nhiaudit.facts.audit_coverage import AUDIT_KINDS, assess
from nhiaudit.facts.classification import Classification
from nhiaudit.facts.context import FactContext, days_between
from nhiaudit.facts.credential import shared_fingerprints
from nhiaudit.facts.identity import ai_access, classification_of, session_seconds
from nhiaudit.findings import Finding
from nhiaudit.graph.model import EdgeKind, NodeKind, identity_node
from nhiaudit.graph.reach import SystemReach
from nhiaudit.inventory.model import STATIC_CREDENTIAL_TYPES, Credential, Identity, TrustKind
from nhiaudit.policy.model import Integration

_ACTOR_EDGES = {EdgeKind.CAN_ASSUME.value, EdgeKind.CAN_IMPERSONATE.value, EdgeKind.TRUSTED_BY.value}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def verdict(integration: Integration | None, system: str) -> str:
    if integration is None:
        return "undeclared"
    if system in integration.must_not_reach:
        return "must_not_reach"
    if system not in integration.may_reach:
        return "not_in_may_reach"
    return "allowed"


def _label(ctx: FactContext, node: str) -> str:
    data = ctx.estate.graph.nodes.get(node, {})
    return str(data.get("label") or data.get("ref") or node)


def hop_views(ctx: FactContext, sr: SystemReach) -> tuple[HopView, ...]:
    return tuple(HopView(h.source, _label(ctx, h.source), h.target, _label(ctx, h.target), h.kind, h.reason,
                         h.access) for h in sr.hops)


def identity_view(identity: Identity, actors: tuple[ActorView, ...] = (),
                  classification: Classification | None = None) -> IdentityView:
    found = classification or Classification("unknown", "none", ())
    return IdentityView(
        id=identity.id, name=identity.name, provider=identity.provider.value, account=identity.account,
        kind=identity.kind.value, owner=identity.owner or identity.tags.get("owner") or None,
        created=_iso(identity.created), last_activity=_iso(identity.last_activity),
        disabled=identity.disabled, acted_as_by=actors, classification=found.cls,
        classification_source=found.source, classification_reasons=found.reasons,
        max_session_seconds=session_seconds(identity),
    )


def _actors(ctx: FactContext, identity: Identity, service_trusts: dict[str, list]) -> tuple[ActorView, ...]:
    g = ctx.estate.graph
    node = identity_node(identity.id)
    out = [ActorView(str(g.nodes[u].get("ref") or u), _label(ctx, u), d["kind"], d.get("reason", ""))
           for u, _, d in g.in_edges(node, data=True) if d.get("kind") in _ACTOR_EDGES]
    # Cloud services (lambda.amazonaws.com...) are not graph nodes but answer "who calls" for roles.
    out.extend(ActorView(t.principal, t.principal, "service_trust", t.reason)
               for t in service_trusts[identity.id])
    return tuple(sorted(out, key=lambda a: (a.kind, a.principal)))


def _task(ctx: FactContext, integration: Integration | None) -> TaskView:
    if integration is None:
        return TaskView(declared=False)
    idx = ctx.integrations[integration.name][0]
    line = ctx.policy.line_of("integrations", idx) if ctx.policy.source_file else None
    return TaskView(declared=True, integration=integration.name, kind=integration.kind,
                    owner=integration.owner, purpose=integration.purpose, environment=integration.environment,
                    may_reach=tuple(integration.may_reach), must_not_reach=tuple(integration.must_not_reach),
                    policy_line=line)


def _credential(ctx: FactContext, cred: Credential, identity: Identity, integration: Integration | None,
                holders: dict[str, list[str]]) -> CredentialView:
    now = ctx.now
    rules = ctx.policy.effective_credentials(integration)
    static = cred.type in STATIC_CREDENTIAL_TYPES
    age = days_between(now, cred.created)
    since_use = days_between(now, cred.last_used)
    others = [i for i in holders.get(cred.fingerprint or "", []) if i != identity.id]
    sharing = set(ctx.estate.bindings.get(identity.id, []))
    for other in others:
        sharing.update(ctx.estate.bindings.get(other, []))
    sharing.discard(integration.name if integration else "")
    forbidden = static and rules.static_keys == "forbidden"
    scope = f"integration {integration.name}" if integration else "the policy defaults"
    notes = []
    if forbidden:
        notes.append(f"static keys are forbidden for {scope}")
    if static and age is not None and rules.max_age_days is not None and age > rules.max_age_days:
        notes.append(f"{age} days old; {scope} allows {rules.max_age_days}")
    if rules.require_expiry and cred.expires is None:
        notes.append(f"no expiry; {scope} requires one")
    unused = since_use if since_use is not None else age
    limit = rules.max_unused_days
    if (cred.active and unused is not None and limit is not None and unused > limit
            and (age or 0) >= (rules.grace_days or 0)):
        notes.append(f"unused for {unused} days; {scope} allows {rules.max_unused_days}")
    if sharing:
        notes.append("shared with integration(s) " + ", ".join(sorted(sharing)))
    return CredentialView(
        id=cred.id, type=cred.type.value, static=static, active=cred.active, managed_by=cred.managed_by,
        created=_iso(cred.created), age_days=age, expires=_iso(cred.expires),
        days_to_expiry=(cred.expires - now).days if cred.expires else None, last_used=_iso(cred.last_used),
        days_since_use=since_use, last_used_service=cred.last_used_service,
        shared_with_integrations=tuple(sorted(sharing)), shared_with_identities=tuple(others),
        forbidden=forbidden, policy_notes=tuple(notes),
    )


def _reach(ctx: FactContext, identity: Identity, integration: Integration | None) -> tuple[ReachView, ...]:
    views = []
    for sr in ctx.reach.systems_for(identity.id):
        system = ctx.policy.systems.get(sr.system)
        views.append(ReachView(
            system=sr.system, access=sr.access.value, verdict=verdict(integration, sr.system),
            via_chain=sr.via_chain, hops=hop_views(ctx, sr),
            environment=(system.environment or "") if system else "",
            classification=(system.classification or "") if system else "",
            system_kind=(system.kind or "") if system else "",
        ))
    return tuple(sorted(views, key=lambda r: (VERDICT_RANK[r.verdict], r.system)))


def _audit(ctx: FactContext, identity: Identity, integration: Integration | None,
           reach: tuple[ReachView, ...]) -> tuple[AuditView, ...]:
    rules = ctx.policy.effective_audit(integration)
    found = assess(ctx, identity, set(AUDIT_KINDS), [{"system": r.system, "access": r.access} for r in reach])
    recorded = {True: "yes", False: "no", None: "unknown"}
    return tuple(AuditView(kind=a.kind, recorded=recorded[a.verdict], requirement=str(getattr(rules, a.kind)),
                           detail=a.detail, where=a.where, system=a.system) for a in found)


def finding_view(f: Finding) -> FindingView:
    return FindingView(rule_id=f.rule_id, severity=f.severity.value, category=f.category.value,
                       status=f.status.value, message=f.message,
                       identity=f.identity.id if f.identity else None, integration=f.integration,
                       credential_id=f.credential_id, fingerprint=f.fingerprint)


def _concerns(f: Finding, target: Target, identity_ids: set[str]) -> bool:
    identity = f.identity.id if f.identity else None
    if target.kind is NodeKind.INTEGRATION:
        return f.integration == target.key or (identity in identity_ids and f.integration is None)
    return identity == target.key


def _paths_of(ctx: FactContext, target: Target) -> list[tuple[Identity, Integration | None]]:
    if target.kind is NodeKind.INTEGRATION:
        integration = ctx.integrations[target.key][1]
        ids = sorted(i for i, names in ctx.estate.bindings.items() if target.key in names)
        return [(ctx.estate.identities[i], integration) for i in ids]
    identity = ctx.estate.identities[target.key]
    return [(identity, i) for i in ctx.integrations_of(identity)] or [(identity, None)]


def _notes(ctx: FactContext, target: Target, paths: list) -> list[str]:
    notes = []
    if target.kind is NodeKind.INTEGRATION:
        idx = ctx.integrations[target.key][0]
        for i, _, pattern in ctx.estate.unmatched_bindings:
            if i == idx:
                notes.append(f"the policy entry lists {pattern}, which matches no identity in the inventory")
        if not paths:
            notes.append("no identity in the inventory serves this integration")
    if not ctx.estate.snapshot.complete:
        notes.append("collection was incomplete: the inventory may lack identities, grants or trusts")
    return notes


def explain(ctx: FactContext, target: Target, findings: list[Finding] | None) -> Explanation:
    """The four questions for every AI access path of `target`, with the findings that concern it."""
    if target.kind not in (NodeKind.INTEGRATION, NodeKind.IDENTITY):
        raise ValueError(f"cannot explain a {target.kind.value}")
    pairs = _paths_of(ctx, target)
    holders = shared_fingerprints(ctx)
    wanted = {identity.id for identity, _ in pairs}
    service_trusts: dict[str, list] = defaultdict(list)
    for trust in ctx.estate.snapshot.trusts:
        if trust.kind is TrustKind.SERVICE and trust.identity_id in wanted:
            service_trusts[trust.identity_id].append(trust)
    concerning = [f for f in findings or [] if _concerns(f, target, wanted)]
    placed: set[str] = set()
    paths = []
    for identity, integration in pairs:
        name = integration.name if integration else None
        mine = [f for f in concerning if f.fingerprint not in placed and f.identity
                and f.identity.id == identity.id and f.integration in (name, None)]
        placed.update(f.fingerprint for f in mine)
        ai = ai_access(ctx, identity)
        workloads = tuple(WorkloadView(w.id, w.kind, w.name, w.region)
                          for w in ctx.workloads_by_identity.get(identity.id, []))
        reach = _reach(ctx, identity, integration)
        paths.append(PathView(
            identity=identity_view(identity, _actors(ctx, identity, service_trusts),
                                   classification_of(ctx, identity)),
            task=_task(ctx, integration),
            workloads=workloads,
            credentials=tuple(_credential(ctx, c, identity, integration, holders)
                              for c in ctx.credentials_by_identity.get(identity.id, [])),
            can_invoke_ai=bool(ai),
            ai_access=tuple(dict.fromkeys(str(a.get("reason", "")) for a in ai)),
            reach=reach,
            findings=tuple(finding_view(f) for f in mine),
            model_callers=workloads if ai or integration else (),
            audit=_audit(ctx, identity, integration, reach),
        ))
    return Explanation(
        target_kind=target.kind.value, target=target.key, target_label=target.label,
        as_of=ctx.as_of.isoformat(), policy_file=ctx.policy.source_file or None,
        findings_included=findings is not None, paths=tuple(paths),
        other_findings=tuple(finding_view(f) for f in concerning if f.fingerprint not in placed),
        notes=tuple(_notes(ctx, target, paths))
        + tuple(n for identity in {i.id: i for i, _ in pairs}.values() for n in guardrail_notes(ctx, identity)),
    )


def can_reach(ctx: FactContext, system: str) -> CanReach:
    """Every identity (and so every integration) that can reach `system`, with its path and verdict."""
    spec = ctx.policy.systems[system]
    reachers = []
    by_integration: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for iid in ctx.reach.identities_reaching(system):
        sr = ctx.reach.reach(iid, system)
        if sr is None:  # pragma: no cover - identities_reaching and reach agree by construction
            continue
        identity = ctx.estate.identities[iid]
        verdicts = tuple(IntegrationVerdict(i.name, verdict(i, system))
                         for i in ctx.integrations_of(identity))
        for v in verdicts:
            by_integration[v.integration].append((iid, v.verdict))
        worst = min((v.verdict for v in verdicts), key=VERDICT_RANK.__getitem__, default="undeclared")
        reachers.append(ReacherView(identity=identity_view(identity, (), classification_of(ctx, identity)),
                                    access=sr.access.value,
                                    via_chain=sr.via_chain, verdict=worst, integrations=verdicts,
                                    hops=hop_views(ctx, sr)))
    access_rank = {"admin": 0, "write": 1, "read": 2}
    reachers.sort(key=lambda r: (VERDICT_RANK[r.verdict], access_rank.get(r.access, 3), r.via_chain,
                                 r.identity.id))
    integrations = sorted(
        (IntegrationReach(name, min((v for _, v in items), key=VERDICT_RANK.__getitem__),
                          tuple(sorted(i for i, _ in items))) for name, items in by_integration.items()),
        key=lambda x: (VERDICT_RANK[x.verdict], x.integration),
    )
    return CanReach(
        system=system, environment=spec.environment or "", classification=spec.classification or "",
        system_kind=spec.kind or "", as_of=ctx.as_of.isoformat(), policy_file=ctx.policy.source_file or None,
        identities=tuple(reachers), integrations=tuple(integrations),
        by_verdict=dict(Counter(r.verdict for r in reachers)),
        by_access=dict(Counter(r.access for r in reachers)),
        notes=tuple(n for identity in ctx.estate.identities.values()
                    for n in system_removals(ctx, identity, system, identity.id)),
    )
