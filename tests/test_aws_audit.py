"""Audit coverage on AWS (issue 15, part 1), live through moto and the real CLI, and from the AWS CLI's
outputs: Bedrock invocation logging off in the region an agent uses, a trail without data events for the
bucket an integration reads, a stopped trail; each gives its audit-gap finding with evidence, the compliant
twin none; a denied read is exit 3 and no finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_support import MOTO_ACCOUNT, Moto, _iso, aws_env, moto, role_arn, scan_json  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.snapshot import load_snapshot

FIXTURES_ROOT = Path(__file__).resolve().parent.parent
REGION = ["--aws-regions", "us-east-1"]
JSON11 = "application/x-amz-json-1.1"
ROLE = role_arn("support-agent")
TRAIL = "org-main"
POLICY = f"""\
version: 1
defaults:
  audit: {{model_invocations: required}}
systems:
  tickets:
    kind: data
    classification: confidential
    resources: ["arn:aws:s3:::acme-tickets*"]
  models:
    kind: ai-model
    resources: ["arn:aws:bedrock:us-east-1::foundation-model/*"]
integrations:
  - name: support-agent
    identities: ["{ROLE}"]
    may_reach: [tickets, models]
    audit: {{secret_access: required, data_access: required}}
"""
STATEMENTS = [
    {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:us-east-1::foundation-model/*"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-tickets/*"},
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": f"arn:aws:secretsmanager:us-east-1:{MOTO_ACCOUNT}:secret:support-*"},
]
TICKET_SELECTORS = [{"Name": "tickets", "FieldSelectors": [
    {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
    {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::acme-tickets"]}]},
    {"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
LOGGING = {"s3Config": {"bucketName": "acme-bedrock-logs", "keyPrefix": "invocations"},
           "textDataDeliveryEnabled": True, "imageDataDeliveryEnabled": False, "embeddingDataDeliveryEnabled": False}


@pytest.fixture
def estate(moto: Moto) -> Moto:  # noqa: F811
    """The agent's role and one multi-region trail with default selectors (every management event, no data
    events); Bedrock invocation logging is not configured."""
    moto.reset()
    iam = moto.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "bedrock.amazonaws.com"}}]}
    iam.create_role(RoleName="support-agent", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="support-agent", PolicyName="work",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": STATEMENTS}))
    moto.client("s3").create_bucket(Bucket="acme-trail-logs")
    trails = moto.client("cloudtrail")
    trails.create_trail(Name=TRAIL, S3BucketName="acme-trail-logs", IsMultiRegionTrail=True)
    trails.start_logging(Name=TRAIL)
    return moto


def make_compliant(moto: Moto) -> None:  # noqa: F811
    moto.client("bedrock").put_model_invocation_logging_configuration(loggingConfig=LOGGING)
    moto.client("cloudtrail").put_event_selectors(TrailName=TRAIL, AdvancedEventSelectors=TICKET_SELECTORS)


def scan(tmp_path, *source: str) -> tuple[int, dict]:
    return scan_json(tmp_path, *source, policy=POLICY)


def gaps(report: dict) -> dict[str, dict]:
    return {f["rule_id"]: f for f in report["findings"] if f["category"] == "audit-gap"}


def test_bedrock_logging_off_and_bucket_without_data_events(estate, aws_env, tmp_path):  # noqa: F811
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 0 and report["collection"]["complete"]
    found = gaps(report)
    assert sorted(found) == ["audit-data-access-not-logged", "audit-model-calls-not-logged"]
    model = found["audit-model-calls-not-logged"]
    assert model["identity"]["id"] == ROLE and model["severity"] == "high"
    assert model["evidence"]["missing"] == ["us-east-1"] and model["integration"] == "support-agent"
    data = found["audit-data-access-not-logged"]
    assert data["evidence"]["system"] == "tickets" and data["severity"] == "high"  # confidential system
    assert data["evidence"]["missing"] == ["arn:aws:s3:::acme-tickets*"] and data["evidence"]["checked"] == [TRAIL]
    sent = aws_env.front.operations()
    assert {"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
            "bedrock:GetModelInvocationLoggingConfiguration"} <= set(sent)


def test_compliant_twin_has_no_audit_gap(estate, aws_env, tmp_path):  # noqa: F811
    make_compliant(estate)
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 0 and gaps(report) == {}
    snap = tmp_path / "snap.json"
    assert CliRunner().invoke(build_app(), ["collect", "--aws", *REGION, "-o", str(snap)]).exit_code == 0
    loaded = load_snapshot(snap)
    assert loaded.sources[0].audit_collected == ("bedrock_invocation_logging", "cloudtrail_event_data_store",
                                                 "cloudtrail_trail")
    result = CliRunner().invoke(build_app(), ["explain", ROLE, "--snapshot", str(snap), "--policy",
                                              str(tmp_path / "policy.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    audit = {(a["kind"], a["system"]): a for a in json.loads(result.stdout)["paths"][0]["audit"]}
    assert {k: a["recorded"] for k, a in audit.items()} == {
        ("model_invocations", ""): "yes", ("secret_access", ""): "yes", ("data_access", "tickets"): "yes"}
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{MOTO_ACCOUNT}:trail/{TRAIL}"
    assert audit[("data_access", "tickets")]["where"] == [f"trail {TRAIL} ({trail_arn})"]
    assert "s3://acme-bedrock-logs/invocations" in audit[("model_invocations", "")]["where"][0]
    assert audit[("secret_access", "")]["requirement"] == "required"
    markdown = CliRunner().invoke(build_app(), ["explain", ROLE, "--snapshot", str(snap), "--policy",
                                                str(tmp_path / "policy.yaml"), "--format", "markdown"]).stdout
    assert "**Recorded:**" in markdown and "| data access (tickets) | **yes** | required |" in markdown
    by_kind = {s.kind.value: s for s in loaded.audit_settings}
    assert by_kind["bedrock_invocation_logging"].destination == "s3://acme-bedrock-logs/invocations"
    assert by_kind["cloudtrail_trail"].logging is True and by_kind["cloudtrail_trail"].multi_region


def test_stopped_trail_records_nothing(estate, aws_env, tmp_path):  # noqa: F811
    make_compliant(estate)
    estate.client("cloudtrail").stop_logging(Name=TRAIL)
    _, report = scan(tmp_path, "--aws", *REGION)
    found = gaps(report)
    assert sorted(found) == ["audit-data-access-not-logged", "audit-secret-reads-not-logged"]
    secret = found["audit-secret-reads-not-logged"]["evidence"]
    assert secret["missing"] == ["secretsmanager.amazonaws.com in us-east-1"]


def test_write_only_management_events_miss_secret_reads(estate, aws_env, tmp_path):  # noqa: F811
    estate.client("bedrock").put_model_invocation_logging_configuration(loggingConfig=LOGGING)
    estate.client("cloudtrail").put_event_selectors(TrailName=TRAIL, EventSelectors=[
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
         "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::acme-tickets/"]}]}])
    _, report = scan(tmp_path, "--aws", *REGION)
    # WriteOnly records neither secret reads nor the agent's GetObject calls.
    assert sorted(gaps(report)) == ["audit-data-access-not-logged", "audit-secret-reads-not-logged"]


@pytest.mark.parametrize("operation", ["bedrock:GetModelInvocationLoggingConfiguration",
                                       "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus"])
def test_denied_read_is_incomplete_and_no_gap(estate, aws_env, tmp_path, operation):  # noqa: F811
    aws_env.front.deny(operation)
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 3 and not report["collection"]["complete"]
    assert len(report["collection"]["errors"]) == 1, report["collection"]["errors"]
    found = gaps(report)
    if operation.startswith("bedrock"):
        assert "audit-model-calls-not-logged" not in found and "audit-data-access-not-logged" in found
    else:
        assert "audit-data-access-not-logged" not in found and "audit-model-calls-not-logged" in found


def _export(tmp_path, estate) -> list[str]:
    out = tmp_path / "exports"
    out.mkdir()
    iam = estate.client("iam")
    gaad = iam.get_account_authorization_details()
    gaad.pop("ResponseMetadata", None)
    trails = estate.client("cloudtrail")
    arn = trails.describe_trails()["trailList"][0]["TrailARN"]
    replies = {"gaad": gaad, "trails": trails.describe_trails(includeShadowTrails=True),
               "status": trails.get_trail_status(Name=TRAIL), "selectors": trails.get_event_selectors(TrailName=TRAIL),
               "bedrock": estate.client("bedrock").get_model_invocation_logging_configuration(),
               "stores": {"EventDataStores": []}}  # moto has no CloudTrail Lake
    args = []
    for name, reply in replies.items():
        reply.pop("ResponseMetadata", None)
        path = out / f"{name}.json"
        path.write_text(json.dumps(reply, default=_iso, indent=1))
        target = {"status": arn, "bedrock": "us-east-1"}.get(name)
        args += ["--import", f"{target}={path}" if target else str(path)]
    return args


@pytest.mark.parametrize("compliant", [False, True])
def test_import_of_cli_outputs_gives_the_same_gaps(estate, aws_env, tmp_path, compliant):  # noqa: F811
    if compliant:
        make_compliant(estate)
    (tmp_path / "live").mkdir()
    _, live = scan(tmp_path / "live", "--aws", *REGION)
    code, imported = scan(tmp_path, *_export(tmp_path, estate))
    assert code == 0
    keyed = {k: (f["identity"]["id"], f["evidence"]["missing"]) for k, f in gaps(imported).items()}
    assert keyed == {k: (f["identity"]["id"], f["evidence"]["missing"]) for k, f in gaps(live).items()}
    assert bool(keyed) is not compliant


def test_event_data_store_records_what_the_trail_does_not(estate, aws_env, tmp_path):  # noqa: F811
    """moto has no CloudTrail Lake: a recorded GetEventDataStore (S3 data events of the tickets) is replayed."""
    from aws_support import FIXTURES, Response

    store = (FIXTURES / "cloudtrail-get-event-data-store.json").read_bytes()
    arn = json.loads(store)["EventDataStoreArn"]
    listing = json.dumps({"EventDataStores": [{"EventDataStoreArn": arn}]}).encode()
    aws_env.front.replay("cloudtrail:ListEventDataStores", lambda r: Response(200, listing, JSON11))
    aws_env.front.replay("cloudtrail:GetEventDataStore", lambda r: Response(200, store, JSON11))
    _, report = scan(tmp_path, "--aws", *REGION)
    assert sorted(gaps(report)) == ["audit-model-calls-not-logged"]  # the tickets' reads are in the store
    aws_env.front.reset()
    aws_env.front.replay("cloudtrail:ListEventDataStores", lambda r: Response(200, listing, JSON11))
    aws_env.front.deny("cloudtrail:GetEventDataStore")
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 3 and sorted(gaps(report)) == ["audit-model-calls-not-logged"]  # unknown: no data gap


def test_import_needs_targets(estate, tmp_path):
    args = _export(tmp_path, estate)
    untargeted = [a.split("=", 1)[-1] if a.startswith(("arn:", "us-east-1=")) else a for a in args]
    result = CliRunner().invoke(build_app(), ["collect", *untargeted, "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 2 and "TRAIL=FILE" in result.output


@pytest.mark.parametrize("content, message", [
    ({"trailList": [{"Name": "x", "TrailARN": "trail/x"}]}, "not an ARN"),
    ({"TrailARN": f"arn:aws:cloudtrail:us-east-1:{MOTO_ACCOUNT}:trail/x",
      "EventSelectors": [{"ReadWriteType": "Some"}]}, "EventSelectors[0].ReadWriteType"),
    ({"TrailARN": f"arn:aws:cloudtrail:us-east-1:{MOTO_ACCOUNT}:trail/x",
      "AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": "Data"}]}]}, "a list"),
    ({"loggingConfig": []}, "a logging configuration object"),
])
def test_hostile_exports_are_input_errors(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(content))
    result = CliRunner().invoke(build_app(), ["collect", "--import", f"us-east-1={path}", "-o",
                                              str(tmp_path / "s.json")])
    assert result.exit_code == 2 and message in result.output and f"{path}:" in result.output, result.output


def test_recorded_advanced_selectors_are_evaluated_against_patterns():
    """fixtures/aws/cloudtrail-get-event-selectors-advanced.json: what a trail with those selectors records."""
    from aws_support import FIXTURES

    from nhiaudit.connectors.aws.audit_selectors import normalise_selectors
    from nhiaudit.facts.audit_selectors import EventNeed, trail_covers
    from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting

    reply = json.loads((FIXTURES / "cloudtrail-get-event-selectors-advanced.json").read_text())
    trail = AuditLogSetting(provider="aws", account="111122223333", kind=AuditKind.CLOUDTRAIL_TRAIL,
                            id=reply["TrailARN"], name="org-main", multi_region=True, logging=True,
                            selectors=normalise_selectors(reply))

    def reads(source: str) -> bool | None:
        return trail_covers(trail, EventNeed("management", read=True, write=False, region="eu-west-1", source=source))

    def data(arn: str, kind: str = "AWS::S3::Object", write: bool = False) -> bool | None:
        return trail_covers(trail, EventNeed("data", read=True, write=write, region=None, resource_type=kind, arn=arn))

    assert reads("secretsmanager.amazonaws.com") is True and reads("kms.amazonaws.com") is False
    assert data("arn:aws:s3:::acme-support-tickets/open/*") is True
    assert data("arn:aws:s3:::acme-support-tickets/*") is False  # archive/ is excluded
    assert data("arn:aws:s3:::acme-support-tickets/open/*", write=True) is False  # reads only
    assert data("arn:aws:s3:::acme-other/*") is False
    assert data("arn:aws:dynamodb:*:*:table/customers", "AWS::DynamoDB::Table") is None  # userIdentity.arn: unknown
    stopped = trail.model_copy(update={"logging": False})
    assert trail_covers(stopped, EventNeed("data", True, False, None, resource_type="AWS::S3::Object",
                                           arn="arn:aws:s3:::acme-support-tickets/open/*")) is False


@pytest.mark.parametrize("fmt, expected", [
    ("table", "audit-model-calls-not-logged"), ("markdown", "audit-data-access-not-logged"),
    ("sarif", '"ruleId": "audit-model-calls-not-logged"'), ("json", '"category": "audit-gap"')])
def test_reports_carry_the_audit_gaps_of_the_demo(fmt, expected):
    root = FIXTURES_ROOT
    result = CliRunner().invoke(build_app(), [
        "scan", "--snapshot", str(root / "examples/demo/snapshot.json"), "--policy",
        str(root / "examples/demo/policy.yaml"), "--as-of", "2026-11-28", "--format", fmt, "--only-rule",
        "audit-model-calls-not-logged", "--only-rule", "audit-data-access-not-logged"], terminal_width=250)
    assert result.exit_code == 1 and expected in result.stdout, result.output


def test_snapshot_merge_keeps_audit_settings(tmp_path):
    from nhiaudit.inventory.snapshot import merge_snapshots

    demo = load_snapshot(FIXTURES_ROOT / "examples/demo/snapshot.json")
    empty = demo.model_copy(update={"audit_settings": []})
    merged = merge_snapshots([empty, demo, demo])
    assert merged.audit_settings == demo.audit_settings and len(merged.audit_settings) == 3


def test_imported_event_data_store_counts_like_a_trail(estate, tmp_path):
    from aws_support import FIXTURES

    args = _export(tmp_path, estate)
    store = FIXTURES / "cloudtrail-get-event-data-store.json"
    listing = tmp_path / "exports" / "stores.json"  # replaces the empty listing _export wrote
    listing.write_text(json.dumps({"EventDataStores": [{"EventDataStoreArn": json.loads(store.read_text())
                                                        ["EventDataStoreArn"]}]}))
    result = CliRunner().invoke(build_app(), ["collect", *args, "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 2 and "get-event-data-store" in result.output  # listed, not described
    code, report = scan(tmp_path, *args, "--import", str(store))
    assert code == 0 and sorted(gaps(report)) == ["audit-model-calls-not-logged"]
