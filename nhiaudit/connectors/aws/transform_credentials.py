"""Pure transforms: credential report + ListAccessKeys + GetAccessKeyLastUsed -> credentials and human use.

The report has per-slot dates but no key ids; ListAccessKeys has ids but no use. A key and a report slot
are the same key when the key's CreateDate equals the slot's `last_rotated` (to the second).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nhiaudit.connectors.aws.raw import RawDataError, arn_parts, parse_time, report_bool, report_value
from nhiaudit.inventory.model import Credential, CredentialType, HumanUse, Identity, IdentityKind, Provider
from nhiaudit.packing import constructed

REPORT_REQUIRED_COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "access_key_1_active",
    "access_key_1_last_rotated",
)
ROOT_USER = "<root_account>"


@dataclass(frozen=True)
class KeySlot:
    number: int
    active: bool
    created: datetime | None  # the report's last_rotated: the key's creation time
    last_used: datetime | None
    last_used_region: str | None
    last_used_service: str | None

    @property
    def exists(self) -> bool:
        return self.active or self.created is not None


@dataclass(frozen=True)
class ReportRow:
    user: str
    arn: str
    created: datetime | None
    password_enabled: bool
    password_last_used: datetime | None
    mfa_active: bool
    keys: tuple[KeySlot, ...]
    certificates: tuple[KeySlot, ...]

    @property
    def has_keys(self) -> bool:
        return any(slot.exists for slot in self.keys)


def parse_credential_report(content: str | bytes) -> list[ReportRow]:
    """Rows of the credential report CSV, the root account's row left out (it is not in the inventory).

    Any wrong row raises RawDataError with the line and column of the cell. csv's field limit (128 KiB) is
    kept: a report cell is a name, an ARN, a date or a flag, so a larger one is reported, not read.
    """
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header = _next_record(reader) or []
    missing = [c for c in REPORT_REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RawDataError(f"credential report lacks column(s) {', '.join(missing)}", line=1, column=1)
    rows: list[ReportRow] = []
    while (record := _next_record(reader)) is not None:
        line = reader.line_num
        if not record:  # a blank line
            continue
        if len(record) != len(header):
            index = min(len(record), len(header))
            raise _cell_error(
                text, line, index, f"{len(record)} fields, but the header has {len(header)}"
            )
        row = dict(zip(header, record, strict=True))
        if row.get("user") == ROOT_USER:
            continue
        try:
            rows.append(_row(row))
        except RawDataError as exc:
            name = str(exc.path[0]) if exc.path else header[0]
            raise _cell_error(text, line, header.index(name), f"column {name}: {exc.message}") from None
    return rows


def _next_record(reader: Any) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:  # e.g. "field larger than field limit (131072)", a NUL byte
        line = reader.line_num or 1
        raise RawDataError(f"credential report line {line}: not readable as CSV ({exc})", line=line, column=1) from None


def _cell_error(text: str, line: int, index: int, message: str) -> RawDataError:
    """The error for cell `index` of the record ending on `line` (columns counted in characters)."""
    lines = text.split("\n")
    physical = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
    starts, quoted = [0], False
    for offset, char in enumerate(physical):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            starts.append(offset + 1)
    column = starts[index] + 1 if index < len(starts) else len(physical) + 1
    return RawDataError(f"credential report line {line}: {message}", line=line, column=column)


def _cell(row: Mapping[str, str | None], name: str, parse: Any) -> Any:
    try:
        return parse(row.get(name))
    except RawDataError as exc:
        raise RawDataError(exc.message, (name,)) from None


def _arn(value: str | None) -> str:
    arn_parts(value or "")
    return str(value)


def _slot(row: Mapping[str, str | None], prefix: str, number: int, used: bool) -> KeySlot:
    p = f"{prefix}_{number}"
    return KeySlot(
        number=number,
        active=bool(_cell(row, f"{p}_active", report_bool)),
        created=_cell(row, f"{p}_last_rotated", parse_time),
        last_used=_cell(row, f"{p}_last_used_date", parse_time) if used else None,
        last_used_region=report_value(row.get(f"{p}_last_used_region")) if used else None,
        last_used_service=report_value(row.get(f"{p}_last_used_service")) if used else None,
    )


def _row(row: Mapping[str, str | None]) -> ReportRow:
    if not (row.get("user") or "").strip():
        raise RawDataError("the user name is empty", ("user",))
    return ReportRow(
        user=str(row.get("user")),
        arn=_cell(row, "arn", _arn),
        created=_cell(row, "user_creation_time", parse_time),
        password_enabled=bool(_cell(row, "password_enabled", report_bool)),
        password_last_used=_cell(row, "password_last_used", parse_time),
        mfa_active=bool(_cell(row, "mfa_active", report_bool)),
        keys=(_slot(row, "access_key", 1, True), _slot(row, "access_key", 2, True)),
        certificates=(_slot(row, "cert", 1, False), _slot(row, "cert", 2, False)),
    )


_EARLIEST = datetime.min.replace(tzinfo=UTC)  # keys without a date first; aware, like parsed dates


def _second(value: datetime | None) -> datetime | None:
    return value.replace(microsecond=0) if value else None


def pair_keys(
    row: ReportRow | None, keys: Sequence[Mapping[str, Any]]
) -> list[tuple[KeySlot | None, Mapping]]:
    """Each ListAccessKeys entry with its report slot (None when the report does not show it)."""
    free = [s for s in (row.keys if row else ()) if s.exists]
    pairs: list[tuple[KeySlot | None, Mapping]] = []
    for key in sorted(keys, key=lambda k: parse_time(k.get("CreateDate")) or _EARLIEST):
        created = _second(parse_time(key.get("CreateDate")))
        match = next((s for s in free if created and _second(s.created) == created), None)
        if match is not None:
            free.remove(match)
        pairs.append((match, key))
    return pairs


def _needs_last_used(slot: KeySlot | None) -> bool:
    # Unknown to the report, or used but without service/region (the report sometimes has only the date).
    return slot is None or (
        slot.last_used is not None and not (slot.last_used_service and slot.last_used_region)
    )


def keys_needing_last_used(
    rows: Mapping[str, ReportRow], key_metadata: Mapping[str, Sequence[Mapping]]
) -> list[str]:
    """Access key ids whose last use must come from GetAccessKeyLastUsed. `rows` is keyed by user name."""
    return [
        str(key["AccessKeyId"])
        for user, keys in key_metadata.items()
        for slot, key in pair_keys(rows.get(user), keys)
        if _needs_last_used(slot)
    ]


def _last_used_from_api(raw: Mapping[str, Any] | None) -> tuple[datetime | None, str | None, str | None]:
    used = (raw or {}).get("AccessKeyLastUsed") or {}
    return (
        parse_time(used.get("LastUsedDate")),
        report_value(used.get("ServiceName")),
        report_value(used.get("Region")),
    )


def _key_credential(
    user_arn: str, slot: KeySlot | None, key: Mapping[str, Any], last_used: Mapping[str, Any] | None
) -> Credential:
    api_date, api_service, api_region = _last_used_from_api(last_used)
    # model_construct: typed here, one per key of the estate (tests/test_import_records.py re-validates them).
    return constructed(Credential,
        id=str(key["AccessKeyId"]),
        identity_id=user_arn,
        provider=Provider.AWS,
        type=CredentialType.ACCESS_KEY,
        created=parse_time(key.get("CreateDate")) or (slot.created if slot else None),
        last_used=(slot.last_used if slot else None) or api_date,
        last_used_service=(slot.last_used_service if slot else None) or api_service,
        last_used_region=(slot.last_used_region if slot else None) or api_region,
        active=str(key.get("Status", "Active")) == "Active",
    )


def _slot_credential(user_arn: str, slot: KeySlot, kind: CredentialType, label: str) -> Credential:
    # Without ListAccessKeys (not exported, or denied) the key id is unknown: the id names the report slot.
    return constructed(Credential,
        id=f"{user_arn}#{label}_{slot.number}",
        identity_id=user_arn,
        provider=Provider.AWS,
        type=kind,
        created=slot.created,
        last_used=slot.last_used,
        last_used_service=slot.last_used_service,
        last_used_region=slot.last_used_region,
        active=slot.active,
    )


def transform_user_credentials(
    user_arn: str,
    row: ReportRow | None,
    keys: Sequence[Mapping[str, Any]] | None,
    last_used: Mapping[str, Mapping[str, Any]],
) -> list[Credential]:
    """Credentials of one user. `keys` is None when ListAccessKeys was not available for the user; then the
    report's slots stand for the keys. When it was available it is authoritative (a key deleted since the
    report was generated is gone)."""
    creds: list[Credential] = []
    if keys is None:
        creds.extend(
            _slot_credential(user_arn, s, CredentialType.ACCESS_KEY, "access_key")
            for s in (row.keys if row else ())
            if s.exists
        )
    else:
        creds.extend(
            _key_credential(user_arn, slot, key, last_used.get(str(key["AccessKeyId"])))
            for slot, key in pair_keys(row, keys)
        )
    if row is not None:
        creds.extend(
            _slot_credential(user_arn, s, CredentialType.CERTIFICATE, "signing_certificate")
            for s in row.certificates
            if s.exists
        )
    return creds


def human_use(row: ReportRow) -> HumanUse:
    return constructed(HumanUse,
        console_password=row.password_enabled,
        password_last_used=row.password_last_used,
        mfa_active=row.mfa_active,
    )


def with_user_activity(
    identity: Identity, row: ReportRow | None, credentials: Iterable[Credential]
) -> Identity:
    """Fill a user's human use and last activity (latest console sign-in or key use)."""
    if identity.kind != IdentityKind.USER:
        return identity
    events: list[tuple[datetime, str]] = []
    if row is not None and row.password_last_used:
        events.append((row.password_last_used, "console sign-in"))
    for cred in credentials:
        if cred.last_used:
            where = " ".join(
                x
                for x in (cred.last_used_service, cred.last_used_region and f"in {cred.last_used_region}")
                if x
            )
            events.append((cred.last_used, f"access key {cred.id} used" + (f" ({where})" if where else "")))
    update: dict[str, Any] = {}
    if row is not None:
        update["human_use"] = human_use(row)
    if events:
        when, detail = max(events, key=lambda e: e[0])
        update.update(last_activity=when, last_activity_detail=detail)
    return identity.model_copy(update=update) if update else identity


def minimal_user(row: ReportRow, account: str) -> Identity:
    """A user known only from the credential report (authorization details were unavailable)."""
    return Identity(
        id=row.arn,
        provider=Provider.AWS,
        account=account,
        kind=IdentityKind.USER,
        name=row.user,
        created=row.created,
        attributes={"source": "credential report only"},
    )
