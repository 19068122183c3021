"""Credentials in AWS configuration, collected live from moto through the real CLI: an inventory user's access key
in a Lambda environment variable, an Entra client secret in an SSM String parameter (joined to the tenant's
service principal of another snapshot), a SecureString never read, a compliant twin without findings; the
snapshot keeps only the sightings."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from aws_support import MOTO_ACCOUNT, Moto, aws_env, moto, role_arn  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.model import Credential, CredentialType, Identity, IdentityKind, Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARY0001"
ENTRA_SECRET = "hrB8Q~canaryCANARYcanaryCANARYcanary0123"
SECURE_VALUE = "AKIASECURESTRINGVAL1"
TENANT = "99999999-8888-7777-6666-555555555555"
APP_ID = "11111111-2222-3333-4444-555555555555"
SP_ID = "aaaaaaaa-0000-0000-0000-000000000001"
POLICY = """\
version: 1
systems:
  customer-pii:
    classification: restricted
    resources: ["arn:aws:s3:::acme-customer-pii*"]
integrations: []
"""
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]})
REGION = ["--aws-regions", "us-east-1"]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def estate(moto: Moto) -> dict[str, str]:  # noqa: F811
    moto.reset()
    iam = moto.client("iam")
    iam.create_user(UserName="legacy-smtp")
    iam.put_user_policy(UserName="legacy-smtp", PolicyName="pii", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-customer-pii/*"}]}))
    key = iam.create_access_key(UserName="legacy-smtp")["AccessKey"]["AccessKeyId"]
    iam.create_role(RoleName="mailer", AssumeRolePolicyDocument=LAMBDA_TRUST)
    lam = moto.client("lambda")
    for name, variables in (("mailer", {"SMTP_HOST": "mail", "AWS_ACCESS_KEY_ID": key,
                                        "AWS_SECRET_ACCESS_KEY": AWS_SECRET}),
                            ("mailer-twin", {"SMTP_HOST": "mail", "USE_ROLE": "true"})):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn("mailer"), Handler="app.handler",
                            Code={"ZipFile": _zip()}, Environment={"Variables": variables})
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/hr-assistant/azure/client_id", Value=APP_ID, Type="String")
    ssm.put_parameter(Name="/hr-assistant/azure/client_secret", Value=ENTRA_SECRET, Type="String")
    ssm.put_parameter(Name="/hr-assistant/azure/tenant_id", Value=TENANT, Type="String")
    ssm.put_parameter(Name="/twin/config/log_level", Value="INFO", Type="String")
    ssm.put_parameter(Name="/vault/aws_access_key_id", Value=SECURE_VALUE, Type="SecureString")
    template = {"Parameters": {"MailKeyId": {"Type": "String"}},
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"KeyOut": {"Value": {"Ref": "MailKeyId"}}}}
    moto.client("cloudformation").create_stack(StackName="mailer", TemplateBody=json.dumps(template),
                                               Parameters=[{"ParameterKey": "MailKeyId", "ParameterValue": key}])
    ec2 = moto.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, UserData=(
        f"#!/bin/bash\nexport AWS_DEFAULT_REGION=us-east-1\nexport AWS_ACCESS_KEY_ID={key}\n"))["Instances"][0]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, UserData="#!/bin/bash\nyum -y update\n")  # twin
    return {"key": key, "instance": instance["InstanceId"]}


def entra_snapshot() -> Snapshot:
    return Snapshot(
        sources=[SourceInfo(provider=Provider.AZURE, account=TENANT, method="synthetic")],
        identities=[Identity(id=SP_ID, provider=Provider.AZURE, account=TENANT, kind=IdentityKind.SERVICE_PRINCIPAL,
                             name="hr-assistant", attributes={"appId": APP_ID})],
        credentials=[Credential(id="key-1", identity_id=SP_ID, provider=Provider.AZURE,
                                type=CredentialType.CLIENT_SECRET, created=datetime(2026, 1, 1, tzinfo=UTC),
                                fingerprint="hint:hrB:2026-01-01T00:00:00Z:2028-01-01T00:00:00Z")])


def collect(tmp_path) -> tuple[str, Snapshot]:
    out = tmp_path / "aws.json"
    result = CliRunner().invoke(build_app(), ["collect", "--aws", *REGION, "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out.read_text(), load_snapshot(out)


def test_snapshot_keeps_sightings_never_values(estate, aws_env, tmp_path):  # noqa: F811
    text, snapshot = collect(tmp_path)
    for value in (AWS_SECRET, ENTRA_SECRET, SECURE_VALUE, "canary", "CANARY"):
        assert value not in text
    seen = {(s.location_kind, s.location.rsplit(":", 1)[-1], s.field, s.key_id or s.value_hash)
            for s in snapshot.credential_sightings}
    assert ("lambda_environment", "mailer", "AWS_ACCESS_KEY_ID", estate["key"]) in seen
    (user_data,) = [s for s in snapshot.credential_sightings if s.location_kind == "ec2_user_data"]
    assert (user_data.location, user_data.line, user_data.key_id) == (
        f"arn:aws:ec2:us-east-1:{MOTO_ACCOUNT}:instance/{estate['instance']}", 3, estate["key"])
    stack = {(s.field, s.key_id) for s in snapshot.credential_sightings if s.location_kind == "cloudformation_stack"}
    assert stack == {("Parameters/MailKeyId", estate["key"]), ("Outputs/KeyOut", estate["key"])}
    secret = next(s for s in snapshot.credential_sightings if s.location_kind == "ssm_parameter")
    assert (secret.field, secret.principal, secret.tenant, secret.hint) == (
        "/hr-assistant/azure/client_secret", APP_ID, TENANT, "hrB")
    assert secret.location == f"arn:aws:ssm:us-east-1:{MOTO_ACCOUNT}:parameter/hr-assistant/azure/client_secret"
    assert not any("twin" in s.location for s in snapshot.credential_sightings)
    # The SecureString's value was never requested.
    names = [s for s in aws_env.front.operations() if s.startswith("ssm:")]
    assert "cloudformation:DescribeStacks" in aws_env.front.operations()
    assert set(names) == {"ssm:DescribeParameters", "ssm:GetParameters"}
    assert not any(s.location.endswith("vault/aws_access_key_id") for s in snapshot.credential_sightings)


def test_scan_reports_both_with_identity_reach_and_location(estate, aws_env, tmp_path):  # noqa: F811
    collect(tmp_path)
    entra_snapshot().write(tmp_path / "entra.json")
    (tmp_path / "policy.yaml").write_text(POLICY)
    result = CliRunner().invoke(build_app(), [
        "scan", "--snapshot", str(tmp_path / "aws.json"), "--snapshot", str(tmp_path / "entra.json"),
        "--policy", str(tmp_path / "policy.yaml"), "--format", "json", "--fail-on", "none", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    leaks = [f for f in report["findings"] if f["category"] == "leaked-credential"]
    lam = next(f for f in leaks if f["evidence"]["location"].endswith(":function:mailer"))
    assert (lam["rule_id"], lam["severity"], lam["identity"]["name"]) == (
        "secret-leaked-credential", "critical", "legacy-smtp")
    assert (lam["evidence"]["field"], lam["evidence"]["seen_as"], lam["evidence"]["secret_nearby"]) == (
        "AWS_ACCESS_KEY_ID", estate["key"], True)
    assert lam["evidence"]["reach"] == ["customer-pii"] and lam["file_location"] is None
    param = next(f for f in leaks if f["evidence"]["field"] == "/hr-assistant/azure/client_secret")
    assert (param["identity"]["id"], param["credential_id"], param["severity"]) == (SP_ID, "key-1", "high")
    # The Lambda, the parameter, the stack (its parameter and its output), the user data; the twins: none
    assert len(leaks) == 5
    assert ENTRA_SECRET not in result.stdout and AWS_SECRET not in result.stdout


def test_denied_parameter_read_is_a_collection_issue(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("ssm:GetParameters")
    out = tmp_path / "aws.json"
    result = CliRunner().invoke(build_app(), ["collect", "--aws", *REGION, "-o", str(out), "--quiet"])
    assert result.exit_code == 3
    snapshot = load_snapshot(out)
    assert [i.operation for i in snapshot.collection_issues] == ["ssm:GetParameters"]
    assert any(s.location_kind == "lambda_environment" for s in snapshot.credential_sightings)
