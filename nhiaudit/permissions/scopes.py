"""Which resources a grant reaches: resource patterns plus the containment of GCP / Azure hierarchies.

- ARNs: IAM glob overlap, nothing else (an ARN contains nothing).
- Azure ids: path globs (`*` one segment, `**` several); a grant on a scope reaches everything beneath it.
- GCP names: compared in canonical form (`gcp_names`); a grant reaches the resources beneath its resource
  (`projects/P` reaches `//SERVICE.googleapis.com/projects/P/...`), and a system written as a container
  (`projects/P`, `//storage.googleapis.com/projects/_/buckets/B`) is reached by grants on what lies
  beneath it. Folders and organisations contain the projects whose ancestry the snapshot records
  (`SourceInfo.ancestors`); a project of unknown ancestry lies beneath none.
- Azure management groups contain the subscriptions whose ancestry the snapshot records (a source per
  subscription: account = subscription id, ancestors = management group ids nearest first); ids compare
  case-insensitively, as Azure does.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from nhiaudit.inventory.model import Provider, SourceInfo
from nhiaudit.permissions.gcp_names import canonical_resource, is_gcp_name, name_key, scope_of, split_name
from nhiaudit.permissions.patterns import (
    globs_intersect,
    has_wildcard,
    resource_covers,
    resources_intersect,
)
from nhiaudit.permissions.segglob import seg_covers, seg_intersect, seg_match

_CACHE_LIMIT = 500_000
_MGMT_GROUP = re.compile(r"^/providers/microsoft\.management/managementgroups/[^/*?]+$")


def _azure(r: str) -> bool:
    return r.startswith("/") and not r.startswith("//")


class ResourceScopes:
    """Grant-vs-pattern questions with the estate's GCP ancestry (project -> folders -> organisation)."""

    def __init__(self, ancestors: Mapping[str, Iterable[str]] | None = None,
                 azure: Mapping[str, Iterable[str]] | None = None) -> None:
        # Azure: management group id (lower case) -> the subscriptions beneath it, and the reverse.
        self._mg_subscriptions: dict[str, list[str]] = defaultdict(list)
        self._sub_groups: dict[str, frozenset[str]] = {}
        for sub, groups in sorted((azure or {}).items()):
            chain = frozenset(g.lower().rstrip("/") for g in groups)
            self._sub_groups[sub.lower()] = chain
            for g in sorted(chain):
                self._mg_subscriptions[g].append(sub.lower())
        # "projects/P" -> its ancestors nearest first; chains also give each folder's own ancestors.
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._descendants: dict[str, list[str]] = defaultdict(list)
        for project, chain in sorted((ancestors or {}).items()):
            nodes = (project, *chain)
            for i, node in enumerate(nodes):
                self._ancestors.setdefault(node, nodes[i + 1:])
                for parent in nodes[i + 1:]:
                    if node not in self._descendants[parent]:
                        self._descendants[parent].append(node)
        self._overlap: dict[tuple[str, str], bool] = {}
        self._cover: dict[tuple[str, str], bool] = {}

    @property
    def has_ancestry(self) -> bool:
        return bool(self._ancestors or self._sub_groups)

    def overlaps(self, grant: str, pattern: str) -> bool:
        """May a grant on `grant` (a statement resource, variables widened) act on something matching
        `pattern`?"""
        key = (grant, pattern)
        hit = self._overlap.get(key)
        if hit is None:
            if len(self._overlap) > _CACHE_LIMIT:
                self._overlap.clear()
            hit = self._overlap[key] = self._overlaps(grant, pattern)
        return hit

    def covers(self, grant: str, target: str) -> bool:
        """Does a grant (or Deny) on `grant` certainly apply to every resource matching `target`?"""
        key = (grant, target)
        hit = self._cover.get(key)
        if hit is None:
            if len(self._cover) > _CACHE_LIMIT:
                self._cover.clear()
            hit = self._cover[key] = self._covers(grant, target)
        return hit

    # --- implementation ----------------------------------------------------------------------------------

    def _overlaps(self, r: str, p: str) -> bool:
        if r == "*" or p == "*":
            return True
        if is_gcp_name(r) or is_gcp_name(p):
            return self._gcp_overlaps(canonical_resource(r), canonical_resource(p))
        if resources_intersect(r, p):
            return True
        if not _azure(r):
            return False
        if resources_intersect(r.rstrip("/") + "/**", p) or (
                _azure(p) and resources_intersect(p.rstrip("/") + "/**", r)):
            return True
        # Management groups: a grant on one reaches the subscriptions beneath it (and a system written as a
        # management group is reached by grants on what lies beneath it).
        return any(self._overlaps(f"/subscriptions/{sub}", p) for sub in self._mg_subscriptions.get(_mg(r), ())) \
            or (_azure(p) and any(self._overlaps(r, f"/subscriptions/{sub}")
                                  for sub in self._mg_subscriptions.get(_mg(p), ())))

    def _covers(self, r: str, t: str) -> bool:
        if r == "*":
            return True
        if is_gcp_name(r) or is_gcp_name(t):
            return self._gcp_covers(canonical_resource(r), canonical_resource(t))
        if resource_covers(r, t):
            return True
        if not _azure(r):
            return False
        if resource_covers(r.rstrip("/") + "/**", t):
            return True
        group = _mg(r)
        parts = t.split("/")
        if not group or len(parts) < 3 or parts[1].lower() != "subscriptions" or has_wildcard(parts[2]):
            return False
        return group in self._sub_groups.get(parts[2].lower(), ())

    def _gcp_overlaps(self, r: str, p: str) -> bool:
        hr, rp = split_name(r)
        hp, pp = split_name(p)
        if hr and hp and not globs_intersect(hr, hp):
            return False
        rk, pk = name_key(rp), name_key(pp)
        if seg_intersect(rk, pk) or _beneath(rk, pk) or _beneath(pk, rk):
            return True
        if (rk, pk) != (rp, pp) and (_beneath(rp, pp) or _beneath(pp, rp)):  # a bucket's stated project
            return True
        return self._ancestry_overlaps(rp, pp) or self._ancestry_overlaps(pp, rp)

    def _ancestry_overlaps(self, upper: str, lower: str) -> bool:
        """Is something matching `lower` inside a folder / organisation matching `upper`?"""
        if not upper.startswith(("folders/", "organizations/")) or not self._descendants:
            return False
        for scope, below in self._descendants.items():
            if not (seg_match(upper, scope) if has_wildcard(upper) else upper == scope):
                continue
            if any(seg_intersect(d, lower) or _beneath(d, lower) for d in below):
                return True
        return False

    def _gcp_covers(self, r: str, t: str) -> bool:
        hr, rp = split_name(r)
        ht, tp = split_name(t)
        if hr and (not ht or not resource_covers(hr, ht)):
            return False
        rk, tk = name_key(rp), name_key(tp)
        if seg_covers(rk, tk) or seg_covers(rk + "/**", tk) or seg_covers(rp + "/**", tp):
            return True
        scope = scope_of(tp)
        if scope is None or has_wildcard(scope) or not rp.startswith(("folders/", "organizations/")):
            return False
        return rp in self._ancestors.get(scope, ())


def _mg(resource: str) -> str:
    """The lower-case id of a management group scope, '' for anything else."""
    low = resource.lower().rstrip("/")
    return low if _MGMT_GROUP.match(low) else ""


def _beneath(upper: str, lower: str) -> bool:
    """Can something matching `lower` lie strictly beneath something matching `upper`?"""
    return seg_intersect(upper.rstrip("/") + "/**", lower)


def estate_scopes(sources: Iterable[SourceInfo]) -> ResourceScopes:
    """The ancestry the snapshot's sources record: GCP project id -> folders and organisation; Azure
    subscription id -> management groups."""
    sources = list(sources)
    return ResourceScopes({f"projects/{s.account}": s.ancestors for s in sources
                           if s.provider is Provider.GCP and s.ancestors},
                          {s.account: s.ancestors for s in sources if s.provider is Provider.AZURE and s.ancestors})
