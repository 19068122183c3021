"""Latent privilege escalation (issue 11, point 4): a technique the permissions allow whose target kind is not in
the data is reported by `privesc-latent`, saying why no target is known ("not collected" differs from
"collected: none exist"); with a target in reach it is `privesc-single-step`; with targets outside the grant it is
neither. Built from `aws iam get-account-authorization-details` output, a credential report and
`aws lambda list-functions` output, scanned through the real CLI; live collection records what it listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_exports import (
    ACCOUNT,
    allow,
    arn,
    credential_report,
    findings,
    gaad,
    lambda_functions,
    report_row,
    role,
    scan_exports,
    user,
    write_exports,
)
from aws_support import aws_env, moto  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.azure.assemble import assemble_tenant
from nhiaudit.connectors.azure.raw import RawTenant
from nhiaudit.connectors.gcp.assemble import assemble_project
from nhiaudit.connectors.gcp.raw import RawProject
from nhiaudit.connectors.imports import import_files
from nhiaudit.inventory.model import CollectionIssue, Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot

STACK = allow(["iam:PassRole", "cloudformation:CreateStack"])
UPDATE_CODE = allow("lambda:UpdateFunctionCode")


def latent(report: dict, name: str) -> dict[str, dict]:
    return {f["evidence"]["technique"]: f for f in findings(report, "privesc-latent", name)}


def single(report: dict, name: str) -> set[str]:
    return {f["evidence"]["technique"] for f in findings(report, "privesc-single-step", name)}


def test_passrole_to_cloudformation_without_a_trusting_role_is_latent(tmp_path):
    report = scan_exports(tmp_path, {"gaad.json": gaad(role("deployer", "lambda.amazonaws.com", STACK))})
    found = latent(report, "deployer")["aws-passrole-cloudformation"]
    assert found["severity"] == "medium"
    assert found["evidence"]["why"] == (f"no role in account {ACCOUNT} trusts cloudformation.amazonaws.com "
                                        "(roles were collected)")
    assert "no target is known" in found["message"] and found["evidence"]["to_admin"] is False
    assert "aws-passrole-cloudformation" not in single(report, "deployer")


def test_with_a_role_trusting_cloudformation_it_is_a_single_step_escalation(tmp_path):
    estate = gaad(role("deployer", "lambda.amazonaws.com", STACK),
                  role("stack-admin", "cloudformation.amazonaws.com", allow("*")))
    report = scan_exports(tmp_path, {"gaad.json": estate})
    assert "aws-passrole-cloudformation" in single(report, "deployer")
    assert "aws-passrole-cloudformation" not in latent(report, "deployer")
    (hit,) = [f for f in findings(report, "privesc-single-step", "deployer")
              if f["evidence"]["technique"] == "aws-passrole-cloudformation"]
    assert hit["severity"] == "critical" and hit["evidence"]["targets"] == [arn("role", "stack-admin")]


def test_targets_outside_the_grant_are_neither_latent_nor_escalation(tmp_path):
    scoped = allow("iam:PassRole", arn("role", "app-*"))
    estate = gaad(role("deployer", "lambda.amazonaws.com", scoped, allow("cloudformation:CreateStack")),
                  role("stack-admin", "cloudformation.amazonaws.com", allow("*")))
    report = scan_exports(tmp_path, {"gaad.json": estate})
    assert "aws-passrole-cloudformation" not in latent(report, "deployer")
    assert "aws-passrole-cloudformation" not in single(report, "deployer")


def test_update_function_code_not_collected_differs_from_collected_none_exist(tmp_path):
    estate = gaad(role("patcher", "ec2.amazonaws.com", UPDATE_CODE))
    unlisted = latent(scan_exports(tmp_path / "a", {"gaad.json": estate}), "patcher")["aws-update-function-code"]
    assert unlisted["evidence"]["why"] == (f"no Lambda functions were collected for account {ACCOUNT} "
                                           "(the source did not list them)")
    empty = {"gaad.json": estate, "functions.json": lambda_functions()}  # `aws lambda list-functions`: none
    listed = latent(scan_exports(tmp_path / "b", empty), "patcher")["aws-update-function-code"]
    assert listed["evidence"]["why"] == f"Lambda functions were collected for account {ACCOUNT}: none exist"
    assert listed["fingerprint"] == unlisted["fingerprint"]  # one finding, whatever the reason says


def test_update_function_code_with_a_function_is_a_single_step_escalation(tmp_path):
    estate = gaad(role("patcher", "ec2.amazonaws.com", UPDATE_CODE),
                  role("fn-role", "lambda.amazonaws.com", allow("s3:GetObject")))
    report = scan_exports(tmp_path, {"gaad.json": estate,
                                     "functions.json": lambda_functions(("resize", arn("role", "fn-role")))})
    assert "aws-update-function-code" in single(report, "patcher")
    assert "aws-update-function-code" not in latent(report, "patcher")


def test_taking_over_users_when_the_identity_is_the_only_user_is_latent(tmp_path):
    report = scan_exports(tmp_path, {
        "gaad.json": gaad(user("key-minter", allow("iam:CreateAccessKey"))),
        "report.csv": credential_report(report_row("key-minter")),
    })
    assert latent(report, "key-minter")["aws-create-access-key"]["evidence"]["why"] == \
        f"no other user in account {ACCOUNT}"


def test_a_conditional_grant_is_low(tmp_path):
    conditional = allow(["iam:PassRole", "cloudformation:CreateStack"],
                        Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    report = scan_exports(tmp_path, {"gaad.json": gaad(role("deployer", "lambda.amazonaws.com", conditional))})
    found = latent(report, "deployer")["aws-passrole-cloudformation"]
    assert found["severity"] == "low" and found["evidence"]["conditional"] is True


def test_an_empty_listing_needs_one_account(tmp_path):
    other = gaad(role("other", "lambda.amazonaws.com"))
    other["RoleDetailList"][0]["Arn"] = arn("role", "other", "444455556666")
    files = {"a.json": gaad(role("patcher", "ec2.amazonaws.com", UPDATE_CODE)), "b.json": other,
             "functions.json": lambda_functions()}
    args = write_exports(tmp_path, files)
    result = CliRunner().invoke(build_app(), ["collect", *args, "-o", str(tmp_path / "snap.json")])
    assert result.exit_code == 2
    assert "functions.json" in result.output and "one account's files at a time" in result.output


def test_collected_is_kept_in_snapshots_and_optional(tmp_path):
    source = SourceInfo(provider=Provider.AWS, account=ACCOUNT, collected=("ec2_instance", "lambda"))
    path = tmp_path / "snap.json"
    Snapshot(sources=[source]).write(path)
    assert load_snapshot(path).sources[0].collected == ("ec2_instance", "lambda")
    data = json.loads(path.read_text())
    del data["sources"][0]["collected"]  # a snapshot written before the field existed
    path.write_text(json.dumps(data))
    assert load_snapshot(path).sources[0].collected == ()


_AWS_KINDS = ("bedrock_agent", "bedrock_knowledge_base", "ec2_instance", "ecs_task", "ecs_task_execution",
              "eks_pod_identity", "eks_service_account", "lambda", "sagemaker_endpoint", "sagemaker_notebook")


@pytest.mark.parametrize("denied, expected", [(None, _AWS_KINDS),
                                              ("lambda:ListFunctions", tuple(k for k in _AWS_KINDS if k != "lambda"))])
def test_live_collection_records_the_kinds_it_listed(aws_env, tmp_path, denied, expected):  # noqa: F811
    if denied:
        aws_env.front.deny(denied)
    out = tmp_path / "snap.json"
    CliRunner().invoke(build_app(), ["collect", "--aws", "--aws-regions", "us-east-1", "-o", str(out)])
    (source,) = load_snapshot(out).sources
    assert source.collected == expected


def test_gcp_and_azure_sources_record_the_workload_kinds_they_listed():
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    gcp = import_files(sorted((fixtures / "gcp").glob("*.json")))  # gcloud compute/run/functions list output
    assert gcp.sources[0].collected == ("cloud_function", "cloud_run", "gce_instance")
    azure = import_files([fixtures / "azure" / n for n in ("account.json", "sp-list.json", "resource-list.json")])
    assert azure.sources[0].collected == ("azure_vm", "container_app")  # the kinds `az resource list` showed


def test_a_failed_listing_leaves_its_kind_out():
    issue = CollectionIssue(provider=Provider.GCP, account="p", operation="cloudfunctions.functions.list",
                            message="PERMISSION_DENIED", missing="Cloud Functions (workloads)")
    raw = RawProject(project_id="p", issues=[issue], listed={"gce_instance", "cloud_run", "cloud_function"})
    source = assemble_project(raw, SourceInfo(provider=Provider.GCP, account="p")).sources[0]
    assert source.collected == ("cloud_run", "gce_instance")
    denied = CollectionIssue(provider=Provider.AZURE, account="s", operation="arm:GET resources",
                             message="AuthorizationFailed", missing="resources")
    tenant = RawTenant(tenant_id="t", issues=[denied], listed={"azure_vm"})
    assert assemble_tenant(tenant, SourceInfo(provider=Provider.AZURE, account="t")).sources[0].collected == ()
