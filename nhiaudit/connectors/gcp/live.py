"""Live GCP collection: the projects named, or every active project below an organization or folder,
collected in parallel (bounded by --concurrency) under one deadline (--timeout).

Credentials are Application Default Credentials (`google.auth.default()`), optionally impersonating a
service account (--gcp-impersonate); a service whose endpoint is overridden gets anonymous credentials.
A folder whose projects or sub-folders cannot be listed is one CollectionIssue naming it; the projects
found elsewhere are still collected.
"""

from __future__ import annotations

import contextlib
import re
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from rich.console import Console

from nhiaudit.connectors.gcp import calls
from nhiaudit.connectors.gcp.calls import TypedClients
from nhiaudit.connectors.gcp.clients import (
    SCOPES,
    CallSettings,
    Deadline,
    DeadlineExceeded,
    GcpClients,
    ReadOnlyViolation,
    RequestCounter,
    call_failures,
    describe_error,
)
from nhiaudit.connectors.gcp.collect_project import ProjectContext, RunCache, collect_project, failed_project
from nhiaudit.connectors.gcp.endpoints import Endpoints, endpoints_from_env
from nhiaudit.connectors.options import GcpOptions
from nhiaudit.errors import CollectionError, UsageError
from nhiaudit.inventory.model import CollectionIssue, Provider
from nhiaudit.inventory.snapshot import ShardInfo, ShardScope, Snapshot
from nhiaudit.permissions.gcp_names import is_domain_name

_PROJECT_ID = re.compile(r"^([a-z0-9.-]{1,63}:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$")
_NUMERIC = re.compile(r"^\d{1,32}$")
_SA_EMAIL = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}@[a-z0-9.-]{1,200}$")
GRACE_SECONDS = 5.0  # after --timeout, for calls in flight to end and be recorded
MAX_FOLDERS = 10_000  # enumeration bound: a folder tree that never ends must not keep the run


def _scope(value: str, kind: str) -> str:
    """`123` or `folders/123` -> `folders/123` (organizations likewise)."""
    number = value.removeprefix(f"{kind}/")
    if not _NUMERIC.match(number):
        raise UsageError(f"--gcp-{kind[:-1]}: expected a number or {kind}/NUMBER, got {value!r}")
    return f"{kind}/{number}"


def check_options(opts: GcpOptions) -> None:
    bad = [p for p in opts.projects if not _PROJECT_ID.match(p)]
    if bad:
        raise UsageError(f"--gcp-project: not a project id: {', '.join(repr(p) for p in bad)}")
    if opts.organization:
        _scope(opts.organization, "organizations")
    for folder in opts.folders:
        _scope(folder, "folders")
    if opts.impersonate and not _SA_EMAIL.match(opts.impersonate):
        raise UsageError(f"--gcp-impersonate must be a service account e-mail, got {opts.impersonate!r}")
    bad = [d for d in opts.domains if not is_domain_name(d)]
    if bad:
        raise UsageError(f"--gcp-domain: not a domain name: {', '.join(repr(d) for d in bad)}")
    if not opts.timeout >= 1:
        raise UsageError(f"--timeout must be at least 1 second, got {opts.timeout:g}")
    if opts.shard is not None and not (opts.organization or opts.folders):
        raise UsageError("--shard splits enumerated projects: give --gcp-organization or --gcp-folder")


def _credentials(opts: GcpOptions, endpoints: Endpoints) -> tuple[Any, str | None]:
    """ADC (or an impersonation through them) and ADC's default project; none when every service is
    overridden (an emulator needs no credentials, and must never see real ones)."""
    if endpoints.all_overridden:
        return None, None
    import google.auth
    from google.auth import exceptions

    try:
        credentials, project = google.auth.default(scopes=list(SCOPES))
    except exceptions.DefaultCredentialsError:
        raise CollectionError(
            "no GCP credentials found (Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, "
            "`gcloud auth application-default login`, workload identity federation or the metadata server)"
        ) from None
    if opts.impersonate:
        credentials = _impersonate(credentials, opts.impersonate, endpoints)
    return credentials, project if isinstance(project, str) else None


