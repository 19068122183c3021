"""More audit coverage, through the real CLI: a denied `cloudtrail:GetEventSelectors` (live, moto behind the
fault-injecting front) leaves what the trail records unknown: exit 3, an error naming the call, and no "not logged"
gap for what its selectors would decide; `explain`'s default text shows, per AI access path, whether its model
calls, secret reads and data access are recorded (yes / no / unknown) and by what; an Azure Key Vault that an
integration reaches without an `AuditEvent` diagnostic setting is a secret-read gap, its twin with one is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_support import MOTO_ACCOUNT, aws_env, moto  # noqa: F401
from test_aws_audit import POLICY, REGION, ROLE, TRAIL, estate, gaps, make_compliant, scan  # noqa: F401
from test_azure_audit import scan as scan_azure
from test_azure_live import SUB
from test_azure_live import estate as azure_estate
from typer.testing import CliRunner

from nhiaudit.cli import build_app

TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{MOTO_ACCOUNT}:trail/{TRAIL}"


def explain_text(tmp_path: Path, *source: str) -> tuple[int, str]:
    """`nhiaudit explain support-agent` in its default (table) format, whitespace collapsed."""
    (tmp_path / "policy.yaml").write_text(POLICY)
    result = CliRunner().invoke(build_app(), ["explain", ROLE, *source, "--policy", str(tmp_path / "policy.yaml"),
                                              "--quiet"], env={"COLUMNS": "400"})
    return result.exit_code, " ".join(result.stdout.split())


WRITE_ONLY = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
               "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::acme-tickets/"]}]}]


@pytest.fixture
def custom_selectors(estate, monkeypatch):  # noqa: F811
    """The trail records write events only (no secret reads, no reads of the tickets). moto's DescribeTrails always
    says HasCustomEventSelectors false; AWS says true once selectors are put, which is what tells nhiaudit that the
    trail's default (every management event) no longer holds."""
    from moto.cloudtrail.models import Trail

    real = Trail.description

    def description(self, include_region: bool = False) -> dict[str, Any]:
        return {**real(self, include_region),
                "HasCustomEventSelectors": bool(self.event_selectors or self.advanced_event_selectors)}

    monkeypatch.setattr(Trail, "description", description)
    estate.client("cloudtrail").put_event_selectors(TrailName=TRAIL, EventSelectors=WRITE_ONLY)
    return estate


ALL_GAPS = ["audit-data-access-not-logged", "audit-model-calls-not-logged", "audit-secret-reads-not-logged"]


def test_denied_event_selectors_leave_what_the_trail_records_unknown(custom_selectors, aws_env, tmp_path):  # noqa: F811
    # The twin whose selectors are read: the write-only trail misses the secret reads and the tickets' reads.
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 0 and sorted(gaps(report)) == ALL_GAPS
    assert gaps(report)["audit-data-access-not-logged"]["evidence"]["checked"] == [TRAIL]

    aws_env.front.deny("cloudtrail:GetEventSelectors")
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 3 and report["collection"]["complete"] is False
    (error,) = report["collection"]["errors"]
    assert (error["operation"], error["account"]) == ("cloudtrail:GetEventSelectors", MOTO_ACCOUNT)
    assert error["message"].startswith("AccessDenied") and TRAIL_ARN in error["message"]
    assert error["missing"] == "which events CloudTrail trails record (event selectors)"
    # What the selectors decide is unknown, never "not logged"; Bedrock's logging was read: its gap stands.
    assert sorted(gaps(report)) == ["audit-model-calls-not-logged"]

    code, text = explain_text(tmp_path, "--aws", *REGION)
    assert code == 3 and "collection was incomplete" in text
    assert ("secret access unknown [required]: not known whether trails record secretsmanager.amazonaws.com in "
            "us-east-1") in text
    assert ("data access (tickets) unknown [required]: not known whether trails record data events on "
            "arn:aws:s3:::acme-tickets*") in text
    assert "model invocations no [required]" in text


def test_denied_selectors_of_a_trail_without_custom_selectors_change_nothing(estate, aws_env, tmp_path):  # noqa: F811
    """DescribeTrails' HasCustomEventSelectors false already says what the trail records (every management event,
    no data events): the denied read is reported, the gaps it does not decide stay."""
    aws_env.front.deny("cloudtrail:GetEventSelectors")
    code, report = scan(tmp_path, "--aws", *REGION)
    assert code == 3 and [e["operation"] for e in report["collection"]["errors"]] == ["cloudtrail:GetEventSelectors"]
    assert sorted(gaps(report)) == ["audit-data-access-not-logged", "audit-model-calls-not-logged"]


