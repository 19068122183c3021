"""Import of AWS CLI exports. The same raw shapes as live collection, so the same transforms apply."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from nhiaudit.connectors.aws import export_shapes, exports_workloads, org_exports
from nhiaudit.connectors.aws.assemble import RawAccount, assemble_account
from nhiaudit.connectors.aws.audit_exports import (
    AUDIT_FORMATS,
    AUDIT_ORDER,
    AUDIT_SHAPES,
    add_audit_files,
    detect_audit,
)
from nhiaudit.connectors.aws.organization import organization_of
from nhiaudit.connectors.aws.raw import RawDataError, account_of
from nhiaudit.connectors.aws.resource_exports import FORMATS as RESOURCE_FORMATS
from nhiaudit.connectors.aws.resource_exports import RESOURCE_KINDS, ResourceImports
from nhiaudit.connectors.aws.resource_exports import detect as detect_resource_export
from nhiaudit.connectors.aws.roles import session_limits
from nhiaudit.connectors.aws.transform_credentials import ReportRow, parse_credential_report
from nhiaudit.connectors.aws.transform_iam import DETAIL_LISTS, merge_authorization_pages
from nhiaudit.connectors.aws.workloads_eks import EKS_SERVICE_ACCOUNT
from nhiaudit.connectors.interface import (
    ExportFile,
    ExportImporter,
    built_when_shaped,
    import_detail,
    location_in,
)
from nhiaudit.errors import InputError, InputProblem
from nhiaudit.inventory.model import Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.jsonshape import JsonPath, ShapeProblem

GAAD = "aws-authorization-details"
REPORT = "aws-credential-report"
KEYS = "aws-access-keys"
LAMBDA = "aws-lambda-functions"
EC2 = "aws-ec2-instances"
ORGANIZATION = "aws-organization-accounts"
LIST_ROLES = "aws-list-roles"
ECS = "aws-ecs-task-definition"
AGENT = "aws-bedrock-agent"
NOTEBOOK = "aws-sagemaker-notebook-instance"

_REPORT_HEADER = "user,arn,user_creation_time"
_SHAPES = {
    GAAD: export_shapes.AUTHORIZATION_DETAILS,
    REPORT: export_shapes.CREDENTIAL_REPORT,
    KEYS: export_shapes.ACCESS_KEYS,
    LAMBDA: export_shapes.LAMBDA_FUNCTIONS,
    EC2: export_shapes.EC2_INSTANCES,
    ORGANIZATION: export_shapes.ORGANIZATION_ACCOUNTS,
    LIST_ROLES: export_shapes.LIST_ROLES,
    ECS: export_shapes.ECS_TASK_DEFINITION,
    AGENT: export_shapes.BEDROCK_AGENT,
    NOTEBOOK: export_shapes.SAGEMAKER_NOTEBOOK,
    **exports_workloads.SHAPES,
    **AUDIT_SHAPES,
}
# Anything a wrong shape can raise in a transform the shape check did not foresee: still the file's fault.
_DATA_ERRORS = (RawDataError, KeyError, TypeError, ValueError, AttributeError)


def _is_gaad_page(value: Any) -> bool:
    return isinstance(value, Mapping) and any(k in value for k in DETAIL_LISTS)


def _is_list_roles(value: Mapping[str, Any]) -> bool:
    """`aws iam list-roles`: a Roles list whose items carry no inline policies (GAAD's RoleDetailList does)."""
    roles = value.get("Roles")
    return isinstance(roles, list) and not any(isinstance(r, Mapping) and "RolePolicyList" in r for r in roles)


class AwsExportImporter(ExportImporter):
    formats = {
        GAAD: "aws iam get-account-authorization-details > file.json (or a JSON list of its raw pages)",
        REPORT: "aws iam get-credential-report > file.json (or the decoded CSV)",
        KEYS: "aws iam list-access-keys --user-name NAME > file.json",
        LAMBDA: "aws lambda list-functions > file.json",
        EC2: "aws ec2 describe-instances > file.json",
        ORGANIZATION: "aws organizations list-accounts > file.json (the organisation id, for aws:PrincipalOrgID)",
        LIST_ROLES: "aws iam list-roles > file.json (each role's MaxSessionDuration, beside the authorization details)",
        ECS: "aws ecs describe-task-definition --task-definition FAMILY > file.json (one file per family)",
        AGENT: "aws bedrock-agent get-agent --agent-id ID > file.json (one file per agent)",
        NOTEBOOK: "aws sagemaker describe-notebook-instance --notebook-instance-name NAME > file.json",
        **exports_workloads.FORMATS,
        **org_exports.FORMATS,  # SCPs, RCPs and the organisation's tree
        **RESOURCE_FORMATS,  # bucket, key, secret, function, queue and topic policies (resource_exports.py)
        **AUDIT_FORMATS,
    }

    def detect(self, file: ExportFile) -> str | None:
        data = file.data
        if not file.is_json:
            return REPORT if file.text.lstrip("\ufeff").startswith(_REPORT_HEADER) else None
        guardrails = org_exports.detect(file)
        if guardrails is not None:
            return guardrails
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
        if isinstance(data.get("Accounts"), list):
            return ORGANIZATION
        if _is_list_roles(data):
            return LIST_ROLES
        if "taskDefinition" in data:
            return ECS
        if "agent" in data:
            return AGENT
        if "NotebookInstanceArn" in data:
            return NOTEBOOK
        return exports_workloads.detect(data) or detect_audit(file) or detect_resource_export(data)

    def build(self, files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
        org_files = [(kind, file) for kind, file in files if kind in org_exports.KINDS]
        files = [(kind, file) for kind, file in files if kind not in org_exports.KINDS]
        return built_when_shaped(files, _shape_problems, lambda: _accounts(files)) + org_exports.build(org_files)


def _accounts(files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
    """One snapshot per account of the (shape-checked) files other than the organisation's."""
    accounts: dict[str, RawAccount] = {}
    names: dict[str, list[str]] = {}  # account -> imported file names
    gaad_files: dict[str, list[ExportFile]] = {}  # account -> its authorization-details files

    def account(acct: str, file: ExportFile) -> RawAccount:
        names.setdefault(acct, [])
        if str(file.path) not in names[acct]:
            names[acct].append(str(file.path))
        return accounts.setdefault(acct, RawAccount(account=acct))

    # Keys need known users.
    order = {GAAD: 0, REPORT: 1, LAMBDA: 2, EC2: 3, ECS: 3, AGENT: 3, NOTEBOOK: 3, KEYS: 4, ORGANIZATION: 5,
             LIST_ROLES: 5, **dict.fromkeys(RESOURCE_KINDS, 6), **AUDIT_ORDER}
    # S3 bucket owners default to the one account whose authorization details are imported.
    resources = ResourceImports(lambda: sorted(a for a, r in accounts.items() if r.authorization_details))
    org_ids: dict[str, str] = {}  # account -> its organisation id (list-accounts: names no other data)
    empty: list[tuple[str, ExportFile]] = []  # (workload kind, file) of listings with nothing in them
    later = exports_workloads.WorkloadFiles()  # knowledge bases, EKS, SageMaker endpoints: after the others
    audit_files: list[tuple[str, ExportFile]] = []  # trails, their status and selectors, Bedrock logging
    for kind, file in sorted(files, key=lambda f: order.get(f[0], 3)):
        try:
            if kind == GAAD:
                owner = _add_gaad(file, account)
                gaad_files.setdefault(owner, []).append(file)
                accounts[owner].listed.add(EKS_SERVICE_ACCOUNT)  # IRSA: from the trust policies
            elif kind == REPORT:
                for acct, rows in _report_rows(file).items():
                    raw = account(acct, file)
                    raw.report_rows = (raw.report_rows or []) + rows
            elif kind == LAMBDA:
                for fn in file.data["Functions"]:
                    raw = account(account_of(str(fn["FunctionArn"])), file)
                    raw.lambda_functions.append(fn)
                    raw.listed.add("lambda")
                if not file.data["Functions"]:
                    empty.append(("lambda", file))
            elif kind == EC2:
                for reservation in file.data["Reservations"]:
                    raw = account(str(reservation["OwnerId"]), file)
                    raw.ec2_reservations.append((None, reservation))
                    raw.listed.add("ec2_instance")
                if not file.data["Reservations"]:
                    empty.append(("ec2_instance", file))
            elif kind == ECS:
                task = file.data["taskDefinition"]
                raw = account(account_of(str(task["taskDefinitionArn"])), file)
                # One family's describe is not a listing of the account: `listed` stays as it is.
                raw.ecs_task_definitions.append(task)
            elif kind == AGENT:  # a describe, not a listing (as for ECS)
                agent = file.data["agent"]
                account(account_of(str(agent["agentArn"])), file).bedrock_agents.append(agent)
            elif kind == NOTEBOOK:
                notebook = file.data
                account(account_of(str(notebook["NotebookInstanceArn"])), file).sagemaker_notebooks.append(notebook)
            elif kind == LIST_ROLES:
                for role_arn, seconds in session_limits(file.data["Roles"]).items():
                    account(account_of(role_arn), file).role_sessions[role_arn] = seconds
            elif kind == ORGANIZATION:
                org_ids.update(_organization_ids(file))
            elif kind in exports_workloads.SHAPES:
                later.add(kind, file)
            elif kind in RESOURCE_KINDS:
                resources.add(kind, file)
            elif kind in AUDIT_ORDER:
                audit_files.append((kind, file))
            else:
                _add_keys(file, accounts, account)
        except _DATA_ERRORS as exc:
            raise _file_error(file, kind, exc) from None
    try:
        later.apply(accounts, account)
    except _DATA_ERRORS as exc:
        raise InputError.single(later.files[0][1].path, f"not a valid export: {exc}") from None
    for workload_kind, file in empty:
        _add_empty_listing(workload_kind, file, accounts, account)
    for owner, policy, policy_files in resources.raws():
        owned = names.setdefault(owner, [])
        owned.extend(name for name in policy_files if name not in owned)
        accounts.setdefault(owner, RawAccount(account=owner)).resource_policies.append(policy)
    add_audit_files(audit_files, accounts, account)
    snapshots = []
    for acct, raw in sorted(accounts.items()):
        source = SourceInfo(
            provider=Provider.AWS,
            account=acct,
            method="import",
            collected_at=None,  # unknown for a file: the report stays the same bytes on every run
            detail=_detail(raw, names[acct]),
            organization_id=org_ids.get(acct),
        )
        try:
            snapshots.append(assemble_account(raw, source))
        except _DATA_ERRORS as exc:  # e.g. a malformed policy document
            raise _account_error(acct, names[acct], gaad_files.get(acct, []), exc) from None
    return snapshots


def _shape_problems(kind: str, file: ExportFile) -> list[ShapeProblem]:
    """Every value of the file the transforms read that does not have the type they expect."""
    if not file.is_json or kind in RESOURCE_KINDS:
        return []  # the CSV credential report is checked row by row when parsed; resource exports when read
    return export_shapes.problems(_SHAPES[kind], file.data)


def _file_error(file: ExportFile, kind: str, exc: Exception) -> InputError:
    what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
    message = f"not a valid {kind} export: {what}"
    if isinstance(exc, RawDataError) and exc.line is not None:
        if not file.is_json:  # the CSV file itself
            return InputError.single(file.path, message, exc.line, exc.column or 1)
        return InputError([InputProblem(location_in(file, ("Content",)), message)])  # inside the base64 Content
    path = exc.path if isinstance(exc, RawDataError) else ()
    return InputError([InputProblem(location_in(file, path), message)])


def _account_error(acct: str, names: list[str], gaad: list[ExportFile], exc: Exception) -> InputError:
    """Locate an error of the account's transform; its path is into the merged authorization details,
    which is one file's own structure when the account has one such file."""
    message = f"account {acct}: {exc}"
    if isinstance(exc, RawDataError) and exc.path and len(gaad) == 1:
        return InputError([InputProblem(location_in(gaad[0], _page_path(gaad[0].data, exc.path)), message)])
    return InputError.single(names[0], message)


def _page_path(data: Any, path: JsonPath) -> JsonPath:
    """A path into the merged document -> the path into a file holding a list of raw pages."""
    if not isinstance(data, list) or len(path) < 2 or not isinstance(path[1], int):
        return path
    key, index = path[0], path[1]
    for number, page in enumerate(data):
        items = (page.get(key) or []) if isinstance(page, Mapping) else []
        if index < len(items):
            return (number, key, index, *path[2:])
        index -= len(items)
    return path


def _detail(raw: RawAccount, files: list[str]) -> str:
    lacking = []
    if raw.authorization_details is None:
        lacking.append("authorization details (policies, roles, trust)")
    if raw.report_rows is None:
        lacking.append("credential report (key ages and use, console use)")
    if not raw.access_keys:
        lacking.append("list-access-keys (key ids)")
    return import_detail(files, lacking)


def _add_gaad(file: ExportFile, account: Any) -> str:
    """Add one authorization-details file to its account; returns the account."""
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
    owner = owners.pop()
    raw = account(owner, file)
    if raw.authorization_details is None:
        raw.authorization_details = merged
        return owner
    # The same account's pages exported to several files: combine them, each entity once.
    combined = merge_authorization_pages([raw.authorization_details, merged])
    raw.authorization_details = {
        key: list({str(item.get("Arn")): item for item in combined[key]}.values()) for key in DETAIL_LISTS
    }
    return owner


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


def _add_empty_listing(workload_kind: str, file: ExportFile, accounts: dict[str, RawAccount], account: Any) -> None:
    """An empty listing (`{"Functions": []}`) names no account. It still says "listed: none exist", which differs
    from "not listed" (facts/escalation.py), so it belongs to the one account imported with it."""
    if len(accounts) != 1:
        found = ", ".join(sorted(accounts)) or "none"
        raise InputError.single(
            file.path, f"this empty listing names no account and the import holds {len(accounts)} AWS accounts "
            f"({found}); import it with one account's files at a time"
        )
    account(next(iter(accounts)), file).listed.add(workload_kind)


def _organization_ids(file: ExportFile) -> dict[str, str]:
    """Account id -> organisation id, from the ARN of each account `aws organizations list-accounts` lists
    (arn:aws:organizations::MANAGEMENT:account/o-ID/ACCOUNT). It only annotates accounts imported from other
    files; an ARN of another shape says nothing."""
    found = {}
    for item in file.data["Accounts"]:
        org = organization_of(item)
        if org is not None:
            found[str(item["Id"])] = org
    return found


def _user_names(raw: RawAccount) -> set[str]:
    names = {str(u.get("UserName")) for u in (raw.authorization_details or {}).get("UserDetailList", [])}
    return names | {r.user for r in raw.report_rows or []}
