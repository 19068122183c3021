"""Import of AWS CLI exports. The same raw shapes as live collection, so the same transforms apply."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhiaudit.connectors.aws.assemble import RawAccount, assemble_account
from nhiaudit.connectors.aws.raw import RawDataError, account_of
from nhiaudit.connectors.aws.transform_credentials import ReportRow, parse_credential_report
from nhiaudit.connectors.aws.transform_iam import DETAIL_LISTS, merge_authorization_pages
from nhiaudit.connectors.interface import ExportFile, ExportImporter
from nhiaudit.errors import InputError
from nhiaudit.inventory.model import Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot

GAAD = "aws-authorization-details"
REPORT = "aws-credential-report"
KEYS = "aws-access-keys"
LAMBDA = "aws-lambda-functions"
EC2 = "aws-ec2-instances"

_REPORT_HEADER = "user,arn,user_creation_time"


def _is_gaad_page(value: Any) -> bool:
    return isinstance(value, Mapping) and any(k in value for k in DETAIL_LISTS)


class AwsExportImporter(ExportImporter):
    formats = {
        GAAD: "aws iam get-account-authorization-details > file.json (or a JSON list of its raw pages)",
        REPORT: "aws iam get-credential-report > file.json (or the decoded CSV)",
        KEYS: "aws iam list-access-keys --user-name NAME > file.json",
        LAMBDA: "aws lambda list-functions > file.json",
        EC2: "aws ec2 describe-instances > file.json",
    }

    def detect(self, file: ExportFile) -> str | None:
        data = file.data
        if not file.is_json:
            return REPORT if file.text.lstrip("\ufeff").startswith(_REPORT_HEADER) else None
        if _is_gaad_page(data) or (isinstance(data, list) and data and all(_is_gaad_page(p) for p in data)):
            return GAAD
        if (
            isinstance(data, list)
            and data
            and all(isinstance(p, Mapping) and "AccessKeyMetadata" in p for p in data)
        ):
            return KEYS
        if not isinstance(data, Mapping):
            return None
        if "Content" in data and ("ReportFormat" in data or "GeneratedTime" in data):
            return REPORT
        if "AccessKeyMetadata" in data:
            return KEYS
        if isinstance(data.get("Functions"), list):
            return LAMBDA
        if isinstance(data.get("Reservations"), list):
            return EC2
        return None

    def build(self, files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
        accounts: dict[str, RawAccount] = {}
        names: dict[str, list[str]] = {}  # account -> imported file names

        def account(acct: str, file: ExportFile) -> RawAccount:
            names.setdefault(acct, [])
            if str(file.path) not in names[acct]:
                names[acct].append(str(file.path))
            return accounts.setdefault(acct, RawAccount(account=acct))

        order = {GAAD: 0, REPORT: 1, LAMBDA: 2, EC2: 3, KEYS: 4}  # keys last: they need known users
        for kind, file in sorted(files, key=lambda f: order[f[0]]):
            try:
                if kind == GAAD:
                    _add_gaad(file, account)
                elif kind == REPORT:
                    for acct, rows in _report_rows(file).items():
                        raw = account(acct, file)
                        raw.report_rows = (raw.report_rows or []) + rows
                elif kind == LAMBDA:
                    for fn in file.data["Functions"]:
                        account(account_of(str(fn["FunctionArn"])), file).lambda_functions.append(fn)
                elif kind == EC2:
                    for reservation in file.data["Reservations"]:
                        account(str(reservation["OwnerId"]), file).ec2_reservations.append(
                            (None, reservation)
                        )
                else:
                    _add_keys(file, accounts, account)
            except (RawDataError, KeyError, TypeError, ValueError) as exc:
                what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                raise InputError.single(file.path, f"not a valid {kind} export: {what}") from None
        now = datetime.now(UTC)
        snapshots = []
        for acct, raw in sorted(accounts.items()):
            source = SourceInfo(
                provider=Provider.AWS,
                account=acct,
                method="import",
                collected_at=now,
                detail=_detail(raw, names[acct]),
            )
            try:
                snapshots.append(assemble_account(raw, source))
            except (RawDataError, ValueError) as exc:  # e.g. a malformed policy document
                raise InputError.single(names[acct][0], f"account {acct}: {exc}") from None
        return snapshots


def _detail(raw: RawAccount, files: list[str]) -> str:
    lacking = []
    if raw.authorization_details is None:
        lacking.append("authorization details (policies, roles, trust)")
    if raw.report_rows is None:
        lacking.append("credential report (key ages and use, console use)")
    if not raw.access_keys:
        lacking.append("list-access-keys (key ids)")
    text = f"imported {', '.join(Path(f).name for f in files)}"
    return text + (f"; not imported: {'; '.join(lacking)}" if lacking else "")


def _add_gaad(file: ExportFile, account: Any) -> None:
    pages = file.data if isinstance(file.data, list) else [file.data]
    merged = merge_authorization_pages(pages)
    owners = {
        account_of(str(item["Arn"]))
        for key in ("UserDetailList", "GroupDetailList", "RoleDetailList")
        for item in merged[key]
    } | {account_of(str(p["Arn"])) for p in merged["Policies"] if account_of(str(p["Arn"])) != "aws"}
    if len(owners) != 1:
        found = ", ".join(sorted(owners)) or "none"
        raise InputError.single(
            file.path, f"authorization details must cover exactly one account (found: {found})"
        )
    raw = account(owners.pop(), file)
    if raw.authorization_details is None:
        raw.authorization_details = merged
        return
    # The same account's pages exported to several files: combine them, each entity once.
    combined = merge_authorization_pages([raw.authorization_details, merged])
    raw.authorization_details = {
        key: list({str(item.get("Arn")): item for item in combined[key]}.values()) for key in DETAIL_LISTS
    }


def _report_rows(file: ExportFile) -> dict[str, list[ReportRow]]:
    if file.is_json:
        content = str(file.data["Content"])
        try:
            csv_text = base64.b64decode(content, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            csv_text = content  # some tools write the decoded CSV into Content
    else:
        csv_text = file.text
    by_account: dict[str, list[ReportRow]] = {}
    for row in parse_credential_report(csv_text):
        by_account.setdefault(account_of(row.arn), []).append(row)
    return by_account


def _add_keys(file: ExportFile, accounts: dict[str, RawAccount], account: Any) -> None:
    docs = file.data if isinstance(file.data, list) else [file.data]
    for key in (k for doc in docs for k in doc["AccessKeyMetadata"]):
        user = str(key["UserName"])
        owners = [acct for acct, raw in accounts.items() if user in _user_names(raw)]
        if len(owners) != 1:
            problem = (
                f"user {user!r} is in no imported authorization details or credential report"
                if not owners
                else f"user {user!r} exists in several imported accounts ({', '.join(owners)}); "
                "import list-access-keys output with one account's files at a time"
            )
            raise InputError.single(file.path, problem)
        raw = account(owners[0], file)
        raw.access_keys.setdefault(user, []).append(key)


def _user_names(raw: RawAccount) -> set[str]:
    names = {str(u.get("UserName")) for u in (raw.authorization_details or {}).get("UserDetailList", [])}
    return names | {r.user for r in raw.report_rows or []}
