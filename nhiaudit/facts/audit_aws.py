"""Audit coverage of one AWS identity: are its model calls, secret reads and data access recorded?

- Model calls: Bedrock model invocation logging in each region where it may call models: the regions its
  allowing statements name, or, when a statement allows any region, every region whose logging setting was
  read. A region whose setting was not read is unknown.
- Secret reads: a logging CloudTrail trail of its account recording read management events of Secrets Manager,
  SSM and KMS (`GetSecretValue`, `GetParameter*`, `Decrypt`; a trail may exclude kms.amazonaws.com) in the
  regions its allowing statements name (any region: a multi-region trail).
- Data access: data event selectors of a logging trail of its account (and of the resource's account when the
  pattern names one) covering every resource pattern of each system it can reach, for S3 objects, DynamoDB
  tables and Lambda functions (other resources have no data events nhiaudit evaluates).
A trail that is not logging records nothing. Unknown (a denied or missing read) is never a gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nhiaudit.facts.audit_index import (
    DATA_ACCESS,
    MODEL_INVOCATIONS,
    SECRET_ACCESS,
    Assessment,
    AuditIndex,
    audit_index,
)
from nhiaudit.facts.audit_selectors import EventNeed, combine, trail_covers
from nhiaudit.facts.context import FactContext
from nhiaudit.facts.escalation import estate_profiles
from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting
from nhiaudit.inventory.model import Identity, Provider
from nhiaudit.permissions.patterns import has_wildcard

# Event source -> the read calls of a secret that CloudTrail records as read management events.
SECRET_READS: dict[str, tuple[str, ...]] = {
    "secretsmanager.amazonaws.com": ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"),
    "ssm.amazonaws.com": ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"),
    "kms.amazonaws.com": ("kms:Decrypt",),
}
# ARN service -> the data event resource type CloudTrail records for it.
DATA_TYPES = {"s3": "AWS::S3::Object", "dynamodb": "AWS::DynamoDB::Table", "lambda": "AWS::Lambda::Function"}


def _region(arn: str) -> str | None:
    """The ARN's region when it names one literally ('' for global ARNs such as S3), else None (any)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or has_wildcard(parts[3]):
        return None
    return parts[3]


def _statement_regions(evidence: Iterable[Any]) -> tuple[str, ...] | None:
    """Regions the allowing statements name; None when one allows any region."""
    found: set[str] = set()
    for ev in evidence:
        if ev.not_resource:
            return None
        for resource in ev.statement_resources:
            region = _region(resource)
            if not region:
                return None
            found.add(region)
    return tuple(sorted(found))


def _model_calls(ctx: FactContext, identity: Identity, index: AuditIndex) -> Assessment | None:
    evidence = estate_profiles(ctx).get(identity).ai
    if not evidence:
        return None
    settings = {s.regions[0]: s for s in index.settings("aws", identity.account,
                                                        AuditKind.BEDROCK_INVOCATION_LOGGING) if s.regions}
    named = _statement_regions(evidence)
    regions = named if named is not None else tuple(sorted(settings))
    known = [settings[r] for r in regions if r in settings]
    off = tuple(s.regions[0] for s in known if not s.logging)
    on = [s for s in known if s.logging]
    unknown = [r for r in regions if r not in settings]
    where = tuple(f"{s.name} -> {s.destination}" for s in on)
    scope = "the regions its statements name" if named is not None else "every region read"
    if off:
        return Assessment(MODEL_INVOCATIONS, False, f"Bedrock model invocation logging is off in {', '.join(off)} "
                          f"({scope})", where, off, identity.account, checked=tuple(s.name for s in known))
    if not regions or unknown:
        what = ", ".join(unknown) if unknown else "any region"
        return Assessment(MODEL_INVOCATIONS, None, f"Bedrock model invocation logging was not read for {what}",
                          where, (), identity.account)
    return Assessment(MODEL_INVOCATIONS, True, f"Bedrock model invocation logging is on in {', '.join(regions)}",
                      where, (), identity.account, checked=tuple(s.name for s in known))


_RECORDERS = (AuditKind.CLOUDTRAIL_TRAIL, AuditKind.CLOUDTRAIL_EVENT_DATA_STORE)


def _trails_for(index: AuditIndex, accounts: Iterable[str]) -> tuple[list[AuditLogSetting], bool]:
    """The trails and event data stores of the accounts, and whether both were listed completely."""
    trails, complete = [], True
    for account in sorted(set(accounts)):
        for kind in _RECORDERS:
            trails.extend(index.settings("aws", account, kind))
            complete = complete and index.read_completely("aws", account, kind)
    return trails, complete


