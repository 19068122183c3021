"""Live collection under faults, through real boto3 and the real CLI: a fault-injecting HTTP front on
127.0.0.1 (aws_support.AwsFront) sits between botocore and moto's server and answers chosen calls with
garbage, empty 404s or a stall. One bad reply loses only that call; a stalled endpoint cannot outlast
--timeout; nothing turns into a traceback."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterator

import aws_planted as planted
import pytest
from aws_support import Moto, Request, Response, aws_env, fixture_response, moto  # noqa: F401
from rich.console import Console
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.aws.account import CollectSettings
from nhiaudit.connectors.aws.live import collect_aws
from nhiaudit.connectors.aws.resource_policies_live import OPERATIONS as RESOURCE_POLICY_OPERATIONS
from nhiaudit.connectors.options import AwsOptions
from nhiaudit.inventory.snapshot import load_snapshot

arn = planted.arn
REGION = ["--aws-regions", "us-east-1"]
HTML = Response(200, b"<html>garbage", "text/html")
USERS = {arn("user", u) for u in planted.USERS}


@pytest.fixture(scope="module")
def estate(moto: Moto) -> Moto:  # noqa: F811
    moto.reset()
    planted.seed_planted(moto)
    return moto


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at test end: stalled front handlers return at once instead of sleeping on."""
    event = threading.Event()
    yield event
    event.set()


def stall(release: threading.Event, seconds: float = 5.0):
    def respond(req: Request) -> Response:
        release.wait(seconds)
        return HTML

    return respond


def collect_cli(tmp_path, *extra: str):
    out = tmp_path / "snap.json"
    result = CliRunner().invoke(build_app(), ["collect", "--aws", *REGION, "-o", str(out), *extra])
    return result, (load_snapshot(out) if out.exists() else None)


def issues_by_operation(snap) -> dict:
    return {i.operation: i for i in snap.collection_issues}


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1 and "Traceback" not in text


# ---- one garbled reply loses one call ---------------------------------------------------------------


def test_garbled_authorization_details_keeps_report_users_and_is_in_the_json_report(
    estate, aws_env, tmp_path  # noqa: F811
):
    aws_env.front.replay("iam:GetAccountAuthorizationDetails", lambda r: HTML)
    policy = planted.write_policy(tmp_path)
    result = CliRunner().invoke(
        build_app(), ["scan", "--aws", *REGION, "--policy", str(policy), "-f", "json", "--fail-on", "none"]
    )
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["collection"]["complete"] is False
    (error,) = report["collection"]["errors"]
    assert error["operation"] == "iam:GetAccountAuthorizationDetails" and "roles" in error["missing"]
    assert "unreadable reply" in error["message"] and "garbage" not in error["message"]
    assert {p["identity"] for p in report["access_paths"]} <= USERS

    _, snap = collect_cli(tmp_path)
    assert {i.id for i in snap.identities} == USERS  # from the credential report
    assert len(snap.credentials) == 3 and len(snap.workloads) == 4


