"""The organisation a project lies in, for its own domain: the users, groups and domains of that domain are
inside the organisation, every other one is outside (rules trust-outside-domain, trust-outside-ai-use).

Resource Manager's Organization (v3 `organizations.get`, the v1 shape `gcloud organizations describe` and
Cloud Asset print): {"name": "organizations/N", "displayName": "acme.com", "directoryCustomerId": "C0..."
(v1: "owner": {"directoryCustomerId"}), "state" (v1: "lifecycleState")}. The display name of a Google
Workspace / Cloud Identity organisation is its primary domain; one that is not a domain name gives none.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from nhiaudit.connectors.gcp.transform_common import GcpDataError
from nhiaudit.permissions.gcp_names import is_domain_name

_ORG = re.compile(r"^organizations/\d{1,32}$")
# A DNS name of two labels or more, as --gcp-domain and defaults.gcp.domains accept.
OPERATION = "resourcemanager.organizations.get"
MISSING = ("the organisation's own domain (members outside it are told only from --gcp-domain and the policy's "
           "defaults.gcp.domains)")


def organization_of(ancestors: list[str] | tuple[str, ...]) -> str | None:
    """`organizations/N` among a project's ancestors, None when it lies in none (or it is unknown)."""
    return next((a for a in ancestors if _ORG.match(a)), None)


def check_organization(org: Any) -> None:
    """Raise GcpDataError (with a path) unless `org` has the Organization shape this module reads."""
    if not isinstance(org, Mapping):
        raise GcpDataError("expected an Organization object")
    name = org.get("name")
    if not isinstance(name, str) or not _ORG.match(name):
        raise GcpDataError("expected organizations/NUMBER", ("name",))
    if not isinstance(org.get("displayName", ""), str):
        raise GcpDataError("expected a string", ("displayName",))
    owner = org.get("owner", {})
    if not isinstance(owner, Mapping):
        raise GcpDataError("expected an object", ("owner",))
    for value, path in ((org.get("directoryCustomerId", ""), ("directoryCustomerId",)),
                        (owner.get("directoryCustomerId", ""), ("owner", "directoryCustomerId"))):
        if not isinstance(value, str):
            raise GcpDataError("expected a string", path)


def organization_domain(org: Mapping[str, Any]) -> str | None:
    """The organisation's primary domain (lower case), None when its display name is no domain name."""
    check_organization(org)
    name = str(org.get("displayName", "")).strip().lower().rstrip(".")
    return name if is_domain_name(name) else None


def get_organization(gcp: Any, name: str) -> dict[str, Any]:
    """`organizations.get` through the typed v3 OrganizationsClient over REST, guarded and counted like the
    projects and folders clients (nhiaudit/connectors/gcp/clients.py). Raises RawDataError-like ValueErrors
    (GcpDataError) on a malformed reply, which the caller records as the call's failure."""
    from google.cloud import resourcemanager_v3

    from nhiaudit.connectors.gcp.clients import guard_session, to_json

    if not _ORG.match(name):  # estate data must not steer a request
        raise GcpDataError("expected organizations/NUMBER", ("parent",))
    client = resourcemanager_v3.OrganizationsClient(
        credentials=gcp.credentials_for("CLOUDRESOURCEMANAGER"),
        transport="rest",
        client_options={"api_endpoint": gcp.endpoints.rest_base("CLOUDRESOURCEMANAGER")},
    )
    guard_session(client._transport._session, gcp.counters)  # every HTTP attempt goes through this session
    try:
        org = to_json(gcp.grpc_call(client.get_organization, name=name))
    finally:
        with contextlib.suppress(Exception):
            client.transport.close()
    check_organization(org)
    return org


Attempt = Callable[..., Any]  # collect_project's _Issues.attempt(operation, missing, fn, *args)


def collect_organization(cache: Any, gcp: Any, ancestors: list[str], attempt: Attempt) -> dict[str, Any] | None:
    """The project's organisation, read once per run (the run cache shares it, and a failure, with every
    project below it); a failure is recorded through `attempt` as a CollectionIssue, never fatal."""
    name = organization_of(ancestors)
    if name is None:
        return None
    result = attempt(OPERATION, MISSING, lambda: cache.get(("organization", name),
                                                           lambda: get_organization(gcp, name)))
    return result if isinstance(result, dict) else None
