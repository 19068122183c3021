"""`--import` of gcloud exports (fixtures/gcp) through the real CLI: detection by shape, TARGET=FILE,
directories, and file:line:col errors (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scan_support import collect, run, shape_checks_in_a_child

from nhiaudit import forked
from nhiaudit.connectors.gcp import export_shapes
from nhiaudit.connectors.imports import read_export
from nhiaudit.connectors.interface import ExportFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gcp"
TARGETED = FIXTURES / "targeted"
P = "acme-ml-prod"
SCORER = f"batch-scorer@{P}.iam.gserviceaccount.com"
DEPLOYER = f"github-deployer@{P}.iam.gserviceaccount.com"
D = f"@{P}.iam.gserviceaccount.com"
WIF = str(FIXTURES / "wif-providers.json")
TARGET_ARGS = ["--import", f"{P}={TARGETED / 'project-iam-policy.json'}",
               "--import", f"{SCORER}={TARGETED / 'sa-iam-policy-batch-scorer.json'}",
               "--import", f"{DEPLOYER}={TARGETED / 'sa-iam-policy-github-deployer.json'}"]






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


@pytest.mark.parametrize("checked", ["here", "in another process"])
def test_malformed_export_is_located(tmp_path, monkeypatch, checked):
    if checked != "here":
        if not forked.can_fork():
            pytest.skip("forks: Linux only")
        started = shape_checks_in_a_child(monkeypatch)
    keys = json.loads((FIXTURES / "keys-batch-scorer.json").read_text())
    keys[0]["validAfterTime"] = 12
    bad = tmp_path / "keys.json"
    bad.write_text(json.dumps(keys, indent=2))
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "validAfterTime" in text)
    result = run("collect", "--import", str(bad), "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2
    assert f"keys.json:{line}:" in result.output
    assert "[0].validAfterTime: expected a string, got integer 12" in result.output
    assert checked == "here" or started == [1]


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


# ---- Cloud Asset exports, deny policies, REST envelopes, empty lists ----------------------------------------

NUM = "123456789012"
ANCESTORS = [f"projects/{NUM}", "folders/445566778899", "organizations/987654321098"]


def _fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _resource_asset(name: str, asset_type: str, data: dict, ancestors=ANCESTORS) -> dict:
    return {"name": name, "assetType": asset_type, "ancestors": ancestors, "updateTime": "2025-11-30T10:00:00Z",
            "resource": {"version": "v1", "discoveryName": asset_type.rsplit("/", 1)[-1], "location": "global",
                         "parent": f"//cloudresourcemanager.googleapis.com/projects/{NUM}", "data": data}}


def asset_export(tmp_path: Path) -> tuple[Path, Path]:
    """The fixture project as `gcloud asset export --content-type=iam-policy` (newline-delimited, as written
    to Cloud Storage) and `--content-type=resource` (a JSON list), naming projects by number and service
    accounts by unique id as Cloud Asset does."""
    sas = _fixture("service-accounts.json")
    uid = {sa["email"]: sa["uniqueId"] for sa in sas}
    sa_name = lambda email: f"//iam.googleapis.com/projects/{P}/serviceAccounts/{uid[email]}"  # noqa: E731
    policies = [("//cloudresourcemanager.googleapis.com/projects/" + NUM, "cloudresourcemanager.googleapis.com/Project",
                 json.loads((TARGETED / "project-iam-policy.json").read_text()), ANCESTORS)]
    for email, name in ((SCORER, "sa-iam-policy-batch-scorer.json"), (DEPLOYER, "sa-iam-policy-github-deployer.json")):
        policies.append((sa_name(email), "iam.googleapis.com/ServiceAccount",
                         json.loads((TARGETED / name).read_text()), ANCESTORS))
    for result in _fixture("asset-iam-policies.json"):
        org = result["resource"].endswith(result["organization"])
        policies.append((result["resource"], result["assetType"], result["policy"],
                         [result["organization"]] if org else ANCESTORS))
    lines = [json.dumps({"name": n, "assetType": t, "iamPolicy": p, "ancestors": a}) for n, t, p, a in policies]
    iam = tmp_path / "iam-policy.ndjson"
    iam.write_text("\n".join(lines) + "\n", encoding="utf-8")

    resources = [_resource_asset(f"//cloudresourcemanager.googleapis.com/projects/{NUM}",
                                 "cloudresourcemanager.googleapis.com/Project",
                                 {"projectNumber": NUM, "projectId": P, "lifecycleState": "ACTIVE", "name": P})]
    resources += [_resource_asset(sa_name(sa["email"]), "iam.googleapis.com/ServiceAccount", sa) for sa in sas]
    for name in ("keys-vertex-summariser.json", "keys-batch-scorer.json", "keys-legacy-etl.json"):
        resources += [_resource_asset("//iam.googleapis.com/" + k["name"], "iam.googleapis.com/ServiceAccountKey", k)
                      for k in _fixture(name)]
    role = _fixture("role-model-deployer.json")
    resources.append(_resource_asset("//iam.googleapis.com/" + role["name"], "iam.googleapis.com/Role", role))
    wif_type = "iam.googleapis.com/WorkloadIdentityPoolProvider"
    resources += [_resource_asset("//iam.googleapis.com/" + p["name"], wif_type, p)
                  for p in _fixture("wif-providers.json")]
    resources += [_resource_asset("//compute.googleapis.com/" + i["selfLink"].split("/v1/", 1)[1],
                                  "compute.googleapis.com/Instance", i) for i in _fixture("compute-instances.json")]
    resources += [_resource_asset("//run.googleapis.com/" + s["metadata"]["name"], "run.googleapis.com/Service", s)
                  for s in _fixture("run-services.json")]
    function_type = "cloudfunctions.googleapis.com/Function"
    resources += [_resource_asset("//cloudfunctions.googleapis.com/" + f["name"], function_type, f)
                  for f in _fixture("functions.json")]
    resources.append(_resource_asset("//storage.googleapis.com/acme-contracts-eu", "storage.googleapis.com/Bucket",
                                     {"name": "acme-contracts-eu"}))  # read nothing from other types
    res = tmp_path / "resources.json"
    res.write_text(json.dumps(resources, indent=1), encoding="utf-8")
    return iam, res


def _content(snap):
    data = json.loads(snap.model_dump_json(exclude={"generated_at", "sources"}))
    return {k: sorted(json.dumps(x, sort_keys=True) for x in v) for k, v in data.items() if isinstance(v, list)}


def test_asset_export_gives_the_same_inventory_as_the_gcloud_lists(tmp_path):
    iam, res = asset_export(tmp_path)
    activities = ["--import", str(FIXTURES / "activity-sa.json"), "--import", str(FIXTURES / "activity-keys.json")]
    result, exported = collect(tmp_path, "--import", str(iam), "--import", str(res), *activities)
    assert result.exit_code == 0, result.output
    (source,) = exported.sources
    assert source.account == P and source.ancestors == ("folders/445566778899", "organizations/987654321098")
    _, listed = collect(tmp_path, "--import", str(FIXTURES), *TARGET_ARGS)
    assert _content(exported) == _content(listed)


def test_asset_export_kinds_and_located_errors(tmp_path):
    from nhiaudit.connectors.gcp.exports import GcpExportImporter

    iam, res = asset_export(tmp_path)
    assert GcpExportImporter().detect(read_export(iam)) == export_shapes.ASSET_EXPORT
    assert GcpExportImporter().detect(read_export(res)) == export_shapes.ASSET_EXPORT
    lines = iam.read_text().splitlines()
    bad = json.loads(lines[2])
    bad["iamPolicy"]["bindings"][0]["members"] = "serviceAccount:x"  # not a list
    lines[2] = json.dumps(bad)
    iam.write_text("\n".join(lines) + "\n")
    result = run("collect", "--import", str(iam), "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and f"{iam.name}:3:" in result.output, result.output
    iam.write_text(lines[0] + "\n{not json\n")
    result = run("collect", "--import", str(iam), "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and f"{iam.name}:2:2" in result.output, result.output


def test_asset_export_service_account_data_is_checked_with_its_path(tmp_path):
    _, res = asset_export(tmp_path)
    assets = json.loads(res.read_text())
    assets[1]["resource"]["data"]["disabled"] = "yes"
    res.write_text(json.dumps(assets, indent=1))
    result = run("collect", "--import", str(res), "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "[1].resource.data.disabled" in result.output, result.output


DENY = {
    "name": "policies/cloudresourcemanager.googleapis.com%2Fprojects%2F123456789012/denypolicies/no-keys",
    "uid": "6d9f0b8e-1b2c-4d5e-8f90-123456789abc", "kind": "DenyPolicy", "displayName": "No new keys",
    "etag": "MTIz", "createTime": "2025-06-01T00:00:00Z", "updateTime": "2025-06-01T00:00:00Z",
    "rules": [{"description": "nobody creates keys", "denyRule": {
        "deniedPrincipals": ["principalSet://goog/public:all"],
        "deniedPermissions": ["iam.googleapis.com/serviceAccountKeys.create"]}}],
}


def test_deny_policies_import_by_their_attachment_point(tmp_path):
    path = tmp_path / "deny.json"
    path.write_text(json.dumps(DENY))  # `gcloud iam policies get` prints one policy
    result, snap = collect(tmp_path, "--import", str(FIXTURES / "service-accounts.json"), "--import", str(path))
    assert result.exit_code == 0, result.output
    deny = next(p for p in snap.policies if p.id.startswith("deny:"))
    assert deny.statements[0].effect == "Deny" and deny.statements[0].actions == ("iam.serviceAccountKeys.create",)
    assert deny.statements[0].resources == (f"projects/{P}",)
    assert all(deny.id in i.policy_ids for i in snap.identities)
    # on the organisation, named by TARGET (the name's attachment point is overridden), from `list` (no rules)
    listed = dict(DENY, name="policies/x/denypolicies/no-keys")
    listed.pop("rules")
    path.write_text(json.dumps([listed]))
    result, snap = collect(tmp_path, "--import", str(FIXTURES / "service-accounts.json"),
                           "--import", f"organizations/987654321098={path}")
    assert result.exit_code == 3, result.output  # what it denies is unknown: incomplete, never "denies nothing"
    (issue,) = snap.collection_issues
    assert "without its rules" in issue.message and "gcloud iam policies get" in issue.missing
    assert snap.sources[0].ancestors == ("organizations/987654321098",)


def test_rest_envelopes_are_read_like_gcloud_lists(tmp_path):
    instances = _fixture("compute-instances.json")
    envelopes = {
        "aggregated.json": {"kind": "compute#instanceAggregatedList", "id": f"projects/{P}/aggregated/instances",
                            "items": {"zones/europe-west4-a": {"instances": instances},
                                      "zones/us-east1-b": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}},
                            "selfLink": "https://www.googleapis.com/compute/v1/projects/x/aggregated/instances"},
        "functions.json": {"functions": _fixture("functions.json"), "unreachable": []},
        "run-v2.json": {"services": [{"name": f"projects/{P}/locations/europe-west4/services/summariser",
                                      "labels": {"env": "prod"},
                                      "template": {"serviceAccount": f"vertex-summariser{D}"}}],
                        "nextPageToken": ""},
        "accounts.json": {"accounts": _fixture("service-accounts.json"), "nextPageToken": ""},
        "assets.json": {"assets": [], "readTime": "2025-11-30T10:00:00Z"},
    }
    for name, data in envelopes.items():
        (tmp_path / name).write_text(json.dumps(data))
    result, snap = collect(tmp_path, "--import", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(w.kind for w in snap.workloads) == ["cloud_function", "cloud_run", "gce_instance"]
    assert len(snap.identities) == 5


def test_empty_lists_are_nothing_in_a_directory_or_with_target(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(FIXTURES / "service-accounts.json", folder)
    (folder / "keys-none.json").write_text("[]\n")  # gcloud prints [] for an empty list of anything
    result, snap = collect(tmp_path, "--import", str(folder), "--import", f"{P}={folder / 'keys-none.json'}")
    assert result.exit_code == 0, result.output
    assert len(snap.identities) == 5 and not snap.credentials
    alone = run("collect", "--import", str(folder / "keys-none.json"), "-o", str(tmp_path / "s.json"))
    assert alone.exit_code == 2  # given alone, nothing tells what it is (tests/test_import_shapes.py)


def test_cross_project_binding_attaches_to_the_service_account_in_its_own_project(tmp_path):
    """A service account of project A bound in project B holds B's binding once both are imported."""
    a_sa, b_sa = "pipeline@acme-data-a.iam.gserviceaccount.com", "local@acme-ml-b.iam.gserviceaccount.com"
    files = {
        "a-sas.json": [{"email": a_sa, "name": f"projects/acme-data-a/serviceAccounts/{a_sa}",
                        "projectId": "acme-data-a", "uniqueId": "111"}],
        "b-sas.json": [{"email": b_sa, "name": f"projects/acme-ml-b/serviceAccounts/{b_sa}",
                        "projectId": "acme-ml-b", "uniqueId": "222"}],
    }
    for name, data in files.items():
        (tmp_path / name).write_text(json.dumps(data))
    policy = tmp_path / "b-policy.json"
    policy.write_text(json.dumps({"version": 1, "etag": "BwX=", "bindings": [
        {"role": "roles/aiplatform.user", "members": [f"serviceAccount:{a_sa}", f"serviceAccount:{b_sa}"]}]}))
    imports = ["--import", str(tmp_path / "a-sas.json"), "--import", str(tmp_path / "b-sas.json"),
               "--import", f"acme-ml-b={policy}"]
    result, snap = collect(tmp_path, *imports)
    assert result.exit_code == 0, result.output
    pid = "binding:projects/acme-ml-b:roles/aiplatform.user"
    a_identity = next(i for i in snap.identities if i.id == a_sa)
    assert a_identity.account == "acme-data-a" and a_identity.policy_ids == (pid,)
    assert a_identity.policy_sources == {pid: "binding on projects/acme-ml-b"}
    assert next(i for i in snap.identities if i.id == b_sa).policy_ids == (pid,)
    # B alone keeps the attachment as data, so merging A's snapshot later still applies it
    _, b_only = collect(tmp_path, "--import", str(tmp_path / "b-sas.json"), "--import", f"acme-ml-b={policy}")
    assert [(x.identity_id, x.policy_id) for x in b_only.attachments] == [(a_sa, pid)]
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("version: 1\n", encoding="utf-8")
    out = tmp_path / "report.json"
    run("scan", *imports, "--policy", str(policy_file), "--as-of", "2025-12-01", "--format", "json", "-o", str(out))
    findings = json.loads(out.read_text())["findings"]
    assert any(f["rule_id"] == "ai-undeclared" and (f.get("identity") or {}).get("id") == a_sa for f in findings)
