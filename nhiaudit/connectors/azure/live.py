"""Live Entra ID and Azure collection: one tenant (Microsoft Graph) and its subscriptions (ARM), read-only,
under one deadline (--timeout), subscriptions in parallel (--concurrency).

Credentials are `azure.identity.DefaultAzureCredential` without interactive members: environment variables,
workload identity (GitHub Actions, AKS), managed identity and `az login` all work. Every failed call is a
CollectionIssue naming it (exit status 3); only no token at all, or no readable tenant, stops the run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from nhiaudit.connectors.azure.clients import (
    AzureHttp,
    CallSettings,
    ReadOnlyViolation,
    RequestCounter,
    call_failures,
    describe_error,
)
from nhiaudit.connectors.azure.collect_tenant import TenantContext, collect_tenant
from nhiaudit.connectors.azure.endpoints import CLOUDS, Endpoints, endpoints_for
from nhiaudit.connectors.deadline import Deadline
from nhiaudit.connectors.options import AzureOptions
from nhiaudit.errors import CollectionError, UsageError
from nhiaudit.inventory.model import CollectionIssue, Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")


def check_options(opts: AzureOptions) -> None:
    if opts.tenant is not None and not (_GUID.match(opts.tenant) or _DOMAIN.match(opts.tenant)):
        raise UsageError(f"--azure-tenant must be a tenant id (GUID) or domain, got {opts.tenant!r}")
    bad = [s for s in opts.subscriptions if not _GUID.match(s)]
    if bad:
        raise UsageError(f"--azure-subscription: not a subscription id: {', '.join(repr(s) for s in bad)}")
    if opts.cloud not in CLOUDS:
        raise UsageError(f"--azure-cloud must be one of {', '.join(CLOUDS)}, got {opts.cloud!r}")
    if not opts.timeout >= 1:
        raise UsageError(f"--timeout must be at least 1 second, got {opts.timeout:g}")


def default_credential(opts: AzureOptions, endpoints: Endpoints) -> Any:
    """DefaultAzureCredential without interactive credentials; instance discovery off for an authority that
    is not Microsoft's (an emulator), as azure-identity requires."""
    from azure.identity import DefaultAzureCredential

    kwargs: dict[str, Any] = {
        "exclude_interactive_browser_credential": True,
        "exclude_visual_studio_code_credential": True,
        "exclude_shared_token_cache_credential": True,
    }
    if "AZURE_AUTHORITY_HOST" not in os.environ:
        kwargs["authority"] = endpoints.authority
    if endpoints.disable_instance_discovery:
        kwargs["disable_instance_discovery"] = True
    if opts.tenant:
        kwargs["additionally_allowed_tenants"] = [opts.tenant]
    return DefaultAzureCredential(**kwargs)


def _tenant_id(graph: AzureHttp, named: str | None) -> str:
    """The tenant's id from Graph (`/organization`): a domain given with --azure-tenant is resolved, and a
    credential that cannot read the directory at all stops the run with one clear error."""
    try:
        orgs = graph.list_all("/v1.0/organization", {"$select": "id,displayName"})
    except ReadOnlyViolation:
        raise
    except call_failures() as exc:
        raise CollectionError(f"reading the Entra tenant (GET /v1.0/organization) failed: {describe_error(exc)}") \
            from None
    ids = sorted(str(o["id"]) for o in orgs if isinstance(o.get("id"), str) and _GUID.match(o["id"]))
    if not ids:
        raise CollectionError("GET /v1.0/organization named no tenant")
    if named and _GUID.match(named) and named.lower() not in {i.lower() for i in ids}:
        raise CollectionError(f"the credential reads tenant {ids[0]}, not --azure-tenant {named}")
    return ids[0]


def _assemble(raw: Any, source: SourceInfo) -> Snapshot:
    from nhiaudit.connectors.azure.assemble import assemble_tenant

    try:
        return assemble_tenant(raw, source)
    except (ValueError, KeyError, TypeError) as exc:  # the estate's data, not nhiaudit, is malformed
        issue = CollectionIssue(provider=Provider.AZURE, account=raw.tenant_id, operation="nhiaudit:assemble",
                                message=describe_error(exc), missing=f"everything in tenant {raw.tenant_id}")
        return Snapshot(sources=[source], collection_issues=[*raw.issues, issue])


def collect_azure(
    opts: AzureOptions,
    console: Console | None = None,
    *,
    concurrency: int = 8,
    counter: RequestCounter | None = None,
    settings: CallSettings | None = None,
    env: Mapping[str, str] | None = None,
    credential: Any = None,
) -> list[Snapshot]:
    """One snapshot for the tenant (its subscriptions included, `concurrency` read at once). CollectionError
    only when nothing can be collected (no token, tenant unreadable)."""
    check_options(opts)
    endpoints = endpoints_for(opts.cloud, env)
    credential = credential if credential is not None else default_credential(opts, endpoints)
    deadline = Deadline(opts.timeout)
    mine = RequestCounter()
    counters = (mine, counter) if counter else (mine,)
    settings = settings or CallSettings()
    tenant = opts.tenant if opts.tenant and _GUID.match(opts.tenant) else None
    graph = AzureHttp("graph", endpoints.graph, endpoints.graph_scope, credential, deadline, settings, counters,
                      tenant_id=opts.tenant)
    arm = AzureHttp("arm", endpoints.arm, endpoints.arm_scope, credential, deadline, settings, counters,
                    tenant_id=opts.tenant)
    try:
        tenant = _tenant_id(graph, opts.tenant)
        if console is not None:
            console.print(f"[bold]Azure[/bold] tenant {tenant}: collecting", highlight=False)
        raw = collect_tenant(TenantContext(graph, arm, tenant, opts.subscriptions, concurrency))
    finally:
        graph.close()
        arm.close()
    where = " at the NHIAUDIT_AZURE_* endpoint overrides" if endpoints.overridden else ""
    source = SourceInfo(provider=Provider.AZURE, account=tenant, method="live", collected_at=datetime.now(UTC),
                        detail=f"DefaultAzureCredential{where}; {mine.total} API requests",
                        usage_recorded=raw.sign_ins_recorded)
    return [_assemble(raw, source)]
