"""Paging, report polling and the whole live path on recorded responses: real boto3 against a local
endpoint that replays fixtures/aws (moto ignores paging for GAAD and ListAccessKeys, so it cannot show it)."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_resource_recorded import CLAIMS, CUSTOMER_KEY, GROUPS, PARTNER, RECORDED_REQUESTS, record_resource_policies
from aws_support import FIXTURES, AwsFront, Request, Response, aws_environment, error_response, fixture_response
from rich.console import Console

from nhiaudit.connectors.aws.account import CollectSettings
from nhiaudit.connectors.aws.live import collect_aws
from nhiaudit.connectors.aws.readonly import RequestLog
from nhiaudit.connectors.imports import import_files
from nhiaudit.connectors.options import AwsOptions

FAST = CollectSettings(report_poll_delays=(0.01, 0.01, 0.01))
EMPTY_KEYS = ('<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccessKeysResult>'
              "<AccessKeyMetadata/><IsTruncated>false</IsTruncated></ListAccessKeysResult>"
              "</ListAccessKeysResponse>")
NEVER_USED = ('<GetAccessKeyLastUsedResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
              "<GetAccessKeyLastUsedResult><UserName>x</UserName><AccessKeyLastUsed><ServiceName>N/A</ServiceName>"
              "<Region>N/A</Region></AccessKeyLastUsed></GetAccessKeyLastUsedResult></GetAccessKeyLastUsedResponse>")
GAAD_PAGES = {None: "gaad-page-1.xml", "AAEAAcPage2Marker": "gaad-page-2.xml", "AAEAAcPage3Marker": "gaad-page-3.xml"}
KEY_PAGES = {("ci-deployer", None): "list-access-keys-ci-deployer-page-1.xml",
             ("ci-deployer", "ci-deployer-page-2"): "list-access-keys-ci-deployer-page-2.xml",
             ("legacy-smtp", None): "list-access-keys-legacy-smtp.xml",
             ("build-bot", None): "list-access-keys-build-bot.xml"}


def region_of(req: Request) -> str:
    return re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", req.headers["authorization"]).group(1)


def gaad(req: Request) -> Response:
    assert req.params["MaxItems"] == "1000"
    assert {v for k, v in req.params.items() if k.startswith("Filter.member.")} == {
        "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"}
    return fixture_response(GAAD_PAGES[req.params.get("Marker")])


def access_keys(req: Request) -> Response:
    name = KEY_PAGES.get((req.params["UserName"], req.params.get("Marker")))
    return fixture_response(name) if name else Response(200, EMPTY_KEYS.encode())


ECS_JSON = "application/x-amz-json-1.1"


def ecs_task_definitions(req: Request) -> Response:
    """us-east-1 has one family in three revisions over two pages; other regions have none."""
    assert req.params["status"] == "ACTIVE"
    if region_of(req) != "us-east-1":
        return Response(200, b'{"taskDefinitionArns": []}', ECS_JSON)
    page = 2 if req.params.get("nextToken") == "ecs-page-2" else 1
    return fixture_response(f"ecs-list-task-definitions-page-{page}.json", ECS_JSON)


def key_last_used(req: Request) -> Response:
    path = FIXTURES / f"get-access-key-last-used-{req.params['AccessKeyId']}.xml"
    return Response(200, path.read_bytes()) if path.exists() else Response(200, NEVER_USED.encode())


def by_region(name: str, empty: bytes, content_type: str = "text/xml"):
    return lambda req: fixture_response(name, content_type) if region_of(req) == "us-east-1" else Response(
        200, empty, content_type)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[AwsFront]:
    front = AwsFront().start()  # no upstream: anything not recorded is an error
    front.replay("sts:GetCallerIdentity", lambda r: fixture_response("get-caller-identity.xml"))
    front.replay("iam:GetAccountAuthorizationDetails", gaad)
    front.replay("iam:GetCredentialReport", lambda r: fixture_response("get-credential-report.xml"))
    front.replay("iam:ListAccessKeys", access_keys)
    front.replay("iam:GetAccessKeyLastUsed", key_last_used)
    front.replay("iam:ListRoles", lambda r: fixture_response(
        "list-roles-page-2.xml" if r.params.get("Marker") == "list-roles-page-2" else "list-roles-page-1.xml"))
    front.replay("ec2:DescribeRegions", lambda r: fixture_response("describe-regions.xml"))
    front.replay("ec2:DescribeInstances", by_region(
        "describe-instances.xml",
        b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationSet/>'
        b"</DescribeInstancesResponse>"))
    front.replay("lambda:ListFunctions", by_region("list-functions.json", b'{"Functions": []}', "application/json"))
    front.replay("ecs:ListTaskDefinitions", ecs_task_definitions)
    front.replay("bedrock:ListAgents", lambda r: Response(200, b'{"agentSummaries": []}', "application/json"))
    front.replay("sagemaker:ListNotebookInstances", lambda r: Response(200, b'{"NotebookInstances": []}', ECS_JSON))
    front.replay("bedrock:ListKnowledgeBases", lambda r: Response(200, b'{"knowledgeBaseSummaries": []}',
                                                                   "application/json"))
    front.replay("sagemaker:ListEndpoints", lambda r: Response(200, b'{"Endpoints": []}', ECS_JSON))
    front.replay("eks:ListClusters", lambda r: Response(200, b'{"clusters": []}', "application/json"))
    front.replay("ec2:DescribeInstanceAttribute",
                 lambda r: fixture_response("describe-instance-attribute-user-data.xml"))
    front.replay("ssm:DescribeParameters", lambda r: Response(200, b'{"Parameters": []}', "application/x-amz-json-1.1"))
    front.replay("cloudformation:DescribeStacks", lambda r: fixture_response("describe-stacks-empty.xml"))
    front.replay("cloudtrail:DescribeTrails", lambda r: Response(200, b'{"trailList": []}', ECS_JSON))
    front.replay("cloudtrail:ListEventDataStores", lambda r: Response(200, b'{"EventDataStores": []}', ECS_JSON))
    front.replay("bedrock:GetModelInvocationLoggingConfiguration", lambda r: fixture_response(
        "bedrock-get-model-invocation-logging-configuration.json", "application/json"))
    front.replay("ecs:DescribeTaskDefinition", lambda r: fixture_response(
        f"ecs-describe-task-definition-{r.params['taskDefinition'].rsplit('/', 1)[-1].split(':')[0]}.json", ECS_JSON))
    record_resource_policies(front)
    aws_environment(monkeypatch, front.url, tmp_path)
    try:
        yield front
    finally:
        front.stop()


def report_states(front: AwsFront, *states: str) -> None:
    """GenerateCredentialReport answers each state once, in order, then COMPLETE."""
    for state in states:
        front.replay("iam:GenerateCredentialReport", lambda r, s=state: fixture_response(
            f"generate-credential-report-{s}.xml"), times=1)
    front.rules.sort(key=lambda rule: rule.times is None)  # the one-shot answers first
    front.replay("iam:GenerateCredentialReport", lambda r: fixture_response("generate-credential-report-complete.xml"))


def collect(settings: CollectSettings = FAST, log: RequestLog | None = None):
    stderr = io.StringIO()
    (snap,) = collect_aws(AwsOptions(enabled=True), 4, Console(file=stderr), request_log=log, settings=settings)
    return snap, stderr.getvalue()


def comparable(snapshot, skip_user: str) -> dict:
    data = json.loads(snapshot.to_json())
    # Resource policies: the recorded replies hold some, these exports none (test_aws_resource_live_import.py
    # compares the two paths for them).
    for key in ("generated_at", "sources", "collection_issues", "resource_policies"):
        data.pop(key)
    data["identities"] = [i for i in data["identities"] if not i["id"].endswith(skip_user)]
    data["credentials"] = [c for c in data["credentials"] if not c["identity_id"].endswith(skip_user)]
    data["workloads"] = sorted(data["workloads"], key=lambda w: w["id"])
    return data


def test_live_collection_follows_every_page_and_matches_the_cli_exports(recorded):
    report_states(recorded, "started")
    log = RequestLog()
    live, stderr = collect(log=log)
    assert live.complete and stderr == ""  # not a terminal: no progress
    seen = Counter(recorded.operations())
    assert seen == {"sts:GetCallerIdentity": 1, "iam:GenerateCredentialReport": 2, "iam:GetCredentialReport": 1,
                    "iam:GetAccountAuthorizationDetails": 3, "iam:ListAccessKeys": 4, "iam:GetAccessKeyLastUsed": 1,
                    "ec2:DescribeRegions": 1, "ec2:DescribeInstances": 2, "lambda:ListFunctions": 2,
                    "iam:ListRoles": 2,
                    "ecs:ListTaskDefinitions": 3, "ecs:DescribeTaskDefinition": 1,  # latest revision only
                    "bedrock:ListAgents": 2, "sagemaker:ListNotebookInstances": 2,
                    "bedrock:ListKnowledgeBases": 2, "sagemaker:ListEndpoints": 2, "eks:ListClusters": 2,
                    "ec2:DescribeInstanceAttribute": 1, "ssm:DescribeParameters": 2,
                    "cloudformation:DescribeStacks": 2,
                    "cloudtrail:DescribeTrails": 2, "bedrock:GetModelInvocationLoggingConfiguration": 2,
                    "cloudtrail:ListEventDataStores": 2, **RECORDED_REQUESTS}
    assert log.total == sum(seen.values())
    assert len(live.identities) == 9 and len(live.policies) == 10
    ecs = "arn:aws:ecs:us-east-1:111122223333:task-definition/doc-summarizer:3"
    assert {(w.id, w.kind, w.identity_id) for w in live.workloads if w.kind.startswith("ecs")} == {
        (ecs, "ecs_task", "arn:aws:iam::111122223333:role/ai/support-copilot"),
        (ecs + "#execution", "ecs_task_execution", "arn:aws:iam::111122223333:role/web-server")}  # a role name
    ids = {c.id for c in live.credentials}
    assert {"AKIAEXAMPLECIDEPLOY1", "AKIAEXAMPLECIDEPLOY2", "AKIAEXAMPLEBUILDBOT1"} <= ids  # both key pages
    bot = next(c for c in live.credentials if c.id == "AKIAEXAMPLEBUILDBOT1")
    assert (bot.last_used_service, bot.last_used_region) == ("bedrock", "us-east-1")  # GetAccessKeyLastUsed
    exported = import_files([FIXTURES / n for n in (
        "gaad-cli.json", "credential-report.json", "list-access-keys.json", "list-access-keys-legacy-smtp.json",
        "list-functions.json", "describe-instances.json", "list-roles.json",
        "ecs-describe-task-definition-doc-summarizer.json")] + [
        Path(f"{region}={FIXTURES / 'bedrock-get-model-invocation-logging-configuration.json'}")
        for region in ("eu-west-1", "us-east-1")])
    assert {(s.regions, s.logging, s.destination) for s in live.audit_settings} == {
        ((region,), True, "s3://acme-bedrock-logs/invocations, CloudWatch Logs /aws/bedrock/invocations")
        for region in ("eu-west-1", "us-east-1")}
    # The exports do not include build-bot's key (created after the report; no list-access-keys file for it).
    assert comparable(live, "/build-bot") == comparable(exported, "/build-bot")


def test_resource_policy_listings_follow_every_page(recorded, monkeypatch):
    from nhiaudit.connectors.aws import account

    raws = []
    real = account.assemble_account
    monkeypatch.setattr(account, "assemble_account", lambda raw, source: raws.append(raw) or real(raw, source))
    report_states(recorded)
    snap, _ = collect()
    assert snap.complete, snap.collection_issues
    read = {p.resource_arn: p for p in raws[0].resource_policies}
    # Both bucket, key and model package group pages; the AWS managed key is described only.
    assert sorted(read) == [CUSTOMER_KEY, "arn:aws:lambda:us-east-1:111122223333:function:support-copilot",
                            "arn:aws:lambda:us-east-1:111122223333:function:ticket-triage",
                            "arn:aws:s3:::build-logs-111122223333", f"arn:aws:s3:::{CLAIMS}",
                            f"{GROUPS}churn-models", f"{GROUPS}fraud-models"]
    claims = read[f"arn:aws:s3:::{CLAIMS}"]
    assert PARTNER in str(claims.policy) and claims.account == "111122223333" and claims.region is None
    assert claims.extra["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    assert [g["Permission"] for g in claims.extra["Grants"]] == ["FULL_CONTROL", "WRITE"]
    assert read["arn:aws:s3:::build-logs-111122223333"].policy is None
    key = read[CUSTOMER_KEY]
    assert json.loads(str(key.policy))["Statement"][1]["Sid"] == "CopilotDecrypts"
    assert [g["GranteePrincipal"] for g in key.extra["Grants"]] == [PARTNER]
    assert key.extra["KeyMetadata"]["CreationDate"].startswith("2025-01-01")
    assert PARTNER in str(read["arn:aws:lambda:us-east-1:111122223333:function:support-copilot"].policy)
    assert read["arn:aws:lambda:us-east-1:111122223333:function:ticket-triage"].policy is None
    fraud = read[f"{GROUPS}fraud-models"]
    assert (fraud.service, fraud.account, fraud.region) == ("sagemaker", "111122223333", "us-east-1")
    assert json.loads(str(fraud.policy))["Statement"][0]["Principal"] == {"AWS": PARTNER}
    assert read[f"{GROUPS}churn-models"].policy is None  # "Cannot find resource policy": none, not an issue


def test_report_in_progress_is_polled_again(recorded):
    report_states(recorded)
    recorded.replay("iam:GetCredentialReport", lambda r: error_response(r, "ReportInProgress", "wait", 404), times=2)
    recorded.rules.sort(key=lambda rule: rule.times is None)
    snap, _ = collect()
    assert snap.complete and any(i.human_use for i in snap.identities)
    assert Counter(recorded.operations())["iam:GetCredentialReport"] == 3


def test_report_that_never_completes_is_an_issue_and_keys_still_come(recorded):
    recorded.replay("iam:GenerateCredentialReport", lambda r: fixture_response(
        "generate-credential-report-started.xml"))
    snap, stderr = collect()
    (issue,) = snap.collection_issues
    assert issue.operation == "iam:GetCredentialReport" and "not ready" in issue.message
    assert "console" in issue.missing and "warning" in stderr
    assert Counter(recorded.operations())["iam:GenerateCredentialReport"] == 1 + len(FAST.report_poll_delays)
    # Without the report every user is asked for keys: ids and creation dates survive.
    assert Counter(recorded.operations())["iam:ListAccessKeys"] == 5
    assert Counter(recorded.operations())["iam:GetAccessKeyLastUsed"] == 4  # last use now comes from here
    assert {c.id for c in snap.credentials} == {"AKIAEXAMPLECIDEPLOY1", "AKIAEXAMPLECIDEPLOY2",
                                                "AKIAEXAMPLELEGACYSMT", "AKIAEXAMPLEBUILDBOT1"}
    assert all(i.human_use is None for i in snap.identities)
