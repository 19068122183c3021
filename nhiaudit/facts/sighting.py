"""Facts of credential sightings (the `sighting` subject): where a credential was seen in plain text, which
credential of the inventory it is (when it can be told), the identity it authenticates and what that reaches.

The join: an AWS access key id is a credential id; a GCP key file's `private_key_id` is the last segment of a
service-account key's name (its `client_email` names the account even when the key is not collected); an Entra
secret is joined through the client id written next to it (the service principal's appId) and then, among that
principal's secrets, the one whose Graph `hint` is the secret's first three characters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.facts.context import FactContext, days_between
from nhiaudit.facts.credential import is_active
from nhiaudit.facts.memo import memo
from nhiaudit.inventory.model import Credential, CredentialSighting, Identity
from nhiaudit.secrets.detect import AZURE_CLIENT_SECRET, GCP_SERVICE_ACCOUNT_KEY

MAX_LINES_LISTED = 20  # lines listed per grouped sighting (the count is exact)


@dataclass
class _Index:
    by_id: dict[str, list[Credential]] = field(default_factory=dict)
    gcp_keys: dict[str, list[Credential]] = field(default_factory=dict)  # key id (last segment) -> keys
    app_ids: dict[str, str] = field(default_factory=dict)  # Azure appId (lower case) -> service principal id


def _index(ctx: FactContext) -> _Index:
    index = _Index()
    for cred in ctx.estate.snapshot.credentials:
        index.by_id.setdefault(cred.id, []).append(cred)
        if "/keys/" in cred.id:
            index.gcp_keys.setdefault(cred.id.rsplit("/", 1)[-1], []).append(cred)
    for identity in ctx.estate.snapshot.identities:
        app_id = identity.attributes.get("appId")
        if app_id:
            index.app_ids.setdefault(app_id.lower(), identity.id)
    return index


def _join(ctx: FactContext, index: _Index, seen: CredentialSighting) -> tuple[Credential | None, Identity | None]:
    identities = ctx.estate.identities
    if seen.detector == GCP_SERVICE_ACCOUNT_KEY:
        keys = index.gcp_keys.get(seen.key_id or "", [])
        if len(keys) == 1:
            return keys[0], identities.get(keys[0].identity_id)
        return None, identities.get(seen.principal or "")
    if seen.detector == AZURE_CLIENT_SECRET:
        identity = identities.get(index.app_ids.get((seen.principal or "").lower(), ""))
        if identity is None:
            return None, None
        hinted = [c for c in ctx.credentials_by_identity.get(identity.id, [])
                  if seen.hint and (c.fingerprint or "").startswith(f"hint:{seen.hint}:")]
        return (hinted[0] if len(hinted) == 1 else None), identity
    creds = index.by_id.get(seen.key_id or "", []) if seen.key_id else []
    if len(creds) == 1:
        return creds[0], identities.get(creds[0].identity_id)
    return None, None


def _where(seen: CredentialSighting, lines: list[int]) -> str:
    """The location in words: `path:line` (commit), or the resource and its field."""
    if seen.location_kind in ("file", "git_commit"):
        text = f"{seen.location}:{lines[0]}" if lines else seen.location
        return text + (f" (commit {seen.commit[:12]})" if seen.commit else "")
    return (f"{seen.location_kind} {seen.location}" + (f" ({seen.field})" if seen.field else "")
            + (f" line {lines[0]}" if lines else ""))


def _group(sightings: list[CredentialSighting]) -> Iterator[tuple[CredentialSighting, list[int]]]:
    """One subject per credential and place (file and commit, resource and field), with every line of it."""
    groups: dict[tuple, list[CredentialSighting]] = {}
    for seen in sightings:
        key = (seen.location_kind, seen.location, seen.commit or "", seen.field or "", seen.detector,
               seen.key_id or "", seen.value_hash or "")
        groups.setdefault(key, []).append(seen)
    for key in sorted(groups):
        members = groups[key]
        first = min(members, key=lambda s: s.line or 0)
        if any(s.secret_nearby for s in members) and not first.secret_nearby:
            first = first.model_copy(update={"secret_nearby": True})
        yield first, sorted({s.line for s in members if s.line is not None})


def sighting_facts(ctx: FactContext) -> Iterator[dict[str, Any]]:
    sightings = ctx.estate.snapshot.credential_sightings
    if not sightings:
        return
    index = memo(ctx, "sighting_index", lambda: _index(ctx))
    for seen, lines in _group(sightings):
        cred, identity = _join(ctx, index, seen)
        yield _facts(ctx, seen, lines, cred, identity)


def _facts(ctx: FactContext, seen: CredentialSighting, lines: list[int], cred: Credential | None,
           identity: Identity | None) -> dict[str, Any]:
    ident = seen.key_id or seen.value_hash or ""
    integrations = ctx.integrations_of(identity) if identity else []
    reach = [{"system": sr.system, "access": sr.access.value, "via_chain": sr.via_chain,
              "classification": ctx.policy.systems[sr.system].classification or "",
              "environment": (ctx.policy.systems[sr.system].environment or "").lower()}
             for sr in ctx.reach.systems_for(identity.id)] if identity else []
    since_use = days_between(ctx.now, cred.last_used) if cred else None
    return {
        "id": ident, "detector": seen.detector, "key_id": seen.key_id or "", "value_hash": seen.value_hash or "",
        "location_kind": seen.location_kind, "location": seen.location, "line": lines[0] if lines else 0,
        "lines": lines[:MAX_LINES_LISTED], "commit": seen.commit or "", "field": seen.field or "",
        "where": _where(seen, lines), "in_cloud": seen.provider is not None,
        "cloud": {"provider": seen.provider.value if seen.provider else "", "account": seen.account or "",
                  "region": seen.region or ""},
        "secret_nearby": seen.secret_nearby,
        "matched": "credential" if cred else ("identity" if identity else "none"),
        "credential": {
            "id": cred.id if cred else "", "type": cred.type.value if cred else "", "exists": cred is not None,
            "active": bool(cred and is_active(cred, identity)),
            "last_used": cred.last_used.date().isoformat() if cred and cred.last_used else "never",
            "days_unused": since_use if since_use is not None else -1,
        },
        "identity": {
            "id": identity.id if identity else "", "name": identity.name if identity else "",
            "kind": identity.kind.value if identity else "", "provider": identity.provider.value if identity else "",
            "account": identity.account if identity else "", "exists": identity is not None,
            "declared": bool(integrations), "integrations": [i.name for i in integrations],
        },
        "reach": reach,
        "reach_systems": [r["system"] for r in reach],
        "key": "|".join((seen.location_kind, seen.location, seen.commit or "", seen.field or "", ident)),
    }