def _impersonate(source: Any, principal: str, endpoints: Endpoints) -> Any:
    """Credentials of `principal` minted from `source` (IAM Credentials generateAccessToken), refreshed once
    here: a denied impersonation is one clear error, not a collection issue for every call."""
    from google.auth import exceptions, impersonated_credentials
    from google.auth.transport.requests import Request

    credentials = impersonated_credentials.Credentials(
        source_credentials=source, target_principal=principal, target_scopes=list(SCOPES), lifetime=3600,
        iam_endpoint_override=endpoints.iam_credentials_url(principal),
    )
    try:
        credentials.refresh(Request())
    except exceptions.GoogleAuthError as exc:
        raise CollectionError(f"impersonating {principal} failed (the caller needs "
                              f"roles/iam.serviceAccountTokenCreator on it): {describe_error(exc)}") from None
    return credentials


def _typed(gcp: GcpClients) -> TypedClients:
    channel = gcp.iam_channel()
    return TypedClients(gcp.iam(channel), gcp.resource_manager("projects"), gcp.resource_manager("folders"),
                        gcp.policies(channel))


def _close(typed: TypedClients) -> None:
    for client in (typed.iam, typed.projects, typed.folders, typed.policies):
        with contextlib.suppress(Exception):  # best effort; the channel dies with the process anyway
            client.transport.close()


def _listing_issue(parent: str, operation: str, exc: BaseException) -> CollectionIssue:
    what = "projects" if operation.endswith("projects.list") else "sub-folders"
    return CollectionIssue(provider=Provider.GCP, account=parent, operation=operation, message=describe_error(exc),
                           missing=f"the {what} below {parent} (not collected)")


def _below(gcp: GcpClients, typed: TypedClients, roots: list[str]) -> tuple[list[str], list[CollectionIssue]]:
    """Active projects under the roots, through every active folder below them. A listing that fails is an
    issue naming its folder; the rest of the tree is still walked."""
    projects: set[str] = set()
    issues: list[CollectionIssue] = []
    queue, seen = list(roots), set(roots)
    failures = call_failures()
    while queue:
        if len(seen) > MAX_FOLDERS:
            raise CollectionError(f"more than {MAX_FOLDERS} folders below {', '.join(roots)}")
        parent = queue.pop(0)
        children: list[str] = []
        for operation, list_children in (("resourcemanager.projects.list", calls.child_projects),
                                         ("resourcemanager.folders.list", calls.child_folders)):
            try:
                found = list_children(gcp, typed, parent)
            except ReadOnlyViolation:
                raise
            except failures as exc:
                issues.append(_listing_issue(parent, operation, exc))
                continue
            if operation.endswith("projects.list"):
                projects.update(found)
            else:
                children = found
        queue.extend(c for c in children if c not in seen)
        seen.update(children)
    return sorted(projects), issues


def _projects(opts: GcpOptions, gcp: GcpClients, typed: TypedClients,
              default: str | None) -> tuple[list[str], list[CollectionIssue]]:
    """The projects to collect, and the enumeration's issues. Nothing found and a listing failed: the run
    cannot start (CollectionError)."""
    roots = [_scope(f, "folders") for f in opts.folders]
    if opts.organization:
        roots.insert(0, _scope(opts.organization, "organizations"))
    below, issues = _below(gcp, typed, roots) if roots else ([], [])
    found = set(opts.projects) | set(below)
    if not found and issues:
        first = issues[0]
        raise CollectionError(f"listing the projects under {first.account} failed ({first.operation}): "
                              f"{first.message}")
    if not found and not roots:
        if default is None:
            raise UsageError("--gcp needs --gcp-project, --gcp-organization or --gcp-folder "
                             "(Application Default Credentials name no default project)")
        found.add(default)
    return sorted(found), issues


