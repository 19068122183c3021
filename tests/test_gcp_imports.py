"""`--import` of gcloud exports (fixtures/gcp) through the real CLI: detection by shape, TARGET=FILE,
directories, and file:line:col errors (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.gcp import export_shapes
from nhiaudit.connectors.imports import read_export
from nhiaudit.connectors.interface import ExportFile
from nhiaudit.inventory.snapshot import load_snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gcp"
TARGETED = FIXTURES / "targeted"
P = "acme-ml-prod"
SCORER = f"batch-scorer@{P}.iam.gserviceaccount.com"
DEPLOYER = f"github-deployer@{P}.iam.gserviceaccount.com"
WIF = str(FIXTURES / "wif-providers.json")
TARGET_ARGS = ["--import", f"{P}={TARGETED / 'project-iam-policy.json'}",
               "--import", f"{SCORER}={TARGETED / 'sa-iam-policy-batch-scorer.json'}",
               "--import", f"{DEPLOYER}={TARGETED / 'sa-iam-policy-github-deployer.json'}"]


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False)


def collect(tmp_path: Path, *imports: str):
    out = tmp_path / "snap.json"
    result = run("collect", *imports, "-o", str(out))
    return result, (load_snapshot(out) if out.exists() else None)


def test_directory_plus_targeted_policies_build_the_project(tmp_path):
    result, snap = collect(tmp_path, "--import", str(FIXTURES), *TARGET_ARGS)
    assert result.exit_code == 0, result.output
    (source,) = snap.sources
    assert (source.provider, source.account, source.method) == ("gcp", P, "import")
    assert "not imported" not in source.detail
    assert len(snap.identities) == 5 and len(snap.credentials) == 4 and len(snap.workloads) == 3
    assert snap.complete
    scorer = next(i for i in snap.identities if i.id == SCORER)
    assert f"binding:projects/{P}:roles/bigquery.dataViewer#until-2025" in scorer.policy_ids
    assert any(t.identity_id == SCORER and t.principal.startswith("vertex-summariser@") for t in snap.trusts)
    assert any(t.identity_id == DEPLOYER and t.kind == "federated" for t in snap.trusts)
    run_service = next(w for w in snap.workloads if w.kind == "cloud_run")  # Knative shape -> v2 name
    assert run_service.id == f"projects/{P}/locations/europe-west4/services/summariser"
    assert run_service.tags == {"env": "prod"}


def test_import_equals_the_transform_of_the_same_raw_data(tmp_path):
    """The import routes every record to the same RawProject live collection builds."""
    from test_gcp_transform import SOURCE, fixture_raw

    from nhiaudit.connectors.gcp.assemble import assemble_project

    _, imported = collect(tmp_path, "--import", str(FIXTURES), *TARGET_ARGS)
    live = assemble_project(fixture_raw(), SOURCE)

    def content(snap):
        data = json.loads(snap.model_dump_json(exclude={"generated_at", "sources"}))
        return {k: sorted(json.dumps(x, sort_keys=True) for x in v) for k, v in data.items() if isinstance(v, list)}

    assert content(imported) == content(live)


@pytest.mark.parametrize(("name", "kind", "target"), [
    ("service-accounts.json", export_shapes.SERVICE_ACCOUNTS, None),
    ("keys-vertex-summariser.json", export_shapes.KEYS, None),
    ("targeted/project-iam-policy.json", export_shapes.IAM_POLICY, P),
    ("targeted/sa-iam-policy-batch-scorer.json", export_shapes.IAM_POLICY, SCORER),
    ("role-model-deployer.json", export_shapes.ROLES, None),
    ("asset-iam-policies.json", export_shapes.ASSET_IAM, None),
    ("wif-providers.json", export_shapes.WIF_PROVIDERS, P),
    ("activity-sa.json", export_shapes.ACTIVITIES, None),
    ("activity-keys.json", export_shapes.ACTIVITIES, None),
    ("compute-instances.json", export_shapes.INSTANCES, None),
    ("run-services.json", export_shapes.RUN_SERVICES, P),
    ("functions.json", export_shapes.FUNCTIONS, None),
])
def test_each_format_is_detected_and_imports_alone(tmp_path, name, kind, target):
    from nhiaudit.connectors.gcp.exports import GcpExportImporter

    assert GcpExportImporter().detect(read_export(FIXTURES / name)) == kind
    arg = f"{target}={FIXTURES / name}" if target else str(FIXTURES / name)
    result, snap = collect(tmp_path, "--import", arg)
    assert [s.account for s in snap.sources] == [P]
    if name == "targeted/project-iam-policy.json":  # binds a custom role whose definition is another file
        assert result.exit_code == 3
        (issue,) = snap.collection_issues
        assert f"projects/{P}/roles/modelDeployer" in issue.message
    else:
        assert result.exit_code == 0, result.output


def test_scan_of_an_import_reports_gcp_findings(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n", encoding="utf-8")
    out = tmp_path / "report.json"
    result = run("scan", "--import", str(FIXTURES), *TARGET_ARGS, "--policy", str(policy), "--as-of", "2025-12-01",
                 "--format", "json", "-o", str(out))
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text())
    rules = {f["rule_id"] for f in report["findings"]}
    assert "ai-undeclared" in rules  # vertex-summariser calls Vertex AI and no integration declares it


def test_policy_without_target_is_ambiguous(tmp_path):
    result = run("collect", "--import", str(TARGETED / "project-iam-policy.json"), "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2
    assert "project-iam-policy.json:1:1" in result.output and "TARGET=FILE" in result.output
    assert not (tmp_path / "s.json").exists()


def test_number_without_a_project_needs_a_target(tmp_path):
    result = run("collect", "--import", WIF, "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "TARGET=FILE" in result.output and "123456789012" in result.output


def test_bad_target_is_refused(tmp_path):
    result = run("collect", "--import", f"Not A Target={TARGETED / 'project-iam-policy.json'}", "-o",
                 str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "is not a TARGET" in result.output


def test_folder_target_policy_applies_to_the_imported_projects(tmp_path):
    folder = tmp_path / "folder.json"
    folder.write_text(json.dumps({"bindings": [{"role": "roles/iam.serviceAccountTokenCreator",
                                                "members": ["user:ops@acme.example"]}], "etag": "x"}))
    result, snap = collect(tmp_path, "--import", str(FIXTURES / "service-accounts.json"),
                           "--import", f"folders/42={folder}")
    assert result.exit_code == 0, result.output
    assert len([t for t in snap.trusts if t.principal == "user:ops@acme.example"]) == 5
    assert any(p.id == "binding:folders/42:roles/iam.serviceAccountTokenCreator" for p in snap.policies)


def test_scoped_policy_alone_has_no_project(tmp_path):
    folder = tmp_path / "org.json"
    folder.write_text(json.dumps({"bindings": [], "etag": "x"}))
    result = run("collect", "--import", f"organizations/7={folder}", "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "projects below it" in result.output


def test_several_projects_build_one_snapshot_each(tmp_path):
    other = tmp_path / "other-sas.json"
    bot = "bot@acme-data-dev.iam.gserviceaccount.com"
    other.write_text(json.dumps([{"email": bot, "name": f"projects/acme-data-dev/serviceAccounts/{bot}",
                                  "projectId": "acme-data-dev", "uniqueId": "1"}]))
    result, snap = collect(tmp_path, "--import", str(FIXTURES / "service-accounts.json"), "--import", str(other))
    assert result.exit_code == 0, result.output
    assert sorted(s.account for s in snap.sources) == ["acme-data-dev", P]


def test_directory_with_an_ambiguous_file_fails(tmp_path):
    shutil.copy(TARGETED / "project-iam-policy.json", tmp_path / "policy.json")
    shutil.copy(FIXTURES / "service-accounts.json", tmp_path / "sas.json")
    result = run("collect", "--import", str(tmp_path), "-o", str(tmp_path / "out" / "s.json"))
    assert result.exit_code == 2 and "policy.json:1:1" in result.output


def test_target_applies_to_a_whole_directory(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(TARGETED / "project-iam-policy.json", folder / "policy.json")
    shutil.copy(FIXTURES / "wif-providers.json", folder / "wif.json")
    shutil.copy(FIXTURES / "role-model-deployer.json", folder / "role.json")
    (folder / "notes.txt").write_text("ignored: not *.json or *.csv")
    result, snap = collect(tmp_path, "--import", f"{P}={folder}")
    assert result.exit_code == 0, result.output
    assert [s.account for s in snap.sources] == [P]


def test_empty_lists(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("[]\n")  # gcloud's empty list of anything: nothing says what it is
    result, _ = collect(tmp_path, "--import", str(empty), "--import", str(FIXTURES / "service-accounts.json"))
    assert result.exit_code == 2 and "unrecognised export file" in result.output
    empty.write_text('{"activities": []}')  # an empty REST reply names its kind
    result, _ = collect(tmp_path, "--import", str(empty), "--import", str(FIXTURES / "service-accounts.json"))
    assert result.exit_code == 0, result.output


def test_malformed_export_is_located(tmp_path):
    keys = json.loads((FIXTURES / "keys-batch-scorer.json").read_text())
    keys[0]["validAfterTime"] = 12
    bad = tmp_path / "keys.json"
    bad.write_text(json.dumps(keys, indent=2))
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "validAfterTime" in text)
    result = run("collect", "--import", str(bad), "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2
    assert f"keys.json:{line}:" in result.output
    assert "[0].validAfterTime: expected a string, got integer 12" in result.output


def test_bad_timestamp_and_bad_binding_are_located(tmp_path):
    bad = tmp_path / "policy.json"
    bad.write_text('{"bindings": [\n  {"role": "roles/viewer", "members": "user:a@b"}\n], "etag": "x"}')
    result = run("collect", "--import", f"{P}={bad}", "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "policy.json:2:" in result.output and "bindings[0].members" in result.output
    acts = tmp_path / "acts.json"
    acts.write_text('[{"activityType": "serviceAccountLastAuthentication",\n'
                    ' "activity": {"lastAuthenticatedTime": "last week"}}]')
    result = run("collect", "--import", str(acts), "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "acts.json:2:" in result.output and "not a timestamp" in result.output


def test_shapes_are_valid_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    for schema in export_shapes.schemas().values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for kind, path in [(export_shapes.KEYS, "keys-legacy-etl.json"), (export_shapes.ASSET_IAM,
                                                                       "asset-iam-policies.json")]:
        jsonschema.validate(json.loads((FIXTURES / path).read_text()), export_shapes.SCHEMAS[kind])


def test_detection_ignores_other_shapes():
    from nhiaudit.connectors.gcp.exports import GcpExportImporter

    detect = GcpExportImporter().detect
    assert detect(ExportFile(Path("x"), "{}", {}, True)) is None
    assert detect(ExportFile(Path("x"), "[1]", [1], True)) is None
    assert detect(ExportFile(Path("x"), "a,b", None, False)) is None
    mixed = json.loads((FIXTURES / "service-accounts.json").read_text()) + json.loads(
        (FIXTURES / "functions.json").read_text())
    assert detect(ExportFile(Path("x"), "", mixed, True)) is None