def _trail_label(trail: AuditLogSetting) -> str:
    what = "trail" if trail.kind is AuditKind.CLOUDTRAIL_TRAIL else "event data store"
    return f"{what} {trail.name} ({trail.id})"


def _secret_reads(ctx: FactContext, identity: Identity, index: AuditIndex) -> Assessment | None:
    needs: list[tuple[str, EventNeed]] = []
    for source, actions in SECRET_READS.items():
        evidence = ctx.evaluator.allowed_actions(identity, actions)
        if not evidence:
            continue
        regions = _statement_regions(evidence)
        for region in regions if regions else (None,):
            needs.append((f"{source}{' in ' + region if region else ''}",
                          EventNeed("management", read=True, write=False, region=region, source=source)))
    if not needs:
        return None
    trails, complete = _trails_for(index, (identity.account,))
    missing, unknown = [], []
    for label, need in needs:
        verdict = combine([trail_covers(t, need) for t in trails], complete)
        if verdict is False:
            missing.append(label)
        elif verdict is None:
            unknown.append(label)
    checked = tuple(t.name for t in trails)
    where = tuple(_trail_label(t) for t in trails if any(trail_covers(t, n) is True for _, n in needs))
    if missing:
        detail = "no logging trail or event data store records the read management events of " + ", ".join(missing)
        return Assessment(SECRET_ACCESS, False, detail, where, tuple(missing), identity.account, checked=checked)
    if unknown:
        return Assessment(SECRET_ACCESS, None, "not known whether trails record " + ", ".join(unknown), where, (),
                          identity.account, checked=checked)
    return Assessment(SECRET_ACCESS, True, "secret reads are recorded as read management events", where, (),
                      identity.account, checked=checked)


def data_need(pattern: str, read: bool, write: bool) -> tuple[EventNeed, str] | None:
    """The data events of resources matching a system pattern, and the pattern's account ('' any)."""
    parts = pattern.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] not in DATA_TYPES:
        return None
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    arn = pattern
    if service == "s3" and "/" not in resource:
        arn = pattern + "/*"  # a bucket pattern: its objects
    return (EventNeed("data", read=read, write=write, region=None if has_wildcard(region) or not region else region,
                      resource_type=DATA_TYPES[service], arn=arn),
            "" if has_wildcard(account) else account)


def _data_access(ctx: FactContext, identity: Identity, reach: Sequence[dict[str, Any]],
                 index: AuditIndex) -> list[Assessment]:
    out = []
    for entry in reach:
        system = ctx.policy.systems.get(entry["system"])
        if system is None or (system.kind or "").lower() == "ai-model":
            continue
        write = entry["access"] in ("write", "admin")
        needs = [(p, found) for p in system.resources if (found := data_need(p, True, write)) is not None]
        if not needs:
            continue
        missing, unknown, where, checked = [], [], set(), set()
        for pattern, (need, owner) in needs:
            trails, complete = _trails_for(index, (identity.account, *((owner,) if owner else ())))
            checked.update(t.name for t in trails)
            verdicts = [trail_covers(t, need) for t in trails]
            where.update(_trail_label(t) for t, v in zip(trails, verdicts, strict=True) if v is True)
            verdict = combine(verdicts, complete)
            if verdict is False:
                missing.append(pattern)
            elif verdict is None:
                unknown.append(pattern)
        events = "read and write" if write else "read"
        if missing:
            verdict, detail = False, (f"no logging trail or event data store records {events} data events on "
                                      + ", ".join(missing))
        elif unknown:
            verdict, detail = None, "not known whether trails record data events on " + ", ".join(unknown)
        else:
            verdict, detail = True, f"{events} data events are recorded"
        out.append(Assessment(DATA_ACCESS, verdict, detail, tuple(sorted(where)), tuple(missing), identity.account,
                              entry["system"], tuple(sorted(checked))))
    return out


def assess_aws(ctx: FactContext, identity: Identity, kinds: set[str],
               reach: Sequence[dict[str, Any]]) -> list[Assessment]:
    if identity.provider is not Provider.AWS:
        return []
    index = audit_index(ctx)
    out: list[Assessment] = []
    if MODEL_INVOCATIONS in kinds and (found := _model_calls(ctx, identity, index)) is not None:
        out.append(found)
    if SECRET_ACCESS in kinds and (found := _secret_reads(ctx, identity, index)) is not None:
        out.append(found)
    if DATA_ACCESS in kinds:
        out.extend(_data_access(ctx, identity, reach, index))
    return out
