"""`nhiaudit enforce` on the demo estate through the real CLI: the plan, the JSON documents, and both
promises of the verification, re-checked independently by `nhiaudit scan` of the estate with the generated
boundaries applied (not by the enforce code's own comparison).

The demo's code-review-bot reaches bedrock-models (may_reach) with admin access only by assuming deploy-admin,
which also reaches finance-ledger and support-tickets: its boundary does not allow that sts:AssumeRole, the SCP
stops deploy-admin's AI calls, and both checks fail on the loss (exit 1). Without that chain, the fix the plan
names, every check holds (exit 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from enforce_support import AS_OF, DEMO_POLICY, DEMO_SNAPSHOT, enforce, enforce_json
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.enforce.verify import CHECKED_CATEGORIES, NOT_ABOUT_REACH
from nhiaudit.inventory.model import Policy, Provider, Statement
from nhiaudit.inventory.snapshot import load_snapshot

COPILOT = "arn:aws:iam::111122223333:role/support-copilot"
REPORT_BOT = "arn:aws:iam::111122223333:user/report-bot"
CODE_REVIEW = "arn:aws:iam::444455556666:role/code-review-bot"
DEPLOY_ADMIN = "arn:aws:iam::111122223333:role/deploy-admin"
CODE_REVIEW_BOUNDARY = "nhiaudit-boundary-code-review-bot"
SCP_NAME = "nhiaudit-deny-undeclared-ai"


def demo_without_chain(tmp_path: Path) -> Path:
    """The demo estate without code-review-bot's sts:AssumeRole on deploy-admin (what its plan says to do)."""
    snapshot = load_snapshot(DEMO_SNAPSHOT)
    pid = "arn:aws:iam::444455556666:policy/code-review-bot"
    policies = [p.model_copy(update={"statements": tuple(s for s in p.statements if s.sid != "DeployToProd")})
                if p.id == pid else p for p in snapshot.policies]
    assert policies != snapshot.policies
    path = tmp_path / "demo-without-chain.json"
    path.write_text(snapshot.model_copy(update={"policies": policies}).model_dump_json())
    return path


@pytest.fixture(scope="module")
def plan() -> dict:
    code, data = enforce_json(DEMO_SNAPSHOT, DEMO_POLICY)
    assert code == 1  # code-review-bot loses may_reach access through deploy-admin: the verification fails
    return data


