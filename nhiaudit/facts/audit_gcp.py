"""Audit coverage of one GCP service account: Data Access audit logs (the project's audit configs, unioned
down from its folders and organisation) for the services it uses, not exempting it.

- Model calls: DATA_READ and DATA_WRITE of each AI service its allowing permissions belong to
  (aiplatform.googleapis.com, generativelanguage.googleapis.com, ...).
- Secret reads: DATA_READ of secretmanager.googleapis.com when it may access secret versions.
- Data access: DATA_READ (and DATA_WRITE for write access) of the service of each system it can reach whose
  resources are Cloud Storage buckets (storage.googleapis.com). BigQuery records data access always (it cannot
  be turned off) and other services are not evaluated.
The configs read are those of the service account's own project. A project whose hierarchy was not read
completely only proves "recorded", never "not recorded"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nhiaudit.facts.audit_index import DATA_ACCESS, MODEL_INVOCATIONS, SECRET_ACCESS, Assessment, audit_index
from nhiaudit.facts.context import FactContext
from nhiaudit.facts.escalation import estate_profiles
from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting
from nhiaudit.inventory.model import Identity

ALL_SERVICES = "allServices"
_SECRET_READ = ("secretmanager.versions.access",)


def _state(setting: AuditLogSetting, service: str, log_type: str, member: str) -> tuple[bool, str]:
    """(recorded, why not) for one service and log type."""
    configs = [c for c in setting.services if c.service in (service, ALL_SERVICES)]
    if any(member in c.exempted.get(log_type, ()) for c in configs):
        return False, f"{member} is exempted from {log_type} of {service}"
    if any(log_type in c.log_types for c in configs):
        return True, ""
    return False, f"{log_type} of {service} is not enabled"


def _assess(kind: str, identity: Identity, setting: AuditLogSetting | None, complete: bool,
            wanted: list[tuple[str, str]], system: str = "") -> Assessment:
    if setting is None:
        return Assessment(kind, None, "the project's audit configs were not read", account=identity.account,
                          system=system)
    member = f"serviceAccount:{identity.id}"
    problems = [why for service, log_type in wanted if not (found := _state(setting, service, log_type, member))[0]
                for why in (found[1],)]
    where = (f"{setting.name} ({', '.join(sorted({s for s, _ in wanted}))})",)
    if not problems:
        return Assessment(kind, True, "Data Access audit logs: " + ", ".join(f"{t} of {s}" for s, t in wanted),
                          where, (), identity.account, system, (setting.name,))
    if not complete:
        return Assessment(kind, None, "the project's folders / organisation audit configs were not all read",
                          (), (), identity.account, system, (setting.name,))
    return Assessment(kind, False, "; ".join(problems), (), tuple(problems), identity.account, system,
                      (setting.name,))


def assess_gcp(ctx: FactContext, identity: Identity, kinds: set[str],
               reach: Sequence[dict[str, Any]]) -> list[Assessment]:
    index = audit_index(ctx)
    found = index.settings("gcp", identity.account, AuditKind.GCP_AUDIT_CONFIG)
    setting = found[0] if found else None
    complete = index.read_completely("gcp", identity.account, AuditKind.GCP_AUDIT_CONFIG)
    out: list[Assessment] = []
    if MODEL_INVOCATIONS in kinds:
        services = sorted({a.split(".", 1)[0] + ".googleapis.com" for ev in estate_profiles(ctx).get(identity).ai
                           for a in ev.actions if "." in a})
        if services:
            wanted = [(s, t) for s in services for t in ("DATA_READ", "DATA_WRITE")]
            out.append(_assess(MODEL_INVOCATIONS, identity, setting, complete, wanted))
    if SECRET_ACCESS in kinds and ctx.evaluator.allowed_actions(identity, _SECRET_READ):
        out.append(_assess(SECRET_ACCESS, identity, setting, complete,
                           [("secretmanager.googleapis.com", "DATA_READ")]))
    if DATA_ACCESS in kinds:
        for entry in reach:
            system = ctx.policy.systems.get(entry["system"])
            if system is None or not any("/buckets/" in p for p in system.resources):
                continue
            types = ["DATA_READ"] + (["DATA_WRITE"] if entry["access"] in ("write", "admin") else [])
            out.append(_assess(DATA_ACCESS, identity, setting, complete,
                               [("storage.googleapis.com", t) for t in types], entry["system"]))
    return out
