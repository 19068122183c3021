"""Data Access audit logs of a project: the `auditConfigs` of its own IAM policy and of its folders and
organisation (already read with getIamPolicy), as one AuditLogSetting (kind gcp_audit_config). Pure.

Audit configs are unioned down the hierarchy: a log type enabled on the organisation, a folder or the project,
for `allServices` or for the service, is enabled for the project; a member exempted at any level is exempted
(https://cloud.google.com/logging/docs/audit/configure-data-access#config-api)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nhiaudit.connectors.gcp.raw import RawPolicy
from nhiaudit.connectors.gcp.transform_common import GcpDataError
from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting, GcpServiceAudit
from nhiaudit.inventory.model import Provider
from nhiaudit.permissions.gcp_names import canonical_resource

LOG_TYPES = frozenset({"ADMIN_READ", "DATA_READ", "DATA_WRITE"})
MAX_AUDIT_CONFIGS = 500  # per policy (one per service); beyond is not Google's shape


def _strings(value: Any, path: tuple[str | int, ...]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GcpDataError("expected a list of strings", path)
    return tuple(sorted(set(value)))


def _service_audits(policy: RawPolicy) -> list[GcpServiceAudit]:
    configs = policy.policy.get("auditConfigs") or []
    if not isinstance(configs, list) or len(configs) > MAX_AUDIT_CONFIGS:
        raise GcpDataError(f"expected a list of at most {MAX_AUDIT_CONFIGS} audit configs", ("auditConfigs",))
    out = []
    for i, config in enumerate(configs):
        where = ("auditConfigs", i)
        if not isinstance(config, Mapping) or not isinstance(config.get("service"), str):
            raise GcpDataError("expected an audit config with a service", where)
        types: list[str] = []
        exempted: dict[str, tuple[str, ...]] = {}
        for j, log in enumerate(config.get("auditLogConfigs") or []):
            if not isinstance(log, Mapping) or log.get("logType") not in LOG_TYPES:
                raise GcpDataError("expected logType ADMIN_READ, DATA_READ or DATA_WRITE",
                                   (*where, "auditLogConfigs", j))
            types.append(str(log["logType"]))
            members = _strings(log.get("exemptedMembers"), (*where, "auditLogConfigs", j, "exemptedMembers"))
            if members:
                exempted[str(log["logType"])] = members
        out.append(GcpServiceAudit(service=str(config["service"]), resource=canonical_resource(policy.resource),
                                   log_types=tuple(sorted(set(types))), exempted=exempted))
    return out


def transform_audit_configs(project_id: str, project_number: str | None, ancestors: Sequence[str],
                            policies: Sequence[RawPolicy],
                            ancestry_known: bool = True) -> tuple[list[AuditLogSetting], bool]:
    """The project's audit setting (none when no policy of the hierarchy was read) and whether every level's
    policy was read (the project's and each ancestor's, the ancestry itself known): only then is "not enabled"
    known."""
    wanted = [f"projects/{project_id}", *(canonical_resource(a) for a in ancestors)]
    aliases = {f"projects/{project_number}": wanted[0]} if project_number else {}
    found: dict[str, RawPolicy] = {}
    for policy in policies:
        name = canonical_resource(policy.resource)
        name = aliases.get(name, name)
        if name in wanted:
            found.setdefault(name, policy)
    if not found:
        return [], False
    services: list[GcpServiceAudit] = []
    for name in wanted:
        if name in found:
            try:
                services.extend(_service_audits(found[name]))
            except GcpDataError as exc:
                raise exc.within("policies", name) from None
    setting = AuditLogSetting(
        provider=Provider.GCP, account=project_id, kind=AuditKind.GCP_AUDIT_CONFIG, id=f"projects/{project_id}",
        name=f"Data Access audit logs of projects/{project_id}", logging=True,
        services=tuple(sorted(services, key=lambda s: (s.service, s.resource))),
    )
    return [setting], ancestry_known and len(found) == len(wanted)