def test_boundary_allows_todays_actions_on_may_reach_and_denies_must_not_reach(plan):
    copilot = plan["guardrails"]["nhiaudit-boundary-support-copilot"]
    assert copilot["integrations"] == ["support-copilot"]
    assert [t["identity"] for t in copilot["targets"]] == [COPILOT]
    statements = copilot["document"]["Statement"]
    assert {"Sid": "MustNotReach", "Effect": "Deny", "Action": "*",
            "Resource": "arn:aws:s3:::acme-customer-pii*"} in statements
    allowed = {r for s in statements if s["Effect"] == "Allow"
               for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert allowed == {"arn:aws:s3:::acme-support-tickets*", "arn:aws:bedrock:*::foundation-model/*"}
    assert all(s["Action"] != "*" for s in statements if s["Effect"] == "Allow")  # never `*` on anything
    assert copilot["size"] <= copilot["limit"] == 6144 and copilot["compaction"] == "exact"


def test_scp_denies_ai_invocation_to_untagged_principals_with_the_tag_commands(plan):
    scp = plan["guardrails"]["nhiaudit-deny-undeclared-ai"]
    (statement,) = scp["document"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Resource"] == "*"
    assert {"bedrock:InvokeModel", "sagemaker:InvokeEndpoint"} <= set(statement["Action"])
    values = statement["Condition"]["StringNotEquals"]["aws:PrincipalTag/nhiaudit:integration"]
    assert "support-copilot" in values and "hr-assistant" not in values  # Azure identities: no AWS tag
    tags = {t["identity"]: t for t in plan["tags"]}
    assert tags[COPILOT]["command"] == ("aws iam tag-role --role-name support-copilot --tags "
                                        "'[{\"Key\":\"nhiaudit:integration\",\"Value\":\"support-copilot\"}]'")
    assert scp["size"] <= 5120
    check = next(c for c in plan["verification"]["checks"] if c["guardrail"] == scp["name"])
    assert check["evaluated"] is True and not check["broken"] and not check["remaining"]
    # deploy-admin, undeclared and untagged, is stopped: code-review-bot's admin reach through it goes, and the
    # check fails on that loss of may_reach access
    assert check["lost"] == [{"identity": CODE_REVIEW, "system": "bedrock-models", "before": "admin",
                              "after": "write", "via_chain": True}]
    assert check["holds"] is False
    assert check["closed"] == ["ai-undeclared: data-science-notebook can call AI models but no integration in the "
                               "policy declares it (shadow AI)"]
    # ticket-exporter calls AI as genai-worker, which is declared and tagged: no SCP can stop that
    assert [u.split(":")[0] for u in check["unclosable"]] == ["ai-undeclared-via-chain"]
    assert "in no recorded organisation" in check["note"]


def test_verification_closes_findings_and_fails_on_the_lost_may_reach_access(plan):
    checks = {c["guardrail"]: c for c in plan["verification"]["checks"] if c["evaluated"]}
    assert plan["verification"]["verified"] is False
    assert {n for n, c in checks.items() if not c["holds"]} == {CODE_REVIEW_BOUNDARY, SCP_NAME}
    assert all(not c["remaining"] for c in checks.values())
    assert all(not c["lost"] for n, c in checks.items() if n not in (CODE_REVIEW_BOUNDARY, SCP_NAME))
    assert any("customer-pii" in text for text in checks["nhiaudit-boundary-support-copilot"]["closed"])
    assert any("finance-ledger" in text for text in checks["nhiaudit-boundary-weekly-report"]["closed"])
    review = checks[CODE_REVIEW_BOUNDARY]
    assert review["lost"] == [{"identity": CODE_REVIEW, "system": "bedrock-models", "before": "admin",
                               "after": "read", "via_chain": True}]
    assert len(review["closed"]) == 3  # its drift to finance-ledger and support-tickets is closed all the same


def test_the_boundary_does_not_keep_a_chain_to_a_role_reaching_beyond_may_reach_and_names_it(plan):
    g = plan["guardrails"][CODE_REVIEW_BOUNDARY]
    assert not [s for s in g["document"]["Statement"] if "sts:AssumeRole" in json.dumps(s["Action"])]
    (note,) = [n for n in g["notes"] if "sts:AssumeRole on" in n and "does not allow" in n]
    assert note.startswith(f"does not allow sts:AssumeRole on {DEPLOY_ADMIN}, through which its identities reach "
                           "may_reach bedrock-models")
    assert "it also reaches finance-ledger, support-tickets" in note and "Limit that role to may_reach" in note


def _scan(snapshot, tmp_path) -> dict:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), ["scan", "--snapshot", str(snapshot), "--policy", str(DEMO_POLICY),
                                              "--as-of", AS_OF, "--format", "json", "--fail-on", "none",
                                              "-o", str(out), "--quiet"])
    assert out.exists(), result.output
    return json.loads(out.read_text())


