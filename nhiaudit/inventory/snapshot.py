"""The versioned snapshot: everything analysis needs, as one JSON document."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.inventory.audit_model import AuditLogSetting
from nhiaudit.inventory.model import (
    CollectionIssue,
    Credential,
    CredentialSighting,
    DelegatedGrant,
    Identity,
    Policy,
    PolicyAttachment,
    Provider,
    SourceInfo,
    Trust,
    Workload,
)
from nhiaudit.inventory.organization import AwsOrganization
from nhiaudit.inventory.resources import ResourcePolicy
from nhiaudit.jsonlocate import MAX_JSON_DEPTH, locate
from nhiaudit.jsonshape import format_path
from nhiaudit.limits import MAX_REPORTED_PROBLEMS, MAX_SNAPSHOT_BYTES, read_text_limited

SNAPSHOT_SCHEMA_VERSION = 1


class ShardScope(BaseModel):
    """One enumerated organisation as a `--shard` collection saw it, so `snapshot merge` can tell which
    accounts (AWS accounts, GCP projects) no merged shard collected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Provider
    organization: str  # what was enumerated: the AWS organisation id, the GCP organization and folders
    enumerated: tuple[str, ...]  # every account the enumeration found, sorted
    assigned: tuple[str, ...]  # those this shard collected, sorted


class ShardInfo(BaseModel):
    """Which shard of a `collect --shard I/N` this snapshot is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0)
    count: int = Field(ge=1)
    scopes: tuple[ShardScope, ...] = ()


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SNAPSHOT_SCHEMA_VERSION
    generated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    sources: list[SourceInfo] = Field(default_factory=list)
    identities: list[Identity] = Field(default_factory=list)
    credentials: list[Credential] = Field(default_factory=list)
    policies: list[Policy] = Field(default_factory=list)
    trusts: list[Trust] = Field(default_factory=list)
    workloads: list[Workload] = Field(default_factory=list)
    delegated_grants: list[DelegatedGrant] = Field(default_factory=list)
    collection_issues: list[CollectionIssue] = Field(default_factory=list)
    # Policies for identities of other snapshots (kept, so a later merge still applies them).
    attachments: list[PolicyAttachment] = Field(default_factory=list)
    # AWS resource-based policies (bucket, key, secret, function, queue, topic), one per resource.
    resource_policies: list[ResourcePolicy] = Field(default_factory=list)
    # Credential-shaped values seen in cloud configuration (or, during a scan, in --secrets-in trees).
    credential_sightings: list[CredentialSighting] = Field(default_factory=list)
    # Audit trails, model invocation logging, audit configs, diagnostic settings (inventory/audit_model.py).
    audit_settings: list[AuditLogSetting] = Field(default_factory=list)
    # Set by `collect --shard`; absent from the JSON otherwise, so unsharded snapshots keep their shape.
    shard: ShardInfo | None = None
    # AWS Organizations SCPs and RCPs with the organisation's hierarchy (`--aws-org`, or imported), one per
    # organisation: the caps analysis applies to member accounts (inventory/organization.py).
    aws_organizations: list[AwsOrganization] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.collection_issues

    def to_json(self) -> str:
        # Optional parts are left out when empty, so snapshots without them keep their shape.
        absent = {"shard"} if self.shard is None else set()
        if not self.credential_sightings:
            absent.add("credential_sightings")
        return self.model_dump_json(indent=1, exclude_defaults=False, exclude=absent or None)

    def write(self, path: Path) -> None:
        from nhiaudit.atomic_write import write_text_atomic

        write_text_atomic(path, self.to_json() + "\n")


def load_snapshot(path: Path) -> Snapshot:
    """Load and validate a snapshot file; every problem becomes an InputError naming the file, with the
    line and column of the offending value (up to MAX_REPORTED_PROBLEMS of them)."""
    text = read_text_limited(path, MAX_SNAPSHOT_BYTES, "snapshot")
    try:
        snapshot = Snapshot.model_validate_json(text)
    except ValidationError as exc:
        raise _snapshot_error(path, text, exc) from None
    if snapshot.schema_version != SNAPSHOT_SCHEMA_VERSION:
        raise _version_error(path, text, snapshot.schema_version)
    return snapshot


_JSON_POSITION = re.compile(r"\s*at line (\d+) column (\d+)$")


def _version_error(path: Path, text: str, version: object) -> InputError:
    line, column = locate(text, ("schema_version",))
    return InputError.single(
        path,
        f"snapshot schema_version {version!r} is not supported (this nhiaudit reads version "
        f"{SNAPSHOT_SCHEMA_VERSION})",
        line,
        column,
    )


def _snapshot_error(path: Path, text: str, exc: ValidationError) -> InputError:
    errors = exc.errors(include_url=False, include_input=False)
    if errors and errors[0]["type"] == "json_invalid":
        # pydantic's parser (jiter) stops at 200 levels of nesting and at lone surrogate escapes too.
        reason = str((errors[0].get("ctx") or {}).get("error", errors[0]["msg"]))
        found = _JSON_POSITION.search(reason)
        line, column = (int(found.group(1)), int(found.group(2))) if found else (1, 1)
        reason = _JSON_POSITION.sub("", reason)
        if "recursion limit" in reason:
            reason = f"nested more than {MAX_JSON_DEPTH} levels deep"
        return InputError.single(path, f"not valid JSON: {reason}", line, column)
    version = _declared_version(text)
    if version is not None and version != SNAPSHOT_SCHEMA_VERSION:
        return _version_error(path, text, version)  # another version's shape: its errors would mislead
    problems = []
    for error in errors[:MAX_REPORTED_PROBLEMS]:
        loc = tuple(error["loc"])
        line, column = locate(text, loc)
        where = format_path(loc) or "(top level)"
        message = f"not a valid nhiaudit snapshot: {where}: {error['msg']}"
        problems.append(InputProblem(SourceLocation(str(path), line, column), message))
    if len(errors) > MAX_REPORTED_PROBLEMS:
        more = len(errors) - MAX_REPORTED_PROBLEMS
        problems.append(InputProblem(problems[-1].location, f"... and {more} more problem(s) in this snapshot"))
    return InputError(problems)


def _declared_version(text: str) -> object:
    """The top-level schema_version of a snapshot that failed validation, if it can be read at all."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data.get("schema_version") if isinstance(data, dict) else None


