"""`nhiaudit enforce` on the planted AWS estate (moto's server, real boto3, the real CLI), then the loop a
user runs: apply the generated boundaries and tags with boto3 (the command never applies anything), collect
the estate again, scan it. Both promises hold on what the AWS connector reads back: no scope-drift finding is
left for the integrations, and their access to may_reach systems is the same (roles: moto implements no
PutUserPermissionsBoundary, so users are checked by the in-memory verification only)."""

from __future__ import annotations

import json

import aws_planted as planted
import pytest
from aws_support import Moto, aws_environment, moto  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app

COPILOT = planted.arn("role", "support-copilot")
DATA_SYNC = planted.arn("role", "data-sync")
SHARED = planted.arn("role", "shared-worker")


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), [*args, "--quiet"])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def estate(moto: Moto, tmp_path_factory: pytest.TempPathFactory):  # noqa: F811
    moto.reset()
    planted.seed_planted(moto)
    tmp = tmp_path_factory.mktemp("enforce-planted")
    with pytest.MonkeyPatch.context() as env:
        aws_environment(env, moto.front.url, tmp)
        code, output = _cli("collect", "--aws", "--aws-regions", "us-east-1", "-o", str(tmp / "before.json"))
        assert code == 0, output
        yield moto, tmp, env


@pytest.fixture(scope="module")
def generated(estate):
    _, tmp, _ = estate
    policy = planted.write_policy(tmp)
    result = CliRunner().invoke(build_app(), ["enforce", "--snapshot", str(tmp / "before.json"), "--policy",
                                              str(policy), "--format", "json", "--quiet"])
    return result.exit_code, json.loads(result.stdout), result.output


def _statements(guardrail: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in guardrail["document"]["Statement"]}


def test_boundaries_follow_the_written_scope(generated):
    _, data, _ = generated
    copilot = _statements(data["guardrails"]["nhiaudit-boundary-support-copilot"])
    assert copilot["MustNotReach"]["Resource"] == "arn:aws:s3:::acme-customer-pii*"
    allows = {(json.dumps(s["Action"]), json.dumps(s["Resource"])) for s in copilot.values() if s["Effect"] == "Allow"}
    assert allows == {
        ('"bedrock:InvokeModel"', '"arn:aws:bedrock:*::foundation-model/*"'),
        ('["dynamodb:GetItem", "dynamodb:Query"]', '"arn:aws:dynamodb:*:*:table/support-tickets"')}
    shared = [g for g in data["guardrails"].values() if SHARED in {t["identity"] for t in g["targets"]}]
    assert len(shared) == 1 and shared[0]["integrations"] == ["summarizer", "translator"]  # one identity, one boundary


def test_verification_reports_what_a_boundary_cannot_fix(generated):
    code, data, output = generated
    checks = {c["guardrail"]: c for c in data["verification"]["checks"]}
    assert checks["nhiaudit-boundary-support-copilot"]["holds"]
    assert any("customer-pii" in c for c in checks["nhiaudit-boundary-support-copilot"]["closed"])
    # data-sync's written scope itself spans prod and dev: a boundary enforcing it cannot end the crossing.
    sync = checks["nhiaudit-boundary-data-sync"]
    assert not sync["holds"] and any("dev" in r for r in sync["remaining"])
    assert code == 1 and "verification fails for nhiaudit-boundary-data-sync" in output


def test_applied_and_collected_again_the_scan_confirms_both_promises(estate, generated):
    server, tmp, _ = estate
    _, data, _ = generated
    iam = server.client("iam")
    for g in data["guardrails"].values():
        if g["kind"] != "aws-permissions-boundary":
            continue
        arn = iam.create_policy(PolicyName=g["name"], PolicyDocument=json.dumps(g["document"]))["Policy"]["Arn"]
        for t in g["targets"]:
            if t["kind"] == "role":  # moto implements no PutUserPermissionsBoundary: roles only
                iam.put_role_permissions_boundary(RoleName=t["name"], PermissionsBoundary=arn)
    for tag in data["tags"]:
        kind, name = tag["identity"].split(":", 5)[5].split("/", 1)
        tags = [{"Key": tag["key"], "Value": tag["value"]}]
        (iam.tag_role(RoleName=name, Tags=tags) if kind == "role" else iam.tag_user(UserName=name, Tags=tags))
    code, output = _cli("collect", "--aws", "--aws-regions", "us-east-1", "-o", str(tmp / "after.json"))
    assert code == 0, output
    after = json.loads((tmp / "after.json").read_text())
    copilot = next(i for i in after["identities"] if i["id"] == COPILOT)
    assert copilot["boundary_policy_id"].endswith(":policy/nhiaudit-boundary-support-copilot")
    assert copilot["tags"] == {"nhiaudit:integration": "support-copilot"}

    def scan(snapshot: str) -> dict:
        out = tmp / f"report-{snapshot}"
        _cli("scan", "--snapshot", str(tmp / snapshot), "--policy", str(tmp / "policy.yaml"), "--format", "json",
             "--fail-on", "none", "-o", str(out))
        return json.loads(out.read_text())

    before, rescanned = scan("before.json"), scan("after.json")
    targets = {t["identity"] for g in data["guardrails"].values() for t in g["targets"] if t["kind"] == "role"}

    def drift(report: dict) -> set[tuple[str, str]]:
        return {(f["identity"]["id"], f["rule_id"]) for f in report["findings"] if f["category"] == "scope-drift"
                and (f["identity"] or {}).get("id") in targets}

    def allowed(report: dict) -> dict[tuple[str, str], str]:
        return {(p["identity"], r["system"]): r["access"] for p in report["access_paths"] if p["identity"] in targets
                for r in p["reachable_systems"] if r["verdict"] == "allowed"}

    assert (COPILOT, "scope-forbidden-system") in drift(before)
    assert drift(rescanned) == set()
    assert allowed(rescanned) == allowed(before) and (COPILOT, "support-tickets") in allowed(before)
    assert {f["category"] for f in rescanned["findings"] if (f["identity"] or {}).get("id") == DATA_SYNC} >= \
        {"environment-crossing"}  # as the verification said: the written scope crosses environments
