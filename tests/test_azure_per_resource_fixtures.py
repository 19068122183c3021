"""The recorded per-resource Azure exports (fixtures/azure/per-resource): detected by shape, imported through
the real CLI with the account export, giving sightings without values and audit records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.azure import export_shapes as shapes
from nhiaudit.connectors.azure.exports import AzureExportImporter
from nhiaudit.connectors.imports import read_export

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
FIXTURES = HERE / "per-resource"
SUB = "22222222-2222-4222-8222-222222222222"
SITE = f"/subscriptions/{SUB}/resourceGroups/web/providers/Microsoft.Web/sites/hr-portal"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/acme-openai"
SECRET = "Xy79Q~FIXTUREnotArealSECRETvalue.zz_4188"


@pytest.mark.parametrize("name,kind", [
    ("webapp-appsettings-az.json", shapes.APP_SETTINGS), ("webapp-appsettings-arm.json", shapes.APP_SETTINGS),
    ("diagnostic-settings-az.json", shapes.DIAGNOSTIC_SETTINGS),
    ("diagnostic-settings-arm.json", shapes.DIAGNOSTIC_SETTINGS)])
def test_detected_by_shape(name, kind):
    assert AzureExportImporter().detect(read_export(FIXTURES / name)) == kind


def collect(tmp_path: Path, *imports: str) -> dict:
    out = tmp_path / "s.json"
    args = ["collect", "--import", str(HERE / "account.json"), "--import", str(HERE / "sp-list.json")]
    result = CliRunner().invoke(build_app(), [*args, *(a for i in imports for a in ("--import", i)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and SECRET not in out.read_text()
    return json.loads(out.read_text())


def test_app_settings_exports(tmp_path):
    snap = collect(tmp_path, f"{SITE}={FIXTURES / 'webapp-appsettings-az.json'}",
                   str(FIXTURES / "webapp-appsettings-arm.json"))
    found = [(s["location"], s["field"], s["hint"], s["principal"]) for s in snap["credential_sightings"]]
    # both files are about the same site: one sighting per place and credential
    assert found == [(SITE, "AZURE_CLIENT_SECRET", "Xy7", "00000301-0000-4000-8000-000000000301")]


def test_diagnostic_settings_exports(tmp_path):
    snap = collect(tmp_path, str(FIXTURES / "diagnostic-settings-az.json"))
    [(rid, logging, categories)] = [(s["resource_id"], s["logging"], s["categories"]) for s in snap["audit_settings"]]
    assert rid.lower() == ACCOUNT.lower() and logging and categories == ["audit"]
    snap = collect(tmp_path, f"{ACCOUNT}={FIXTURES / 'diagnostic-settings-arm.json'}")
    assert [(s["resource_id"], s["logging"]) for s in snap["audit_settings"]] == [(ACCOUNT, False)]
