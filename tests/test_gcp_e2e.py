"""The planted GCP estate (gcp_planted) end to end through the real CLI: collected live through the real
clients (IAMClient over gRPC, Resource Manager v3 and the REST-only APIs) from the in-test servers, and
imported from the gcloud exports of the same estate. Every planted gap is found with exactly the expected
rules, the clean identities have nothing, both sources give identical findings and fingerprints, and
`nhiaudit explain` shows the impersonation hop of the scope drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gcp_planted as planted
import pytest
from gcp_support import GcpServers
from scan_support import keyed, one, rules_by_identity
from test_gcp_live import is_read
from typer.testing import CliRunner

from nhiaudit.cli import build_app

P = planted.P


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(build_app(), list(args), env=env)


def scan(tmp: Path, *source: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    out = tmp / "report.json"
    result = invoke("scan", *source, "--policy", str(planted.write_policy(tmp)), "--format", "json",
                    "--as-of", planted.AS_OF, "-o", str(out), "--quiet", env=env)
    assert out.exists(), result.output
    return result.exit_code, json.loads(out.read_text(encoding="utf-8")), result.output


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One live scan and one live explain against the servers; what the servers received."""
    tmp = tmp_path_factory.mktemp("gcp-live")
    fake = planted.planted_fake()
    with GcpServers(fake) as servers:
        code, report, output = scan(tmp, "--gcp", "--gcp-project", P, env=servers.env)
        explained = invoke("explain", "ticket-triage", "--gcp-project", P, "--policy", str(tmp / "planted-policy.yaml"),
                           "--as-of", planted.AS_OF, "--format", "json", env=servers.env)
        table = invoke("explain", "ticket-triage", "--gcp-project", P, "--policy", str(tmp / "planted-policy.yaml"),
                       "--as-of", planted.AS_OF, env=servers.env | {"COLUMNS": "200"})
    return {"code": code, "report": report, "output": output, "received": list(fake.received),
            "explain": explained, "table": table}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("gcp-import")
    args = planted.write_exports(tmp / "exports")
    code, report, output = scan(tmp, *args)
    return {"code": code, "report": report, "output": output, "args": args, "tmp": tmp}








# ---- live ------------------------------------------------------------------------------------------------

def test_live_scan_finds_exactly_the_planted_gaps(live):
    report = live["report"]
    assert live["code"] == 1, live["output"]  # high and critical findings, default --fail-on high
    assert report["collection"]["complete"] and report["collection"]["errors"] == []
    [source] = report["collection"]["sources"]
    assert (source["provider"], source["account"], source["method"]) == ("gcp", P, "live")
    assert source["ancestors"] == [planted.FOLDER, planted.ORG]
    found = rules_by_identity(report)
    assert found == planted.EXPECTED  # no other identity, no identity-less finding, no extra rule
    assert not set(planted.CLEAN) & set(found)


def test_live_collection_only_reads_and_never_keeps_key_material(live):
    received = live["received"]
    assert "grpc ListServiceAccounts" in received and any("searchAllIamPolicies" in e for e in received)
    assert [e for e in received if not is_read(e)] == []
    assert "privateKeyData" not in json.dumps(live["report"])


def test_each_category_has_its_evidence(live):
    report = live["report"]
    key = f"projects/{P}/serviceAccounts/{{}}/keys/{{}}"
    assert one(report, "cred-too-old", planted.SCORER)["credential_id"] == key.format(planted.SCORER,
                                                                                         planted.K_SCORER)
    assert one(report, "cred-no-expiry", planted.REPORTER)["credential_id"] == key.format(planted.REPORTER,
                                                                                             planted.K_REPORTER)
    unused = one(report, "cred-unused", planted.LEGACY)
    assert unused["evidence"]["days_unused"] == 150 and unused["evidence"]["never_used"] is False
    assert one(report, "ai-undeclared", planted.SHADOW)["severity"] == "high"
    reused = one(report, "identity-reused-across-integrations", planted.SHARED)
    assert sorted(reused["evidence"]["listed_by"]) == ["email-drafter", "faq-bot"]
    crossing = one(report, "env-reaches-production", planted.NOTEBOOK)["evidence"]
    assert crossing["systems"] == ["prod-features"] and crossing["environment"] == "prod"
    compute = one(report, "gcp-default-compute-sa-editor", planted.COMPUTE)
    assert compute["severity"] == "critical"  # a VM runs as it
    federated = one(report, "trust-federated-unconstrained", planted.DEPLOYER)
    assert f"{planted.POOL}/providers/github-actions" in federated["message"]
    public = one(report, "trust-any-principal", planted.PUBLIC)
    assert "allAuthenticatedUsers" in public["message"]
    [escalation] = [f for f in report["findings"] if f["rule_id"] == "privesc-single-step"
                    and f["identity"]["id"] == planted.IAM_AUTOMATION]
    assert escalation["evidence"]["technique"] == "gcp-set-project-iam-policy"
    assert escalation["severity"] == "critical" and escalation["evidence"]["to_admin"] is True
    assert "roles/resourcemanager.projectIamAdmin" in one(report, "gcp-broad-role", planted.IAM_AUTOMATION)["message"]


