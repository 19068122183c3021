"""The versioned snapshot: everything analysis needs, as one JSON document."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nhiaudit.errors import InputError
from nhiaudit.inventory.model import (
    CollectionIssue,
    Credential,
    DelegatedGrant,
    Identity,
    Policy,
    SourceInfo,
    Trust,
    Workload,
)
from nhiaudit.limits import MAX_SNAPSHOT_BYTES

SNAPSHOT_SCHEMA_VERSION = 1


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

    @property
    def complete(self) -> bool:
        return not self.collection_issues

    def to_json(self) -> str:
        return self.model_dump_json(indent=1, exclude_defaults=False)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json() + "\n", encoding="utf-8")


def load_snapshot(path: Path) -> Snapshot:
    """Load and validate a snapshot file; every problem becomes an InputError naming the file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError.single(path, f"snapshot not readable: {exc.strerror}") from None
    if size > MAX_SNAPSHOT_BYTES:
        raise InputError.single(path, f"snapshot is {size} bytes; the limit is {MAX_SNAPSHOT_BYTES}")
    raw = path.read_bytes()
    try:
        snapshot = Snapshot.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InputError.single(path, f"not a valid nhiaudit snapshot: {where}: {first['msg']}{more}") from None
    if snapshot.schema_version != SNAPSHOT_SCHEMA_VERSION:
        raise InputError.single(
            path, f"snapshot schema_version {snapshot.schema_version} is not supported "
            f"(this nhiaudit reads version {SNAPSHOT_SCHEMA_VERSION})"
        )
    return snapshot


def _unique(items: Iterable, key) -> list:
    seen: dict = {}
    for item in items:
        seen.setdefault(key(item), item)
    return list(seen.values())


def merge_snapshots(snapshots: list[Snapshot]) -> Snapshot:
    """Merge per-account snapshots. Records with the same id are kept once (first one wins)."""
    if len(snapshots) == 1:
        return snapshots[0]
    return Snapshot(
        generated_at=max((s.generated_at for s in snapshots), default=datetime.now(UTC)),
        sources=_unique((x for s in snapshots for x in s.sources), lambda x: (x.provider, x.account, x.method)),
        identities=_unique((x for s in snapshots for x in s.identities), lambda x: x.id),
        credentials=_unique((x for s in snapshots for x in s.credentials), lambda x: (x.identity_id, x.id)),
        policies=_unique((x for s in snapshots for x in s.policies), lambda x: x.id),
        trusts=_unique((x for s in snapshots for x in s.trusts),
                       lambda x: (x.identity_id, x.principal, x.kind, json.dumps(x.conditions, sort_keys=True))),
        workloads=_unique((x for s in snapshots for x in s.workloads), lambda x: x.id),
        delegated_grants=_unique((x for s in snapshots for x in s.delegated_grants), lambda x: x.id),
        collection_issues=[x for s in snapshots for x in s.collection_issues],
    )
