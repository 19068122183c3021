"""Canary: unique secret values (an AWS secret access key, an Entra client secret, a GCP private key) planted next
to their key ids in a repository (work tree and history) and in cloud configuration (Lambda environment, SSM
String parameter, collected live from moto) never appear in the snapshot, in any report format, in `explain`
or `graph` output, or on stderr, while the findings about them are there."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from aws_support import Moto, aws_env, moto, role_arn  # noqa: F401
from test_secrets_tree import git, make_repo, needs_git
from typer.testing import CliRunner

from nhiaudit.cli import build_app

AWS_CANARY = "Zq3vCANARYawsSECRETk7Xp9/Lm+Wn2Rt5Yb8Hd0Q"  # 40 characters
ENTRA_CANARY = "cnr7Q~CANARYentraSECRETvalue.zz_41-88xyq"  # 40 characters, Entra's shape
GCP_CANARY = "MIIEvCANARYgcpPRIVATEKEYmaterial0123456789abcdef"
CANARIES = (AWS_CANARY, ENTRA_CANARY, GCP_CANARY, AWS_CANARY[4:-4], ENTRA_CANARY[6:], GCP_CANARY[5:-5])
APP_ID = "11111111-2222-3333-4444-555555555555"
GCP_KEY_ID = "fedcba9876543210fedcba9876543210fedcba98"
POLICY = """\
version: 1
systems:
  customer-pii:
    classification: restricted
    resources: ["arn:aws:s3:::acme-customer-pii*"]
integrations:
  - name: mailer
    kind: agent
    owner: mail@acme.example
    purpose: sends mail
    identities: ["arn:aws:iam::123456789012:user/legacy-smtp"]
    may_reach: []
