"""Audit coverage on GCP (issue 15, part 1) from gcloud exports through the real CLI: the project's IAM
policy `auditConfigs` (Data Access audit logs). Vertex AI Data Access logs off gives the model-call gap with
evidence; enabled for allServices (or the service) gives none; exempting the service account is a gap again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scan_support import run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gcp"
TARGETED = FIXTURES / "targeted"
P = "acme-ml-prod"
SUMMARISER = f"vertex-summariser@{P}.iam.gserviceaccount.com"
POLICY = f"""\
version: 1
defaults:
  audit: {{model_invocations: required}}
integrations:
  - name: summariser
    identities: ["{SUMMARISER}"]
"""
READ_WRITE = [{"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]
# The fixtures' project ancestry: the organisation's policy comes with the fixtures' Cloud Asset export.
ANCESTORS = ("folders/445566778899",)


def scan(tmp_path: Path, audit_configs: list | None, ancestors: tuple[str, ...] = ANCESTORS) -> dict:
    """Scan the fixture project with its IAM policy carrying `audit_configs`, and (empty) policies of its
    folder and organisation: audit configs are unioned down the hierarchy, so every level must be read."""
    policy = json.loads((TARGETED / "project-iam-policy.json").read_text())
    if audit_configs is not None:
        policy["auditConfigs"] = audit_configs
    (tmp_path / "project.json").write_text(json.dumps(policy, indent=1))
    (tmp_path / "policy.yaml").write_text(POLICY)
    levels = []
    for n, scope in enumerate(ancestors):
        path = tmp_path / f"ancestor-{n}.json"
        path.write_text(json.dumps({"bindings": [], "etag": "BwYhH3kQ2aE=", "version": 3}))
        levels += ["--import", f"{scope}={path}"]
    out = tmp_path / "report.json"
    result = run("scan", "--import", str(FIXTURES), "--import", f"{P}={tmp_path / 'project.json'}", *levels,
                 "--policy", str(tmp_path / "policy.yaml"), "--format", "json", "--fail-on", "none", "-o", str(out))
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def model_gaps(report: dict) -> list[dict]:
    return [f for f in report["findings"]
            if f["rule_id"] == "audit-model-calls-not-logged" and f["identity"]["id"] == SUMMARISER]


@pytest.mark.parametrize("configs, missing", [
    (None, ["DATA_READ of aiplatform.googleapis.com is not enabled",
            "DATA_WRITE of aiplatform.googleapis.com is not enabled"]),
    ([{"service": "storage.googleapis.com", "auditLogConfigs": READ_WRITE}],
     ["DATA_READ of aiplatform.googleapis.com is not enabled",
      "DATA_WRITE of aiplatform.googleapis.com is not enabled"]),
    ([{"service": "aiplatform.googleapis.com", "auditLogConfigs": [
        {"logType": "DATA_READ", "exemptedMembers": [f"serviceAccount:{SUMMARISER}"]}, {"logType": "DATA_WRITE"}]}],
     [f"serviceAccount:{SUMMARISER} is exempted from DATA_READ of aiplatform.googleapis.com"]),
])
def test_vertex_data_access_logs_off_is_a_gap(tmp_path, configs, missing):
    report = scan(tmp_path, configs)
    (gap,) = model_gaps(report)
    assert gap["identity"]["id"] == SUMMARISER and gap["evidence"]["missing"] == missing
    assert gap["evidence"]["checked"] == [f"Data Access audit logs of projects/{P}"]
    # Undeclared identities that can call models are held to `defaults.audit` too (the default compute SA is
    # Editor: it can call Vertex AI); only the summariser is exempted in the third case.
    undeclared = {f["identity"]["name"] for f in report["findings"] if f["rule_id"] == "audit-model-calls-not-logged"
                  and not f["integration"]}
    assert undeclared == (set() if "exempted" in missing[0] else {"123456789012-compute"})


@pytest.mark.parametrize("configs", [
    [{"service": "allServices", "auditLogConfigs": READ_WRITE}],
    [{"service": "aiplatform.googleapis.com", "auditLogConfigs": [{"logType": "DATA_READ"}]},
     {"service": "allServices", "auditLogConfigs": [{"logType": "DATA_WRITE"}]}],
])
def test_compliant_twin_has_no_gap(tmp_path, configs):
    assert model_gaps(scan(tmp_path, configs)) == []


def test_unread_folder_makes_it_unknown_not_a_gap(tmp_path):
    assert model_gaps(scan(tmp_path, None, ancestors=())) == []


def test_audit_config_inherited_from_the_folder(tmp_path):
    """A folder-level allServices config covers the project (configs union down)."""
    folder = tmp_path / "folder.json"
    folder.write_text(json.dumps({"bindings": [], "etag": "BwYhH3kQ2aE=", "version": 3,
                                  "auditConfigs": [{"service": "allServices", "auditLogConfigs": READ_WRITE}]}))
    scan(tmp_path, None, ancestors=())  # writes the project and policy files
    out = tmp_path / "r2.json"
    run("scan", "--import", str(FIXTURES), "--import", f"{P}={tmp_path / 'project.json'}", "--import",
        f"{ANCESTORS[0]}={folder}", "--policy", str(tmp_path / "policy.yaml"), "--format", "json",
        "--fail-on", "none", "-o", str(out))
    assert model_gaps(json.loads(out.read_text())) == []


def test_malformed_audit_config_is_an_input_error(tmp_path):
    policy = json.loads((TARGETED / "project-iam-policy.json").read_text())
    policy["auditConfigs"] = [{"service": "allServices", "auditLogConfigs": [{"logType": "EVERYTHING"}]}]
    (tmp_path / "project.json").write_text(json.dumps(policy))
    result = run("collect", "--import", str(FIXTURES), "--import", f"{P}={tmp_path / 'project.json'}",
                 "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 2 and "logType" in result.output, result.output


def test_live_malformed_audit_configs_cost_only_the_audit_setting():
    from nhiaudit.connectors.gcp.assemble import assemble_project
    from nhiaudit.connectors.gcp.raw import RawPolicy, RawProject
    from nhiaudit.inventory.model import Provider, SourceInfo

    policy = {"bindings": [{"role": "roles/viewer", "members": ["user:ada@acme.example"]}], "auditConfigs": "all"}
    raw = RawProject(project_id=P, service_accounts=[], policies=[RawPolicy(f"projects/{P}", policy)])
    snap = assemble_project(raw, SourceInfo(provider=Provider.GCP, account=P, method="live"))
    assert snap.audit_settings == [] and snap.sources[0].audit_collected == ()
    (issue,) = snap.collection_issues
    assert issue.operation == "resourcemanager.projects.getIamPolicy" and "auditConfigs" in issue.missing
    assert any(p.principals == ("user:ada@acme.example",) for p in snap.policies)  # the bindings are kept
