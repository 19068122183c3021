"""Audit coverage of one Azure identity: diagnostic settings of the Cognitive Services / Azure OpenAI accounts
(model calls) and Key Vaults (secret reads) of the policy systems it can reach. A resource matches a system when
one of the system's resource patterns matches its ARM id (case-insensitive). A resource whose settings were not
read has no record: unknown, never a gap. A reached system without such resources says nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nhiaudit.facts.audit_index import MODEL_INVOCATIONS, SECRET_ACCESS, Assessment, audit_index
from nhiaudit.facts.context import FactContext
from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting
from nhiaudit.inventory.model import Identity
from nhiaudit.permissions.patterns import resources_intersect

_KIND_OF = {"/microsoft.cognitiveservices/accounts/": MODEL_INVOCATIONS, "/microsoft.keyvault/vaults/": SECRET_ACCESS}
_WHAT = {MODEL_INVOCATIONS: "Audit / RequestResponse logs", SECRET_ACCESS: "AuditEvent logs"}


def _kind(record: AuditLogSetting) -> str | None:
    rid = (record.resource_id or "").lower()
    return next((kind for marker, kind in _KIND_OF.items() if marker in rid), None)


def assess_azure(ctx: FactContext, identity: Identity, kinds: set[str],
                 reach: Sequence[dict[str, Any]]) -> list[Assessment]:
    records = [s for (provider, _), found in sorted(audit_index(ctx).by_account.items()) if provider == "azure"
               for s in found if s.kind is AuditKind.AZURE_DIAGNOSTIC_SETTING]
    hits: dict[str, list[tuple[str, AuditLogSetting]]] = {}
    for entry in reach:
        system = ctx.policy.systems.get(entry["system"])
        if system is None:
            continue
        for record in records:
            kind = _kind(record)
            if kind in kinds and any(resources_intersect(p, record.resource_id or "") for p in system.resources):
                hits.setdefault(kind, []).append((entry["system"], record))
    out = []
    for kind, found in sorted(hits.items()):
        off = sorted({r.resource_id or r.id for _, r in found if not r.logging})
        where = tuple(sorted({f"{r.name}: {r.destination}" for _, r in found if r.logging}))
        checked = tuple(sorted({r.name for _, r in found}))
        account = found[0][1].account
        if off:
            out.append(Assessment(kind, False, f"no diagnostic setting sends {_WHAT[kind]} of " + ", ".join(off),
                                  where, tuple(off), account, checked=checked))
        else:
            out.append(Assessment(kind, True, f"{_WHAT[kind]} are sent by diagnostic settings", where, (), account,
                                  checked=checked))
    return out
