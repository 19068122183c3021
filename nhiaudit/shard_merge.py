"""`nhiaudit snapshot merge`: join the snapshots of `collect --shard I/N` jobs into one organisation snapshot.

The shards must agree on what they split (the same N, the same organisations and the same account lists);
they may not overlap (one shard per index, one shard per account). Shards or accounts that are absent do
not stop the merge: each missing account becomes a CollectionIssue of the merged snapshot, so a later
`scan --snapshot merged.json` reports the estate as incomplete too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nhiaudit.errors import UsageError
from nhiaudit.inventory.model import CollectionIssue, Provider
from nhiaudit.inventory.snapshot import ShardInfo, ShardScope, Snapshot, merge_snapshots

MERGE_OPERATION = "nhiaudit:snapshot-merge"
_SHOWN = 5  # accounts named in one message; the rest are counted
_UNIT = {Provider.AWS: "account", Provider.GCP: "project", Provider.AZURE: "subscription"}


class ShardConflict(UsageError):
    """The shard snapshots contradict each other (or one is no shard): merging them would mislead."""


@dataclass(frozen=True)
class ShardPart:
    name: str  # the file it came from, for messages
    snapshot: Snapshot

    @property
    def shard(self) -> ShardInfo:
        assert self.snapshot.shard is not None  # checked by _shard_parts
        return self.snapshot.shard


@dataclass(frozen=True)
class MergeResult:
    snapshot: Snapshot
    count: int  # N
    missing_shards: tuple[int, ...]
    missing_accounts: tuple[tuple[Provider, str], ...]  # enumerated, but in no merged shard

    @property
    def complete(self) -> bool:
        return not (self.missing_shards or self.missing_accounts)


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _scope_key(scope: ShardScope) -> tuple[str, str]:
    return scope.provider.value, scope.organization


def _check_agreement(parts: list[ShardPart]) -> None:
    """Same N, distinct indices, the same organisations and account lists. ShardConflict otherwise."""
    first = parts[0]
    by_index: dict[int, ShardPart] = {}
    for part in parts:
        if part.shard.count != first.shard.count:
            raise ShardConflict(f"{first.name} is shard {first.shard.index}/{first.shard.count} but {part.name} is "
                                f"{part.shard.index}/{part.shard.count}: the shards of one collection share N")
        other = by_index.setdefault(part.shard.index, part)
        if other is not part:
            raise ShardConflict(f"{other.name} and {part.name} are both shard {part.shard.index}/{part.shard.count}")
        mine = {_scope_key(s): s for s in part.shard.scopes}
        theirs = {_scope_key(s): s for s in first.shard.scopes}
        if mine.keys() != theirs.keys():
            raise ShardConflict(f"{first.name} and {part.name} split different organisations "
                                f"({_listed(sorted(':'.join(k) for k in theirs))} vs "
                                f"{_listed(sorted(':'.join(k) for k in mine))})")
        for key, scope in mine.items():
            if scope.enumerated != theirs[key].enumerated:
                only_first = sorted(set(theirs[key].enumerated) - set(scope.enumerated))
                only_part = sorted(set(scope.enumerated) - set(theirs[key].enumerated))
                raise ShardConflict(
                    f"{first.name} and {part.name} saw different {_UNIT[scope.provider]} lists for "
                    f"{':'.join(key)} (only in {first.name}: {_listed(only_first) or 'none'}; only in "
                    f"{part.name}: {_listed(only_part) or 'none'}): collect the shards again")


def _owners(parts: list[ShardPart]) -> dict[tuple[str, str, str], ShardPart]:
    """(provider, organisation, account) -> the shard that collected it; ShardConflict on an overlap or an
    account outside the enumeration."""
    owner: dict[tuple[str, str, str], ShardPart] = {}
    for part in parts:
        for scope in part.shard.scopes:
            listed = set(scope.enumerated)
            for account in scope.assigned:
                if account not in listed:
                    raise ShardConflict(f"{part.name} collected {_UNIT[scope.provider]} {account}, which its own "
                                        f"enumeration of {scope.organization} does not list")
                other = owner.setdefault((*_scope_key(scope), account), part)
                if other is not part:
                    raise ShardConflict(f"{_UNIT[scope.provider]} {account} is in both {other.name} (shard "
                                        f"{other.shard.index}/{other.shard.count}) and {part.name} (shard "
                                        f"{part.shard.index}/{part.shard.count})")
    return owner


def _shard_parts(named: Sequence[tuple[str, Snapshot]]) -> list[ShardPart]:
    if not named:
        raise UsageError("nothing to merge: give the shard snapshots of `collect --shard`")
    unsharded = [name for name, snapshot in named if snapshot.shard is None]
    if unsharded:
        raise ShardConflict(f"{_listed(unsharded)}: not a shard snapshot (collected without --shard)")
    return sorted((ShardPart(name, snapshot) for name, snapshot in named), key=lambda p: p.shard.index)


def _missing_issue(provider: Provider, account: str, indices: tuple[int, ...], count: int) -> CollectionIssue:
    unit = _UNIT[provider]
    absent = ", ".join(f"{i}/{count}" for i in indices) or "none"
    return CollectionIssue(provider=provider, account=account, operation=MERGE_OPERATION,
                           message=f"no merged shard collected this {unit} (shards not merged: {absent})",
                           missing=f"everything in {unit} {account}")


def _check_organizations(parts: list[ShardPart]) -> None:
    """Shards that read the same organisation's SCPs and RCPs must have read the same ones: the merged
    snapshot keeps one copy, and which one would decide findings."""
    seen: dict[str, ShardPart] = {}
    for part in parts:
        for org in part.snapshot.aws_organizations:
            other = seen.setdefault(org.id, part)
            if other is not part and org not in other.snapshot.aws_organizations:
                raise ShardConflict(f"{other.name} and {part.name} hold different SCPs, RCPs or OU trees for "
                                    f"organisation {org.id} (changed between their collections): collect the "
                                    "shards again")


def merge_shards(named: Sequence[tuple[str, Snapshot]]) -> MergeResult:
    """One snapshot from the shards (named by their files), the same whatever order they are given in.
    Raises ShardConflict when they disagree or overlap."""
    parts = _shard_parts(named)
    _check_agreement(parts)
    _check_organizations(parts)
    owner = _owners(parts)
    count = parts[0].shard.count
    missing_shards = tuple(sorted(set(range(count)) - {p.shard.index for p in parts}))
    missing = sorted({(scope.provider, scope.organization, account)
                      for scope in parts[0].shard.scopes for account in scope.enumerated
                      if (*_scope_key(scope), account) not in owner}, key=lambda m: (m[0].value, m[1], m[2]))
    merged = merge_snapshots([p.snapshot.model_copy(update={"shard": None}) for p in parts])
    issues = [_missing_issue(provider, account, missing_shards, count) for provider, _, account in missing]
    merged = merged.model_copy(update={"shard": None, "collection_issues": [*merged.collection_issues, *issues]})
    return MergeResult(merged, count, missing_shards, tuple((p, a) for p, _, a in missing))
