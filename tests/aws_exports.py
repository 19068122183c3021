"""AWS CLI exports written the way AWS returns them, for tests that scan small estates through `--import`:
`aws iam get-account-authorization-details` (GAAD) output, the credential report CSV, `aws iam
list-access-keys` and `aws lambda list-functions` output; and a scan of them through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from nhiaudit.cli import build_app

ACCOUNT = "111122223333"
CREATED = "2025-01-01T00:00:00+00:00"
REPORT_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)


def arn(kind: str, name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def user(name: str, *statements: dict[str, Any], sid_policy: str = "inline", tags: dict[str, str] | None = None,
         created: str = CREATED) -> dict[str, Any]:
    """A UserDetailList entry with one inline policy holding `statements` (none: no inline policy)."""
    return {
        "Path": "/", "UserName": name, "UserId": f"AIDA{name.upper().replace('-', '')[:16]:X<16}",
        "Arn": arn("user", name), "CreateDate": created,
        "UserPolicyList": [{"PolicyName": sid_policy, "PolicyDocument": document(*statements)}] if statements else [],
        "GroupList": [], "AttachedManagedPolicies": [],
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }


def role(name: str, service: str | None, *statements: dict[str, Any], created: str = CREATED) -> dict[str, Any]:
    """A RoleDetailList entry trusting `service` (None: the account root), with one inline policy."""
    principal = {"Service": service} if service else {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    return {
        "Path": "/", "RoleName": name, "RoleId": f"AROA{name.upper().replace('-', '')[:16]:X<16}",
        "Arn": arn("role", name), "CreateDate": created,
        "AssumeRolePolicyDocument": document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}),
        "InstanceProfileList": [],
        "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": document(*statements)}] if statements else [],
        "AttachedManagedPolicies": [], "Tags": [], "RoleLastUsed": {},
    }


def gaad(*entries: dict[str, Any]) -> dict[str, Any]:
    """`aws iam get-account-authorization-details` output holding the given users and roles."""
    return {
        "UserDetailList": [e for e in entries if "UserName" in e],
        "GroupDetailList": [],
        "RoleDetailList": [e for e in entries if "RoleName" in e],
        "Policies": [],
    }


def report_row(name: str, keys: list[tuple[bool, str, str | None, str | None]] = (), password: bool = False,
               created: str = CREATED, certificate: str | None = None) -> str:
    """A credential-report row; keys: (active, last rotated, last used date or None, service or None);
    `certificate`: the last-rotated date of an active signing certificate."""
    cells = [name, arn("user", name), created, "true" if password else "false", "N/A", "N/A", "N/A", "false"]
    for slot in range(2):
        if slot < len(keys):
            active, rotated, used, service = keys[slot]
            cells += ["true" if active else "false", rotated, used or "N/A",
                      "us-east-1" if used else "N/A", service or "N/A"]
        else:
            cells += ["false", "N/A", "N/A", "N/A", "N/A"]
    cells += ["true", certificate] if certificate else ["false", "N/A"]
    cells += ["false", "N/A"]
    return ",".join(cells)


def credential_report(*rows: str) -> str:
    root = (f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2020-01-01T00:00:00+00:00,not_supported,N/A,not_supported,"
            "not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A")
    return "\n".join([REPORT_HEADER, root, *rows]) + "\n"


def access_keys(name: str, *keys: tuple[str, str, str]) -> dict[str, Any]:
    """`aws iam list-access-keys --user-name NAME` output; keys: (id, Active|Inactive, created)."""
    return {"AccessKeyMetadata": [{"UserName": name, "AccessKeyId": kid, "Status": status, "CreateDate": when}
                                  for kid, status, when in keys]}


def lambda_functions(*functions: tuple[str, str]) -> dict[str, Any]:
    """`aws lambda list-functions` output; functions: (name, execution role ARN)."""
    return {"Functions": [{
        "FunctionName": name, "FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}",
        "Runtime": "python3.12", "Role": role_arn, "Handler": "app.handler",
        "LastModified": "2026-10-01T12:00:00.000+0000", "MemorySize": 128, "Timeout": 30,
    } for name, role_arn in functions]}


def write_exports(directory: Path, files: dict[str, Any]) -> list[str]:
    """Write each export (dict: JSON, str: as is) and return the `--import` arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    args: list[str] = []
    for name, content in files.items():
        path = directory / name
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2), encoding="utf-8")
        args += ["--import", str(path)]
    return args


def scan_exports(tmp: Path, files: dict[str, Any], as_of: str = "2026-11-28", *extra: str) -> dict[str, Any]:
    """The JSON report of `nhiaudit scan --import ...` (no written policy unless `extra` gives one)."""
    args = write_exports(tmp / "exports", files)
    result = CliRunner().invoke(build_app(), ["scan", *args, "--as-of", as_of, "--format", "json",
                                              "--fail-on", "none", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def findings(report: dict[str, Any], rule: str, name: str | None = None) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule_id"] == rule
            and (name is None or (f.get("identity") or {}).get("name") == name)]
