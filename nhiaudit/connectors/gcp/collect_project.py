"""Collect one GCP project: a fixed set of read calls, each failure a CollectionIssue, never fatal.

A 403 on one API (say Cloud Asset) costs what that API gives and nothing else. Folder and organization
data (policies, custom roles, deny policies) and role definitions are read once per run and shared by
every project below them (RunCache). Only ReadOnlyViolation (a bug) and interrupts stop the project.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from nhiaudit.connectors.gcp import calls
from nhiaudit.connectors.gcp.calls import TypedClients
from nhiaudit.connectors.gcp.clients import (
    GcpClients,
    RawDataError,
    ReadOnlyViolation,
    call_failures,
    describe_error,
)
from nhiaudit.connectors.gcp.organization import collect_organization
from nhiaudit.connectors.gcp.raw import WORKLOAD_LISTINGS, RawPolicy, RawProject
from nhiaudit.connectors.gcp.transform_accounts import KEY_ACTIVITY
from nhiaudit.inventory.model import CollectionIssue, Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot

T = TypeVar("T")

MISSING_PROJECT = "the project's number and ancestry (folder and organization bindings, deny policies, roles)"
MISSING_FOLDER = "ancestors above {0} (their bindings and deny policies)"
MISSING_SAS = "service accounts, and so their keys, IAM policies and last use"
MISSING_KEYS = "service account keys"
MISSING_SA_POLICY = "who may act as these service accounts (their own IAM policies)"
MISSING_POLICY = "IAM bindings on {0}"
MISSING_CUSTOM_ROLES = "custom roles of {0}"
MISSING_ROLE = "the permissions of these roles (their bindings are kept without permissions)"
MISSING_ASSET = "resource-level IAM bindings (buckets, datasets, secrets, ...) from Cloud Asset"
MISSING_SA_USE = "service account last use (unused identities cannot be told)"
MISSING_KEY_USE = "service account key last use (unused keys cannot be told)"
MISSING_WIF = "workload identity pools and providers (federated trust)"
MISSING_DENY = "deny policies on {0}"
MISSING_INSTANCES = "Compute Engine instances (workloads)"
MISSING_RUN = "Cloud Run services (workloads)"
MISSING_FUNCTIONS = "Cloud Functions (workloads)"

ACTIVITY_TYPES = (
    ("serviceAccountLastAuthentication", "policyanalyzer.serviceAccountLastAuthenticationActivities.query",
     MISSING_SA_USE),
    ("serviceAccountKeyLastAuthentication", "policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query",
     MISSING_KEY_USE),
)


class RunCache:
    """Values shared by every project of a run (folder ancestry and policies, roles), computed once.
    A failure is cached too: every project below a denied folder records it, the call is made once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[tuple[str, str], Future[Any]] = {}

    def get(self, key: tuple[str, str], fn: Callable[[], T]) -> T:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if owner:
                future = self._futures[key] = Future()
        assert future is not None
        if owner:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()


@dataclass
class ProjectContext:
    gcp: GcpClients
    typed: TypedClients
    cache: RunCache = field(default_factory=RunCache)
    inner_concurrency: int = 8  # per-SA calls of one project


class _Issues:
    def __init__(self, project: str) -> None:
        self.project = project
        self.items: list[CollectionIssue] = []
        self._lock = threading.Lock()
        self.failures = call_failures()

    def add(self, operation: str, message: str, missing: str) -> None:
        issue = CollectionIssue(provider=Provider.GCP, account=self.project, operation=operation,
                                message=message, missing=missing)
        with self._lock:
            self.items.append(issue)

    def attempt(self, operation: str, missing: str, fn: Callable[..., T], *args: Any) -> T | None:
        try:
            return fn(*args)
        except ReadOnlyViolation:
            raise
        except self.failures as exc:
            self.add(operation, describe_error(exc), missing)
            return None

    def many(self, operation: str, missing: str, fn: Callable[[str], T], keys: list[str],
             pool: ThreadPoolExecutor) -> Callable[[], dict[str, T]]:
        """Start fn per key on the pool; the returned function waits. Failures become one issue naming
        the keys that failed."""
        futures = {key: pool.submit(fn, key) for key in keys}

        def gather() -> dict[str, T]:
            results: dict[str, T] = {}
            failed: list[tuple[str, BaseException]] = []
            for key, future in futures.items():
                try:
                    results[key] = future.result()
                except ReadOnlyViolation:
                    raise
                except self.failures as exc:
                    failed.append((key, exc))
            if failed:
                names = sorted(k for k, _ in failed)
                shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
                self.add(operation, f"{describe_error(failed[0][1])} ({len(failed)} of {len(keys)} calls: {shown})",
                         missing)
            return results

        return gather


