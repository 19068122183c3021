"""`nhiaudit enforce` on the planted GCP project (gcp_planted, served by the in-test gRPC and REST servers and
collected through the real clients): IAM deny policies and conditional bindings, their verification by
re-analysis (what closes; a project-level deny that would also cut a may_reach bucket in use is left out, or,
when it alone closes a forbidden reach, written and failing on the loss: LOSES, exit 1), then the loop a user
runs: apply them to the servers (the command never applies anything), collect the project again, scan it,
and find exactly what the verification predicted."""

from __future__ import annotations

import json
from pathlib import Path

import gcp_planted as planted
import pytest
from enforce_cloud_support import access, checks, cli, enforce_json, findings, of_kind, scan, validate_schema, write
from gcp_support import GcpServers, binding

P, AS_OF = planted.P, planted.AS_OF
DENY, BINDING = "gcp-deny-policy", "gcp-conditional-binding"

# Buckets written with their project: a deny on the project then covers them (gcp_names: a bucket written
# `projects/_/buckets/B` lies beneath no project). ml-sandbox reads a may_reach bucket of the same project as
# the one it must not reach: a project-level deny would take both, so none is written for it.
POLICY = f"""\
    version: 1
    systems:
      vertex:
        kind: ai-model
        resources: ["//aiplatform.googleapis.com/projects/{P}/locations/*/endpoints/*"]
      customer-pii:
        kind: data
        environment: prod
        classification: restricted
        resources: ["//storage.googleapis.com/projects/{P}/buckets/acme-pii*"]
      prod-features:
        kind: data
        environment: prod
        resources: ["//storage.googleapis.com/projects/{P}/buckets/{planted.BUCKET_FEATURES}"]
    integrations:
      - name: support-agent
        environment: prod
        identities: ["{planted.AGENT}"]
        may_reach: [vertex]
        must_not_reach: [customer-pii]
      - name: features-export
        environment: prod
        identities: ["{planted.ETL}"]
        may_reach: [prod-features]
        must_not_reach: [customer-pii]
      - name: ml-sandbox
        environment: prod
        identities: ["{planted.NOTEBOOK}"]
        may_reach: [prod-features]
        must_not_reach: [customer-pii]
    """


def collect(tmp: Path, env: dict[str, str], name: str) -> Path:
    out = tmp / name
    result = cli("collect", "--gcp", "--gcp-project", P, "-o", str(out), env=env)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("enforce-gcp")
    fake = planted.planted_fake()
    with GcpServers(fake) as servers:
        before = collect(tmp, servers.env, "before.json")
        policy = write(tmp / "policy.yaml", POLICY)
        code, data, output = enforce_json(before, policy, AS_OF)
        yield {"tmp": tmp, "fake": fake, "env": servers.env, "before": before, "policy": policy, "code": code,
               "data": data, "output": output}


def test_deny_policy_per_integration_on_the_project_of_the_forbidden_bucket(estate):
    data = estate["data"]
    denies = of_kind(data, DENY)
    assert set(denies) == {f"nhiaudit-gcp-deny-{n}" for n in ("features-export", "support-agent")}
    g = denies["nhiaudit-gcp-deny-features-export"]
    assert g["attachment"] == f"projects/{P}" and g["denies"] == ["customer-pii"]
    assert g["document"]["rules"] == [{"denyRule": {
        "deniedPrincipals": [f"principal://iam.googleapis.com/projects/-/serviceAccounts/{planted.ETL}"],
        "deniedPermissions": ["storage.googleapis.com/*"]}}]
    assert any("gcloud iam policies create nhiaudit-gcp-deny-features-export --attachment-point=cloudresourcemanager"
               f".googleapis.com/projects/{P} --kind=denypolicies" in n for n in g["notes"])
    assert validate_schema(data) == []