def test_scan_of_the_estate_with_the_boundaries_applied_confirms_the_verification(plan, tmp_path):
    """What a re-scan after applying the Terraform would see: the same snapshot, each target's boundary set to
    the generated document (as the AWS connector records a boundary), scanned by the ordinary `scan`."""
    snapshot = load_snapshot(DEMO_SNAPSHOT)
    boundaries = {g["name"]: g for g in plan["guardrails"].values() if g["kind"] == "aws-permissions-boundary"}
    target_of = {t["identity"]: name for name, g in boundaries.items() for t in g["targets"]}
    policies = [Policy(id=f"arn:aws:iam::{g['targets'][0]['account']}:policy/{name}", provider=Provider.AWS,
                       name=name, kind="boundary", statements=tuple(
                           Statement(effect=s["Effect"], actions=tuple(_list(s["Action"])),
                                     resources=tuple(_list(s["Resource"]))) for s in g["document"]["Statement"]))
                for name, g in boundaries.items()]
    ids = {p.name: p.id for p in policies}
    applied = snapshot.model_copy(update={
        "policies": [*snapshot.policies, *policies],
        "identities": [i.model_copy(update={"boundary_policy_id": ids[target_of[i.id]]}) if i.id in target_of
                       else i for i in snapshot.identities]})
    path = tmp_path / "applied.json"
    path.write_text(applied.model_dump_json())
    before, after = _scan(DEMO_SNAPSHOT, tmp_path), _scan(path, tmp_path)

    def drift(report: dict) -> set[tuple[str, str]]:
        return {(f["identity"]["id"], f["rule_id"]) for f in report["findings"]
                if f["category"] in CHECKED_CATEGORIES and f["identity"] and f["identity"]["id"] in target_of
                and f["rule_id"] not in NOT_ABOUT_REACH}

    assert (COPILOT, "scope-forbidden-system") in drift(before) and (REPORT_BOT, "scope-not-allowed-system") in \
        drift(before)
    assert drift(after) == set()

    def may_reach(report: dict) -> dict[tuple[str, str], str]:
        return {(p["identity"], r["system"]): r["access"] for p in report["access_paths"] if p["identity"] in target_of
                for r in p["reachable_systems"] if r["verdict"] == "allowed" and not r["via_chain"]}

    kept, today = may_reach(after), may_reach(before)
    assert {k: kept.get(k) for k in today} == today and (COPILOT, "support-tickets") in today

    # ... and every may_reach loss the verification reports is what the scan sees, through the chain too
    lost = [c for check in plan["verification"]["checks"] if check["guardrail"] in boundaries for c in check["lost"]]
    assert lost
    for change in lost:
        assert access(after).get((change["identity"], change["system"])) == change["after"]
        assert access(before)[change["identity"], change["system"]] == change["before"]


def access(report: dict) -> dict[tuple[str, str], str]:
    return {(p["identity"], r["system"]): r["access"] for p in report["access_paths"] for r in p["reachable_systems"]}


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_plan_is_the_default_format_and_says_what_changes_for_whom(tmp_path):
    result = enforce("--snapshot", str(DEMO_SNAPSHOT), "--policy", str(DEMO_POLICY))
    assert result.exit_code == 1, result.output
    text = result.stdout
    assert "~ permissions boundary nhiaudit-boundary-support-copilot" in text
    assert f"applies to: {COPILOT}" in text
    assert "closes: scope-forbidden-system" in text and "denies: customer-pii" in text
    assert ("apply: aws iam put-role-permissions-boundary --role-name support-copilot --permissions-boundary "
            "arn:aws:iam::111122223333:policy/nhiaudit-boundary-support-copilot") in text
    assert "nothing is applied by this command" in text
    assert "~ Azure Graph permissions to remove nhiaudit-graph-hr-assistant" in text  # GCP and Azure: covered
    assert "- not covered: doc-summariser: no GCP guardrail needed" in text  # and what is not is said, not hidden


def test_plan_says_the_loss_fails_why_and_what_to_do():
    text = enforce("--snapshot", str(DEMO_SNAPSHOT), "--policy", str(DEMO_POLICY)).stdout
    section = text.split(f"~ permissions boundary {CODE_REVIEW_BOUNDARY}", 1)[1].split("\n~ ", 1)[0]
    assert (f"    LOSES (allowed by may_reach): {CODE_REVIEW}: bedrock-models admin -> read (through a role chain: "
            f"{DEPLOY_ADMIN})") in section
    assert ("    FAILS on the loss: the written policy allows that access; the boundary allows sts:AssumeRole only "
            "on a chained role that reaches nothing outside may_reach") in section
    assert "limit that role to may_reach or remove the chain, then generate again" in section
    assert "    verification: FAILS (re-analysed: 3 finding(s) closed, 0 remaining; 1 may_reach access(es) lost)" \
        in section
    assert f"verification: FAILS for {CODE_REVIEW_BOUNDARY}, {SCP_NAME} (" in text


def test_without_the_chain_the_plan_names_every_check_holds(tmp_path):
    code, data = enforce_json(demo_without_chain(tmp_path), DEMO_POLICY)
    assert code == 0 and data["verification"]["verified"] is True
    assert all(c["holds"] and not c["lost"] for c in data["verification"]["checks"])


def test_policy_is_required():
    result = enforce("--snapshot", str(DEMO_SNAPSHOT))
    assert result.exit_code == 2 and "--policy" in result.output
