"""CloudTrail event selectors (GetEventSelectors) -> provider-neutral AuditSelector records. Pure.

Basic selectors (EventSelectors): ReadWriteType, IncludeManagementEvents, DataResources (Type + Values, where an
S3 value is an ARN prefix and `arn:aws:s3` / `arn:aws:lambda` / `arn:aws:dynamodb` mean every resource of the
type), ExcludeManagementEventSources. Advanced selectors (AdvancedEventSelectors): FieldSelectors on
eventCategory, readOnly, resources.type, resources.ARN and eventSource are kept as conditions; any other
field (eventName, userIdentity.arn, ...) is named in `unevaluated`, so coverage through that selector is unknown.
See https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError
from nhiaudit.inventory.audit_model import AuditSelector

MAX_SELECTORS = 500  # basic selectors allow 5, advanced 500 conditions per trail: beyond is not AWS's shape

# Default selectors of a trail without custom ones (HasCustomEventSelectors false): every management event.
DEFAULT_SELECTORS: tuple[AuditSelector, ...] = (AuditSelector(category="management"),)

_S3_OBJECT = "AWS::S3::Object"


def _rw(kind: Any) -> tuple[bool, bool]:
    text = str(kind or "All")
    return text in ("All", "ReadOnly"), text in ("All", "WriteOnly")


def _service_wide(value: str) -> bool:
    """`arn:aws:s3`, `arn:aws:s3:::`, `arn:aws:lambda`, `arn:aws:dynamodb`: every resource of the type."""
    parts = value.split(":")
    return len(parts) >= 3 and all(p == "" for p in parts[3:]) and parts[0] == "arn"


def _basic(selector: Mapping[str, Any]) -> list[AuditSelector]:
    read, write = _rw(selector.get("ReadWriteType"))
    out = []
    if selector.get("IncludeManagementEvents", True):
        out.append(AuditSelector(category="management", read=read, write=write,
                                 excluded_sources=tuple(sorted(map(str, selector.get("ExcludeManagementEventSources")
                                                                    or ())))))
    for resource in selector.get("DataResources") or ():
        kind = str(resource.get("Type", ""))
        values = [str(v) for v in resource.get("Values") or ()]
        if not values:
            continue  # a data resource without values records nothing
        if any(_service_wide(v) for v in values):
            out.append(AuditSelector(category="data", read=read, write=write, resource_types=(kind,)))
        elif kind == _S3_OBJECT:  # bucket or bucket/prefix: an ARN prefix
            out.append(AuditSelector(category="data", read=read, write=write, resource_types=(kind,),
                                     arn_starts_with=tuple(sorted(values))))
        else:  # Lambda functions, DynamoDB tables: exact ARNs
            out.append(AuditSelector(category="data", read=read, write=write, resource_types=(kind,),
                                     arn_equals=tuple(sorted(values))))
    return out


def _values(field: Mapping[str, Any], operator: str) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in field.get(operator) or ()))


_OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")


def _advanced(selector: Mapping[str, Any]) -> AuditSelector | None:
    """One advanced selector, or None when it records neither management nor data events."""
    fields: dict[str, dict[str, tuple[str, ...]]] = {}
    for field in selector.get("FieldSelectors") or ():
        name = str(field.get("Field", ""))
        ops = fields.setdefault(name, {})
        for op in _OPERATORS:
            if field.get(op):
                ops[op] = ops.get(op, ()) + _values(field, op)
    category = fields.pop("eventCategory", {})
    kinds = category.get("Equals", ())
    if set(category) - {"Equals"} or len(kinds) != 1 or kinds[0] not in ("Management", "Data"):
        return None  # network activity, insights ... (or a category condition AWS does not accept)
    unevaluated: list[str] = []

    def take(name: str, allowed: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        ops = fields.pop(name, {})
        if set(ops) - set(allowed):
            unevaluated.append(name)
        return ops

    read_only = take("readOnly", ("Equals",)).get("Equals", ())
    read = not read_only or "true" in read_only
    write = not read_only or "false" in read_only
    types = take("resources.type", ("Equals",)).get("Equals", ())
    arn = take("resources.ARN", ("StartsWith", "Equals", "NotStartsWith", "NotEquals"))
    sources = take("eventSource", ("Equals", "NotEquals"))
    unevaluated.extend(fields)  # every other field narrows what is recorded in a way nhiaudit does not evaluate
    return AuditSelector(
        category="management" if kinds[0] == "Management" else "data", read=read, write=write,
        resource_types=types, arn_starts_with=arn.get("StartsWith", ()), arn_equals=arn.get("Equals", ()),
        arn_not_starts_with=arn.get("NotStartsWith", ()), arn_not_equals=arn.get("NotEquals", ()),
        excluded_sources=sources.get("NotEquals", ()), included_sources=sources.get("Equals", ()),
        unevaluated=tuple(sorted(set(unevaluated))),
    )


def normalise_selectors(reply: Mapping[str, Any]) -> tuple[AuditSelector, ...]:
    """A GetEventSelectors reply (shape-checked: cloudtrail-event-selectors.schema.json) as AuditSelectors.
    A trail has basic or advanced selectors, never both; both are read if a file holds both."""
    basic: Sequence[Mapping[str, Any]] = reply.get("EventSelectors") or ()
    advanced: Sequence[Mapping[str, Any]] = reply.get("AdvancedEventSelectors") or ()
    if len(basic) + len(advanced) > MAX_SELECTORS:
        raise RawDataError(f"more than {MAX_SELECTORS} event selectors")
    if not basic and not advanced:
        # AWS: "trails created without specific event selectors log all read and write management events and
        # no data events"; GetEventSelectors then returns that default (emulators may return nothing).
        return DEFAULT_SELECTORS
    out = [s for b in basic for s in _basic(b)]
    out.extend(s for s in map(_advanced, advanced) if s is not None)
    return tuple(out)