def test_scope_wide_role_is_narrowed_by_an_iam_condition(estate):
    bindings = of_kind(estate["data"], BINDING)
    (g,) = [g for g in bindings.values() if g["integrations"] == ["support-agent"]]
    assert g["document"] == {
        "resource": f"projects/{P}",
        "add": {"role": "roles/aiplatform.user", "members": [f"serviceAccount:{planted.AGENT}"],
                "condition": {"title": "nhiaudit-may-reach",
                              "description": "nhiaudit enforce: may_reach of support-agent",
                              "expression": f'resource.name.startsWith("projects/{P}/locations/")'}},
        "remove": {"role": "roles/aiplatform.user", "members": [f"serviceAccount:{planted.AGENT}"], "condition": None}}
    assert g["replaces"] == [f"binding:projects/{P}:roles/aiplatform.user"]


def test_verification_closes_the_drift_and_no_deny_takes_a_may_reach_bucket_in_use(estate):
    data = estate["data"]
    found = checks(data)
    export = found["nhiaudit-gcp-deny-features-export"]
    assert export["holds"] and any(c.startswith("scope-forbidden-system:") for c in export["closed"])
    assert export["removed"] == [{"identity": planted.ETL, "system": "customer-pii", "before": "read", "after": None,
                                  "via_chain": False}]
    # etl-runner does not use prod-features today: the deny is written, its note says what it would also deny
    note = next(n for n in data["guardrails"]["nhiaudit-gcp-deny-features-export"]["notes"] if "matchTag" in n)
    assert "may_reach prod-features beneath projects/acme-ml, which its identities do not use today" in note
    assert "resource.matchTag('ORG_ID/nhiaudit-system', 'customer-pii')" in note
    # notebook-dev reads prod-features: a deny on the project would cut it, and it reaches no PII: left out, said
    assert "nhiaudit-gcp-deny-ml-sandbox" not in data["guardrails"]
    (left_out,) = [n for n in data["skipped"] if n.startswith("ml-sandbox: ")]
    assert (f"//storage.googleapis.com/projects/{P}/buckets/acme-pii* (customer-pii): no deny written: one on "
            f"projects/{P} would also cut may_reach prod-features, which its identities use today") in left_out
    assert "resource.matchTag('ORG_ID/nhiaudit-system', 'customer-pii')" in left_out
    agent = [c for name, c in found.items() if name.startswith("nhiaudit-binding-support-agent")]
    assert agent and all(c["holds"] and not c["lost"] for c in agent)  # vertex kept under the condition
    assert all(not c["lost"] for c in found.values())
    assert estate["code"] == 0 and data["verification"]["verified"]

    plan = cli("enforce", "--snapshot", str(estate["before"]), "--policy", str(estate["policy"]), "--as-of", AS_OF)
    assert "LOSES" not in plan.stdout and "- not covered: ml-sandbox: " in plan.stdout
    assert "no gcp guardrail is generated yet" not in plan.stdout.lower()


def test_a_deny_that_alone_closes_a_forbidden_reach_is_written_and_fails_on_the_loss(estate):
    """etl-runner reads the PII bucket through its own binding there, notebook-dev reads prod-features: one
    integration declaring both gets a project-level deny (the only guardrail that closes etl-runner's reach),
    which also cuts notebook-dev's prod-features: the loss fails the verification instead of passing."""
    shared = POLICY.split("      - name: ml-sandbox")[0].replace(
        f'identities: ["{planted.ETL}"]', f'identities: ["{planted.ETL}", "{planted.NOTEBOOK}"]')
    assert planted.NOTEBOOK in shared and "ml-sandbox" not in shared
    policy = write(estate["tmp"] / "policy-shared.yaml", shared)
    code, data, output = enforce_json(estate["before"], policy, AS_OF)
    name = "nhiaudit-gcp-deny-features-export"
    check = checks(data)[name]
    assert check["removed"] == [{"identity": planted.ETL, "system": "customer-pii", "before": "read", "after": None,
                                 "via_chain": False}]
    assert check["lost"] == [{"identity": planted.NOTEBOOK, "system": "prod-features", "before": "read",
                              "after": None, "via_chain": False}]
    assert not check["holds"] and check["remaining"] == []
    assert code == 1 and not data["verification"]["verified"] and f"verification fails for {name}" in output
    assert any(n.startswith("also cuts may_reach prod-features, which its identities use today: written all the "
                            "same") for n in data["guardrails"][name]["notes"])
    assert validate_schema(data) == []
    plan = cli("enforce", "--snapshot", str(estate["before"]), "--policy", str(policy), "--as-of", AS_OF).stdout
    assert f"    LOSES (allowed by may_reach): {planted.NOTEBOOK}: prod-features read -> none" in plan
    assert "    FAILS on the loss: the written policy allows that access; the guardrail cannot keep it" in plan
    assert f"verification: FAILS for {name}" in plan


