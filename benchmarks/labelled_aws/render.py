"""The estate as files: per account the `aws iam get-account-authorization-details` output and the decoded
credential report CSV, exactly as AWS returns them; the written policy; the manifest of planted findings.

Same estate -> same bytes: every id and time of day is derived from a hash of the ARN, never from a clock.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from benchmarks.credential_report_columns import REPORT_COLUMNS
from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws.builder import GRACE_DAYS, MAX_AGE_DAYS, MAX_UNUSED_DAYS
from benchmarks.labelled_aws.model import Account, Estate, Group, Key, Principal
from benchmarks.labelled_aws.render_exports import write_exports
from benchmarks.labelled_aws.systems import policy_systems

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def unique_id(prefix: str, arn: str) -> str:
    """IAM unique ids: a 4-letter prefix (AIDA, AROA, AGPA, ANPA, AIPA) and 17 characters."""
    return prefix + "".join(ALPHABET[b % 32] for b in _digest(arn)[:17])


class Clock:
    """`days` before --as-of, at a time of day fixed by the ARN and the field (never after the as-of day)."""

    def __init__(self, as_of: str) -> None:
        self._day = datetime.combine(date.fromisoformat(as_of), datetime.min.time(), UTC)

    def at(self, days: int, arn: str, field: str) -> str:
        seconds = 3600 + int.from_bytes(_digest(f"{arn}|{field}")[:4], "big") % (20 * 3600)
        return (self._day - timedelta(days=days) + timedelta(seconds=seconds)).isoformat()


def _tags(p: Principal) -> dict[str, Any]:
    return {"Tags": [{"Key": k, "Value": v} for k, v in p.tags]} if p.tags else {}


def _attached(arns: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"PolicyName": d.policy_name(a), "PolicyArn": a} for a in arns]


def _inline(items: tuple[tuple[str, dict[str, Any]], ...]) -> list[dict[str, Any]]:
    return [{"PolicyName": name, "PolicyDocument": doc} for name, doc in items]


def _user(p: Principal, clock: Clock) -> dict[str, Any]:
    return {"Path": p.path, "UserName": p.name, "UserId": unique_id("AIDA", p.arn), "Arn": p.arn,
            "CreateDate": clock.at(p.created_days, p.arn, "created"), "UserPolicyList": _inline(p.inline),
            "GroupList": list(p.groups), "AttachedManagedPolicies": _attached(p.managed), **_tags(p)}


def _role(p: Principal, clock: Clock) -> dict[str, Any]:
    created = clock.at(p.created_days, p.arn, "created")
    core = {"Path": p.path, "RoleName": p.name, "RoleId": unique_id("AROA", p.arn), "Arn": p.arn,
            "CreateDate": created, "AssumeRolePolicyDocument": p.trust}
    profiles = []
    if p.instance_profile:
        arn = f"arn:aws:iam::{p.account.id}:instance-profile/{p.name}"
        profiles.append({"Path": "/", "InstanceProfileName": p.name, "InstanceProfileId": unique_id("AIPA", arn),
                         "Arn": arn, "CreateDate": created, "Roles": [core]})
    last_used = ({"LastUsedDate": clock.at(p.last_used_days, p.arn, "role-used"), "Region": "us-east-1"}
                 if p.last_used_days is not None else {})
    boundary = ({"PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": p.boundary}}
                if p.boundary else {})
    return {**core, "InstanceProfileList": profiles, "RolePolicyList": _inline(p.inline),
            "AttachedManagedPolicies": _attached(p.managed), **boundary, **_tags(p), "RoleLastUsed": last_used}


def _group(g: Group, clock: Clock) -> dict[str, Any]:
    return {"Path": "/", "GroupName": g.name, "GroupId": unique_id("AGPA", g.arn), "Arn": g.arn,
            "CreateDate": clock.at(2000, g.arn, "created"), "GroupPolicyList": _inline(g.inline),
            "AttachedManagedPolicies": _attached(g.managed)}


def _managed_policy(arn: str, document: dict[str, Any], attachments: int, boundaries: int,
                    clock: Clock) -> dict[str, Any]:
    when = clock.at(3000 if ":aws:policy/" in arn else 900, arn, "created")
    return {"PolicyName": d.policy_name(arn), "PolicyId": unique_id("ANPA", arn), "Arn": arn,
            "Path": d.policy_path(arn), "DefaultVersionId": "v1", "AttachmentCount": attachments,
            "PermissionsBoundaryUsageCount": boundaries, "IsAttachable": True, "CreateDate": when,
            "UpdateDate": when,
            "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": True,
                                   "CreateDate": when}]}


def authorization_details(account: Account, estate: Estate) -> dict[str, Any]:
    clock = Clock(estate.as_of)
    mine = sorted((p for p in estate.principals if p.account == account), key=lambda p: (p.kind, p.name))
    groups = sorted((g for g in estate.groups if g.account == account), key=lambda g: g.name)
    documents = {**d.MANAGED, **{c.arn: c.document for c in estate.customer_policies if c.account == account}}
    uses: dict[str, int] = {}
    bounds: dict[str, int] = {}
    for holder in [*mine, *groups]:
        for arn in holder.managed:
            uses[arn] = uses.get(arn, 0) + 1
    for p in mine:
        if p.boundary:
            bounds[p.boundary] = bounds.get(p.boundary, 0) + 1
    # AWS lists customer policies whether attached or not, AWS-managed ones only when something uses them.
    listed = sorted(set(uses) | set(bounds) | {c.arn for c in estate.customer_policies if c.account == account})
    return {
        "UserDetailList": [_user(p, clock) for p in mine if p.kind == "user"],
        "GroupDetailList": [_group(g, clock) for g in groups],
        "RoleDetailList": [_role(p, clock) for p in mine if p.kind == "role"],
        "Policies": [_managed_policy(arn, documents[arn], uses.get(arn, 0), bounds.get(arn, 0), clock)
                     for arn in listed],
    }


def _key_cells(key: Key | None, arn: str, slot: int, clock: Clock) -> list[str]:
    if key is None:
        return ["false", "N/A", "N/A", "N/A", "N/A"]
    rotated = clock.at(key.age_days, arn, f"key{slot}")
    if key.last_used_days is None:
        return [str(key.active).lower(), rotated, "N/A", "N/A", "N/A"]
    return [str(key.active).lower(), rotated, clock.at(key.last_used_days, arn, f"key{slot}-used"), key.region,
            key.service]


def credential_report(account: Account, estate: Estate) -> str:
    clock = Clock(estate.as_of)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    root = account.root
    writer.writerow(["<root_account>", root, clock.at(2500, root, "created"), "not_supported",
                     clock.at(40, root, "console"), "not_supported", "not_supported", "true",
                     *_key_cells(None, root, 1, clock), *_key_cells(None, root, 2, clock),
                     "false", "N/A", "false", "N/A"])
    for p in sorted((p for p in estate.principals if p.account == account and p.kind == "user"),
                    key=lambda p: p.name):
        created = clock.at(p.created_days, p.arn, "created")
        console = p.console
        if console is None:
            password = ["false", "N/A", "N/A", "N/A"]
        else:
            used = clock.at(console.last_used_days, p.arn, "console") if console.last_used_days is not None \
                else "no_information"
            password = ["true", used, clock.at(min(p.created_days, 80), p.arn, "password"), "N/A"]
        keys = [*p.keys, None, None][:2]
        writer.writerow([p.name, p.arn, created, *password,
                         str(bool(console and console.mfa)).lower(),
                         *_key_cells(keys[0], p.arn, 1, clock), *_key_cells(keys[1], p.arn, 2, clock),
                         "false", "N/A", "false", "N/A"])
    return out.getvalue()


def policy_yaml(estate: Estate) -> str:
    integrations = []
    for i in sorted(estate.integrations, key=lambda i: i.name):
        entry: dict[str, Any] = {"name": i.name, "kind": i.kind, "owner": i.owner, "purpose": i.purpose,
                                 "environment": i.environment, "identities": list(i.identities),
                                 "may_reach": list(i.may_reach), "must_not_reach": list(i.must_not_reach)}
        if i.static_keys:
            entry["credentials"] = {"static_keys": i.static_keys}
        entry.update(dict(i.extra))
        integrations.append(entry)
    policy = {
        "version": 1,
        "defaults": {"credentials": {"max_age_days": MAX_AGE_DAYS, "max_unused_days": MAX_UNUSED_DAYS,
                                     "grace_days": GRACE_DAYS, "require_expiry": False, "static_keys": "allowed"}},
        "systems": {**policy_systems(), **dict(sorted(estate.systems.items()))},
        "integrations": integrations,
    }
    header = ("# Written AI-usage policy of the labelled AWS benchmark estate "
              "(benchmarks/labelled_aws/generate.py; generated, do not edit).\n")
    return header + yaml.safe_dump(policy, sort_keys=False, width=120)


def manifest(estate: Estate, files: dict[str, list[str]], imports: dict[str, list[str]]) -> dict[str, Any]:
    findings = [{"subject": p.arn, "rule": e.rule, "family": e.family, "why": e.why}
                for p in estate.principals for e in p.expected]
    findings += [{"subject": i.name, "rule": e.rule, "family": e.family, "why": e.why}
                 for i in estate.integrations for e in i.expected]
    findings += [{"subject": subject, "rule": e.rule, "family": e.family, "why": e.why}
                 for subject, _, e in estate.loose]
    warnings = [{"kind": "unknown_action", "subject": p.arn, "action": action,
                 "why": f"{action} is not an IAM action: a warning naming the policy and statement"}
                for p in estate.principals for action in p.unknown_actions]
    principals = [{"arn": p.arn, "account": p.account.id, "kind": p.kind, "name": p.name, "class": p.cls,
                   "plant": p.plant, "traits": list(p.traits)} for p in estate.principals]
    return {
        "generator": "benchmarks/labelled_aws/generate.py",
        "seed": estate.seed,
        "as_of": estate.as_of,
        "policy": "policy.yaml",
        "accounts": [{"id": a.id, "environment": a.environment, "files": files[a.id], "imports": imports[a.id]}
                     for a in estate.accounts],
        "places": sorted(({"subject": subject, "plant": plant} for subject, plant, _ in estate.loose),
                         key=lambda p: p["subject"]),
        "integrations": sorted(({"name": i.name, "plant": i.plant, "identities": list(i.identities)}
                                for i in estate.integrations), key=lambda i: i["name"]),
        "findings": sorted(findings, key=lambda f: (f["subject"], f["rule"])),
        "warnings": sorted(warnings, key=lambda w: (w["subject"], w["action"])),
        "principals": sorted(principals, key=lambda p: p["arn"]),
    }


def write(estate: Estate, out: Path) -> dict[str, Any]:
    """Write every file under `out` (aws/<account>/..., policy.yaml, manifest.json); returns the manifest."""
    files: dict[str, list[str]] = {}
    for account in estate.accounts:
        folder = out / "aws" / account.id
        folder.mkdir(parents=True, exist_ok=True)
        gaad = folder / "authorization-details.json"
        gaad.write_text(json.dumps(authorization_details(account, estate), indent=4) + "\n", encoding="utf-8")
        report = folder / "credential-report.csv"
        report.write_text(credential_report(account, estate), encoding="utf-8")
        files[account.id] = [str(p.relative_to(out)) for p in (gaad, report)]
    imports = write_exports(estate, out, files)
    (out / "policy.yaml").write_text(policy_yaml(estate), encoding="utf-8")
    data = manifest(estate, files, imports)
    (out / "manifest.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return data
