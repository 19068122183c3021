"""Does a CloudTrail trail record the events of one kind of access? Tri-state: True (recorded), False (not
recorded), None (unknown: the trail's status or selectors were not read, or a selector filters on a field
nhiaudit does not evaluate). Wildcard patterns are compared by their literal prefix and with the linear-time
glob matcher, never by regular expressions built from estate data."""

from __future__ import annotations

from dataclasses import dataclass

from nhiaudit.inventory.audit_model import AuditLogSetting, AuditSelector
from nhiaudit.permissions.patterns import glob_match, has_wildcard

Verdict = bool | None


@dataclass(frozen=True)
class EventNeed:
    """The events one access produces: management events of an event source (a secret read), or data events
    of a resource type on resources matching `arn` (a system's pattern, in the data event's ARN space)."""

    category: str  # management | data
    read: bool
    write: bool
    region: str | None  # None: any region (the trail must record every region)
    source: str = ""  # management: the event source (secretsmanager.amazonaws.com)
    resource_type: str = ""  # data: AWS::S3::Object ...
    arn: str = ""  # data: resource ARN pattern (* and ? globs)


def _literal_prefix(pattern: str) -> str:
    cut = [i for i in (pattern.find("*"), pattern.find("?")) if i >= 0]
    return pattern[: min(cut)] if cut else pattern


def _arn_covered(sel: AuditSelector, pattern: str) -> bool:
    """Every resource matching `pattern` passes the selector's ARN conditions."""
    prefix = _literal_prefix(pattern)
    if sel.arn_starts_with or sel.arn_equals:
        hit = any(prefix.startswith(v) for v in sel.arn_starts_with) or (
            not has_wildcard(pattern) and pattern in sel.arn_equals)
        if not hit:
            return False
    if any(prefix.startswith(n) or n.startswith(prefix) for n in sel.arn_not_starts_with):
        return False  # some matching resource may be excluded
    return not any(glob_match(pattern, n) for n in sel.arn_not_equals)


def selector_covers(sel: AuditSelector, need: EventNeed) -> Verdict:
    if sel.category != need.category or (need.read and not sel.read) or (need.write and not sel.write):
        return False
    if need.category == "management":
        if need.source in sel.excluded_sources or (sel.included_sources and need.source not in sel.included_sources):
            return False
    else:
        if sel.resource_types and need.resource_type not in sel.resource_types:
            return False
        if not _arn_covered(sel, need.arn):
            return False
    return None if sel.unevaluated else True


def trail_covers(trail: AuditLogSetting, need: EventNeed) -> Verdict:
    if trail.logging is False:
        return False  # a stopped trail records nothing
    if not trail.multi_region and (need.region is None or need.region not in trail.regions):
        return False
    if trail.logging is None or trail.selectors is None:
        return None
    verdicts = [selector_covers(s, need) for s in trail.selectors]
    if any(v is True for v in verdicts):
        return True
    return None if any(v is None for v in verdicts) else False


def combine(verdicts: list[Verdict], listing_complete: bool) -> Verdict:
    """Recorded when some trail records it; not recorded only when every trail was read and none does."""
    if any(v is True for v in verdicts):
        return True
    if any(v is None for v in verdicts) or not listing_complete:
        return None
    return False
