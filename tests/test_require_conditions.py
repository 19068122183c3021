"""`integrations[].require_conditions`: the loader's checks (file:line, exit 2), the condition matching per
cloud, and end to end: an AWS estate in moto where one integration's role reaches its bucket through a
statement with `aws:SourceVpce` (no finding) and another's without (a finding with the statement in evidence);
GCP gcloud exports where one bucket binding has an IAM condition and another none."""

from __future__ import annotations

import json
from pathlib import Path

import gcp_planted
import pytest
from aws_support import Moto, aws_environment, moto  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.policy.request_conditions import entry_problem, expand, narrowing_keys

RULE = "scope-unconditioned-grant"


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.output


# ---- matching ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("conditions", "any_of", "narrowed"), [
    ({"StringEquals": {"aws:SourceVpce": "vpce-1"}}, ["network"], True),
    ({"StringEquals": {"AWS:sourcevpce": "vpce-1"}}, ["aws:SourceVpce"], True),  # keys are case-insensitive
    ({"StringEquals": {"aws:ResourceTag/team": "ml"}}, ["aws:ResourceTag/*"], True),
    ({"StringEquals": {"aws:ResourceTag/team": "ml"}}, ["network"], False),
    ({"Null": {"aws:SourceVpce": "true"}}, ["network"], False),  # Null tests presence, it narrows nothing
    # these hold for a request without the key (from outside the VPC endpoint) or for every other value
    ({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}, ["network"], False),
    ({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}, ["network"], False),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, ["network"], False),
    ({"ForAllValues:StringEquals": {"aws:CalledVia": ["athena.amazonaws.com"]}}, ["network"], False),
    ({"ForAnyValue:StringEquals": {"aws:CalledVia": ["athena.amazonaws.com"]}}, ["network"], True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, ["network"], True),
    ({}, ["network", "tag", "time", "resource"], False),
    ({"gcp:condition": {"expression": 'request.time < timestamp("2027-01-01T00:00:00Z")'}}, ["time"], True),
    ({"gcp:condition": {"expression": 'resource.name.startsWith("projects/_/buckets/x")'}}, ["resource.name"],
     True),
    ({"gcp:condition": {"expression": 'resource.type == "storage.googleapis.com/Bucket"'}}, ["resource.name"],
     False),
    ({"gcp:condition": {"expression": 'resource.matchTagId("tagKeys/1", "tagValues/2")'}}, ["tag"], True),
    ({"azure:condition": "@Environment[isPrivateLink] BoolEquals true"}, ["network"], True),
    ({"azure:condition": "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] "
                         "StringEquals 'x'"}, ["network"], False),
])
def test_narrowing(conditions, any_of, narrowed):
    assert bool(narrowing_keys(conditions, expand(any_of))) is narrowed


def test_entries():
    assert entry_problem("network") is None and entry_problem("aws:SourceIp") is None
    assert entry_problem("request.time") is None and entry_problem("@Environment[UtcNow]") is None
    assert "neither a condition class" in (entry_problem("netwrok") or "")


