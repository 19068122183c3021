"""Assemble one project's snapshot from its raw parts (raw.py documents the mapping). Shared by live
collection and file import, so both give the same inventory for the same estate."""

from __future__ import annotations

from nhiaudit.connectors.gcp.audit_configs import transform_audit_configs
from nhiaudit.connectors.gcp.organization import organization_domain
from nhiaudit.connectors.gcp.raw import WORKLOAD_LISTINGS, RawProject
from nhiaudit.connectors.gcp.sightings import gcp_sightings
from nhiaudit.connectors.gcp.transform_accounts import LastUse, transform_key, transform_service_account
from nhiaudit.connectors.gcp.transform_bindings import (
    binding_policies,
    collect_grants,
    foreign_attachments,
    member_attachments,
)
from nhiaudit.connectors.gcp.transform_common import GcpDataError, project_of_email
from nhiaudit.connectors.gcp.transform_deny import deny_policies
from nhiaudit.connectors.gcp.transform_roles import RoleBook
from nhiaudit.connectors.gcp.transform_trusts import Providers, SaTargets, impersonation_trusts
from nhiaudit.connectors.gcp.transform_workloads import transform_workloads
from nhiaudit.inventory.audit_model import AuditLogSetting
from nhiaudit.inventory.model import CollectionIssue, Credential, Identity, Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.permissions.gcp_names import canonical_resource
from nhiaudit.secrets.sightings import sighting_order


def _audit_configs(raw: RawProject, source: SourceInfo) -> tuple[list[AuditLogSetting], bool, list[CollectionIssue]]:
    """The project's audit setting. Live, malformed auditConfigs cost only the audit setting (an issue: its
    logging is unknown), not the bindings of the same policies; an import reports them as input errors."""
    ancestry_known = all(i.operation != "resourcemanager.projects.get" for i in raw.issues)
    try:
        found, complete = transform_audit_configs(raw.project_id, raw.project_number, raw.ancestors, raw.policies,
                                                  ancestry_known)
    except GcpDataError as exc:
        if source.method == "import":
            raise
        return [], False, [CollectionIssue(provider=Provider.GCP, account=raw.project_id,
                                           operation="resourcemanager.projects.getIamPolicy",
                                           message=f"malformed reply: {exc}",
                                           missing="Data Access audit log configuration (auditConfigs)")]
    return found, complete, []


def assemble_project(raw: RawProject, source: SourceInfo) -> Snapshot:
    """The project's snapshot. Raises GcpDataError (with a path into `raw`) when a raw value is malformed.
    The source records the project's ancestry (from `raw` when the caller did not set it)."""
    if raw.ancestors and not source.ancestors:
        source = source.model_copy(update={"ancestors": tuple(raw.ancestors)})
    if raw.organization is not None and source.organization_domain is None:
        try:
            domain = organization_domain(raw.organization)
        except GcpDataError as exc:
            raise exc.within("organization") from None
        source = source.model_copy(update={"organization_domain": domain})
    if source.usage_recorded and not raw.usage_recorded:
        source = source.model_copy(update={"usage_recorded": False})
    if raw.listed and not source.collected:
        failed = {i.operation for i in raw.issues}
        listed = sorted(k for k in raw.listed if WORKLOAD_LISTINGS.get(k) not in failed)
        source = source.model_copy(update={"collected": tuple(listed)})
    audit_settings, audit_complete, audit_issue = _audit_configs(raw, source)
    if audit_complete and not source.audit_collected:
        source = source.model_copy(update={"audit_collected": ("gcp_audit_config",)})
    last_use = LastUse(raw.activities)
    identities: list[Identity] = []
    sa_index: dict[str, str] = {}  # e-mail or unique id -> e-mail
    for index, sa in enumerate(raw.service_accounts or []):
        try:
            identity = transform_service_account(sa, raw.project_id, last_use)
        except GcpDataError as exc:
            raise exc.within("service_accounts", index) from None
        identities.append(identity)
        sa_index[identity.id] = identity.id
        if sa.get("uniqueId"):
            sa_index[str(sa["uniqueId"])] = identity.id
    identities.sort(key=lambda i: i.id)
    emails = [i.id for i in identities]
    disabled = {i.id for i in identities if i.disabled}

    credentials: list[Credential] = []
    for email, keys in sorted(raw.keys.items()):
        for index, key in enumerate(keys):
            try:
                credentials.append(transform_key(key, email, email in disabled, last_use))
            except GcpDataError as exc:
                raise exc.within("keys", email, index) from None
    credentials.sort(key=lambda c: (c.identity_id, c.id))

    roles = RoleBook(raw.roles)
    grants = collect_grants(raw.policies, sa_index, raw.project_id, raw.project_number)
    policies, issues = binding_policies(grants, roles, raw.project_id)
    attached = member_attachments(grants, set(emails))
    # Without the project's SA list, only members whose e-mail names another project are surely foreign.
    foreign = [a for a in foreign_attachments(grants, set(emails))
               if raw.service_accounts is not None or project_of_email(a.identity_id) not in (None, raw.project_id)]

    scopes = frozenset([f"projects/{raw.project_id}", *(canonical_resource(a) for a in raw.ancestors)]
                       + ([f"projects/{raw.project_number}"] if raw.project_number else []))
    denies, denied = deny_policies(raw.deny_policies, emails, scopes, raw.project_number)
    policies.extend(denies)
    for email, sources in denied.items():
        attached.setdefault(email, {}).update(sources)

    project_ids = {raw.project_id: raw.project_id}
    if raw.project_number:
        project_ids[raw.project_number] = raw.project_id
    providers = Providers(raw.wif_providers, project_ids)
    unique_ids = {k: v for k, v in sa_index.items() if k != v}
    targets = SaTargets(emails, unique_ids, scopes, raw.project_id, raw.project_number)
    trusts = impersonation_trusts(grants, roles, targets, providers)

    identities = [
        i.model_copy(update={"policy_ids": tuple(sorted(attached[i.id])),
                             "policy_sources": dict(sorted(attached[i.id].items()))})
        if i.id in attached else i
        for i in identities
    ]
    workloads = transform_workloads(raw.instances, raw.run_services, raw.functions, raw.project_id,
                                    raw.project_number)
    return Snapshot(
        sources=[source],
        identities=identities,
        credentials=credentials,
        policies=sorted(policies, key=lambda p: p.id),
        trusts=trusts,
        workloads=workloads,
        collection_issues=[*raw.issues, *issues, *audit_issue],
        attachments=foreign,
        credential_sightings=sorted(gcp_sightings(raw.run_services, raw.functions, raw.project_id),
                                    key=sighting_order),
        audit_settings=audit_settings,
    )