"""


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def planted(moto: Moto) -> str:  # noqa: F811
    moto.reset()
    iam = moto.client("iam")
    iam.create_user(UserName="legacy-smtp")
    iam.put_user_policy(UserName="legacy-smtp", PolicyName="pii", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-customer-pii/*"}]}))
    key = iam.create_access_key(UserName="legacy-smtp")["AccessKey"]["AccessKeyId"]
    iam.create_role(RoleName="mailer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    moto.client("lambda").create_function(
        FunctionName="mailer", Runtime="python3.12", Role=role_arn("mailer"), Handler="app.handler",
        Code={"ZipFile": _zip()}, Environment={"Variables": {
            "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": AWS_CANARY, "AZURE_CLIENT_ID": APP_ID,
            "AZURE_CLIENT_SECRET": ENTRA_CANARY}})
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/mailer/azure/client_id", Value=APP_ID, Type="String")
    ssm.put_parameter(Name="/mailer/azure/client_secret", Value=ENTRA_CANARY, Type="String")
    ssm.put_parameter(Name="/mailer/aws/credentials", Type="String",
                      Value=f"aws_access_key_id={key} aws_secret_access_key={AWS_CANARY}")
    return key


def plant_repo(path: Path, key: str) -> Path:
    repo = make_repo(path)
    (repo / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={AWS_CANARY}\n"
                                     f"AZURE_CLIENT_ID={APP_ID}\nAZURE_CLIENT_SECRET={ENTRA_CANARY}\n")
    (repo / "sa.json").write_text(json.dumps({
        "type": "service_account", "private_key_id": GCP_KEY_ID, "client_email": "x@p.iam.gserviceaccount.com",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{GCP_CANARY}\n-----END PRIVATE KEY-----\n"}, indent=1))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "oops")
    (repo / "deploy.env").write_text("# from the role now\n")
    git(repo, "commit", "-qam", "remove")
    return repo


def assert_clean(text: str, where: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"{where} holds a secret value"


@needs_git
def test_no_output_ever_holds_a_secret_value(planted, aws_env, tmp_path):  # noqa: F811
    repo = plant_repo(tmp_path / "repo", planted)
    (tmp_path / "policy.yaml").write_text(POLICY)
    snapshot = tmp_path / "aws.json"
    runner = CliRunner()
    collected = runner.invoke(build_app(), ["collect", "--aws", "--aws-regions", "us-east-1", "-o", str(snapshot)])
    assert collected.exit_code == 0, collected.output
    assert_clean(snapshot.read_text(), "the snapshot")
    assert_clean(collected.output + collected.stderr, "collect's output")
    outputs = {kind: tmp_path / f"report.{kind}" for kind in ("json", "sarif", "md", "html", "codequality")}
    scanned = runner.invoke(build_app(), [
        "scan", "--snapshot", str(snapshot), "--policy", str(tmp_path / "policy.yaml"), "--secrets-in", str(repo),
        "--history", "--format", "table", "--output-json", str(outputs["json"]), "--output-sarif",
        str(outputs["sarif"]), "--output-markdown", str(outputs["md"]), "--output-html", str(outputs["html"]),
        "--output-gitlab-codequality", str(outputs["codequality"]), "--sarif-root", str(tmp_path), "--timings"])
    assert scanned.exit_code == 1, scanned.output  # critical leaks fail the run
    assert_clean(scanned.output + scanned.stderr, "the table and stderr")
    for kind, path in outputs.items():
        assert_clean(path.read_text(), kind)
    report = json.loads(outputs["json"].read_text())
    places = {(f["rule_id"], f["evidence"]["where"].split(" (")[0].rsplit("/", 1)[-1])
              for f in report["findings"] if f["category"] == "leaked-credential"}
    assert ("secret-leaked-credential", "deploy.env:1") in places  # from the history
    assert any(w.startswith("lambda_environment") for _, w in places)
    assert any(":parameter/mailer/" in f["evidence"]["location"] for f in report["findings"]
               if f["category"] == "leaked-credential")
    assert ("secret-unknown-credential", "sa.json:3") in places
    for fmt in ("table", "json", "markdown"):
        explained = runner.invoke(build_app(), ["explain", "legacy-smtp", "--snapshot", str(snapshot), "--policy",
                                                str(tmp_path / "policy.yaml"), "--format", fmt])
        assert explained.exit_code == 0, explained.output
        assert_clean(explained.output + explained.stderr, f"explain {fmt}")
    for fmt in ("graphml", "dot", "mermaid", "json"):
        graphed = runner.invoke(build_app(), ["graph", "--snapshot", str(snapshot), "--policy",
                                              str(tmp_path / "policy.yaml"), "--format", fmt])
        assert graphed.exit_code == 0, graphed.output
        assert_clean(graphed.output + graphed.stderr, f"graph {fmt}")


def test_azure_app_settings_never_hold_a_secret_value(tmp_path, monkeypatch):
    """The Entra canary planted in a web app's application settings (read live by the one read-only POST) is
    in no snapshot, report format, `explain` or `graph` output, nor on stderr; the finding about it is."""
    from azure_support import AzureServers
    from test_azure_app_settings import BOT_APP, SITE, site_estate

    fake = site_estate({"AZURE_CLIENT_ID": BOT_APP, "AZURE_CLIENT_SECRET": "Xy71Q~" + ENTRA_CANARY[6:]})
    running = AzureServers(fake, tmp_path)
    runner = CliRunner()
    snapshot = tmp_path / "azure.json"
    try:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        collected = runner.invoke(build_app(), ["collect", "--azure", "-o", str(snapshot)], env=running.env)
    finally:
        running.close()
    assert collected.exit_code == 0, collected.output
    assert_clean(snapshot.read_text(), "the snapshot")
    assert_clean(collected.output + collected.stderr, "collect's output")
    (tmp_path / "policy.yaml").write_text("version: 1\nsystems: {}\nintegrations: []\n")
    outputs = {kind: tmp_path / f"report.{kind}" for kind in ("json", "sarif", "md", "html", "codequality")}
    scanned = runner.invoke(build_app(), [
        "scan", "--snapshot", str(snapshot), "--policy", str(tmp_path / "policy.yaml"), "--format", "table",
        "--output-json", str(outputs["json"]), "--output-sarif", str(outputs["sarif"]), "--output-markdown",
        str(outputs["md"]), "--output-html", str(outputs["html"]), "--output-gitlab-codequality",
        str(outputs["codequality"]), "--fail-on", "none", "--as-of", "2026-02-01"])
    assert scanned.exit_code == 0, scanned.output
    assert_clean(scanned.output + scanned.stderr, "the table and stderr")
    for kind, path in outputs.items():
        assert_clean(path.read_text(), kind)
    report = json.loads(outputs["json"].read_text())
    assert [f["evidence"]["location"] for f in report["findings"] if f["category"] == "leaked-credential"] == [SITE]
    for args in (["explain", "hr-bot"], ["graph", "--format", "json"]):
        shown = runner.invoke(build_app(), [*args, "--snapshot", str(snapshot), "--policy",
                                            str(tmp_path / "policy.yaml")])
        assert shown.exit_code == 0, shown.output
        assert_clean(shown.output + shown.stderr, args[0])
