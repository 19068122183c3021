"""Privilege-escalation and AI-through-a-chain facts, computed by the real pipeline (evaluator, graph,
reachability) on small estates built in code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from nhiaudit.analysis import prepare
from nhiaudit.errors import InputError
from nhiaudit.facts.escalation_data import load_escalation_catalogue
from nhiaudit.facts.identity import identity_facts
from nhiaudit.inventory.model import (
    Identity,
    IdentityKind,
    Policy,
    Provider,
    Statement,
    Trust,
    TrustKind,
    Workload,
)
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.policy.model import WrittenPolicy

ACCOUNT = "111122223333"
NOW = datetime(2026, 11, 28, tzinfo=UTC)
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def arn(kind: str, name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def allow(actions: list[str], resources: list[str] | None = None) -> Statement:
    return Statement(actions=tuple(actions), resources=tuple(resources or ["*"]))


def deny(actions: list[str], resources: list[str] | None = None) -> Statement:
    return Statement(effect="Deny", actions=tuple(actions), resources=tuple(resources or ["*"]))


def pol(name: str, *statements: Statement) -> Policy:
    return Policy(id=f"arn:aws:iam::{ACCOUNT}:policy/{name}", provider=Provider.AWS, name=name,
                  statements=statements)


def ident(kind: str, name: str, *policies: str, boundary: str | None = None) -> Identity:
    return Identity(id=arn(kind, name), provider=Provider.AWS, account=ACCOUNT,
                    kind=IdentityKind(kind), name=name, created=NOW, last_activity=NOW,
                    policy_ids=tuple(policies), boundary_policy_id=boundary)


def facts_of(identities, policies, trusts=(), workloads=()) -> dict[str, dict]:
    admin = Policy(id=ADMIN, provider=Provider.AWS, name="AdministratorAccess", kind="managed",
                   statements=(allow(["*"]),))
    snapshot = Snapshot(generated_at=NOW, identities=list(identities), policies=[admin, *policies],
                        trusts=list(trusts), workloads=list(workloads))
    ctx = prepare(snapshot, WrittenPolicy(version=1), date(2026, 11, 28))
    return {i.name: identity_facts(ctx, i) for i in snapshot.identities}


def techniques(facts: dict) -> dict[str, dict]:
    return {e["technique"]: e for e in facts["escalations"]}


def lambda_trust(role: str) -> Trust:
    return Trust(identity_id=arn("role", role), principal="lambda.amazonaws.com", kind=TrustKind.SERVICE,
                 reason=f"trust policy of {role}")


def test_self_escalation_is_found_and_respects_denies_and_boundaries():
    p = pol("writer", allow(["iam:CreatePolicyVersion", "iam:PutRolePolicy"]))
    no_policy_version = pol("no-cpv", deny(["iam:CreatePolicyVersion"]))
    boundary = pol("boundary", allow(["s3:*", "iam:PutRolePolicy"]))
    facts = facts_of(
        [ident("role", "free", p.id), ident("role", "denied", p.id, no_policy_version.id),
         ident("role", "bounded", p.id, boundary=boundary.id), ident("role", "reader", pol("r").id)],
        [p, no_policy_version, boundary, pol("r", allow(["s3:GetObject"]))],
    )
    free = techniques(facts["free"])
    assert set(free) == {"aws-create-policy-version", "aws-put-role-policy"}
    item = free["aws-create-policy-version"]
    assert item["to_admin"] and item["target_type"] == "self" and not item["conditional"]
    assert any("iam:CreatePolicyVersion" in s for s in item["statements"])
    assert set(techniques(facts["denied"])) == {"aws-put-role-policy"}
    assert set(techniques(facts["bounded"])) == {"aws-put-role-policy"}
    assert facts["reader"]["escalations"] == ()


def test_resource_scoped_grant_on_another_resource_type_is_not_a_technique():
    # iam:CreatePolicyVersion allowed only on users' ARNs can never touch a policy.
    p = pol("odd", allow(["iam:CreatePolicyVersion"], [arn("user", "*")]))
    facts = facts_of([ident("role", "odd", p.id)], [p])
    assert facts["odd"]["escalations"] == ()


def test_passrole_to_lambda_targets_roles_trusting_lambda_admins_first():
    deployer = pol("deployer", allow(["iam:PassRole"], [arn("role", "*")]),
                   allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    narrow = pol("narrow", allow(["iam:PassRole"], [arn("role", "worker")]),
                 allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    half = pol("half", allow(["iam:PassRole", "lambda:CreateFunction"]))  # cannot invoke: no technique
    facts = facts_of(
        [ident("role", "deployer", deployer.id), ident("role", "narrow", narrow.id), ident("role", "half", half.id),
         ident("role", "ops-admin", ADMIN), ident("role", "worker", pol("w").id),
         ident("role", "not-lambda", ADMIN)],
        [deployer, narrow, half, pol("w", allow(["s3:GetObject"]))],
        trusts=[lambda_trust("ops-admin"), lambda_trust("worker")],
    )
    item = techniques(facts["deployer"])["aws-passrole-lambda"]
    assert item["targets"][0] == arn("role", "ops-admin") and item["admin_targets"] == 1 and item["to_admin"]
    assert arn("role", "not-lambda") not in item["targets"]  # it does not trust lambda.amazonaws.com
    narrow_item = techniques(facts["narrow"])["aws-passrole-lambda"]
    assert narrow_item["targets"] == (arn("role", "worker"),) and not narrow_item["to_admin"]
    assert facts["half"]["escalations"] == ()


def test_credentials_of_other_users_only_when_another_user_is_covered():
    self_only = pol("self-keys", allow(["iam:CreateAccessKey"], [arn("user", "bot")]))
    any_user = pol("any-keys", allow(["iam:CreateAccessKey"], [arn("user", "*")]))
    facts = facts_of(
        [ident("user", "bot", self_only.id), ident("user", "helpdesk", any_user.id), ident("user", "root-ish", ADMIN)],
        [self_only, any_user],
    )
    assert facts["bot"]["escalations"] == ()  # only its own keys
    item = techniques(facts["helpdesk"])["aws-create-access-key"]
    assert arn("user", "helpdesk") not in item["targets"]
    assert item["targets"][0] == arn("user", "root-ish") and item["admin_targets"] == 1


def test_update_function_code_targets_the_role_the_function_runs_as():
    p = pol("coder", allow(["lambda:UpdateFunctionCode"], ["arn:aws:lambda:*:*:function:billing-*"]))
    fn = Workload(id=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:billing-sync", provider=Provider.AWS,
                  account=ACCOUNT, kind="lambda", name="billing-sync", identity_id=arn("role", "billing"))
    facts = facts_of([ident("role", "coder", p.id), ident("role", "billing", ADMIN)], [p], workloads=[fn])
    item = techniques(facts["coder"])["aws-update-function-code"]
    assert item["targets"] == (arn("role", "billing"),) and item["to_admin"]


def test_multi_step_path_to_an_admin_or_an_escalator():
    hop = lambda name, target: pol(name, allow(["sts:AssumeRole"], [arn("role", target)]))  # noqa: E731
    policies = [hop("a", "b"), hop("b", "admin"), hop("c", "escalator"),
                pol("cpv", allow(["iam:CreatePolicyVersion"]))]
    trust = [Trust(identity_id=arn("role", t), principal=arn("role", s), kind=TrustKind.ASSUME_ROLE,
                   reason=f"trust policy of {t}") for s, t in (("a", "b"), ("b", "admin"), ("c", "escalator"))]
    facts = facts_of(
        [ident("role", "a", policies[0].id), ident("role", "b", policies[1].id), ident("role", "admin", ADMIN),
         ident("role", "c", policies[2].id), ident("role", "escalator", policies[3].id)],
        policies, trusts=trust,
    )
    a, b = facts["a"]["escalation_path"], facts["b"]["escalation_path"]
    assert (a["target"], a["length"], b["length"]) == (arn("role", "admin"), 2, 1)
    assert "-[can_assume]->" in a["hops"][0] and a["hops"][0].startswith(f"identity:{arn('role', 'a')}")
    assert "is administrator" in a["target_reason"]
    c = facts["c"]["escalation_path"]
    assert c["target"] == arn("role", "escalator") and "aws-create-policy-version" in c["target_reason"]
    assert facts["admin"]["escalation_path"] == {} and facts["escalator"]["escalation_path"] == {}


def test_long_chain_is_solved_once_with_shortest_paths():
    n = 400
    names = [f"r{i}" for i in range(n)]
    policies = [pol(f"p{i}", allow(["sts:AssumeRole"], [arn("role", names[i + 1])])) for i in range(n - 1)]
    identities = [ident("role", names[i], policies[i].id) for i in range(n - 1)] + [ident("role", names[-1], ADMIN)]
    trusts = [Trust(identity_id=arn("role", names[i + 1]), principal=arn("role", names[i]),
                    kind=TrustKind.ASSUME_ROLE, reason="t") for i in range(n - 1)]
    facts = facts_of(identities, policies, trusts)
    assert [facts[names[i]]["escalation_path"]["length"] for i in (0, n // 2, n - 2)] == [n - 1, n - n // 2 - 1, 1]


def test_ai_through_a_chain_names_the_ai_identity_and_how():
    exporter = pol("exporter", allow(["sts:AssumeRole"], [arn("role", "copilot")]))
    bedrock = pol("bedrock", allow(["bedrock:InvokeModel"], ["arn:aws:bedrock:*::foundation-model/*"]))
    facts = facts_of(
        [ident("role", "exporter", exporter.id), ident("role", "copilot", bedrock.id)], [exporter, bedrock],
        trusts=[Trust(identity_id=arn("role", "copilot"), principal=arn("role", "exporter"),
                      kind=TrustKind.ASSUME_ROLE, reason="trust policy of copilot")],
    )
    chain = facts["exporter"]["ai_via_chain"]
    assert chain["target"] == arn("role", "copilot") and chain["length"] == 1
    assert "bedrock:InvokeModel" in chain["how"]
    assert facts["copilot"]["ai_via_chain"] == {} and facts["copilot"]["ai_explicit"]


def test_gcp_techniques_use_gcp_permission_names():
    sa = lambda name, *pids: Identity(  # noqa: E731
        id=f"{name}@proj-1.iam.gserviceaccount.com", provider=Provider.GCP, account="proj-1",
        kind=IdentityKind.SERVICE_ACCOUNT, name=name, created=NOW, last_activity=NOW, policy_ids=pids)
    keys = Policy(id="projects/proj-1/roles/keyAdmin", provider=Provider.GCP, name="keyAdmin", kind="role",
                  statements=(allow(["iam.serviceAccountKeys.create"], ["projects/proj-1"]),))
    facts = facts_of([sa("ci", keys.id), sa("owner-sa")], [keys])
    item = techniques(facts["ci"])["gcp-create-sa-key"]
    assert item["targets"] == ("owner-sa@proj-1.iam.gserviceaccount.com",)


def test_shipped_catalogue_loads_and_a_broken_one_reports_file_and_line(tmp_path: Path):
    catalogue = load_escalation_catalogue()
    assert {"iam:PassRole", "iam:CreatePolicyVersion", "iam:UpdateAssumeRolePolicy"} <= catalogue.actions()
    bad = tmp_path / "esc.yaml"
    bad.write_text("aws:\n  - id: ok-one\n    title: t\n    requires: [iam:PutUserPolicy]\n"
                   "  - id: broken\n    title: t\n    requires: [lambda:CreateFunction]\n"
                   "    target: {type: passed_role, via: iam:PassRole}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_escalation_catalogue(bad)
    text = str(err.value)
    assert f"{bad}:5:" in text and "service" in text
