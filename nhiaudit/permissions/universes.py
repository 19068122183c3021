"""The action universes evaluation questions are asked over (see `_core.Universe`)."""

from __future__ import annotations

import re

from nhiaudit.permissions._core import Universe, make_universe
from nhiaudit.permissions.catalogue import AccessLevel, ActionCatalogue
from nhiaudit.permissions.heuristics import is_cloud_native_action
from nhiaudit.permissions.patterns import has_wildcard

_AZURE_PROVIDER = re.compile(r"/providers/([^/*?]+)/[^/]", re.IGNORECASE)
_GCP_SERVICE = re.compile(r"^//([a-z0-9-]+)\.googleapis\.com/")


def reach_universe(cat: ActionCatalogue, p: str) -> Universe:
    """Actions that can act on a resource matching `p`.

    An ARN names its service: the actions of the services whose resource types live under that ARN
    service (sts:AssumeRole on iam roles), restricted to those whose resource-type templates overlap
    the pattern. `*` means every action. A GCP/Azure resource takes the actions of its own service
    when the pattern names it (see `cloud_service_filter`), else any action.
    """
    key: tuple[object, ...] = ("reach", p)
    if p == "*":
        known = frozenset().union(*(cat.all_actions(s) for s in cat.services()))
        return make_universe(key, known, aws=True, cloud=True, aws_services=None)
    if not p.startswith("arn:"):
        return make_universe(key, (), aws=False, cloud=True, aws_services=frozenset(),
                             queries=cloud_service_filter(p))
    parts = p.split(":", 5)
    arn_service = parts[2] if len(parts) > 2 else "*"
    literal = bool(arn_service) and not has_wildcard(arn_service)
    services = cat.services_for_arn_service(arn_service) if literal else cat.services()
    known = frozenset().union(*(cat.actions_on(s, p) for s in services if cat.service_known(s)))
    if not known and literal and cat.service_known(arn_service):
        # No resource type matches this ARN shape: do not drop the service, consider all its actions.
        known = cat.all_actions(arn_service)
    unknown = (f"{arn_service}:*",) if literal and not cat.service_known(arn_service) else ()
    return make_universe(
        key, known, aws=True, cloud=False, aws_services=frozenset(services) if literal else None,
        unknown_targets=unknown,
    )


def query_universe(cat: ActionCatalogue, queries: tuple[str, ...]) -> Universe:
    """The actions matching the given patterns (AWS ones expanded through the catalogue; patterns
    the catalogue cannot expand stay as unknown targets that statement wildcards still match)."""
    known: set[str] = set()
    unknown: list[str] = []
    aws_services: set[str] | None = set()
    aws = cloud = False
    for q in queries:
        if q == "*":
            aws = cloud = True
            aws_services = None
            known.update(*(cat.all_actions(s) for s in cat.services()))
            continue
        if is_cloud_native_action(q):
            cloud = True
            continue
        aws = True
        head = q.partition(":")[0]
        expanded = frozenset().union(*(cat.expand(q, s) for s in cat.services_matching(head)))
        known.update(expanded)
        if not expanded:
            unknown.append(q)
        if has_wildcard(head):
            aws_services = None
        elif aws_services is not None:
            aws_services.add(head.lower())
    return make_universe(
        ("query", queries), known, aws=aws, cloud=cloud,
        aws_services=frozenset(aws_services) if aws_services is not None else None,
        unknown_targets=tuple(unknown), queries=queries,
    )


def pm_universe(cat: ActionCatalogue) -> Universe:
    """Permissions-management actions of every service; GCP/Azure entries judged by the heuristic."""
    return make_universe(
        ("pm",), cat.actions_with_level(AccessLevel.PERMISSIONS_MANAGEMENT),
        aws=True, cloud=True, aws_services=None, admin_only=True,
    )


def cloud_service_filter(pattern: str) -> tuple[str, ...] | None:
    """Only actions of the service owning a GCP/Azure resource act on it (`Microsoft.Compute/*` does
    not reach a storage account). None when the pattern does not name its service."""
    azure = _AZURE_PROVIDER.findall(pattern)
    if azure:
        return (f"{azure[-1]}/*",)
    gcp = _GCP_SERVICE.match(pattern)
    if gcp and gcp.group(1) != "cloudresourcemanager":  # project-level resources take any permission
        return (f"{gcp.group(1)}.*",)
    return None