def test_loader_problems_have_file_and_line(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nsystems:\n  a: {resources: [\"arn:aws:s3:::a\"]}\n  b: {resources: "
                      "[\"arn:aws:s3:::b\"]}\nintegrations:\n  - name: x\n    may_reach: [a]\n"
                      "    require_conditions:\n      any_of: [netwrok]\n      systems: [b]\n"
                      "  - name: y\n    require_conditions: {any_of: []}\n")
    code, output = cli("policy", "validate", str(policy))
    assert code == 2 and "Traceback" not in output
    assert f"{policy}:9:" in output and "netwrok" in output
    assert f"{policy}:10:" in output and "'b' is not in this integration's may_reach" in output
    assert "any_of: must list at least 1" in output


# ---- AWS: moto -----------------------------------------------------------------------------------------------

BUCKET = "arn:aws:s3:::acme-tickets"


def _policy(condition: dict | None) -> str:
    statement: dict = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{BUCKET}/*"}
    if condition:
        statement["Condition"] = condition
    bedrock = {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [bedrock, statement]})


AWS_POLICY = """\
version: 1
systems:
  tickets: {resources: ["arn:aws:s3:::acme-tickets*"]}
  models: {kind: ai-model, resources: ["arn:aws:bedrock:*::foundation-model/*"]}
integrations:
  - name: fenced
    identities: ["arn:aws:iam::123456789012:role/fenced-agent"]
    may_reach: [tickets, models]
    require_conditions: {any_of: [network], systems: [tickets]}
  - name: open
    identities: ["arn:aws:iam::123456789012:role/open-agent"]
    may_reach: [tickets, models]
    require_conditions: {any_of: [network], systems: [tickets]}
"""


def test_aws_grant_with_and_without_source_vpce(moto: Moto, tmp_path, monkeypatch):  # noqa: F811
    moto.reset()
    iam = moto.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for name, condition in (("fenced-agent", {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}}),
                            ("open-agent", None)):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=_policy(condition))
    moto.front.reset()
    aws_environment(monkeypatch, moto.front.url, tmp_path)
    (tmp_path / "policy.yaml").write_text(AWS_POLICY)
    out = tmp_path / "report.json"
    code, output = cli("scan", "--aws", "--aws-regions", "us-east-1", "--policy", str(tmp_path / "policy.yaml"),
                       "--format", "json", "--fail-on", "none", "-o", str(out), "--quiet")
    assert code == 0, output
    findings = [f for f in json.loads(out.read_text())["findings"] if f["rule_id"] == RULE]
    assert [f["identity"]["name"] for f in findings] == ["open-agent"]
    finding = findings[0]
    assert finding["category"] == "scope-drift" and finding["integration"] == "open"
    evidence = finding["evidence"]
    assert evidence["system"] == "tickets" and evidence["conditions"] == "" and evidence["required"] == ["network"]
    assert "s3:GetObject" in evidence["statement"] and evidence["policy_id"].startswith("inline:")
    assert evidence["statement_index"] == 1
    assert not [f for f in json.loads(out.read_text())["findings"] if f["category"] == "scope-drift"
                and f["rule_id"] != RULE]


# ---- GCP: gcloud exports -------------------------------------------------------------------------------------

GCP_POLICY = f"""\
version: 1
systems:
  pii: {{resources: ["//storage.googleapis.com/projects/_/buckets/{gcp_planted.BUCKET_PII}"]}}
  features: {{resources: ["//storage.googleapis.com/projects/_/buckets/{gcp_planted.BUCKET_FEATURES}"]}}
integrations:
  - name: etl
    identities: ["{gcp_planted.ETL}"]
    may_reach: [pii]
    require_conditions: {{any_of: [time, resource.name]}}
  - name: notebook
    identities: ["{gcp_planted.NOTEBOOK}"]
    may_reach: [features]
    require_conditions: {{any_of: [time, resource.name]}}
"""


def test_gcp_binding_with_and_without_iam_condition(tmp_path: Path):
    fake = gcp_planted.planted_fake()
    pii = next(r for r in fake.asset_results[gcp_planted.P] if r["resource"].endswith(gcp_planted.BUCKET_PII))
    pii["policy"]["bindings"][0]["condition"] = {
        "title": "until the audit", "expression": 'request.time < timestamp("2027-01-01T00:00:00Z")'}
    args = gcp_planted.write_exports(tmp_path / "exports", fake)
    (tmp_path / "policy.yaml").write_text(GCP_POLICY)
    out = tmp_path / "report.json"
    code, output = cli("scan", *args, "--policy", str(tmp_path / "policy.yaml"), "--as-of", gcp_planted.AS_OF,
                       "--format", "json", "--fail-on", "none", "-o", str(out), "--quiet", "--only-rule", RULE)
    assert code == 0, output
    findings = json.loads(out.read_text())["findings"]
    assert [(f["identity"]["id"], f["evidence"]["system"]) for f in findings] == [(gcp_planted.NOTEBOOK, "features")]
    assert findings[0]["evidence"]["policy_id"].endswith("acme-prod-features:roles/storage.objectViewer")
    assert findings[0]["evidence"]["statement"].startswith("policy roles/storage.objectViewer")