def _unique(items: Iterable, key) -> list:
    seen: dict = {}
    for item in items:
        seen.setdefault(key(item), item)
    return list(seen.values())


def merge_snapshots(snapshots: list[Snapshot]) -> Snapshot:
    """Merge per-account snapshots. Records with the same id are kept once (first one wins)."""
    if len(snapshots) == 1:
        return snapshots[0]
    attachments = _unique((x for s in snapshots for x in s.attachments), lambda x: (x.identity_id, x.policy_id))
    return Snapshot(
        generated_at=max((s.generated_at for s in snapshots), default=datetime.now(UTC)),
        sources=_unique((x for s in snapshots for x in s.sources), lambda x: (x.provider, x.account, x.method)),
        identities=_attach(_unique((x for s in snapshots for x in s.identities), lambda x: x.id), attachments),
        credentials=_unique((x for s in snapshots for x in s.credentials), lambda x: (x.identity_id, x.id)),
        policies=_unique((x for s in snapshots for x in s.policies), lambda x: x.id),
        trusts=_unique((x for s in snapshots for x in s.trusts),
                       lambda x: (x.identity_id, x.principal, x.kind, json.dumps(x.conditions, sort_keys=True))),
        workloads=_unique((x for s in snapshots for x in s.workloads), lambda x: x.id),
        delegated_grants=_unique((x for s in snapshots for x in s.delegated_grants), lambda x: x.id),
        collection_issues=[x for s in snapshots for x in s.collection_issues],
        attachments=sorted(attachments, key=lambda x: (x.identity_id, x.policy_id)),
        resource_policies=_unique((x for s in snapshots for x in s.resource_policies), lambda x: x.id),
        audit_settings=_unique((x for s in snapshots for x in s.audit_settings),
                               lambda x: (x.provider, x.account, x.kind, x.id)),
        shard=_same_shard([s.shard for s in snapshots if s.shard is not None]),
        aws_organizations=sorted(_unique((x for s in snapshots for x in s.aws_organizations), lambda x: x.id),
                                 key=lambda x: x.id),
        credential_sightings=_unique((x for s in snapshots for x in s.credential_sightings), sighting_key),
    )


def sighting_key(item: CredentialSighting) -> tuple:
    """One sighting per place and credential (a merge keeps it once)."""
    return (item.location_kind, item.location, item.line or 0, item.commit or "", item.field or "", item.detector,
            item.key_id or "", item.value_hash or "")


def _same_shard(parts: list[ShardInfo]) -> ShardInfo | None:
    """The parts of one shard (its sources) make that shard; parts of different shards are no shard at all
    (`snapshot merge` is what validates and combines shards)."""
    if not parts or len({(p.index, p.count) for p in parts}) > 1:
        return None
    scopes = sorted((x for p in parts for x in p.scopes), key=lambda x: (x.provider.value, x.organization))
    return ShardInfo(index=parts[0].index, count=parts[0].count, scopes=tuple(scopes))


def _attach(identities: list[Identity], attachments: list[PolicyAttachment]) -> list[Identity]:
    """Identities with the policies other snapshots attach to them (a cross-project GCP binding)."""
    extra: dict[str, dict[str, str]] = {}
    for item in attachments:
        extra.setdefault(item.identity_id, {}).setdefault(item.policy_id, item.source)
    out = []
    for identity in identities:
        more = {k: v for k, v in extra.get(identity.id, {}).items() if k not in identity.policy_sources}
        if more:
            sources = dict(sorted({**identity.policy_sources, **more}.items()))
            identity = identity.model_copy(update={
                "policy_ids": tuple(sorted(set(identity.policy_ids) | set(more))), "policy_sources": sources})
        out.append(identity)
    return out
