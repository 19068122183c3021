"""Diagnostic settings of the Azure resources whose logs say what an AI access path did: Cognitive Services /
Azure OpenAI accounts (model calls: categories `Audit`, `RequestResponse`) and Key Vaults (secret reads:
`AuditEvent`), or the category groups `audit` / `allLogs`. Live: one ARM GET per such resource of the
subscription's resource listing (bounded); import: `az monitor diagnostic-settings list --resource ID`.
Get + pure transform to AuditLogSetting records (one per resource read; a failed read leaves none: unknown)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting
from nhiaudit.inventory.model import Provider

DIAGNOSTICS_API = "2021-05-01-preview"
MAX_AUDITED_RESOURCES = 200  # per subscription; beyond, a "truncated" collection issue
AUDITED_TYPES = {"microsoft.cognitiveservices/accounts": ("Audit", "RequestResponse"),
                 "microsoft.keyvault/vaults": ("AuditEvent",)}
AUDIT_GROUPS = ("audit", "allLogs")
_RESOURCE_ID = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36})/resourceGroups/[\w.()-]{1,90}/providers/"
                          r"Microsoft\.(CognitiveServices/accounts|KeyVault/vaults)/[\w-]{1,64}$", re.IGNORECASE)


def is_audited_id(value: str) -> bool:
    """A Cognitive Services account's or Key Vault's resource id (the resources whose diagnostic settings are read)."""
    return bool(_RESOURCE_ID.match(value))


def audited(resources: list[Mapping[str, Any]], subscription: str) -> list[str]:
    """Ids of the Cognitive Services accounts and Key Vaults of the subscription's listing, sorted. A hostile
    id (another subscription, a path or query) is never read."""
    out = set()
    for r in resources:
        rid = r.get("id")
        if str(r.get("type", "")).lower() in AUDITED_TYPES and isinstance(rid, str):
            match = _RESOURCE_ID.match(rid)
            if match and match.group(1).lower() == subscription.lower():
                out.add(rid)
    return sorted(out, key=str.lower)


def get_diagnostic_settings(list_all: Callable[[str, Mapping[str, str]], list[Any]], resource_id: str) -> list[Any]:
    found = list_all(f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings",
                     {"api-version": DIAGNOSTICS_API})
    if not all(isinstance(s, Mapping) for s in found):
        raise ValueError("malformed reply: a diagnostic setting is not an object")
    return found


def _enabled(setting: Mapping[str, Any]) -> list[str]:
    props = setting.get("properties") if isinstance(setting.get("properties"), Mapping) else setting
    out = []
    for log in props.get("logs") or []:
        if isinstance(log, Mapping) and log.get("enabled") is True:
            name = log.get("category") or log.get("categoryGroup")
            if isinstance(name, str):
                out.append(name)
    return out


def _destination(setting: Mapping[str, Any]) -> str:
    props = setting.get("properties") if isinstance(setting.get("properties"), Mapping) else setting
    for key in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId"):
        if isinstance(props.get(key), str) and props[key]:
            return str(props[key])
    return ""


def transform_diagnostic_settings(subscription: str, by_resource: Mapping[str, list[Mapping[str, Any]]]
                                  ) -> list[AuditLogSetting]:
    """One record per resource read: `categories` the enabled log categories and groups of all its settings;
    logging on when one of them records what the resource type audits."""
    out = []
    for resource_id, settings in sorted(by_resource.items(), key=lambda x: x[0].lower()):
        kind = resource_id.split("/providers/", 1)[-1].rsplit("/", 1)[0].lower()
        wanted = {c.lower() for c in (*AUDITED_TYPES.get(kind, ()), *AUDIT_GROUPS)}
        categories = sorted({c for s in settings for c in _enabled(s)})
        enabling = sorted({f"{s.get('name', '?')} -> {_destination(s) or 'no destination'}" for s in settings
                           if any(c.lower() in wanted for c in _enabled(s))})
        out.append(AuditLogSetting(
            provider=Provider.AZURE, account=subscription, kind=AuditKind.AZURE_DIAGNOSTIC_SETTING,
            id=resource_id.lower(), name=f"diagnostic settings of {resource_id.rsplit('/', 1)[-1]}",
            logging=bool(enabling), destination=", ".join(enabling) or None, resource_id=resource_id,
            categories=tuple(categories)))
    return out
