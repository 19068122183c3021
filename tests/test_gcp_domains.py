"""The organisation's GCP domains (--gcp-domain, defaults.gcp.domains) and principals outside them, through
the real CLI on imported gcloud exports; and the demo's GCP project built from its recorded exports."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[1]
P, NUMBER = "acme-ai", "555566667777"
AGENT = f"agent@{P}.iam.gserviceaccount.com"
ENDPOINT = f"//aiplatform.googleapis.com/projects/{P}/locations/us-central1/endpoints/42"
AS_OF = "2026-11-28"


def _files(tmp_path: Path) -> list[str]:
    """A planted project: a service account and bindings naming users, groups, domains and the public."""
    sas = [{"displayName": "Agent", "email": AGENT, "etag": "MDEwMjE5MjA=",
            "name": f"projects/{P}/serviceAccounts/{AGENT}", "oauth2ClientId": "1049182736455", "projectId": P,
            "uniqueId": "1049182736455"}]
    project_policy = {"version": 3, "etag": "BwYhH3kTn1s=", "bindings": [
        # AI use: a partner's user (outside), an own group and a subdomain's user (inside).
        {"role": "roles/aiplatform.user",
         "members": ["group:ml@acme.com", "user:a@eu.acme.com", "user:contractor@partner.example"]},
        # AI use that expired before --as-of: grants nothing.
        {"role": "roles/aiplatform.user", "members": ["user:old@gmail.com"],
         "condition": {"title": "until 2026", "expression": 'request.time < timestamp("2026-01-01T00:00:00Z")'}},
        # Editor: overbroad, and act-as on the project's service accounts (reported as such, not as AI use).
        {"role": "roles/editor", "members": ["user:x@gmail.com"]},
        {"role": "roles/viewer", "members": ["user:y@gmail.com"]},
        {"role": "roles/aiplatform.user", "members": [f"serviceAccount:{AGENT}"]},
    ]}
    sa_policy = {"version": 1, "etag": "BwYhH3kTn1t=", "bindings": [
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:dev@gmail.com", "user:ops@acme.com"]}]}
    assets = [{"assetType": "aiplatform.googleapis.com/Endpoint", "project": f"projects/{NUMBER}",
               "resource": ENDPOINT, "policy": {"bindings": [
                   {"role": "roles/aiplatform.user", "members": ["allAuthenticatedUsers"]}]}}]
    out = []
    for name, data in (("sas.json", sas), ("project.json", project_policy), ("sa.json", sa_policy),
                       ("assets.json", assets)):
        (tmp_path / name).write_text(json.dumps(data, indent=2), encoding="utf-8")
    out += ["--import", str(tmp_path / "sas.json"), "--import", str(tmp_path / "assets.json"),
            "--import", f"{P}={tmp_path / 'project.json'}", "--import", f"{AGENT}={tmp_path / 'sa.json'}"]
    return out


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False)


def scan(tmp_path: Path, *extra: str) -> dict:
    result = run("scan", *_files(tmp_path), "--as-of", AS_OF, "--format", "json", "--fail-on", "none", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def found(report: dict, rule: str) -> dict[str, dict]:
    """Findings of a rule by the principal their message starts with."""
    return {f["message"].split(" ", 1)[0]: f for f in report["findings"] if f["rule_id"] == rule}


def test_without_domains_only_the_public_is_outside(tmp_path):
    report = scan(tmp_path)
    assert not found(report, "trust-outside-domain")
    ai = found(report, "trust-outside-ai-use")
    assert list(ai) == ["allAuthenticatedUsers"]
    public = ai["allAuthenticatedUsers"]
    assert public["severity"] == "critical" and public["identity"] is None and public["category"] == "risky-trust"
    assert public["evidence"]["resource"] == ENDPOINT
    assert "aiplatform.endpoints.predict" in public["evidence"]["ai_actions"]
    assert "any Google account" in public["message"]


def test_gcp_domain_applies_to_imports_without_live_collection(tmp_path):
    report = scan(tmp_path, "--gcp-domain", "ACME.com")  # case-insensitive; no --gcp, no credentials needed
    ai = found(report, "trust-outside-ai-use")
    # Own group and a subdomain's user are inside; the expired binding grants nothing; Editor is overbroad
    # access reported through act-as below, not AI use; Viewer grants no AI use.
    assert sorted(ai) == ["allAuthenticatedUsers", "user:contractor@partner.example"]
    partner = ai["user:contractor@partner.example"]
    assert partner["severity"] == "high"
    assert partner["evidence"]["role"] == "roles/aiplatform.user" and partner["evidence"]["resource"] == f"projects/{P}"
    assert "outside the organisation's domains" in partner["message"]
    act_as = found(report, "trust-outside-domain")
    assert sorted(act_as) == ["user:dev@gmail.com", "user:x@gmail.com"]
    assert all(f["identity"]["id"] == AGENT for f in act_as.values())
    assert report["collection"]["sources"][0]["method"] == "import"


def test_gcp_domain_equals_the_policy_defaults(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ndefaults:\n  gcp:\n    domains: [acme.com]\n", encoding="utf-8")
    by_option = scan(tmp_path, "--gcp-domain", "acme.com")
    by_policy = scan(tmp_path, "--policy", str(policy))
    both = scan(tmp_path, "--policy", str(policy), "--gcp-domain", "acme.com")
    prints = [sorted(f["fingerprint"] for f in r["findings"] if f["rule_id"].startswith("trust-"))
              for r in (by_option, by_policy, both)]
    assert prints[0] == prints[1] == prints[2] and prints[0]


def _explained_rules(text: str) -> set[str]:
    data = json.loads(text)
    return {f["rule_id"] for path in data["paths"] for f in path["findings"]} | {
        f["rule_id"] for f in data["other_findings"]}


def test_explain_and_graph_take_the_domain(tmp_path):
    files = _files(tmp_path)
    explained = run("explain", AGENT, *files, "--as-of", AS_OF, "--format", "json", "--gcp-domain", "acme.com")
    assert explained.exit_code == 0, explained.output
    assert "trust-outside-domain" in _explained_rules(explained.stdout)
    without = run("explain", AGENT, *files, "--as-of", AS_OF, "--format", "json")
    assert "trust-outside-domain" not in _explained_rules(without.stdout)
    graph = run("graph", *files, "--as-of", AS_OF, "--gcp-domain", "acme.com")
    assert graph.exit_code == 0, graph.output


@pytest.mark.parametrize("command", ["scan", "explain", "graph"])
def test_a_malformed_domain_is_a_usage_error(tmp_path, command):
    args = [command, *(["x"] if command == "explain" else []), *_files(tmp_path), "--gcp-domain", "not a domain"]
    result = run(*args)
    assert result.exit_code == 2
    assert "--gcp-domain: not a domain name" in result.output


def test_binding_principals_are_kept_in_the_snapshot(tmp_path):
    out = tmp_path / "snap.json"
    result = run("collect", *_files(tmp_path), "-o", str(out))
    assert result.exit_code == 0, result.output
    policies = {p.id: p for p in load_snapshot(out).policies}
    ai = policies[f"binding:projects/{P}:roles/aiplatform.user"]
    # Service accounts hold the policy through policy_ids; every other member is kept, sorted.
    assert ai.principals == ("group:ml@acme.com", "user:a@eu.acme.com", "user:contractor@partner.example")
    assert policies[f"binding:{ENDPOINT}:roles/aiplatform.user"].principals == ("allAuthenticatedUsers",)


# --- the demo -------------------------------------------------------------------------------------------

DEMO = ROOT / "examples" / "demo"
GCP_DEMO = ROOT / "fixtures" / "gcp" / "demo"


def _build_demo():
    spec = importlib.util.spec_from_file_location("build_demo", DEMO / "build_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def test_demo_snapshot_is_current_and_its_gcp_part_is_the_import_of_the_fixtures(tmp_path):
    built = _build_demo()
    assert built.model_dump(mode="json") == load_snapshot(DEMO / "snapshot.json").model_dump(mode="json"), (
        "run: .venv/bin/python examples/demo/build_demo.py")
    out = tmp_path / "gcp.json"
    result = run("collect", "--import", str(GCP_DEMO),
                 "--import", f"acme-ml-prod={GCP_DEMO / 'targeted' / 'project-iam-policy.json'}", "-o", str(out))
    assert result.exit_code == 0, result.output
    imported = load_snapshot(out)
    assert imported.complete
    gcp = [i for i in built.identities if i.provider == "gcp"]
    assert gcp == imported.identities
    assert [c for c in built.credentials if c.provider == "gcp"] == imported.credentials
    assert [p for p in built.policies if p.provider == "gcp"] == imported.policies
    (source,) = [s for s in built.sources if s.provider == "gcp"]
    assert source.method == "demo" and source.ancestors == ("folders/445566778899", "organizations/987654321098")


def test_demo_shows_the_gcp_story():
    result = run("scan", "--snapshot", str(DEMO / "snapshot.json"), "--policy", str(DEMO / "policy.yaml"),
                 "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    named = {(f["rule_id"], (f["identity"] or {}).get("name")) for f in findings}
    assert {("cred-too-old", "vertex-summariser"), ("ai-undeclared", "batch-scorer")} <= named
    outside = found({"findings": findings}, "trust-outside-ai-use")
    assert list(outside) == ["user:ml-contractor@gmail.com"]
    # System-managed keys are listed but never static credentials.
    assert not [f for f in findings if f["credential_id"] and "/keys/a9c7" in f["credential_id"]]


def test_principal_facts_are_the_documented_ones():
    from datetime import date

    from nhiaudit.analysis import prepare
    from nhiaudit.facts.gcp_facts import principal_facts
    from nhiaudit.facts.schema import FACTS, SHAPES, SubjectKind
    from nhiaudit.policy.loader import load_policy

    snapshot = load_snapshot(DEMO / "snapshot.json")
    ctx = prepare(snapshot, load_policy(DEMO / "policy.yaml"), date(2026, 11, 28), gcp_domains=("Partner.example",))
    assert ctx.gcp_domains == ("acme.example", "partner.example")
    subjects = principal_facts(ctx)
    assert [s["principal"] for s in subjects] == ["group:ml-platform@acme.example", "user:ml-contractor@gmail.com"]
    for subject in subjects:
        assert set(subject) == set(FACTS[SubjectKind.PRINCIPAL])
        assert all(set(g) == set(SHAPES[SubjectKind.PRINCIPAL]["grants"]) for g in subject["grants"])
    group, contractor = subjects
    assert (group["type"], group["outside_domains"], group["grants"][0]["ai_actions"]) == ("group", False, [])
    assert contractor["outside_domains"] and contractor["domain"] == "gmail.com"
    assert contractor["grants"][0]["role"] == "roles/aiplatform.user" and not contractor["grants"][0]["act_as"]