def _ancestors(ctx: ProjectContext, parent: str | None, issues: _Issues) -> list[str]:
    """The folders and organization above a project, nearest first (as far as they could be read)."""
    found: list[str] = []
    while parent is not None and parent not in found and len(found) < 32:
        found.append(parent)
        if parent.startswith("organizations/"):
            break
        node = issues.attempt(
            "resourcemanager.folders.get", MISSING_FOLDER.format(parent),
            lambda p=parent: ctx.cache.get(("folder", p), lambda: calls.get_folder(ctx.gcp, ctx.typed, p)),
        )
        parent = issues.attempt("resourcemanager.folders.get", MISSING_FOLDER.format(parent), calls.parent_of,
                                node) if node is not None else None
    return found


def _policy_operation(scope: str) -> str:
    kind = scope.split("/", 1)[0]
    return f"resourcemanager.{kind}.getIamPolicy"


def collect_project(
    ctx: ProjectContext, project_id: str, detail: str, collected_at: datetime | None = None
) -> Snapshot:
    issues = _Issues(project_id)
    raw = RawProject(project_id=project_id, issues=issues.items)
    gcp, typed = ctx.gcp, ctx.typed
    started = collected_at or datetime.now(UTC)
    with ThreadPoolExecutor(ctx.inner_concurrency, thread_name_prefix=f"nhiaudit-gcp-{project_id}") as pool:
        # Project-only calls run on the pool while the service accounts and ancestry are read.
        rest_parts = _start_project_calls(ctx, project_id, issues, pool)
        project = issues.attempt("resourcemanager.projects.get", MISSING_PROJECT, calls.get_project, gcp, typed,
                                 project_id)
        if project is not None:
            raw.project_number = str(project["name"]).split("/", 1)[1]
            parent = issues.attempt("resourcemanager.projects.get", MISSING_PROJECT, calls.parent_of, project)
            raw.ancestors = _ancestors(ctx, parent, issues)
        scoped = _start_scope_calls(ctx, [f"projects/{project_id}", *raw.ancestors], issues, pool)
        raw.organization = collect_organization(ctx.cache, gcp, raw.ancestors, issues.attempt)  # its domain
        raw.service_accounts = issues.attempt("iam.serviceAccounts.list", MISSING_SAS, calls.list_service_accounts,
                                              gcp, typed, project_id)
        accounts = sorted((str(sa["name"]), str(sa["email"])) for sa in raw.service_accounts or [])
        names = [name for name, _ in accounts]
        keys = issues.many("iam.serviceAccountKeys.list", MISSING_KEYS,
                           lambda n: calls.list_keys(gcp, typed, n), names, pool)
        sa_policies = issues.many("iam.serviceAccounts.getIamPolicy", MISSING_SA_POLICY,
                                  lambda n: calls.get_sa_policy(gcp, typed, n), names, pool)
        by_name = dict(accounts)
        raw.keys = {by_name[n]: k for n, k in sorted(keys().items())}
        policies = sa_policies()
        scope_policies, custom_roles, deny = scoped()
        raw.policies = scope_policies + [RawPolicy(n, policies[n]) for n in names if n in policies]
        raw.deny_policies = deny
        rest_parts(raw, sa_policies_read=bool(names) and len(policies) == len(names))
        raw.roles = {role["name"]: role for role in custom_roles if isinstance(role.get("name"), str)}
        _fetch_roles(ctx, raw, issues, pool)
    source = SourceInfo(provider=Provider.GCP, account=project_id, method="live", collected_at=started,
                        detail=detail)
    return _assemble(raw, source, issues)