def test_scope_drift_through_impersonation_names_every_hop(live):
    drift = one(live["report"], "scope-forbidden-system", planted.TRIAGE)
    evidence = drift["evidence"]
    assert drift["integration"] == "ticket-triage" and evidence["system"] == "customer-pii"
    assert evidence["via_chain"] is True and evidence["hops"] == 2
    first, second = evidence["path"]
    assert first.startswith(f"identity:{planted.TRIAGE} -[can_impersonate]-> identity:{planted.ETL}")
    assert "roles/iam.serviceAccountTokenCreator" in first
    assert second.startswith(f"identity:{planted.ETL} -[can_reach:read]-> system:customer-pii")
    assert f"buckets/{planted.BUCKET_PII}" in second
    # Minting etl-runner's tokens is itself reported as an escalation (to a non-admin target).
    techniques = {f["evidence"]["technique"] for f in live["report"]["findings"]
                  if f["rule_id"] == "privesc-single-step" and f["identity"]["id"] == planted.TRIAGE}
    assert techniques == {"gcp-get-access-token", "gcp-sign-jwt"}


def test_explain_shows_the_impersonation_hop(live):
    result = live["explain"]
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["target_kind"] == "integration"
    [path] = data["paths"]
    assert path["identity"]["id"] == planted.TRIAGE
    pii = next(r for r in path["reach"] if r["system"] == "customer-pii")
    assert pii["verdict"] == "must_not_reach" and pii["via_chain"] is True
    assert [(h["kind"], h["target_label"]) for h in pii["hops"]] == [("can_impersonate", "etl-runner"),
                                                                      ("can_reach", "customer-pii")]
    assert "roles/iam.serviceAccountTokenCreator" in pii["hops"][0]["reason"]
    table = live["table"]
    assert table.exit_code == 0, table.output
    assert "triage-bot --[can_impersonate]--> etl-runner" in table.output
    assert "scope-forbidden-system" in table.output


# ---- import of the same estate ---------------------------------------------------------------------------

def test_import_of_the_gcloud_exports_gives_the_same_findings(live, imported):
    report = imported["report"]
    assert imported["code"] == 1, imported["output"]
    assert report["collection"]["complete"], report["collection"]
    [source] = report["collection"]["sources"]
    assert (source["account"], source["method"]) == (P, "import") and "not imported" not in source["detail"]
    assert source["ancestors"] == [planted.FOLDER, planted.ORG]
    assert keyed(report) == keyed(live["report"])
    assert rules_by_identity(report) == planted.EXPECTED
    # Beyond the fingerprints: severity, message and evidence of every finding are the same too (the policy
    # file's location differs: each scan writes its own copy).
    def content(r: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in f.items() if k != "policy_location"} for f in r["findings"]]

    assert content(report) == content(live["report"])


def test_explain_from_the_exports_matches_live(live, imported):
    result = invoke("explain", "ticket-triage", *imported["args"], "--policy",
                    str(imported["tmp"] / "planted-policy.yaml"), "--as-of", planted.AS_OF, "--format", "json")
    assert result.exit_code == 0, result.output
    from_files, from_live = json.loads(result.stdout), json.loads(live["explain"].stdout)
    assert from_files["paths"] == from_live["paths"]


# ---- a service account of another project ----------------------------------------------------------------

def test_a_dev_project_service_account_reaching_a_prod_bucket(tmp_path):
    """The prod bucket's binding names the dev project's service account: the grant is attached to it when
    both projects are collected (live) or imported, with the same findings either way."""
    fake, policy = planted.cross_project_fake()
    (tmp_path / "planted-policy.yaml").write_text(policy, encoding="utf-8")

    def scan_with(name: str, *source: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        out = tmp_path / f"{name}.json"
        result = invoke("scan", *source, "--policy", str(tmp_path / "planted-policy.yaml"), "--format", "json",
                        "--as-of", planted.AS_OF, "-o", str(out), "--quiet", env=env)
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["collection"]["complete"], result.output
        return report

    with GcpServers(fake) as servers:
        live = scan_with("live", "--gcp-project", P, "--gcp-project", planted.DEV_PROJECT, env=servers.env)
    imported = scan_with("import", *planted.write_exports(tmp_path / "exports", fake))
    expected = {k: v for k, v in planted.EXPECTED.items() if k != planted.NOTEBOOK}
    expected[planted.DEV_NOTEBOOK] = {"env-reaches-production"}
    assert rules_by_identity(live) == expected
    crossing = one(live, "env-reaches-production", planted.DEV_NOTEBOOK)["evidence"]
    assert crossing["path"][0].startswith(f"identity:{planted.DEV_NOTEBOOK} -[can_reach:read]-> system:prod-features")
    assert keyed(imported) == keyed(live)
