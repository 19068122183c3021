"""Credentials in GCP configuration, through the real import of recorded gcloud exports (fixtures/gcp): a
service-account key file pasted into a Cloud Run service's environment (gcloud's Knative v1 shape) and an AWS
key in a Cloud Function's (v2 shape) become sightings; the key file joins to the inventory key of batch-scorer."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.gcp.sightings import gcp_sightings
from nhiaudit.inventory.snapshot import load_snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gcp"
KEY_ID = "5b7d9f1e3c5a7b9d0f2e4c6a8b0d2f4e6c8a0b2d"
SA = "batch-scorer@acme-ml-prod.iam.gserviceaccount.com"
PRIVATE = "MIIEvQCANARYgcpRUNprivateKEY"
KEY_FILE = json.dumps({"type": "service_account", "project_id": "acme-ml-prod", "private_key_id": KEY_ID,
                       "private_key": f"-----BEGIN PRIVATE KEY-----\n{PRIVATE}\n-----END PRIVATE KEY-----\n",
                       "client_email": SA})


def test_cloud_run_and_functions_environment(tmp_path):
    services = json.loads((FIXTURES / "run-services.json").read_text())
    services[0]["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "GOOGLE_CREDENTIALS", "value": KEY_FILE}, {"name": "MODEL", "value": "gemini"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "latest"}}}]
    functions = json.loads((FIXTURES / "functions.json").read_text())
    functions[0]["serviceConfig"]["environmentVariables"] = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLELEGACY001"}
    for name, data in (("run-services.json", services), ("functions.json", functions)):
        (tmp_path / name).write_text(json.dumps(data, indent=2))
    imports = [str(FIXTURES / n) for n in ("service-accounts.json", "keys-batch-scorer.json")]
    imports += [str(tmp_path / "run-services.json"), str(tmp_path / "functions.json")]
    out = tmp_path / "snap.json"
    result = CliRunner().invoke(build_app(), ["collect", *[a for i in imports for a in ("--import", i)],
                                              "-o", str(out), "--quiet"])
    assert result.exit_code in (0, 3), result.output
    assert PRIVATE not in out.read_text()
    seen = {(s.location_kind, s.field, s.key_id, s.principal) for s in load_snapshot(out).credential_sightings}
    assert seen == {
        ("cloud_run_environment", "0/GOOGLE_CREDENTIALS", KEY_ID, SA),
        ("cloud_function_environment", "AWS_ACCESS_KEY_ID", "AKIAEXAMPLELEGACY001", None)}
    scanned = CliRunner().invoke(build_app(), ["scan", "--snapshot", str(out), "--format", "json",
                                               "--fail-on", "none", "--quiet"])
    report = json.loads(scanned.stdout)
    (leak,) = [f for f in report["findings"] if f["rule_id"] == "secret-leaked-credential"]
    assert (leak["identity"]["id"], leak["credential_id"]) == (SA, f"projects/acme-ml-prod/serviceAccounts/{SA}/keys/"
                                                                   f"{KEY_ID}")
    assert leak["evidence"]["location"] == "projects/acme-ml-prod/locations/europe-west4/services/summariser"


def test_v2_service_shape_and_references():
    service = {"name": "projects/p/locations/us-central1/services/s", "template": {"containers": [
        {"name": "app", "env": [{"name": "K", "value": "AKIAEXAMPLELEGACY001"},
                                {"name": "S", "valueSource": {"secretKeyRef": {"secret": "s", "version": "1"}}}]}]}}
    (seen,) = gcp_sightings([service, copy.deepcopy({"name": "x", "template": None})], [{"name": "f"}], "p")
    assert (seen.field, seen.region, seen.account) == ("app/K", "us-central1", "p")
