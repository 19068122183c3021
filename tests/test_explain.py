"""`nhiaudit explain` on the demo estate, through the real CLI (CliRunner) and the explain package."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.errors import UsageError
from nhiaudit.explain.build import can_reach, explain
from nhiaudit.explain.inputs import prepare_inputs
from nhiaudit.explain.render import render
from nhiaudit.explain.target import resolve, resolve_system
from nhiaudit.graph.model import NodeKind
from nhiaudit.inventory.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
SNAPSHOT, POLICY = DEMO / "snapshot.json", DEMO / "policy.yaml"
AS_OF = "2026-11-28"
COPILOT = "arn:aws:iam::111122223333:role/support-copilot"
ANALYTICS = "arn:aws:iam::111122223333:role/analytics-reader"
INPUTS = ["--snapshot", str(SNAPSHOT), "--policy", str(POLICY), "--as-of", AS_OF]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), ["explain", *args, *INPUTS])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def prepared():
    return prepare_inputs(load_snapshot(SNAPSHOT), POLICY, [], date.fromisoformat(AS_OF), with_findings=True)


def assert_copilot_chain(hops: list[dict]) -> None:
    """support-copilot -> (can_assume) analytics-reader -> (can_reach read) customer-pii, each hop with
    the statement or trust policy that allows it."""
    assert [(h["source_label"], h["kind"], h["target_label"]) for h in hops] == [
        ("support-copilot", "can_assume", "analytics-reader"),
        ("analytics-reader", "can_reach", "customer-pii"),
    ]
    assert hops[0]["source"] == f"identity:{COPILOT}" and hops[0]["target"] == f"identity:{ANALYTICS}"
    assert '"AssumeAnalytics" allows sts:AssumeRole' in hops[0]["reason"]
    assert f"trust policy of {ANALYTICS}" in hops[0]["reason"]
    assert hops[1]["access"] == "read"
    assert '"ReadPiiExports" allows s3:GetObject' in hops[1]["reason"]


def test_explain_agent_shows_the_forbidden_chain_hop_by_hop():
    code, out, err = run("support-copilot", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["target_kind"], data["target"]) == ("integration", "support-copilot")
    (path,) = data["paths"]
    assert path["identity"]["id"] == COPILOT
    assert [w["kind"] for w in path["workloads"]] == ["lambda"]
    entry_line = POLICY.read_text().splitlines().index("  - name: support-copilot") + 1
    assert path["task"]["policy_line"] == entry_line
    assert path["task"]["declared"] and path["task"]["owner"] == "support-eng@acme.example"
    assert path["task"]["purpose"] == "drafts replies to support tickets"
    assert path["task"]["environment"] == "prod"
    assert path["can_invoke_ai"] and path["ai_access"]
    reach = {r["system"]: r for r in path["reach"]}
    assert set(reach) == {"customer-pii", "bedrock-models", "support-tickets"}
    pii = reach["customer-pii"]
    assert (pii["verdict"], pii["access"], pii["via_chain"]) == ("must_not_reach", "read", True)
    assert_copilot_chain(pii["hops"])
    assert reach["bedrock-models"]["verdict"] == "allowed"
    assert path["reach"][0]["system"] == "customer-pii"  # worst verdict first
    assert "scope-forbidden-system" in {f["rule_id"] for f in path["findings"]}
    assert data["findings_included"] is True


def test_explain_table_and_markdown_show_each_hop_with_its_reason():
    code, out, _ = run("support-copilot")
    assert code == 0
    assert "support-copilot --[can_assume]--> analytics-reader" in out
    assert "analytics-reader --[can_reach: read]--> customer-pii" in out
    assert "must_not_reach" in out and "because" in out and "AssumeAnalytics" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal
    code, md, _ = run("support-copilot", "--format", "markdown")
    assert code == 0
    assert "**customer-pii** — read, through a chain of 2 hops — **must_not_reach**" in md
    assert "1. `support-copilot` → *can\\_assume* → `analytics-reader`" in md
    assert "2. `analytics-reader` → *can\\_reach: read* → `customer-pii`" in md


def test_can_reach_lists_the_agent_and_its_path():
    code, out, err = run("--can-reach", "customer-pii", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["system"] == "customer-pii"
    by_id = {r["identity"]["id"]: r for r in data["identities"]}
    copilot = by_id[COPILOT]
    assert copilot["verdict"] == "must_not_reach"
    assert copilot["integrations"] == [{"integration": "support-copilot", "verdict": "must_not_reach"}]
    assert_copilot_chain(copilot["hops"])
    assert by_id[ANALYTICS]["via_chain"] is False and by_id[ANALYTICS]["verdict"] == "undeclared"
    assert data["integrations"] == [{"integration": "support-copilot", "verdict": "must_not_reach",
                                     "identities": [COPILOT]}]
    assert data["identities"][0]["identity"]["id"] == COPILOT  # worst verdict first
    code, table, _ = run("--can-reach", "pii")  # unique fragment of a system name
    assert code == 0
    assert "who can reach customer-pii" in table and "support-copilot --[can_assume]--> analytics-reader" in table


def test_reverse_query_for_one_system_equals_the_full_graph(prepared):
    """--can-reach evaluates reach edges for the asked system only; the answer must not change."""
    narrowed = prepare_inputs(load_snapshot(SNAPSHOT), POLICY, [], date.fromisoformat(AS_OF),
                              with_findings=False, only_system="customer-pii")
    assert list(narrowed.context.policy.systems) == ["customer-pii"]
    full = can_reach(prepared.context, "customer-pii").to_dict()
    assert can_reach(narrowed.context, narrowed.system).to_dict() == full
    assert len(full["identities"]) == 4


def test_credential_view_static_forbidden_and_task(prepared):
    target = resolve(prepared.context.estate, "report-bot")
    assert (target.kind, target.key) == (NodeKind.IDENTITY, "arn:aws:iam::111122223333:user/report-bot")
    expl = explain(prepared.context, target, prepared.findings)
    (path,) = expl.paths
    (cred,) = path.credentials
    assert (cred.type, cred.static, cred.forbidden) == ("access_key", True, True)
    assert cred.age_days is not None and cred.expires is None and cred.last_used is not None
    assert any("forbidden for integration weekly-report" in n for n in cred.policy_notes)
    assert path.task.integration == "weekly-report"
    assert {f.rule_id for f in path.findings} >= {"static-key-forbidden"}
    text = render(expl, "table")
    assert "FORBIDDEN" in text and "access_key AKIADEMOREPORTBOT001" in text


def test_undeclared_identity_is_marked_undeclared(prepared):
    target = resolve(prepared.context.estate, "data-science-notebook")
    expl = explain(prepared.context, target, prepared.findings)
    (path,) = expl.paths
    assert path.task.declared is False and path.can_invoke_ai
    assert {r.verdict for r in path.reach} == {"undeclared"}
    assert "undeclared" in render(expl, "table")


def test_integration_without_identities_lists_its_policy_findings(prepared):
    expl = explain(prepared.context, resolve(prepared.context.estate, "legacy-chatbot"), prepared.findings)
    assert expl.paths == ()
    assert any("old-chatbot" in n for n in expl.notes)
    assert {f.rule_id for f in expl.other_findings} == {"policy-unknown-identity"}


@pytest.mark.parametrize(("text", "kind", "key"), [
    ("support-copilot", NodeKind.INTEGRATION, "support-copilot"),  # integration beats the role's name
    (COPILOT, NodeKind.IDENTITY, COPILOT),
    (f"identity:{COPILOT}", NodeKind.IDENTITY, COPILOT),  # the graph node id picks the kind
    ("0b7e5a52-6d1f-4c1e-8b0e-5c3a9d2f4e61", NodeKind.IDENTITY, "0b7e5a52-6d1f-4c1e-8b0e-5c3a9d2f4e61"),
    ("VERTEX-SUMMARISER@", NodeKind.IDENTITY, "vertex-summariser@acme-ml-prod.iam.gserviceaccount.com"),
    ("copilot", NodeKind.INTEGRATION, "support-copilot"),  # the integration and only the identity it binds
])
def test_target_resolution(prepared, text, kind, key):
    target = resolve(prepared.context.estate, text)
    assert (target.kind, target.key) == (kind, key)


def test_ambiguous_and_unknown_targets_exit_2_with_candidates():
    code, out, err = run("acme-ml-prod")
    assert code == 2 and out == ""
    assert "matches 2 targets" in err
    assert "vertex-summariser@acme-ml-prod.iam.gserviceaccount.com" in err
    assert "batch-scorer@acme-ml-prod.iam.gserviceaccount.com" in err
    code, _, err = run("no-such-thing")
    assert code == 2 and "no identity or integration matches 'no-such-thing'" in err
    code, _, err = run("--can-reach", "nowhere")
    assert code == 2 and "systems in the policy: azure-openai, bedrock-models" in err
    code, _, err = run("--can-reach", "s")  # several systems contain an "s"
    assert code == 2 and "give the full name" in err


def test_target_and_can_reach_are_exclusive():
    assert run()[0] == 2
    code, _, err = run("support-copilot", "--can-reach", "customer-pii")
    assert code == 2 and "not both" in err


def test_resolve_system_without_systems():
    from nhiaudit.policy.model import EMPTY_POLICY

    with pytest.raises(UsageError, match="declares no systems"):
        resolve_system(EMPTY_POLICY, "customer-pii")


def test_no_findings_skips_the_rules(tmp_path):
    out_file = tmp_path / "explain.json"
    code, out, _ = run("support-copilot", "--no-findings", "--format", "json", "--output", str(out_file))
    assert code == 0 and out == ""
    data = json.loads(out_file.read_text())
    assert data["findings_included"] is False and data["paths"][0]["findings"] == []
    assert data["paths"][0]["reach"][0]["verdict"] == "must_not_reach"


def test_incomplete_collection_still_answers_and_exits_3(tmp_path):
    from nhiaudit.inventory.model import CollectionIssue, Provider

    issue = CollectionIssue(provider=Provider.AWS, account="111122223333", operation="ListRoles",
                            message="AccessDenied", missing="roles")
    partial = load_snapshot(SNAPSHOT).model_copy(update={"collection_issues": [issue]})
    path = tmp_path / "partial.json"
    partial.write(path)
    result = CliRunner().invoke(build_app(), ["explain", "--can-reach", "customer-pii", "--snapshot", str(path),
                                              "--policy", str(POLICY), "--as-of", AS_OF, "--format", "json"])
    assert result.exit_code == 3
    assert COPILOT in {r["identity"]["id"] for r in json.loads(result.stdout)["identities"]}
    assert "collection incomplete" in result.stderr
