"""Audit gaps (docs/policy.md "audit: what the cloud must record"): Bedrock model invocation logging on in one
region and off in another, and one logging multi-region trail per account whose data event selectors cover the
account's support-tickets bucket and nothing else. Integrations require `model_invocations` or `data_access`.

Exports per account (shapes as the AWS CLI prints them; botocore's cloudtrail and bedrock service models):
`aws cloudtrail describe-trails`, `get-trail-status` (TRAIL=FILE), `get-event-selectors`,
`list-event-data-stores` (empty), and
`aws bedrock get-model-invocation-logging-configuration` per region (REGION=FILE, `{}` when off)."""

from __future__ import annotations

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws import systems as s
from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.declared import declared_with
from benchmarks.labelled_aws.model import Expected, ExportFile

LOGGED_REGION, UNLOGGED_REGION, UNREAD_REGION = "us-east-1", "eu-west-1", "ap-southeast-2"
TRAIL = "acme-audit-trail"
MODELS_REQUIRED = (("audit", {"model_invocations": "required"}),)
DATA_REQUIRED = (("audit", {"data_access": "required"}),)


def _models(region: str) -> dict:
    return d.allow(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                   f"arn:aws:bedrock:{region}::foundation-model/*")


def account_audit(b: AccountBuilder) -> None:
    """What the account records: the trail, its status and selectors, Bedrock logging per region."""
    acct, env = b.account.id, b.env
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{acct}:trail/{TRAIL}"
    trail = {"Name": TRAIL, "S3BucketName": f"acme-{env}-cloudtrail-{acct}", "IncludeGlobalServiceEvents": True,
             "IsMultiRegionTrail": True, "HomeRegion": "us-east-1", "TrailARN": trail_arn,
             "LogFileValidationEnabled": True, "HasCustomEventSelectors": True, "HasInsightSelectors": False,
             "IsOrganizationTrail": False}
    status = {"IsLogging": True, "LatestDeliveryTime": f"{b.estate.as_of}T06:12:09.311000+00:00",
              "StartLoggingTime": "2025-01-14T09:30:00.000000+00:00",
              "LatestDeliveryAttemptTime": f"{b.estate.as_of}T06:12:09Z",
              "LatestDeliveryAttemptSucceeded": f"{b.estate.as_of}T06:12:09Z",
              "TimeLoggingStarted": "2025-01-14T09:30:00Z", "TimeLoggingStopped": ""}
    selectors = {"TrailARN": trail_arn, "AdvancedEventSelectors": [
        {"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
        {"Name": "Support tickets: S3 data events, reads only",
         "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                            {"Field": "resources.ARN", "StartsWith": [s.bucket(env, "support-tickets")]}]}]}
    logging = {"loggingConfig": {"s3Config": {"bucketName": f"acme-{env}-bedrock-logs-{acct}",
                                              "keyPrefix": "invocations"},
                                 "textDataDeliveryEnabled": True, "imageDataDeliveryEnabled": False,
                                 "embeddingDataDeliveryEnabled": False}}
    b.estate.files.extend([
        ExportFile(b.account, "cloudtrail-describe-trails.json", {"trailList": [trail]}),
        ExportFile(b.account, "cloudtrail-get-event-selectors.json", selectors),
        # No CloudTrail Lake stores: without the (empty) listing "not recorded" is unknown, never a gap.
        ExportFile(b.account, "cloudtrail-list-event-data-stores.json", {"EventDataStores": []}),
        ExportFile(b.account, "cloudtrail-get-trail-status.json", status, target=TRAIL),
        ExportFile(b.account, f"bedrock-logging-{LOGGED_REGION}.json", logging, target=LOGGED_REGION),
        ExportFile(b.account, f"bedrock-logging-{UNLOGGED_REGION}.json", {}, target=UNLOGGED_REGION),
    ])


def models_logged(b: AccountBuilder) -> None:
    declared_with(b, "audit-models-logged", [_models(LOGGED_REGION), b.tickets_read()], extra=MODELS_REQUIRED,
                  traits=("audit",))


def models_unlogged(b: AccountBuilder) -> None:
    declared_with(b, "audit-models-unlogged", [_models(UNLOGGED_REGION), b.tickets_read()], extra=MODELS_REQUIRED,
                  traits=("audit",),
                  expected=(Expected("audit-model-calls-not-logged",
                                     f"calls models in {UNLOGGED_REGION}, where Bedrock invocation logging is off; "
                                     "its integration requires model_invocations"),))


def models_any_region(b: AccountBuilder) -> None:
    """Models of every region (`arn:aws:bedrock:*::...`): held to every region whose setting was read, so the
    region with logging off is a gap."""
    declared_with(b, "audit-models-any-region", [_models("*"), b.tickets_read()], extra=MODELS_REQUIRED,
                  traits=("audit",),
                  expected=(Expected("audit-model-calls-not-logged",
                                     f"may call models in any region; logging is off in {UNLOGGED_REGION}"),))


def models_unread(b: AccountBuilder) -> None:
    """Models of a region whose logging setting was not exported: unknown, never a gap (negative)."""
    declared_with(b, "audit-models-unread-region", [_models(UNREAD_REGION), b.tickets_read()],
                  extra=MODELS_REQUIRED, traits=("audit", "near-miss"))


def data_logged(b: AccountBuilder) -> None:
    declared_with(b, "audit-data-logged", [_models(LOGGED_REGION), b.tickets_read()], extra=DATA_REQUIRED,
                  traits=("audit",))


def data_unlogged(b: AccountBuilder) -> None:
    finance = s.system(b.env, "finance-reports")
    declared_with(b, "audit-data-unlogged",
                  [_models(LOGGED_REGION), b.tickets_read(),
                   d.allow(["s3:GetObject", "s3:ListBucket"],
                           [s.bucket(b.env, "finance-reports"), s.objects(b.env, "finance-reports")])],
                  may_reach=(finance,), extra=DATA_REQUIRED, traits=("audit",),
                  expected=(Expected("audit-data-access-not-logged",
                                     f"reads {finance}; the trail's data event selectors cover only the support "
                                     "tickets bucket"),))


def data_write_unlogged(b: AccountBuilder) -> None:
    """Writes to the support tickets: the selectors record only reads there (write access needs both)."""
    tickets = s.system(b.env, "support-tickets")
    declared_with(b, "audit-data-write-unlogged",
                  [_models(LOGGED_REGION), b.tickets_read(),
                   d.allow("s3:PutObject", s.objects(b.env, "support-tickets"))],
                  extra=DATA_REQUIRED, traits=("audit",),
                  expected=(Expected("audit-data-access-not-logged",
                                     f"writes to {tickets}; the trail records only read data events there"),))