def test_unfixable_chain_and_unknown_bucket_project_are_reported_not_hidden(estate):
    """The stock planted policy: buckets written `projects/_/...` (no project to attach to) and ticket-triage,
    which reaches the PII bucket by minting etl-runner's tokens: a deny on triage-bot cannot stop etl-runner."""
    policy = planted.write_policy(estate["tmp"])
    code, data, output = enforce_json(estate["before"], policy, AS_OF)
    triage = checks(data)["nhiaudit-gcp-deny-ticket-triage"]
    assert code == 1 and not triage["holds"]
    assert triage["remaining"] == ["scope-forbidden-system: ticket-triage (triage-bot) can reach forbidden system "
                                   "customer-pii with read access"]
    assert any("names no project" in n for n in data["guardrails"]["nhiaudit-gcp-deny-ticket-triage"]["notes"])
    assert "verification fails for nhiaudit-gcp-deny-ticket-triage" in output


def _apply(fake, data) -> None:
    """What a user's pipeline does with the JSON output: create the deny policies, swap the bindings."""
    for g in of_kind(data, DENY).values():
        point = g["attachment"]
        fake.deny.setdefault(point, []).append({
            "name": f"policies/cloudresourcemanager.googleapis.com%2F{point.replace('/', '%2F')}/denypolicies/"
                    f"{g['name']}", "kind": "DenyPolicy", "displayName": g["document"]["displayName"],
            "etag": "MQ==", "rules": g["document"]["rules"]})
    for g in of_kind(data, BINDING).values():
        doc = g["document"]
        policy = fake.scope_policies[doc["resource"]]
        for b in policy["bindings"]:
            if b["role"] == doc["remove"]["role"] and "condition" not in b:
                b["members"] = [m for m in b["members"] if m not in doc["remove"]["members"]]
        policy["bindings"].append(binding(doc["add"]["role"], *doc["add"]["members"],
                                          condition=doc["add"]["condition"]))
        policy["version"] = 3  # conditional bindings need policy version 3


def test_applied_and_collected_again_the_scan_finds_what_verification_predicted(estate):
    data, tmp = estate["data"], estate["tmp"]
    before = scan(estate["before"], estate["policy"], AS_OF, tmp / "report-before.json")
    _apply(estate["fake"], data)
    after_file = collect(tmp, estate["env"], "after.json")
    snapshot = json.loads(after_file.read_text())
    etl = next(i for i in snapshot["identities"] if i["id"] == planted.ETL)
    assert any("/denypolicies/nhiaudit-gcp-deny-features-export" in p for p in etl["policy_ids"])  # collected back
    after = scan(after_file, estate["policy"], AS_OF, tmp / "report-after.json")

    assert "scope-forbidden-system" in findings(before, planted.ETL)
    assert "scope-forbidden-system" not in findings(after, planted.ETL)
    predicted = {(c["identity"], c["system"]): c["after"] for check in data["verification"]["checks"]
                 for c in check["removed"] + check["lost"]}
    assert predicted  # something changes, and exactly as the verification said
    for (identity, system), level in predicted.items():
        assert access(after, identity).get(system) == level, (identity, system)
    assert access(after, planted.AGENT)["vertex"] == access(before, planted.AGENT)["vertex"]
    assert access(after, planted.NOTEBOOK)["prod-features"] == access(before, planted.NOTEBOOK)["prod-features"]
    # Re-generated from the applied estate: nothing new to enforce for the drift that was closed.
    _, again, _ = enforce_json(after_file, estate["policy"], AS_OF)
    assert not checks(again)["nhiaudit-gcp-deny-features-export"]["closed"]
