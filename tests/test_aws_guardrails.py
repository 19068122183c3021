"""Organisation guardrails end to end: moto Organizations (SCPs, RCPs, OUs) and IAM in member accounts,
collected live with --aws-org and imported from `aws organizations` outputs; the same findings both ways."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_support import MOTO_ACCOUNT, Moto, aws_env, export_like_cli, moto, scan_json  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.imports import import_files
from nhiaudit.inventory.snapshot import load_snapshot

EU_MODELS = "arn:aws:bedrock:eu-west-1::foundation-model/*"
US_MODELS = "arn:aws:bedrock:us-east-1::foundation-model/*"
POLICY = """\
version: 1
systems:
  bedrock-models:
    kind: ai-model
    resources: ["arn:aws:bedrock:*::foundation-model/*"]
  prompts:
    resources: ["arn:aws:secretsmanager:us-east-1:*:secret:prompts-*"]
integrations: []
"""
REGION_LOCK = {"Version": "2012-10-17", "Statement": [{
    "Sid": "OnlyUsEast1", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"},
                  "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/breakglass"}}}]}
# An RCP keeping the ai account's secrets to its own principals (the management account's too: RCPs limit any
# caller). aws:PrincipalAccount is decided from each caller.
OWN_SECRETS = {"Version": "2012-10-17", "Statement": [{
    "Sid": "OwnPrincipalsOnly", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*",
    "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalAccount": "ACCOUNT"}}}]}
S3_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def _grant(resources: Any, actions: Any = "bedrock:InvokeModel") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resources}]})


@pytest.fixture(scope="module")
def estate(moto: Moto) -> Iterator[dict[str, Any]]:  # noqa: F811
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
        yield _seed(moto)


def _seed(moto: Moto) -> dict[str, Any]:  # noqa: F811
    moto.reset()
    org = moto.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        org.enable_policy_type(RootId=root, PolicyType=kind)
    ai_ou = org.create_organizational_unit(ParentId=root, Name="ai")["OrganizationalUnit"]["Id"]
    locked_ou = org.create_organizational_unit(ParentId=root, Name="locked")["OrganizationalUnit"]["Id"]
    ai, locked = (org.create_account(Email=f"{n}@acme.example", AccountName=n)["CreateAccountStatus"]["AccountId"]
                  for n in ("ai", "locked"))
    org.move_account(AccountId=ai, SourceParentId=root, DestinationParentId=ai_ou)
    org.move_account(AccountId=locked, SourceParentId=root, DestinationParentId=locked_ou)
    lock = org.create_policy(Name="region-lock", Description="", Type="SERVICE_CONTROL_POLICY",
                             Content=json.dumps(REGION_LOCK))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=lock, TargetId=ai_ou)
    s3_only = org.create_policy(Name="s3-only", Description="", Type="SERVICE_CONTROL_POLICY",
                                Content=json.dumps(S3_ONLY))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=s3_only, TargetId=locked_ou)
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=locked_ou)  # an allow-list OU
    own = json.dumps(OWN_SECRETS).replace("ACCOUNT", ai)
    rcp = org.create_policy(Name="own-secrets", Description="", Type="RESOURCE_CONTROL_POLICY",
                            Content=own)["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=rcp, TargetId=ai_ou)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

    def role(account: str | None, name: str, document: str) -> None:
        iam = moto.client("iam", account)
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=name, PolicyName="grant", PolicyDocument=document)

    for name, models in (("eu-caller", EU_MODELS), ("us-caller", US_MODELS), ("breakglass", EU_MODELS)):
        role(ai, name, _grant(models))
    role(None, "eu-caller", _grant(EU_MODELS))  # the management account: never capped
    role(ai, "admin", _grant("*", "*"))
    secret = f"arn:aws:secretsmanager:us-east-1:{ai}:secret:prompts-x1"
    role(ai, "prompt-reader", _grant(secret, "secretsmanager:GetSecretValue"))
    role(None, "prompt-reader", _grant(secret, "secretsmanager:GetSecretValue"))  # another account's caller
    role(locked, "admin", _grant("*", "*"))
    return {"ai": ai, "locked": locked, "root": root, "ai_ou": ai_ou, "locked_ou": locked_ou,
            "policies": {"lock": lock, "s3_only": s3_only, "rcp": rcp}}


def _collect(tmp_path: Path) -> tuple[int, Path]:
    out = tmp_path / "org.json"
    result = CliRunner().invoke(build_app(), ["collect", "--aws-org", "--aws-regions", "us-east-1", "-o", str(out)])
    return result.exit_code, out


def _findings(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["identity"]["id"]) for f in report["findings"]
            if f["rule_id"] in ("ai-undeclared", "admin-access")}


def _expected(estate: dict[str, Any]) -> set[tuple[str, str]]:
    ai = estate["ai"]
    return {
        ("ai-undeclared", f"arn:aws:iam::{ai}:role/us-caller"),  # us-east-1 models: the SCP allows them
        ("ai-undeclared", f"arn:aws:iam::{ai}:role/breakglass"),  # the SCP's ArnNotLike exception
        ("ai-undeclared", f"arn:aws:iam::{MOTO_ACCOUNT}:role/eu-caller"),  # management account
        ("admin-access", f"arn:aws:iam::{ai}:role/admin"),  # FullAWSAccess and a partial Deny: still admin
        # absent: ai's eu-caller (its only models are in eu-west-1), locked's admin (an s3-only OU)
    }


def test_live_scp_caps_remove_findings_and_explain_names_the_scp(estate, aws_env, tmp_path):  # noqa: F811
    code, snap_path = _collect(tmp_path)
    assert code == 0
    snap = load_snapshot(snap_path)
    (organization,) = snap.aws_organizations
    assert organization.management_account == MOTO_ACCOUNT
    assert {a.account: a.parents for a in organization.accounts}[estate["ai"]] == (estate["root"], estate["ai_ou"])
    sent = Counter(aws_env.front.operations())
    # One call per policy (describe, targets) and per parent (OUs, accounts): no per-account or per-role calls.
    policies = len(organization.policies)
    assert sent["organizations:DescribePolicy"] == sent["organizations:ListTargetsForPolicy"] == policies
    assert sent["organizations:ListAccountsForParent"] == 3 and sent["organizations:ListPolicies"] == 2

    code, report = scan_json(tmp_path, "--snapshot", str(snap_path), policy=POLICY)
    assert _findings(report) == _expected(estate)

    (tmp_path / "policy.yaml").write_text(POLICY)
    eu_caller = f"arn:aws:iam::{estate['ai']}:role/eu-caller"
    result = CliRunner().invoke(build_app(), ["explain", eu_caller, "--snapshot", str(snap_path),
                                              "--policy", str(tmp_path / "policy.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    lock = estate["policies"]["lock"]
    assert any(f"removed by SCP {lock} (region-lock), statement 0 (OnlyUsEast1), attached to {estate['ai_ou']}"
               in n and "bedrock-models" in n for n in notes), notes
    locked_admin = f"arn:aws:iam::{estate['locked']}:role/admin"
    result = CliRunner().invoke(build_app(), ["explain", locked_admin, "--snapshot", str(snap_path),
                                              "--policy", str(tmp_path / "policy.yaml"), "--format", "json"])
    notes = json.loads(result.stdout)["notes"]
    assert any(f"administrator access (* on *) not allowed by any SCP attached to {estate['locked_ou']}" in n
               for n in notes), notes
    result = CliRunner().invoke(build_app(), ["explain", "--can-reach", "bedrock-models", "--snapshot", str(snap_path),
                                              "--policy", str(tmp_path / "policy.yaml"), "--format", "json"])
    notes = json.loads(result.stdout)["notes"]
    assert any(n.startswith(f"arn:aws:iam::{estate['ai']}:role/eu-caller: access to bedrock-models "
                            "(bedrock:InvokeModel) removed by SCP")
               for n in notes), notes
    # The RCP: the ai account's own reader reaches its secrets, the management account's reader does not.
    result = CliRunner().invoke(build_app(), ["explain", "--can-reach", "prompts", "--snapshot", str(snap_path),
                                              "--policy", str(tmp_path / "policy.yaml"), "--format", "json"])
    found = json.loads(result.stdout)
    assert {r["identity"]["id"] for r in found["identities"]} == {f"arn:aws:iam::{estate['ai']}:role/{name}"
                                                                  for name in ("prompt-reader", "admin")}
    rcp = estate["policies"]["rcp"]
    assert (f"arn:aws:iam::{MOTO_ACCOUNT}:role/prompt-reader: access to prompts (secretsmanager:GetSecretValue) "
            f"removed by RCP {rcp} (own-secrets), statement 0 (OwnPrincipalsOnly), attached to {estate['ai_ou']}"
            ) in found["notes"]


def _export_org(moto: Moto, estate: dict[str, Any], out: Path) -> list[str]:  # noqa: F811
    """What the `aws organizations` commands print, one file each; TARGET=FILE where the output does not
    say what it lists."""
    org = moto.client("organizations")
    out.mkdir(parents=True, exist_ok=True)
    args: list[str] = []

    def write(name: str, reply: dict[str, Any], target: str | None = None) -> None:
        reply.pop("ResponseMetadata", None)
        path = out / f"{name}.json"
        path.write_text(json.dumps(reply, default=str, indent=1))
        args.append(f"{target}={path}" if target else str(path))

    write("roots", org.list_roots())
    for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        listed = org.list_policies(Filter=kind)
        write(f"policies-{kind}", listed)
        for p in listed["Policies"]:
            write(f"policy-{p['Id']}", org.describe_policy(PolicyId=p["Id"]))
            write(f"targets-{p['Id']}", org.list_targets_for_policy(PolicyId=p["Id"]), p["Id"])
    for parent in (estate["root"], estate["ai_ou"], estate["locked_ou"]):
        write(f"ous-{parent}", org.list_organizational_units_for_parent(ParentId=parent), parent)
        write(f"accounts-{parent}", org.list_accounts_for_parent(ParentId=parent), parent)
    return args


def test_import_gives_the_live_findings(estate, aws_env, tmp_path):  # noqa: F811
    _, live = _collect(tmp_path)
    args = _export_org(aws_env, estate, tmp_path / "org")
    for account in (None, estate["ai"], estate["locked"]):
        files = export_like_cli(aws_env, tmp_path / f"iam-{account}", account=account)
        args += [str(f) for f in files]
    imports = [a for arg in args for a in ("--import", arg)]
    code, report = scan_json(tmp_path, *imports, policy=POLICY)
    assert code == 0
    assert _findings(report) == _expected(estate)
    # The same record of the organisation both ways.
    assert load_snapshot(live).aws_organizations == _imported_org(args)


def _imported_org(args: list[str]) -> Any:
    return import_files([Path(a) for a in args]).aws_organizations


def test_denied_list_policies_is_exit_3_and_applies_no_caps(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("organizations:ListPolicies")
    code, snap_path = _collect(tmp_path)
    assert code == 3
    snap = load_snapshot(snap_path)
    assert snap.aws_organizations == []
    (issue,) = snap.collection_issues
    assert issue.operation == "organizations:ListPolicies" and "not applied" in (issue.missing or "")
    _, report = scan_json(tmp_path, "--snapshot", str(snap_path), policy=POLICY)
    ai, locked = estate["ai"], estate["locked"]
    assert _findings(report) == _expected(estate) | {
        ("ai-undeclared", f"arn:aws:iam::{ai}:role/eu-caller"), ("admin-access", f"arn:aws:iam::{locked}:role/admin")}