def _start_scope_calls(
    ctx: ProjectContext, scopes: list[str], issues: _Issues, pool: ThreadPoolExecutor
) -> Callable[[], tuple[list[RawPolicy], list[dict[str, Any]], list[RawPolicy]]]:
    """IAM policies and deny policies of the project and its ancestors; custom roles of the project and
    organization. Ancestors' values come from the run cache."""
    gcp, typed, cache = ctx.gcp, ctx.typed, ctx.cache

    def shared(kind: str, scope: str, fn: Callable[[], T]) -> T:
        return fn() if scope.startswith("projects/") else cache.get((kind, scope), fn)

    policy_jobs = [(s, pool.submit(shared, "policy", s, lambda s=s: calls.get_scope_policy(gcp, typed, s)))
                   for s in scopes]
    deny_jobs = [(s, pool.submit(shared, "deny", s, lambda s=s: calls.list_deny_policies(gcp, typed, s)))
                 for s in scopes]
    role_parents = [s for s in scopes if s.startswith(("projects/", "organizations/"))]
    role_jobs = [(s, pool.submit(shared, "roles", s, lambda s=s: calls.list_custom_roles(gcp, typed, s)))
                 for s in role_parents]

    def gather() -> tuple[list[RawPolicy], list[dict[str, Any]], list[RawPolicy]]:
        policies = [RawPolicy(s, p) for s, job in policy_jobs
                    if (p := issues.attempt(_policy_operation(s), MISSING_POLICY.format(s), job.result)) is not None]
        roles = [r for s, job in role_jobs
                 for r in issues.attempt("iam.roles.list", MISSING_CUSTOM_ROLES.format(s), job.result) or []]
        deny = [RawPolicy(s, p) for s, job in deny_jobs
                for p in issues.attempt("iam.denypolicies.list", MISSING_DENY.format(s), job.result) or []]
        return policies, roles, deny

    return gather


def _start_project_calls(
    ctx: ProjectContext, project_id: str, issues: _Issues, pool: ThreadPoolExecutor
) -> Callable[..., None]:
    """The REST-only APIs of one project, each optional."""
    gcp = ctx.gcp
    asset = pool.submit(calls.search_iam_policies, gcp, project_id)
    activities = [(kind, op, missing, pool.submit(calls.query_activities, gcp, project_id, kind))
                  for kind, op, missing in ACTIVITY_TYPES]
    wif = pool.submit(calls.list_wif_providers, gcp, project_id)
    instances = pool.submit(calls.list_instances, gcp, project_id)
    functions = pool.submit(calls.list_functions, gcp, project_id)
    run = pool.submit(_run_services, gcp, project_id)

    def finish(raw: RawProject, *, sa_policies_read: bool) -> None:
        raw.policies.extend(issues.attempt("cloudasset.assets.searchAllIamPolicies", MISSING_ASSET,
                                           lambda: _resource_policies(asset.result(), sa_policies_read)) or [])
        for kind, op, missing, job in activities:
            found = issues.attempt(op, missing, job.result)
            raw.activities.extend(found or [])
            if found is not None and kind == KEY_ACTIVITY:
                raw.usage_recorded = True
        raw.wif_providers = issues.attempt("iam.workloadIdentityPoolProviders.list", MISSING_WIF, wif.result) or []
        raw.instances = issues.attempt("compute.instances.list", MISSING_INSTANCES, instances.result) or []
        raw.functions = issues.attempt("cloudfunctions.functions.list", MISSING_FUNCTIONS, functions.result) or []
        raw.run_services = issues.attempt("run.services.list", MISSING_RUN, run.result) or []
        raw.listed.update(WORKLOAD_LISTINGS)  # a failed call is an issue: assemble drops its kind

    return finish


def _run_services(gcp: GcpClients, project_id: str) -> list[dict[str, Any]]:
    return [s for loc in calls.list_run_locations(gcp, project_id)
            for s in calls.list_run_services(gcp, project_id, loc)]