def test_garbled_credential_report_keeps_authorization_details(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.replay("iam:GetCredentialReport", lambda r: Response(200, b"\x00\xff not xml"))
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 3
    (issue,) = snap.collection_issues
    assert issue.operation == "iam:GetCredentialReport" and "credential report" in issue.missing
    assert len(snap.identities) == 11 and len(snap.workloads) == 4
    # Without the report every user is asked for its keys.
    assert {c.identity_id for c in snap.credentials} == USERS


@pytest.mark.parametrize("reply", [HTML, Response(200, b"{}", "application/json"),
                                   Response(200, b'{"Functions": "x"}', "application/json")],
                         ids=["html", "empty-object", "wrong-type"])
def test_garbled_list_functions_is_not_a_complete_collection(estate, aws_env, tmp_path, reply):  # noqa: F811
    aws_env.front.replay("lambda:ListFunctions", lambda r: reply)
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 3 and not snap.complete
    (issue,) = snap.collection_issues
    assert issue.operation == "lambda:ListFunctions" and "Lambda" in issue.missing
    assert "lambda:ListFunctions" in result.stderr
    assert "reply" in issue.message  # "malformed reply", "unreadable reply" or the shape check's
    assert len(snap.identities) == 11 and len(snap.credentials) == 3 and snap.workloads == []


def test_function_the_transform_refuses_loses_only_the_functions(estate, aws_env, tmp_path):  # noqa: F811
    # A well-formed reply whose content the transform refuses (not an ARN): the account is still assembled.
    body = json.dumps({"Functions": [{"FunctionName": "f", "FunctionArn": "not-an-arn", "Role": "r"}]})
    aws_env.front.replay("lambda:ListFunctions", lambda r: Response(200, body.encode(), "application/json"))
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 3
    (issue,) = snap.collection_issues
    assert issue.operation == "lambda:ListFunctions" and "not-an-arn" in issue.message
    assert len(snap.identities) == 11 and len(snap.credentials) == 3 and snap.workloads == []


def test_garbled_describe_instances_keeps_functions(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.replay("ec2:DescribeInstances", lambda r: Response(200, b"<DescribeInstancesResponse/>"))
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 3
    assert set(issues_by_operation(snap)) == {"ec2:DescribeInstances"}
    assert len(snap.workloads) == 4 and len(snap.identities) == 11  # the functions are kept


def test_garbled_list_access_keys_names_the_users(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.replay("iam:ListAccessKeys", lambda r: Response(200, b"<ListAccessKeysResponse/>"))
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 3
    issue = issues_by_operation(snap)["iam:ListAccessKeys"]
    assert "malformed reply" in issue.message and "3 of 3 calls" in issue.message and "report-bot" in issue.message
    assert len(snap.identities) == 11 and len(snap.credentials) == 3  # the report's key slots stand in


# ---- STS: no traceback, one line, exit 3 --------------------------------------------------------------


@pytest.mark.parametrize("reply", [Response(404, b"", "text/html"), HTML,
                                   Response(200, b"<GetCallerIdentityResponse/>")],
                         ids=["empty-404", "html", "no-account"])
def test_unreadable_caller_identity_is_a_collection_error(aws_env, tmp_path, reply):  # noqa: F811
    aws_env.front.replay("sts:GetCallerIdentity", lambda r: reply)
    result, snap = collect_cli(tmp_path)
    assert result.exit_code == 3 and snap is None
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert one_line(result.stderr) and "checking the AWS credentials failed" in result.stderr


@pytest.mark.parametrize("reply", [Response(404, b"", "text/html"), HTML, Response(200, b"<AssumeRoleResponse/>")],
                         ids=["empty-404", "html", "no-credentials"])
def test_unreadable_assume_role_is_a_collection_error(aws_env, tmp_path, reply):  # noqa: F811
    aws_env.front.replay("sts:AssumeRole", lambda r: reply)
    result, snap = collect_cli(tmp_path, "--aws-role-arn", "arn:aws:iam::123456789012:role/auditor")
    assert result.exit_code == 3 and snap is None
    assert one_line(result.stderr) and "assuming arn:aws:iam::123456789012:role/auditor failed" in result.stderr


# ---- --timeout: a stalled endpoint cannot hold the run ----------------------------------------------
# These run against a small account of their own (no AWS-managed policies, moto's backends warmed up) so
# that only the stalled call comes near the short timeouts, even on a busy machine.

SMALL = "210000000077"
SMALL_ROLE = f"arn:aws:iam::{SMALL}:role/auditor"


@pytest.fixture(scope="module")
def small(moto: Moto) -> str:  # noqa: F811
    before = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"  # read when moto creates the account's IAM
    try:
        iam = moto.client("iam", SMALL)
        iam.create_user(UserName="svc")
        iam.create_access_key(UserName="svc")
        role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}))
        moto.client("lambda", SMALL).create_function(
            FunctionName="fn", Runtime="python3.12", Role=role["Role"]["Arn"], Handler="app.handler",
            Code={"ZipFile": planted._zip()})
        moto.client("ec2", SMALL).describe_instances()
        # The first request to a moto service imports it and creates the account's backend (seconds, holding
        # the GIL): done here, not inside the tests' 3-4 s deadlines.
        moto.client("ecs", SMALL).list_task_definitions()
        moto.client("bedrock-agent", SMALL).list_knowledge_bases()
        moto.client("bedrock-agent", SMALL).list_agents()
        moto.client("sagemaker", SMALL).list_endpoints()
        moto.client("eks", SMALL).list_clusters()
        for service, call in (("s3", "list_buckets"), ("kms", "list_keys"), ("secretsmanager", "list_secrets"),
                              ("sqs", "list_queues"), ("sns", "list_topics"), ("cloudtrail", "describe_trails"),
                              ("ssm", "describe_parameters"), ("cloudformation", "describe_stacks"),
                              ("sagemaker", "list_model_package_groups")):
            getattr(moto.client(service, SMALL), call)()  # resource policies, audit settings, sightings
        iam.get_account_authorization_details()
        iam.generate_credential_report()
    finally:
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = before or "true"
    return SMALL


def collect_small(*extra: str, tmp_path):
    return collect_cli(tmp_path, "--aws-role-arn", SMALL_ROLE, *extra)


