"""`--import` of Azure CLI / Microsoft Graph / ARM exports (fixtures/azure) through the real CLI: detection
by shape, Graph pages, TARGET=FILE, the tenant id, and file:line:col errors (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scan_support import collect, run

from nhiaudit.connectors.azure import export_shapes as shapes
from nhiaudit.connectors.azure.exports import AzureExportImporter
from nhiaudit.connectors.imports import read_export

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
TENANT = "11111111-1111-4111-8111-111111111111"
DEPLOY_APP_ID = "00000303-0000-4000-8000-000000000303"  # appId of deploy-pipeline
DEPLOY_OBJECT = "00000203-0000-4000-8000-000000000203"  # its application object id
TARGETED = ("fic-deploy-pipeline.json", "owners-deploy-pipeline.json")
TARGET_ARGS = ["--import", f"{DEPLOY_APP_ID}={FIXTURES / TARGETED[0]}",
               "--import", f"{DEPLOY_OBJECT}={FIXTURES / TARGETED[1]}"]






@pytest.fixture
def untargeted(tmp_path) -> Path:
    """The fixture directory without the two files that need TARGET=FILE."""
    folder = tmp_path / "exports"
    folder.mkdir()
    for path in FIXTURES.glob("*.json"):
        if path.name not in TARGETED:
            shutil.copy(path, folder / path.name)
    return folder


def content(snap):
    data = json.loads(snap.model_dump_json(exclude={"generated_at", "sources"}))
    return {k: sorted(json.dumps(x, sort_keys=True) for x in v) for k, v in data.items() if isinstance(v, list)}


def test_import_equals_the_transform_of_the_same_raw_data(tmp_path, untargeted):
    """The import routes every record to the same RawTenant live collection builds."""
    from test_azure_transform import SOURCE, fixture_raw

    from nhiaudit.connectors.azure.assemble import assemble_tenant

    result, imported = collect(tmp_path, "--import", str(untargeted), *TARGET_ARGS)
    assert result.exit_code == 0, result.output
    (source,) = imported.sources
    assert (source.provider, source.account, source.method, source.usage_recorded) == ("azure", TENANT, "import",
                                                                                        True)
    assert "not imported" not in source.detail
    assert content(imported) == content(assemble_tenant(fixture_raw(), SOURCE))
    assert len(imported.trusts) == 4 and len(imported.delegated_grants) == 4 and imported.complete


@pytest.mark.parametrize(("name", "kind", "target"), [
    ("account.json", shapes.ACCOUNT, None),
    ("sp-list.json", shapes.SERVICE_PRINCIPALS, None),
    ("app-list.json", shapes.APPLICATIONS, None),
    ("fic-deploy-pipeline.json", shapes.FEDERATED_CREDENTIALS, DEPLOY_APP_ID),
    ("graph-fic-reports-sync.json", shapes.FEDERATED_CREDENTIALS, None),
    ("owners-deploy-pipeline.json", shapes.OWNERS, DEPLOY_OBJECT),
    ("graph-approleassignments-hr-bot.json", shapes.APP_ROLE_ASSIGNMENTS, None),
    ("graph-approleassignments-copilot.json", shapes.APP_ROLE_ASSIGNMENTS, None),
    ("oauth2-grants.json", shapes.OAUTH2_GRANTS, None),
    ("graph-directory-role-assignments.json", shapes.DIRECTORY_ROLE_ASSIGNMENTS, None),
    ("role-assignments.json", shapes.ROLE_ASSIGNMENTS, None),
    ("role-definitions.json", shapes.ROLE_DEFINITIONS, None),
    ("identity-list.json", shapes.IDENTITIES, None),
    ("resource-list.json", shapes.RESOURCES, None),
    ("graph-sp-signins.json", shapes.SP_SIGN_INS, None),
    ("graph-credential-signins.json", shapes.CREDENTIAL_SIGN_INS, None),
])
def test_each_format_is_detected_and_imports_with_the_account(tmp_path, name, kind, target):
    assert AzureExportImporter().detect(read_export(FIXTURES / name)) == kind
    arg = f"{target}={FIXTURES / name}" if target else str(FIXTURES / name)
    result, snap = collect(tmp_path, "--import", str(FIXTURES / "account.json"), "--import", arg)
    assert [s.account for s in snap.sources] == [TENANT]
    # Role assignments without the definitions: their permissions are unknown, said as a collection issue.
    assert result.exit_code == (3 if name == "role-assignments.json" else 0), result.output


def test_raw_arm_pages_are_read_like_az_lists(tmp_path):
    """The REST API nests fields in `properties` and pages in `value`; az flattens them."""
    def nest(item):
        keep = {"id", "name", "type"}
        return {**{k: v for k, v in item.items() if k in keep},
                "properties": {k: v for k, v in item.items() if k not in keep}}
    for name in ("role-assignments.json", "role-definitions.json", "identity-list.json"):
        page = {"value": [nest(i) for i in json.loads((FIXTURES / name).read_text())], "nextLink": None}
        (tmp_path / name).write_text(json.dumps(page, indent=1))
    files = [str(tmp_path / n) for n in ("role-assignments.json", "role-definitions.json", "identity-list.json")]
    rest = [a for f in files for a in ("--import", f)]
    az = [a for n in ("role-assignments.json", "role-definitions.json", "identity-list.json", "sp-list.json",
                      "resource-list.json") for a in ("--import", str(FIXTURES / n))]
    result, via_rest = collect(tmp_path, *rest, "--import", str(FIXTURES / "sp-list.json"),
                               "--import", str(FIXTURES / "resource-list.json"))
    assert result.exit_code == 0, result.output
    (tmp_path / "snap.json").unlink()
    result, via_az = collect(tmp_path, *az)
    assert result.exit_code == 0, result.output
    assert content(via_rest) == content(via_az) and len(via_rest.policies) == 4 and len(via_rest.workloads) == 2


def test_several_pages_in_one_file(tmp_path):
    result, snap = collect(tmp_path, "--import", str(FIXTURES / "account.json"),
                           "--import", str(FIXTURES / "graph-approleassignments-hr-bot.json"))
    assert result.exit_code == 0, result.output
    assert sorted(g.id for g in snap.delegated_grants) == ["ara-hr-files", "ara-hr-mail"]


def test_nested_list_without_target_is_refused(tmp_path, untargeted):
    fic = FIXTURES / "fic-deploy-pipeline.json"
    result, _ = collect(tmp_path, "--import", str(untargeted), "--import", str(fic))
    assert result.exit_code == 2
    assert f"{fic}:2:" in result.output and "APP_OR_SP_ID=FILE" in result.output


def test_target_must_name_an_imported_application(tmp_path, untargeted):
    unknown = "12345678-1234-4234-8234-123456789012"
    result, _ = collect(tmp_path, "--import", str(untargeted), "--import", f"{unknown}={FIXTURES / TARGETED[0]}")
    assert result.exit_code == 2 and f"{unknown} names no imported application" in result.output
    result, _ = collect(tmp_path, "--import", "not-a-guid!=" + str(FIXTURES / TARGETED[0]))
    assert result.exit_code == 2 and "or for Azure a GUID" in result.output


def test_owner_target_may_be_the_app_id_or_a_service_principal(tmp_path, untargeted):
    sp_id = "00000107-0000-4000-8000-000000000107"
    for target in (DEPLOY_APP_ID, sp_id):
        result, snap = collect(tmp_path, "--import", str(untargeted), "--import", f"{target}={FIXTURES / TARGETED[1]}")
        assert result.exit_code == 0, result.output
        (owner,) = [t for t in snap.trusts if t.kind == "owner"]
        assert owner.identity_id == sp_id
        (tmp_path / "snap.json").unlink()


def test_tenant_from_the_applications_service_principals(tmp_path):
    result, snap = collect(tmp_path, "--import", str(FIXTURES / "sp-list.json"),
                           "--import", str(FIXTURES / "app-list.json"))
    assert result.exit_code == 0, result.output
    (source,) = snap.sources
    assert source.account == TENANT and not source.usage_recorded and "unused cannot be judged" in source.detail


def test_tenant_unknown_asks_for_account_or_target(tmp_path):
    sps = str(FIXTURES / "sp-list.json")
    result, _ = collect(tmp_path, "--import", sps)
    assert result.exit_code == 2 and "az account show" in result.output
    result, snap = collect(tmp_path, "--import", f"{TENANT}={sps}")
    assert result.exit_code == 0 and snap.sources[0].account == TENANT


def test_two_tenants_are_refused(tmp_path):
    other = json.loads((FIXTURES / "account.json").read_text()) | {"tenantId": "aaaaaaaa-1111-4111-8111-111111111111"}
    (tmp_path / "other.json").write_text(json.dumps(other))
    result, _ = collect(tmp_path, "--import", str(FIXTURES / "account.json"), "--import", str(tmp_path / "other.json"))
    assert result.exit_code == 2 and "several tenants" in result.output


def test_malformed_export_is_located(tmp_path):
    apps = json.loads((FIXTURES / "app-list.json").read_text())
    apps[1]["passwordCredentials"][0]["endDateTime"] = "next year"
    bad = tmp_path / "apps.json"
    bad.write_text(json.dumps(apps, indent=2))
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "next year" in text)
    result = run("collect", "--import", str(FIXTURES / "account.json"), "--import", str(bad),
                 "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2
    assert f"apps.json:{line}:" in result.output
    assert "[1].passwordCredentials[0].endDateTime: not a timestamp" in result.output


def test_malformed_graph_page_is_located(tmp_path):
    bad = tmp_path / "grants.json"
    bad.write_text('{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants",\n'
                   ' "value": [\n  {"id": "g", "clientId": 5, "resourceId": "r"}]}')
    result = run("collect", "--import", str(FIXTURES / "account.json"), "--import", str(bad),
                 "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "grants.json:3:" in result.output and "value[0].clientId" in result.output


def test_secret_values_are_never_imported(tmp_path):
    apps = json.loads((FIXTURES / "app-list.json").read_text())
    apps[0]["passwordCredentials"][0]["secretText"] = "SUPER-SECRET-VALUE"
    (tmp_path / "apps.json").write_text(json.dumps(apps))
    result, snap = collect(tmp_path, "--import", str(FIXTURES / "account.json"),
                           "--import", str(FIXTURES / "sp-list.json"), "--import", str(tmp_path / "apps.json"))
    assert result.exit_code == 0 and "SUPER-SECRET-VALUE" not in (tmp_path / "snap.json").read_text()
    assert len(snap.credentials) == 5


def test_other_providers_exports_are_not_azure():
    gcp = Path(__file__).resolve().parents[1] / "fixtures" / "gcp"
    importer = AzureExportImporter()
    for path in sorted(gcp.glob("*.json")):
        assert importer.detect(read_export(path)) is None, path


def test_shapes_are_valid_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    for schema in shapes.schemas().values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_scan_of_an_import_reports_azure_findings(tmp_path, untargeted):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n", encoding="utf-8")
    out = tmp_path / "report.json"
    result = run("scan", "--import", str(untargeted), *TARGET_ARGS, "--policy", str(policy), "--as-of", "2026-11-30",
                 "--format", "json", "-o", str(out))
    assert result.exit_code == 1, result.output
    findings = json.loads(out.read_text())["findings"]
    assert findings and all(f["rule_id"] for f in findings)


# --- federated credentials of user-assigned managed identities (AKS workload identity) -------------------------

DEV_RUNNER = ("/subscriptions/33333333-3333-4333-8333-333333333333/resourceGroups/dev/providers/"
              "Microsoft.ManagedIdentity/userAssignedIdentities/dev-runner")
DEV_RUNNER_PRINCIPAL = "00000104-0000-4000-8000-000000000104"
AKS_ISSUER = "https://westeurope.oic.prod-aks.azure.com/11111111-1111-4111-8111-111111111111/cluster-1/"
GITHUB = "https://token.actions.githubusercontent.com"


def _az_fic(name: str, issuer: str, subject: str, identity: str = DEV_RUNNER, with_id: bool = True) -> dict:
    """As `az identity federated-credential list --identity-name N --resource-group G` prints it."""
    fic = {"audiences": ["api://AzureADTokenExchange"], "issuer": issuer, "name": name, "resourceGroup": "dev",
           "subject": subject, "systemData": None,
           "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"}
    return {**fic, "id": f"{identity}/federatedIdentityCredentials/{name}"} if with_id else fic


def _fic_file(tmp_path: Path, *fics: dict, page: bool = False) -> Path:
    path = tmp_path / "mi-fics.json"
    path.write_text(json.dumps({"value": list(fics)} if page else list(fics), indent=1))
    return path


def _mi_trusts(snap) -> set[tuple[str, str, str]]:
    return {(t.principal, t.conditions["subject"], t.reason) for t in snap.trusts
            if t.identity_id == DEV_RUNNER_PRINCIPAL and t.kind.value == "federated"}


def test_managed_identity_federated_credentials_import(tmp_path, untargeted):
    fics = _fic_file(tmp_path, _az_fic("aks", AKS_ISSUER, "system:serviceaccount:ai:chat-api"),
                     _az_fic("gh", GITHUB, "repo:acme/app:pull_request"))
    assert AzureExportImporter().detect(read_export(fics)) == shapes.IDENTITY_FEDERATED_CREDENTIALS
    result, snap = collect(tmp_path, "--import", str(untargeted), *TARGET_ARGS, "--import", str(fics))
    assert result.exit_code == 0, result.output
    assert _mi_trusts(snap) == {
        (AKS_ISSUER, "system:serviceaccount:ai:chat-api", "federated credential aks of managed identity dev-runner"),
        (GITHUB, "repo:acme/app:pull_request", "federated credential gh of managed identity dev-runner")}


def test_managed_identity_fic_as_an_arm_page_and_by_target(tmp_path, untargeted):
    nested = {"id": f"{DEV_RUNNER}/federatedIdentityCredentials/aks", "name": "aks",
              "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
              "properties": {"issuer": AKS_ISSUER, "subject": "system:serviceaccount:ai:chat-api",
                             "audiences": ["api://AzureADTokenExchange"]}}
    page = _fic_file(tmp_path, nested, page=True)
    result, via_page = collect(tmp_path, "--import", str(untargeted), *TARGET_ARGS, "--import", str(page))
    assert result.exit_code == 0, result.output
    (tmp_path / "snap.json").unlink()
    # Without its own id, the record's identity comes from TARGET: its principal id or its resource id.
    for target in (DEV_RUNNER_PRINCIPAL, DEV_RUNNER):
        bare = _fic_file(tmp_path, _az_fic("aks", AKS_ISSUER, "system:serviceaccount:ai:chat-api", with_id=False))
        result, via_target = collect(tmp_path, "--import", str(untargeted), *TARGET_ARGS,
                                     "--import", f"{target}={bare}")
        assert result.exit_code == 0, result.output
        (tmp_path / "snap.json").unlink()
        assert {t[:2] for t in _mi_trusts(via_target)} == {t[:2] for t in _mi_trusts(via_page)} == {
            (AKS_ISSUER, "system:serviceaccount:ai:chat-api")}


def test_managed_identity_fic_without_its_identity_is_refused(tmp_path, untargeted):
    bare = _fic_file(tmp_path, _az_fic("aks", AKS_ISSUER, "system:serviceaccount:ai:chat-api", with_id=False))
    result, _ = collect(tmp_path, "--import", str(untargeted), *TARGET_ARGS, "--import", str(bare))
    assert result.exit_code == 2 and "PRINCIPAL_ID=FILE" in result.output
    unknown = _fic_file(tmp_path, _az_fic("aks", AKS_ISSUER, "system:serviceaccount:ai:x",
                                          identity=DEV_RUNNER.replace("dev-runner", "nobody")))
    result, _ = collect(tmp_path, "--import", str(untargeted), *TARGET_ARGS, "--import", str(unknown))
    assert result.exit_code == 2 and "names no imported user-assigned identity" in result.output


def test_scan_reports_a_pull_request_trust_on_a_managed_identity_not_the_aks_one(tmp_path, untargeted):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n", encoding="utf-8")
    reports = {}
    for name, issuer, subject in (("aks", AKS_ISSUER, "system:serviceaccount:ai:chat-api"),
                                  ("gh", GITHUB, "repo:acme/app:pull_request")):
        fics, out = _fic_file(tmp_path, _az_fic(name, issuer, subject)), tmp_path / f"{name}.json"
        result = run("scan", "--import", str(untargeted), *TARGET_ARGS, "--import", str(fics), "--policy",
                     str(policy), "--as-of", "2026-11-30", "--format", "json", "-o", str(out))
        assert result.exit_code == 1, result.output
        reports[name] = {f["identity"]["id"] for f in json.loads(out.read_text())["findings"]
                         if f["rule_id"] == "trust-federated-unconstrained"}
    assert DEV_RUNNER_PRINCIPAL not in reports["aks"]
    assert DEV_RUNNER_PRINCIPAL in reports["gh"]