def _shard(opts: GcpOptions, projects: list[str],
           issues: list[CollectionIssue]) -> tuple[list[str], list[CollectionIssue], list[Snapshot]]:
    """This shard's projects, the enumeration's issues (shard 0 reports them, once for the organisation) and
    the record of the shard: every project found, so `snapshot merge` can name those no shard collected."""
    if opts.shard is None:
        return projects, issues, []
    mine = opts.shard.select(projects)
    roots = [_scope(opts.organization, "organizations")] if opts.organization else []
    roots += sorted({_scope(f, "folders") for f in opts.folders})
    roots += [f"projects/{p}" for p in sorted(set(opts.projects))]
    scope = ShardScope(provider=Provider.GCP, organization=",".join(roots), enumerated=tuple(projects),
                       assigned=tuple(mine))
    record = Snapshot(shard=ShardInfo(index=opts.shard.index, count=opts.shard.count, scopes=(scope,)))
    return mine, issues if opts.shard.index == 0 else [], [record]


def _how(opts: GcpOptions, endpoints: Endpoints) -> str:
    if endpoints.all_overridden:
        return "anonymously, at the NHIAUDIT_GCP_ENDPOINT_* overrides"
    return f"as {opts.impersonate}" if opts.impersonate else "with Application Default Credentials"


def _collect_one(project: str, gcp: GcpClients, cache: RunCache, detail: str, inner: int) -> Snapshot:
    started = time.monotonic()
    mine = RequestCounter()
    own = gcp.with_counter(mine)
    typed = _typed(own)
    try:
        snapshot = collect_project(ProjectContext(own, typed, cache, inner), project, detail)
    except ReadOnlyViolation:
        raise  # a bug in nhiaudit: stop everything
    except Exception as exc:  # one project's unexpected data must not lose the other projects
        return failed_project(project, "nhiaudit:collect", exc, detail)
    finally:
        _close(typed)
    took = time.monotonic() - started
    snapshot.sources = [s.model_copy(update={"detail": f"{detail}; {mine.total} API requests in {took:.1f} s"})
                        for s in snapshot.sources]
    return snapshot


def collect_gcp(
    opts: GcpOptions,
    concurrency: int,
    console: Console,
    *,
    counter: RequestCounter | None = None,
    settings: CallSettings | None = None,
    env: dict[str, str] | None = None,
    inner_concurrency: int = 8,
) -> list[Snapshot]:
    """One snapshot per project. A failed project becomes a snapshot holding only its CollectionIssue;
    CollectionError is raised only when nothing can be collected (no credentials, enumeration denied)."""
    from nhiaudit.connectors.aws.progress import AccountProgress

    check_options(opts)
    endpoints = endpoints_from_env(env)
    credentials, default_project = _credentials(opts, endpoints)
    deadline = Deadline(opts.timeout)
    progress_count = RequestCounter()  # every request, for the progress line (movement within one project)
    gcp = GcpClients(endpoints, credentials, deadline, settings or CallSettings(),
                     (progress_count, counter) if counter else (progress_count,))
    typed = _typed(gcp)
    try:
        projects, enumeration = _projects(opts, gcp, typed, default_project)
    finally:
        _close(typed)
    projects, enumeration, shard_record = _shard(opts, projects, enumeration)
    cache, detail = RunCache(), _how(opts, endpoints)
    snapshots: dict[str, Snapshot] = {}
    # Not a `with` block: its exit would wait for projects stuck past the deadline.
    pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="nhiaudit-gcp")
    try:
        with AccountProgress(console, len(projects), label="[bold]GCP[/bold] projects",
                             requests=progress_count) as progress:
            futures: dict[Future[Snapshot], str] = {
                pool.submit(_collect_one, p, gcp, cache, detail, inner_concurrency): p for p in projects
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=deadline.remaining() + GRACE_SECONDS,
                                     return_when=FIRST_COMPLETED)
                finished = [(f, f.result()) for f in done]
                if not done:
                    finished = [(f, _cut_off(futures[f], f, deadline, detail)) for f in pending]
                    pending = set()
                for future, snapshot in finished:
                    progress.done(futures[future], None, snapshot)
                    snapshots[futures[future]] = snapshot
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    listing = [Snapshot(collection_issues=enumeration)] if enumeration else []  # no source: not a project
    return [snapshots[p] for p in projects] + listing + shard_record


def _cut_off(project: str, future: Future[Snapshot], deadline: Deadline, detail: str) -> Snapshot:
    state = "was not started" if future.cancel() else "was still being read"
    return failed_project(project, "nhiaudit:collect", f"{DeadlineExceeded(deadline.seconds)}: the project {state}",
                          detail)

