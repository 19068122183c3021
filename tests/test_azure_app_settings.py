"""App Service application settings (issue 15): live through the real CLI against the ARM fake (the one
POST the read-only guard allows), and `az webapp config appsettings list` imports. Only sightings are kept:
the Entra client secret planted in a web app's settings is joined to hr-bot's credential by its client id and
hint, a Key Vault reference is no sighting, and the value appears nowhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure_support import AzureServers
from test_azure_live import SUB, TENANT, _surfaces, estate
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.azure.clients import ReadOnlyViolation, RequestCounter
from nhiaudit.connectors.azure.readonly_post import is_read_only_post

BOT_APP = "00000301-0000-4000-8000-000000000301"  # hr-bot's appId; its client secret's hint is "Xy7"
SECRET = "Xy78Q~CANARYappSVCsecretVALUE.zz_41889"  # Entra's shape, hint Xy7
SITE = f"/subscriptions/{SUB}/resourceGroups/web/providers/Microsoft.Web/sites/hr-portal"
VAULT_REF = "@Microsoft.KeyVault(SecretUri=https://hr.vault.azure.net/secrets/db/)"
SETTINGS = {"AZURE_CLIENT_ID": BOT_APP, "AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_SECRET": SECRET,
            "DB_CLIENT_SECRET": VAULT_REF, "WEBSITE_RUN_FROM_PACKAGE": "1"}
POLICY = """\
version: 1
systems: {}
integrations: []
"""


def site_estate(settings: dict | None = None):
    fake = estate()
    sub = fake.subscriptions[SUB]
    sub["resources"].append({"id": SITE, "name": "hr-portal", "type": "Microsoft.Web/sites", "kind": "app,linux",
                             "location": "westeurope"})
    sub["appSettings"] = {SITE: SETTINGS if settings is None else settings}
    return fake


def run(args: list[str], env: dict | None = None):
    return CliRunner().invoke(build_app(), args, env=env)


def collect(tmp_path: Path, fake, monkeypatch) -> tuple[int, dict, str]:
    running = AzureServers(fake, tmp_path)
    try:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        out = tmp_path / "azure.json"
        result = run(["collect", "--azure", "--azure-subscription", SUB, "-o", str(out)], running.env)
        assert out.exists(), result.output
        return result.exit_code, json.loads(out.read_text()), result.output + result.stderr
    finally:
        running.close()


def where(snapshot: dict) -> list[tuple]:
    return [(s["location_kind"], s["location"], s["field"], s["detector"], s["hint"], s["principal"])
            for s in snapshot["credential_sightings"]]


def test_live_settings_give_sightings_never_values(tmp_path, monkeypatch):
    fake = site_estate()
    code, snapshot, output = collect(tmp_path, fake, monkeypatch)
    assert code == 0, output
    assert where(snapshot) == [("app_service_settings", SITE, "AZURE_CLIENT_SECRET", "azure_client_secret", "Xy7",
                                BOT_APP)]  # the Key Vault reference is no sighting
    assert snapshot["credential_sightings"][0]["region"] == "westeurope"
    text = json.dumps(snapshot)
    assert SECRET not in text and SECRET[6:] not in text and VAULT_REF not in text
    posts = [p for _, m, p in fake.requests if m == "POST"]
    assert posts == [f"{SITE}/config/appsettings/list?api-version=2023-12-01"]


def test_leaked_setting_is_joined_to_the_inventory(tmp_path, monkeypatch):
    _, snapshot, _ = collect(tmp_path, site_estate(), monkeypatch)
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "s.json").write_text(json.dumps(snapshot))
    result = run(["scan", "--snapshot", str(tmp_path / "s.json"), "--policy", str(tmp_path / "policy.yaml"),
                  "--format", "json", "--as-of", "2026-02-01", "--fail-on", "none"])
    assert SECRET not in result.output
    report = json.loads(result.output)
    (leak,) = [f for f in report["findings"] if f["category"] == "leaked-credential"]
    assert leak["rule_id"] == "secret-leaked-credential"
    assert leak["identity"]["id"] == "00000102-0000-4000-8000-000000000102"  # hr-bot
    assert leak["evidence"]["location"] == SITE


def test_denied_settings_read_is_an_issue_and_the_rest_is_kept(tmp_path, monkeypatch):
    fake = site_estate()
    fake.faults["appSettings"] = 403
    code, snapshot, _ = collect(tmp_path, fake, monkeypatch)
    assert code == 3 and not snapshot.get("credential_sightings")
    (issue,) = [i for i in snapshot["collection_issues"] if "appsettings" in i["operation"]]
    assert SITE in issue["missing"] and snapshot["identities"]


@pytest.mark.parametrize("path", [
    f"{SITE}/config/appsettings/list",
    f"{SITE}/slots/staging/config/appsettings/list",
])
def test_guard_allows_exactly_the_settings_list(path):
    assert is_read_only_post("POST", path)


@pytest.mark.parametrize("method,path", [
    ("POST", f"{SITE}/config/connectionstrings/list"),
    ("POST", f"{SITE}/config/publishingcredentials/list"),
    ("POST", f"{SITE}/host/default/listkeys"),
    ("POST", f"{SITE}/config/appsettings/list/extra"),
    ("POST", f"{SITE}/config/appsettings"),
    ("POST", f"/subscriptions/{SUB}/resourceGroups/web/providers/Microsoft.Storage/storageAccounts/s/listKeys"),
    ("POST", f"/subscriptions/{SUB}/resourceGroups/web/providers/Microsoft.Web/sites/a/../b/config/appsettings/list"),
    ("PUT", f"{SITE}/config/appsettings/list"),
    ("DELETE", f"{SITE}/config/appsettings/list"),
])
def test_guard_refuses_every_other_write(method, path):
    assert not is_read_only_post(method, path)


def test_guard_refuses_other_posts_before_they_are_sent(tmp_path, monkeypatch):
    fake = site_estate()
    running = AzureServers(fake, tmp_path)
    try:
        for name, value in running.env.items():
            monkeypatch.setenv(name, value)
        graph, arm = _surfaces(RequestCounter())
        with pytest.raises(ReadOnlyViolation):
            arm.get(arm.base + f"{SITE}/config/connectionstrings/list", {"api-version": "2023-12-01"}, method="POST")
        with pytest.raises(ReadOnlyViolation):  # the allowed shape, on the wrong surface
            graph.get(graph.base + f"{SITE}/config/appsettings/list", method="POST")
        with pytest.raises(ReadOnlyViolation):
            arm.get(arm.base + f"{SITE}/config/appsettings/list", {"api-version": "2023-12-01"}, method="PUT")
        assert [m for _, m, _ in fake.requests if m != "GET"] == []
        reply = arm.get(arm.base + f"{SITE}/config/appsettings/list", {"api-version": "2023-12-01"}, method="POST")
        assert reply["properties"]["AZURE_CLIENT_ID"] == BOT_APP
    finally:
        running.close()


def _import_files(tmp_path: Path, fake) -> list[str]:
    sps, apps = tmp_path / "sps.json", tmp_path / "apps.json"
    sps.write_text(json.dumps(fake.service_principals))
    apps.write_text(json.dumps([{k: v for k, v in a.items()} for a in fake.applications]))
    account = tmp_path / "account.json"
    account.write_text(json.dumps({"tenantId": TENANT, "id": SUB, "name": "prod", "environmentName": "AzureCloud"}))
    return ["--import", str(account), "--import", str(sps), "--import", str(apps)]


def test_import_gives_the_live_sightings(tmp_path, monkeypatch):
    _, live, _ = collect(tmp_path, site_estate(), monkeypatch)
    az = tmp_path / "appsettings.json"  # `az webapp config appsettings list` prints {name, value, slotSetting}
    az.write_text(json.dumps([{"name": k, "value": v, "slotSetting": False} for k, v in SETTINGS.items()]))
    resources = tmp_path / "webapps.json"  # `az webapp list`: the site's location
    resources.write_text(json.dumps([{"id": SITE, "name": "hr-portal", "type": "Microsoft.Web/sites",
                                      "kind": "app,linux", "location": "westeurope", "identity": None}]))
    out = tmp_path / "imported.json"
    result = run(["collect", *_import_files(tmp_path, site_estate()), "--import", f"{SITE}={az}", "--import",
                  str(resources), "-o", str(out)])
    assert result.exit_code == 0, result.output
    imported = json.loads(out.read_text())
    assert imported["credential_sightings"] == live["credential_sightings"]
    assert SECRET not in out.read_text() and SECRET not in result.output


def test_import_of_the_arm_reply_names_its_site(tmp_path):
    reply = tmp_path / "reply.json"
    reply.write_text(json.dumps({"id": f"{SITE}/config/appsettings", "name": "appsettings",
                                 "type": "Microsoft.Web/sites/config", "properties": SETTINGS}))
    out = tmp_path / "imported.json"
    result = run(["collect", *_import_files(tmp_path, site_estate()), "--import", str(reply), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [s[:3] for s in where(json.loads(out.read_text()))] == [("app_service_settings", SITE,
                                                                    "AZURE_CLIENT_SECRET")]


def test_import_without_its_site_is_a_clear_error(tmp_path):
    az = tmp_path / "appsettings.json"
    az.write_text(json.dumps([{"name": "AZURE_CLIENT_SECRET", "value": SECRET, "slotSetting": False}]))
    result = run(["collect", *_import_files(tmp_path, site_estate()), "--import", str(az), "-o",
                  str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert "SITE_ID=FILE" in result.output and "appsettings.json" in result.output and SECRET not in result.output


def test_slots_are_read_and_hostile_site_ids_are_not(tmp_path, monkeypatch):
    fake = site_estate()
    slot = f"{SITE}/slots/staging"
    hostile = f"/subscriptions/{SUB}/resourceGroups/web/providers/Microsoft.Web/sites/x/config/appsettings/list?a="
    other = SITE.replace(SUB, "99999999-2222-4222-8222-222222222222")
    fake.subscriptions[SUB]["resources"] += [
        {"id": slot, "name": "hr-portal/staging", "type": "Microsoft.Web/sites/slots", "location": "westeurope"},
        {"id": hostile, "name": "x", "type": "Microsoft.Web/sites"},
        {"id": other, "name": "hr-portal", "type": "Microsoft.Web/sites"}]
    fake.subscriptions[SUB]["appSettings"][slot] = {"AZURE_CLIENT_ID": BOT_APP, "AZURE_CLIENT_SECRET": SECRET}
    code, snapshot, _ = collect(tmp_path, fake, monkeypatch)
    assert code == 3  # the two refused ids are one collection issue
    (issue,) = [i for i in snapshot["collection_issues"] if "appsettings" in i["operation"]]
    assert issue["message"].startswith("2 site ids")
    assert sorted(s["location"] for s in snapshot["credential_sightings"]) == [SITE, slot]
    assert sorted(p.split("?")[0] for _, m, p in fake.requests if m == "POST") == [
        f"{SITE}/config/appsettings/list", f"{slot}/config/appsettings/list"]