def _resource_policies(results: list[dict[str, Any]], sa_policies_read: bool) -> list[RawPolicy]:
    """Cloud Asset results other than the ones read directly (project, and SAs when their policies were
    read): the same policy twice would be two bindings."""
    found: list[RawPolicy] = []
    for result in results:
        resource, policy = result.get("resource"), result.get("policy")
        if not isinstance(resource, str) or not isinstance(policy, dict):
            raise RawDataError("a result without resource or policy", "results[].resource")
        if resource.startswith("//cloudresourcemanager.googleapis.com/"):
            continue
        if sa_policies_read and resource.startswith("//iam.googleapis.com/") and "/serviceAccounts/" in resource:
            continue
        found.append(RawPolicy(resource, policy))
    return sorted(found, key=lambda p: p.resource)


def _referenced_roles(raw: RawProject) -> list[str]:
    roles = {b.get("role") for p in raw.policies for b in p.policy.get("bindings") or [] if isinstance(b, dict)}
    return sorted(r for r in roles if isinstance(r, str) and r not in raw.roles)


def _fetch_roles(ctx: ProjectContext, raw: RawProject, issues: _Issues, pool: ThreadPoolExecutor) -> None:
    """Definitions of the roles bindings name that are not custom roles already read: one get_role per
    distinct role per run, whatever the number of bindings."""
    wanted = [r for r in _referenced_roles(raw) if calls.is_role_name(r)]

    def one(name: str) -> dict[str, Any]:
        return ctx.cache.get(("role", name), lambda: calls.get_role(ctx.gcp, ctx.typed, name))

    found = issues.many("iam.roles.get", MISSING_ROLE, one, wanted, pool)()
    raw.roles.update({name: found[name] for name in sorted(found)})


# Each part of RawProject, the call it came from, and its value when left out.
_PARTS: tuple[tuple[str, str, str, Callable[[], Any]], ...] = (
    ("functions", "cloudfunctions.functions.list", MISSING_FUNCTIONS, list),
    ("run_services", "run.services.list", MISSING_RUN, list),
    ("instances", "compute.instances.list", MISSING_INSTANCES, list),
    ("activities", ACTIVITY_TYPES[0][1], MISSING_SA_USE, list),
    ("wif_providers", "iam.workloadIdentityPoolProviders.list", MISSING_WIF, list),
    ("deny_policies", "iam.denypolicies.list", MISSING_DENY.format("the project and its ancestors"), list),
    ("keys", "iam.serviceAccountKeys.list", MISSING_KEYS, dict),
    ("policies", "resourcemanager.projects.getIamPolicy", MISSING_POLICY.format("every resource"), list),
)
_SHAPE_FAILURES = (ValueError, KeyError, TypeError, AttributeError, IndexError)


def _assemble(raw: RawProject, source: SourceInfo, issues: _Issues) -> Snapshot:
    """Assemble; if one call's data has a shape the transforms refuse, leave that part out (recorded as
    a failure of that call) so the rest of the project is kept."""
    from nhiaudit.connectors.gcp.assemble import assemble_project

    try:
        return assemble_project(raw, source)
    except _SHAPE_FAILURES as exc:
        first = exc
    for name, operation, missing, empty in _PARTS:
        if getattr(raw, name) in (None, [], {}):
            continue
        before = len(issues.items)
        issues.add(operation, f"malformed reply: {describe_error(first)}", missing)
        try:
            return assemble_project(replace(raw, **{name: empty()}, issues=issues.items), source)
        except _SHAPE_FAILURES:
            del issues.items[before:]
    raise first  # more than one part is malformed: the caller records the project as failed


def failed_project(project_id: str, operation: str, error: BaseException | str, detail: str,
                   collected_at: datetime | None = None) -> Snapshot:
    """The snapshot of a project that could not be read at all."""
    issue = CollectionIssue(provider=Provider.GCP, account=project_id, operation=operation,
                            message=error if isinstance(error, str) else describe_error(error),
                            missing=f"everything in project {project_id}")
    source = SourceInfo(provider=Provider.GCP, account=project_id, method="live",
                        collected_at=collected_at or datetime.now(UTC), detail=detail)
    return Snapshot(sources=[source], collection_issues=[issue])