def test_stalled_call_is_cut_off_by_timeout(small, aws_env, tmp_path, release):  # noqa: F811
    aws_env.front.replay("iam:GetAccountAuthorizationDetails", stall(release, 10))
    started = time.monotonic()
    result, snap = collect_small("--timeout", "3", tmp_path=tmp_path)
    took = time.monotonic() - started
    assert result.exit_code == 3 and took < 15, (took, result.output)
    issues = issues_by_operation(snap)
    assert "cut off by --timeout after 3 s" in issues["iam:GetAccountAuthorizationDetails"].message
    assert "cut off by --timeout" in result.stderr and "iam:GetAccountAuthorizationDetails" in result.stderr
    assert [w.name for w in snap.workloads] == ["fn"]  # read on the account's pool before the deadline: kept


def test_retries_stop_at_the_deadline(small, aws_env, release):  # noqa: F811
    aws_env.front.replay("lambda:ListFunctions", stall(release, 10))
    settings = CollectSettings(read_timeout=1.5)
    opts = AwsOptions(enabled=True, role_arn=SMALL_ROLE, regions=("us-east-1",), timeout=4)
    started = time.monotonic()
    (snap,) = collect_aws(opts, 2, Console(file=io.StringIO()), settings=settings)
    took = time.monotonic() - started
    assert took < 10, took  # without the deadline: 10 attempts of 1.5 s plus backoff
    issue = issues_by_operation(snap)["lambda:ListFunctions"]
    # On a loaded machine the first attempt may start so late that the deadline, not the 1.5 s read timeout,
    # ends it; then there is no last error to quote. Either way the deadline is what stopped the retries.
    assert "cut off by --timeout after 4 s" in issue.message
    # At least the first attempt, never the ten a missing deadline allows (fewer retries fit on a loaded machine).
    assert 1 <= aws_env.front.operations().count("lambda:ListFunctions") <= 4
    assert {i.name for i in snap.identities} == {"svc", "worker"}


def test_account_still_running_after_the_grace_is_reported_cut_off(small, aws_env, release):  # noqa: F811
    aws_env.front.replay("iam:GetAccountAuthorizationDetails", stall(release, 10))
    # Reads are capped at --timeout (3 s); the stalled one started after the collection did, so it is still
    # waiting when the deadline (plus no grace) has passed, and the account is left behind.
    settings = CollectSettings(read_timeout=10, grace=0)
    opts = AwsOptions(enabled=True, role_arn=SMALL_ROLE, regions=("us-east-1",), timeout=3)
    started = time.monotonic()
    (snap,) = collect_aws(opts, 2, Console(file=io.StringIO()), settings=settings)
    assert time.monotonic() - started < 5  # well before the 10 s read timeout, with room for a loaded machine
    assert len(snap.collection_issues) == 1, snap.collection_issues
    (issue,) = snap.collection_issues
    assert issue.operation == "nhiaudit:collect" and issue.account == SMALL
    assert "cut off by --timeout after 3 s" in issue.message and "still being read" in issue.message
    assert issue.missing == f"everything in account {SMALL}"


def test_credential_report_polling_respects_the_deadline(small, aws_env, tmp_path):  # noqa: F811
    # The report never completes; polling alone would wait about two minutes.
    aws_env.front.replay("iam:GenerateCredentialReport",
                         lambda r: fixture_response("generate-credential-report-started.xml"))
    started = time.monotonic()
    # 8 s: enough for the reads before the polling on a loaded machine, a fraction of the polling's two minutes.
    result, snap = collect_small("--timeout", "8", tmp_path=tmp_path)
    assert result.exit_code == 3 and time.monotonic() - started < 25
    # Other reads (resource policies, audit settings, sightings) run beside IAM; on a busy machine the deadline
    # may cut them off too, which is the same behaviour: cut off, named, everything read before kept.
    (issue,) = [i for i in snap.collection_issues if i.operation == "iam:GetCredentialReport"]
    assert "cut off by --timeout" in issue.message
    assert all("cut off by --timeout" in i.message or i.operation in RESOURCE_POLICY_OPERATIONS
               for i in snap.collection_issues), snap.collection_issues
    assert {i.name for i in snap.identities} == {"svc", "worker"}  # read before the deadline
    assert [c.identity_id for c in snap.credentials] == [f"arn:aws:iam::{SMALL}:user/svc"]


def test_timeout_below_one_second_is_a_usage_error(aws_env, tmp_path):  # noqa: F811
    result, _ = collect_cli(tmp_path, "--timeout", "0.5")
    assert result.exit_code == 2 and "--timeout" in result.stderr
