"""Resource-policy exports through `--import` (recorded AWS CLI output, fixtures/aws/resource-policies/): every
format detected and turned into records a re-validation would build; files that do not say their resource, unknown
ARN forms and S3 buckets without a known owner are located input errors (exit 2); malformed and hostile documents
are collection issues (exit 3) or bounded evaluations, never a crash or a hang."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from test_aws_resource_policies import AGENT, BUCKET, GAAD_A, GAAD_B, KEY, RP, B, hits, imports, scan
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.imports import import_files
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot, merge_snapshots


def _import(tmp: Path, *entries) -> Snapshot:
    args = imports(tmp, *entries)
    return import_files([Path(a) for a in args[1::2]])


def test_every_format_becomes_records_validation_would_build(tmp_path):
    snapshot = _import(
        tmp_path, (None, GAAD_A), (BUCKET, "s3-get-bucket-policy-partner.json"),
        (BUCKET, "s3-get-bucket-acl-public.json"),
        (BUCKET, "s3-get-public-access-block-all.json"), ("111111111111", "s3-get-public-access-block-all.json"),
        (KEY, "kms-get-key-policy-prod.json"), (None, "kms-list-grants.json"),
        (None, "secretsmanager-get-resource-policy.json"), (None, "lambda-get-policy.json"),
        (None, "sqs-get-queue-attributes.json"), (None, "sns-get-topic-attributes.json"))
    assert not snapshot.collection_issues
    by_id = {r.id: r for r in snapshot.resource_policies}
    assert sorted(by_id) == [
        "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:lambda:us-east-2:111111111111:function:my-function", BUCKET,
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-a1b2c3",
        "arn:aws:sns:us-east-1:111111111111:alerts", "arn:aws:sqs:us-east-1:111111111111:jobs"]
    bucket = by_id[BUCKET]
    assert bucket.account == "111111111111"  # the one imported account's (S3 ARNs carry none)
    assert [s.origin for s in bucket.statements] == ["policy", "policy", "acl", "acl"]
    assert bucket.public_access_block and bucket.public_access_block.ignore_public_acls
    assert bucket.account_public_access_block and bucket.account_public_access_block.restrict_public_buckets
    key = by_id[KEY]
    assert key.statements[1].principals == ("arn:aws:iam::111111111111:role/summarizer",
                                            "unique-id:AROAJQABLZS4A3QDU576Q")  # a deleted principal: recorded
    assert key.statements[-1].origin == "grant" and key.statements[-1].statement.actions == ("kms:Decrypt",
                                                                                            "kms:Encrypt")
    lam = by_id["arn:aws:lambda:us-east-2:111111111111:function:my-function"]
    assert lam.statements[0].principals == ("service:sns.amazonaws.com",)
    for record in snapshot.resource_policies:
        assert type(record).model_validate(record.model_dump()) == record
    # The snapshot keeps them; an older snapshot without the field still loads; a merge keeps each resource once.
    snapshot.write(tmp_path / "snap.json")
    loaded = load_snapshot(tmp_path / "snap.json")
    assert loaded.resource_policies == snapshot.resource_policies
    old = json.loads((tmp_path / "snap.json").read_text())
    del old["resource_policies"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert load_snapshot(tmp_path / "old.json").resource_policies == []
    assert len(merge_snapshots([loaded, loaded]).resource_policies) == len(by_id)


def test_live_shaped_snapshot_and_import_give_the_same_findings(tmp_path):
    args = imports(tmp_path, (None, GAAD_A), (None, GAAD_B),
                   (f"arn:aws:s3::{B}:acme-customer-pii-b", "s3-get-bucket-policy-partner.json"))
    _, by_import, _ = scan(tmp_path, *args)
    result = CliRunner().invoke(build_app(), ["collect", *args, "-o", str(tmp_path / "snap.json")])
    assert result.exit_code == 0, result.output
    _, by_snapshot, _ = scan(tmp_path, "--snapshot", str(tmp_path / "snap.json"))
    assert [f["fingerprint"] for f in by_import["findings"]] == [f["fingerprint"] for f in by_snapshot["findings"]]
    assert hits(by_snapshot, "scope-not-allowed-system", AGENT)


@pytest.mark.parametrize(("entries", "message"), [
    ([(None, "s3-get-bucket-policy-partner.json")], "does not say which resource it belongs to"),
    ([("arn:aws:dynamodb:us-east-1:111111111111:table/t", "s3-get-bucket-policy-partner.json")],
     "is not the ARN of an S3 bucket, KMS key"),
    ([(None, GAAD_A), (None, GAAD_B), (BUCKET, "s3-get-bucket-policy-partner.json")],
     "S3 bucket ARNs carry no account"),
    ([(BUCKET, "s3-get-bucket-policy-partner.json")], "S3 bucket ARNs carry no account"),
    ([(None, "s3-get-bucket-acl-public.json")], "does not say which resource it is about"),
    ([(None, GAAD_A), (BUCKET, "s3-get-bucket-policy-partner.json"), (BUCKET, "s3-get-bucket-policy-no-grant.json")],
     "already has its policy"),
    ([(None, GAAD_A), ("arn:aws:s3:::b/key", "s3-get-bucket-policy-partner.json")], "is not a bucket ARN"),
    ([(None, {"Policy": 5})], "expected a string"),
])
def test_import_errors_name_the_file_and_exit_2(tmp_path, entries, message):
    code, _, out = scan(tmp_path, *imports(tmp_path, *entries))
    assert code == 2, out
    assert message in out and "Traceback" not in out
    assert ".json" in out  # the file's name


def test_a_target_that_is_no_arn_is_refused(tmp_path):
    code, _, out = scan(tmp_path, "--import", f"arn:nope={RP / 's3-get-bucket-policy-partner.json'}")
    assert code == 2 and "not an AWS TARGET" in out, out


HOSTILE = {
    "not JSON": "{not json",
    "wrong types": json.dumps({"Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*",
                                             "Principal": {"AWS": "*"}}]}),
    "unknown principal type": json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                                        "Principal": {"Alien": "x"}}}),
    "huge": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                                       "Principal": {"AWS": "*"}, "Sid": "x" * 70_000}]}),
    "deeply nested": '{"Statement": ' + "[" * 5000 + "]" * 5000 + "}",
    "too many statements": json.dumps({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                                                      "Principal": "*"}] * 300}),
    "too many principals": json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                                                     "Principal": {"AWS": [f"{n:012d}" for n in range(501)]}}}),
    "not an AWS principal": json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                                                      "Principal": {"AWS": "someone"}}}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_malformed_documents_are_collection_issues(tmp_path, name):
    args = imports(tmp_path, (None, GAAD_A), (BUCKET, {"Policy": HOSTILE[name]}))
    code, report, out = scan(tmp_path, *args)
    assert code == 3, out  # collection incomplete; every other result kept
    [issue] = report["collection"]["errors"]
    assert issue["operation"] == "s3:GetBucketPolicy" and BUCKET in issue["message"]
    assert "customer-pii" in {f["evidence"]["system"] for f in hits(report, "scope-not-allowed-system", AGENT)}


def test_hostile_wildcards_evaluate_in_bounded_time(tmp_path):
    evil = "*a" * 2000 + "b"
    doc = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": [f"s3:{evil}", evil],
                          "Resource": [f"arn:aws:s3:::{evil}", f"{BUCKET}/{evil}"]}] * 20}
    args = imports(tmp_path, (None, GAAD_A), (BUCKET, {"Policy": json.dumps(doc)}))
    started = time.monotonic()
    code, _, out = scan(tmp_path, *args)
    assert code in (0, 1, 3), out
    assert time.monotonic() - started < 20


def test_an_acl_past_s3_s_limit_is_a_collection_issue(tmp_path):
    grant = {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
             "Permission": "READ"}
    acl = {"Owner": {"ID": "7009a8971cd538e11f6b6606438875e7c86c5b672f46db45460ddcd087d36c32"}, "Grants": [grant] * 101}
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A), (BUCKET, acl)))
    assert code == 3, out
    assert "101 ACL grants" in report["collection"]["errors"][0]["message"]