def test_explain_text_says_which_accesses_of_the_path_are_recorded_and_by_what(
    estate, aws_env, tmp_path  # noqa: F811
):
    code, text = explain_text(tmp_path, "--aws", *REGION)
    assert code == 0, text
    assert "AI access path: support-agent -> support-agent can call AI models" in text
    assert "recorded: │ ├── model invocations no [required]: Bedrock model invocation logging is off in us-east-1" \
        in text
    assert ("secret access yes [required]: secret reads are recorded as read management events — by trail "
            f"{TRAIL} ({TRAIL_ARN})") in text
    assert ("data access (tickets) no [required]: no logging trail or event data store records read data events "
            "on arn:aws:s3:::acme-tickets*") in text
    assert "HIGH audit-model-calls-not-logged" in text and "HIGH audit-data-access-not-logged" in text

    make_compliant(estate)  # the twin: Bedrock logs to S3, the trail records the tickets' data events
    code, text = explain_text(tmp_path, "--aws", *REGION)
    assert code == 0, text
    assert "model invocations yes [required]" in text and "s3://acme-bedrock-logs/invocations" in text
    assert "data access (tickets) yes [required]" in text and f"— by trail {TRAIL} ({TRAIL_ARN})" in text
    assert " no [required]" not in text and "not-logged" not in text


# ---- Azure Key Vault --------------------------------------------------------------------------------------------

HR_BOT = "00000102-0000-4000-8000-000000000102"  # the hr-bot service principal
VAULT = f"/subscriptions/{SUB}/resourceGroups/hr/providers/Microsoft.KeyVault/vaults/hr-vault"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"  # built-in "Key Vault Secrets User"
AZURE_POLICY = f"""\
version: 1
systems:
  hr-secrets:
    classification: restricted
    resources: ["/subscriptions/*/resourceGroups/hr/providers/Microsoft.KeyVault/vaults/*"]
integrations:
  - name: hr-assistant
    identities: ["{HR_BOT}"]
    may_reach: [hr-secrets]
    audit: {{secret_access: required}}
"""


def vault_estate(settings: list | None, reader: bool = True):
    """The tenant of test_azure_live with a Key Vault whose secrets hr-bot may read (Key Vault Secrets User on the
    vault) and `settings` as the vault's diagnostic settings (None: the vault has no record of them)."""
    fake = azure_estate()
    sub = fake.subscriptions[SUB]
    sub["resources"].append({"id": VAULT, "name": "hr-vault", "type": "Microsoft.KeyVault/vaults",
                             "location": "westeurope"})
    definition = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"
    sub["roleDefinitions"].append({
        "id": definition, "name": SECRETS_USER, "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {"roleName": "Key Vault Secrets User", "type": "BuiltInRole", "assignableScopes": ["/"],
                       "permissions": [{"actions": [], "notActions": [],
                                        "dataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                                        "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
                                        "notDataActions": []}]}})
    if reader:
        sub["roleAssignments"].append({
            "id": f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/ra-vault", "name": "ra-vault",
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"principalId": HR_BOT, "principalType": "ServicePrincipal",
                           "roleDefinitionId": definition, "scope": VAULT}})
    if settings is not None:
        sub["diagnostics"] = {VAULT: settings}
    return fake


def azure_scan(tmp_path: Path, fake, monkeypatch) -> tuple[int, dict]:
    return scan_azure(tmp_path, fake, monkeypatch, AZURE_POLICY)


def vault_setting(**log: object) -> dict:
    return {"id": f"{VAULT}/providers/microsoft.insights/diagnosticSettings/to-sentinel", "name": "to-sentinel",
            "properties": {"workspaceId": f"/subscriptions/{SUB}/resourceGroups/sec/providers/"
                                          "Microsoft.OperationalInsights/workspaces/sentinel",
                           "logs": [{**log, "enabled": True}]}}


def secret_gaps(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["category"] == "audit-gap" and f["identity"]["id"] == HR_BOT]


@pytest.mark.parametrize("settings", [[], [vault_setting(category="AzurePolicyEvaluationDetails")]],
                         ids=["none", "other-category"])
def test_key_vault_without_audit_event_logs_is_a_secret_read_gap(tmp_path, monkeypatch, settings):
    code, report = azure_scan(tmp_path, vault_estate(settings), monkeypatch)
    assert code == 0 and report["collection"]["complete"]
    (gap,) = secret_gaps(report)
    assert (gap["rule_id"], gap["severity"], gap["integration"]) == (
        "audit-secret-reads-not-logged", "high", "hr-assistant")
    assert gap["evidence"]["missing"] == [VAULT] and gap["evidence"]["checked"] == ["diagnostic settings of hr-vault"]
    assert gap["evidence"]["detail"] == f"no diagnostic setting sends AuditEvent logs of {VAULT}"


@pytest.mark.parametrize("log", [{"category": "AuditEvent"}, {"categoryGroup": "audit"}])
def test_key_vault_with_an_audit_event_setting_has_no_gap(tmp_path, monkeypatch, log):
    code, report = azure_scan(tmp_path, vault_estate([vault_setting(**log)]), monkeypatch)
    assert code == 0 and secret_gaps(report) == []


def test_a_vault_the_integration_does_not_reach_is_no_gap_of_it(tmp_path, monkeypatch):
    code, report = azure_scan(tmp_path, vault_estate([], reader=False), monkeypatch)
    assert code == 0 and secret_gaps(report) == []
