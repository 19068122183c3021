"""AWS condition keys in permission statements (issue 11 point 3): the clause evaluator, what an identity's
requests carry, the evaluator's per-identity / per-request decisions and their caches, and end to end through
the real CLI on IAM JSON as `aws iam get-account-authorization-details` and the credential report give it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nhiaudit.analysis import prepare
from nhiaudit.cli import build_app
from nhiaudit.inventory.model import (
    HumanUse,
    Identity,
    IdentityKind,
    Policy,
    Provider,
    Statement,
    Trust,
    TrustKind,
)
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.permissions.aws_conditions import (
    ABSENT,
    Chosen,
    Truth,
    chain,
    clause_at,
    evaluate_allow,
    evaluate_deny,
    facts_from,
    no_facts,
    parse_block,
    time_facts,
)
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.passed_role import passed_role_request
from nhiaudit.permissions.principal_facts import UNKNOWN_PRINCIPAL, is_principal_key, principal_facts
from nhiaudit.policy.loader import load_policy_text

ACCOUNT = "111122223333"
AS_OF = "2026-11-28"
NOW = datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)
MFA_TRUE = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def before(moment: str) -> dict:
    return {"DateLessThan": {"aws:CurrentTime": moment}}


def one(operator: str, key: str, values: Any):
    (clause,) = parse_block({operator: {key: values}})
    return clause


def allow(block: dict, facts: dict) -> Truth:
    return evaluate_allow(parse_block(block), facts_from(facts)).truth


def deny(block: dict, facts: dict) -> Truth:
    return evaluate_deny(parse_block(block), facts_from(facts)).truth


# --- the clause evaluator ------------------------------------------------------------------------------


def test_parse_block_splits_set_prefix_and_if_exists():
    c = one("ForAnyValue:StringLikeIfExists", "aws:TagKeys", ["a*", "b"])
    assert (c.base, c.set_op, c.if_exists, c.values, c.lkey) == ("StringLike", "ForAnyValue", True, ("a*", "b"),
                                                                 "aws:tagkeys")
    assert one("Bool", "aws:SecureTransport", True).values == ("true",)  # JSON booleans read as IAM does
    assert c.summary() == "ForAnyValue:StringLikeIfExists aws:TagKeys"


@pytest.mark.parametrize(("operator", "wanted", "value", "truth"), [
    ("StringEquals", "prod", "prod", Truth.HOLDS),
    ("StringEquals", "prod", "Prod", Truth.FAILS),
    ("StringEqualsIgnoreCase", "prod", "PROD", Truth.HOLDS),
    ("StringNotEquals", "prod", "dev", Truth.HOLDS),
    ("StringNotEquals", "prod", "prod", Truth.FAILS),
    ("StringNotEqualsIgnoreCase", "prod", "PROD", Truth.FAILS),
    ("StringLike", "team-*", "team-a", Truth.HOLDS),
    ("StringLike", "team-?", "team-ab", Truth.FAILS),
    ("StringNotLike", "team-*", "ops", Truth.HOLDS),
    ("StringNotLike", "team-*", "team-x", Truth.FAILS),
    ("NumericLessThan", "3600", "10", Truth.HOLDS),
    ("NumericLessThanEquals", "3600", "3600", Truth.HOLDS),
    ("NumericGreaterThan", "3600", "10", Truth.FAILS),
    ("NumericGreaterThanEquals", "10", "10", Truth.HOLDS),
    ("NumericEquals", "10", "10.0", Truth.HOLDS),
    ("NumericNotEquals", "10", "10", Truth.FAILS),
    ("NumericEquals", "ten", "10", Truth.UNKNOWN),  # not a number: left as a condition
    ("DateLessThan", "2027-01-01T00:00:00Z", "2026-11-28T23:59:59Z", Truth.HOLDS),
    ("DateGreaterThan", "2027-01-01T00:00:00Z", "2026-11-28T23:59:59Z", Truth.FAILS),
    ("DateLessThanEquals", "1800000000", "2026-11-28T23:59:59Z", Truth.HOLDS),  # epoch seconds on the right
    ("DateEquals", "2026-11-28", "2026-11-28T00:00:00Z", Truth.HOLDS),
    ("DateNotEquals", "2026-11-28T00:00:00Z", "2026-11-28T00:00:00Z", Truth.FAILS),
    ("Bool", "true", "true", Truth.HOLDS),
    ("Bool", "true", "false", Truth.FAILS),
    ("ArnEquals", "arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x", Truth.HOLDS),
    ("ArnLike", "arn:aws:iam::*:role/ci-*", "arn:aws:iam::1:role/ci-deploy", Truth.HOLDS),
    ("ArnNotLike", "arn:aws:iam::*:role/ci-*", "arn:aws:iam::1:role/ci-deploy", Truth.FAILS),
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", Truth.UNKNOWN),  # not evaluated
    ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", Truth.UNKNOWN),
])
def test_every_operator_family(operator: str, wanted: str, value: str, truth: Truth):
    assert clause_at(one(operator, "k", wanted), value) is truth


def test_a_missing_key_fails_positive_operators_and_holds_negated_ones():
    for operator in ("StringEquals", "StringLike", "ArnLike", "NumericLessThan", "DateLessThan", "Bool"):
        assert clause_at(one(operator, "k", "x"), ABSENT) is Truth.FAILS, operator
    for operator in ("StringNotEquals", "StringNotLike", "ArnNotLike", "ArnNotEquals", "NumericNotEquals",
                     "DateNotEquals", "StringNotEqualsIgnoreCase"):
        assert clause_at(one(operator, "k", "x"), ABSENT) is Truth.HOLDS, operator


def test_if_exists_holds_when_the_key_is_missing():
    assert clause_at(one("BoolIfExists", "k", "true"), ABSENT) is Truth.HOLDS
    assert clause_at(one("BoolIfExists", "k", "true"), "false") is Truth.FAILS
    assert clause_at(one("StringEqualsIfExists", "k", "a"), "a") is Truth.HOLDS


def test_null_tests_presence():
    assert clause_at(one("Null", "k", "true"), ABSENT) is Truth.HOLDS
    assert clause_at(one("Null", "k", "true"), "x") is Truth.FAILS
    assert clause_at(one("Null", "k", "false"), ABSENT) is Truth.FAILS
    assert clause_at(one("Null", "k", "false"), "x") is Truth.HOLDS
    assert clause_at(one("Null", "k", "maybe"), "x") is Truth.UNKNOWN


def test_set_operators_on_a_missing_key():
    # ForAllValues over no values is vacuously true; ForAnyValue over no values is false, even negated.
    assert clause_at(one("ForAllValues:StringEquals", "k", ["a"]), ABSENT) is Truth.HOLDS
    assert clause_at(one("ForAnyValue:StringEquals", "k", ["a"]), ABSENT) is Truth.FAILS
    assert clause_at(one("ForAnyValue:StringNotEquals", "k", ["a"]), ABSENT) is Truth.FAILS
    assert clause_at(one("ForAnyValue:StringLike", "k", ["a*"]), "ab") is Truth.HOLDS


def test_policy_variables_are_not_evaluated():
    assert clause_at(one("StringEquals", "aws:PrincipalTag/team", "${aws:username}"), "x") is Truth.UNKNOWN
    verdict = evaluate_allow(parse_block({"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}),
                             facts_from({"aws:PrincipalTag/team": {"x"}}))
    assert verdict.truth is Truth.UNKNOWN and [c.key for c in verdict.rest] == ["aws:PrincipalTag/team"]


def test_chosen_values_are_picked_by_the_caller():
    fn = Chosen("arn:aws*:lambda:*:*:function:*")
    assert clause_at(one("ArnLike", "iam:AssociatedResourceArn", "arn:aws:lambda:*:1:function:app-*"), fn) \
        is Truth.HOLDS
    assert clause_at(one("StringEquals", "iam:AssociatedResourceArn", "arn:aws:lambda:eu-west-1:1:function:f"),
                     fn) is Truth.HOLDS
    assert clause_at(one("ArnLike", "iam:AssociatedResourceArn", "arn:aws:ec2:*:*:instance/*"), fn) is Truth.FAILS
    assert clause_at(one("ArnNotLike", "iam:AssociatedResourceArn", "arn:aws:ec2:*:*:instance/*"), fn) \
        is Truth.HOLDS
    assert clause_at(one("ArnNotLike", "iam:AssociatedResourceArn", "arn:aws*:lambda:*"), fn) is Truth.FAILS
    assert clause_at(one("Bool", "k", "true"), Chosen("*")) is Truth.UNKNOWN
    # A Deny on a chosen value never applies to every request: the caller picks another name.
    block = parse_block({"ArnLike": {"iam:AssociatedResourceArn": "arn:aws:lambda:*:*:function:prod-*"}})
    assert evaluate_deny(block, facts_from({"iam:AssociatedResourceArn": {fn}})).truth is Truth.UNKNOWN


def test_allow_block_verdicts():
    no_mfa_user = {"aws:MultiFactorAuthPresent": {ABSENT, "false"}}
    service_role = {"aws:MultiFactorAuthPresent": {"false"}}
    assert allow(MFA_TRUE, service_role) is Truth.FAILS
    assert allow(MFA_TRUE, no_mfa_user) is Truth.FAILS
    assert allow({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, no_mfa_user) is Truth.HOLDS
    assert allow(MFA_TRUE, {}) is Truth.UNKNOWN
    # Keys are ANDed; a key the facts do not know stays as the rest, with what was decided in `evaluated`.
    verdict = evaluate_allow(parse_block({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"},
                                          "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), facts_from(no_mfa_user))
    assert verdict.truth is Truth.UNKNOWN and [c.key for c in verdict.rest] == ["aws:SourceIp"]
    assert verdict.evaluated == ("BoolIfExists aws:MultiFactorAuthPresent: met",)
    # Two clauses on one key must hold for one value: NumericLessThan and NumericGreaterThan with no overlap.
    assert allow({"NumericLessThan": {"n": "5"}, "NumericGreaterThan": {"n": "7"}}, {"n": {"6", "8"}}) is Truth.FAILS
    assert allow({"NumericLessThan": {"n": "9"}, "NumericGreaterThan": {"n": "7"}}, {"n": {"6", "8"}}) is Truth.HOLDS


def test_deny_block_verdicts():
    force_mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert deny(force_mfa, {"aws:MultiFactorAuthPresent": {ABSENT, "false"}}) is Truth.HOLDS  # always applies
    assert deny(force_mfa, {"aws:MultiFactorAuthPresent": {"true"}}) is Truth.FAILS  # never applies
    # A Deny without IfExists misses access-key requests (the key is absent): it may or may not apply.
    assert deny({"Bool": {"aws:MultiFactorAuthPresent": "false"}},
                {"aws:MultiFactorAuthPresent": {ABSENT, "false"}}) is Truth.UNKNOWN
    assert deny(force_mfa, {}) is Truth.UNKNOWN


def test_time_facts_and_chain():
    facts = time_facts(NOW)
    assert facts("aws:currenttime") == frozenset({"2026-11-28T23:59:59Z"})
    assert facts("aws:epochtime") == frozenset({str(int(NOW.timestamp()))})
    assert time_facts(None)("aws:currenttime") is None and time_facts(None)("aws:securetransport")
    both = chain(no_facts, facts_from({"A:B": {"x"}}), facts)
    assert both("a:b") == frozenset({"x"}) and both("aws:epochtime") and both("other") is None
    assert allow({"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}, {}) is Truth.UNKNOWN
    expired = parse_block({"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}})
    assert evaluate_allow(expired, facts).truth is Truth.FAILS
    assert evaluate_allow(parse_block({"NumericLessThan": {"aws:EpochTime": "1900000000"}}), facts).truth \
        is Truth.HOLDS


def test_passed_role_requests():
    lam = passed_role_request("lambda.amazonaws.com")
    assert lam["iam:PassedToService"] == frozenset({"lambda.amazonaws.com"})
    assert lam["iam:AssociatedResourceArn"] == frozenset({Chosen("arn:aws*:lambda:*:*:function:*")})
    assert set(passed_role_request("datapipeline.amazonaws.com")) == {"iam:PassedToService"}
    assert passed_role_request("codebuild.amazonaws.com") == {}  # CodeBuild does not send iam:PassedToService


# --- what an identity's requests carry ---------------------------------------------------------------------


def user(name: str, *policies: str, mfa: bool | None = False, tags: dict | None = None) -> Identity:
    return Identity(id=arn("user", name), provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind.USER, name=name,
                    policy_ids=policies, tags=tags or {},
                    human_use=HumanUse(mfa_active=mfa) if mfa is not None else None)


def role(name: str, *policies: str, tags: dict | None = None, boundary: str | None = None) -> Identity:
    return Identity(id=arn("role", name), provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind.ROLE, name=name,
                    policy_ids=policies, tags=tags or {}, boundary_policy_id=boundary)


def trust(role_name: str, principal: str, kind: TrustKind) -> Trust:
    return Trust(identity_id=arn("role", role_name), principal=principal, kind=kind, reason="trust policy")


def test_principal_facts_of_users_and_roles():
    assert principal_facts(user("u"), ()).lookup("aws:multifactorauthpresent") == frozenset({ABSENT, "false"})
    assert principal_facts(user("u"), ()).lookup("aws:multifactorauthage") == frozenset({ABSENT})
    assert principal_facts(user("m", mfa=True), ()).lookup("aws:multifactorauthpresent") is None
    assert principal_facts(user("n", mfa=None), ()).lookup("aws:multifactorauthpresent") is None  # no report
    lam = principal_facts(role("r"), [trust("r", "lambda.amazonaws.com", TrustKind.SERVICE)])
    assert lam.lookup("aws:multifactorauthpresent") == frozenset({"false"})
    oidc = trust("r", f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
                 TrustKind.FEDERATED)
    assert principal_facts(role("r"), [oidc]).lookup("aws:multifactorauthpresent") == frozenset({"false"})
    saml = trust("r", f"arn:aws:iam::{ACCOUNT}:saml-provider/okta", TrustKind.FEDERATED)
    assert principal_facts(role("r"), [saml]).lookup("aws:multifactorauthpresent") is None
    assert principal_facts(role("r"), []).lookup("aws:multifactorauthpresent") is None  # trust policy unknown
    tagged = principal_facts(role("t", tags={"Team": "platform"}), ())
    assert tagged.lookup("aws:principaltag/team") == frozenset({"platform"})
    assert tagged.lookup("aws:principaltag/env") == frozenset({ABSENT})
    assert tagged.lookup("aws:principalaccount") == frozenset({ACCOUNT})
    assert tagged.lookup("aws:principalarn") == frozenset({arn("role", "t")})
    assert tagged.lookup("aws:sourceip") is None
    gcp = Identity(id="sa@p.iam.gserviceaccount.com", provider=Provider.GCP, account="p",
                   kind=IdentityKind.SERVICE_ACCOUNT, name="sa")
    assert principal_facts(gcp, ()) is UNKNOWN_PRINCIPAL
    assert is_principal_key("aws:principaltag/x") and not is_principal_key("iam:passedtoservice")


def test_cache_key_covers_only_the_keys_asked():
    a = principal_facts(role("a", tags={"team": "platform", "cost": "1"}), ())
    b = principal_facts(role("b", tags={"team": "platform", "cost": "2"}), ())
    c = principal_facts(role("c", tags={"team": "data"}), ())
    keys = ["aws:principaltag/team"]
    assert a.cache_key(keys) == b.cache_key(keys) != c.cache_key(keys)
    assert a.cache_key(["aws:principaltag/cost"]) != b.cache_key(["aws:principaltag/cost"])
    assert a.cache_key([]) == ()


# --- the evaluator --------------------------------------------------------------------------------------


def pol(name: str, *statements: Statement) -> Policy:
    return Policy(id=arn("policy", name), provider=Provider.AWS, name=name, statements=statements)


def stmt(actions: list[str], condition: dict | None = None, effect: str = "Allow") -> Statement:
    return Statement(effect=effect, actions=tuple(actions), resources=("*",), conditions=condition or {})


def evaluator(policies: list[Policy], trusts: list[Trust] = ()) -> Evaluator:
    by_role: dict[str, list[Trust]] = {}
    for t in trusts:
        by_role.setdefault(t.identity_id, []).append(t)
    return Evaluator({p.id: p for p in policies}, now=NOW,
                     principal_facts=lambda i: principal_facts(i, by_role.get(i.id, ())))


def test_moment_keys_are_decided_at_compile_time():
    expired = pol("expired", stmt(["iam:CreatePolicyVersion"], before("2025-01-01T00:00:00Z")))
    future = pol("future", stmt(["iam:CreatePolicyVersion"], {**before("2030-01-01T00:00:00Z"),
                                                              "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    tls = pol("tls", stmt(["s3:GetObject"]), stmt(["s3:*"], {"Bool": {"aws:SecureTransport": "false"}}, "Deny"))
    ev = evaluator([expired, future, tls])
    (void,) = ev.statements(expired.id)
    assert void.actions == () and void.note == "condition DateLessThan aws:CurrentTime: cannot be met"
    assert ev.allowed_actions(role("x", expired.id), ["iam:CreatePolicyVersion"]) == []
    (found,) = ev.allowed_actions(role("y", future.id), ["iam:CreatePolicyVersion"])
    assert found.conditions == ("IpAddress aws:SourceIp",)  # the date is met and leaves; the IP stays
    assert found.note == "condition DateLessThan aws:CurrentTime: met"
    assert [s.effect for s in ev.statements(tls.id)] == ["Allow"]  # a Deny that can never apply is dropped


def test_mfa_grants_per_identity_and_is_admin():
    admin_mfa = pol("admin-mfa", stmt(["*"], MFA_TRUE))
    admin_ifexists = pol("admin-ifexists", stmt(["*"], {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}))
    ev = evaluator([admin_mfa, admin_ifexists], [trust("svc", "lambda.amazonaws.com", TrustKind.SERVICE)])
    svc = role("svc", admin_mfa.id)
    assert ev.is_admin(svc) is None and ev.reach(svc, ["*"]) is None
    assert ev.allowed_actions(svc, ["iam:PassRole"]) == []
    person = user("person", admin_mfa.id, mfa=True)
    admin = ev.is_admin(person)
    assert admin is not None and admin.conditions == ("Bool aws:MultiFactorAuthPresent",)
    keyed = ev.is_admin(user("keyed", admin_ifexists.id))
    assert keyed is not None and keyed.conditions == () and "met" in (keyed.note or "")
    assert ev.reach(user("keyed", admin_ifexists.id), ["*"]).conditional is False
    assert ev.is_admin(user("no-mfa", admin_mfa.id)) is None


def test_deny_on_mfa_applies_when_always_met_and_is_ignored_when_never():
    force = pol("force-mfa", stmt(["iam:CreatePolicyVersion"]),
                stmt(["iam:*"], {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, "Deny"))
    ev = evaluator([force])
    assert ev.allowed_actions(user("keys", force.id), ["iam:CreatePolicyVersion"]) == []
    (kept,) = ev.allowed_actions(user("mfa", force.id, mfa=True), ["iam:CreatePolicyVersion"])
    assert kept.conditions == ()
    reach = ev.reach(user("mfa", force.id, mfa=True), [arn("policy", "*")])
    assert reach is not None and any("conditional Deny" in (d.note or "") for d in reach.denies)


def test_principal_tags_and_shared_cache_entries():
    tagged = pol("by-team", stmt(["iam:PutRolePolicy"], {"StringEquals": {"aws:PrincipalTag/team": "platform"}}))
    ev = evaluator([tagged])
    platform_a = role("a", tagged.id, tags={"team": "platform"})
    platform_b = role("b", tagged.id, tags={"team": "platform", "x": "1"})
    data, untagged = role("c", tagged.id, tags={"team": "data"}), role("d", tagged.id)
    # Whatever the order, each identity gets its own answer; agreeing identities share one context.
    for who, expected in ((data, 0), (platform_a, 1), (untagged, 0), (platform_b, 1), (data, 0)):
        assert len(ev.allowed_actions(who, ["iam:PutRolePolicy"])) == expected, who.name
        assert (ev.reach(who, [arn("role", "*")]) is not None) == bool(expected), who.name
    assert ev.context_key(platform_a) == ev.context_key(platform_b) != ev.context_key(data)
    assert ev.context_key(role("plain", "arn:aws:iam::aws:policy/none")) == ()
    (found,) = ev.allowed_actions(platform_a, ["iam:PutRolePolicy"])
    assert found.conditions == () and found.note == "condition StringEquals aws:PrincipalTag/team: met"


def test_passed_to_service_is_decided_by_the_request():
    other = pol("pass-other", stmt(["iam:PassRole"], {"StringEquals": {
        "iam:PassedToService": ["application-autoscaling.amazonaws.com", "dax.amazonaws.com"]}}))
    lam = pol("pass-lambda", stmt(["iam:PassRole"], {
        "StringEquals": {"iam:PassedToService": ["dax.amazonaws.com", "lambda.amazonaws.com"]},
        "ArnLike": {"iam:AssociatedResourceArn": f"arn:aws:lambda:*:{ACCOUNT}:function:app-*"}}))
    ev = evaluator([other, lam])
    request = passed_role_request("lambda.amazonaws.com")
    assert ev.allowed_actions(role("o", other.id), ["iam:PassRole"], "*", request) == []
    assert ev.can_perform(role("o", other.id), "iam:PassRole", arn("role", "x"), request) is None
    (found,) = ev.allowed_actions(role("l", lam.id), ["iam:PassRole"], "*", request)
    assert found.conditions == ()
    assert found.note == ("condition StringEquals iam:PassedToService: met; "
                          "ArnLike iam:AssociatedResourceArn: met")
    # Without a request the service is unknown: the grant is possible, conditional, as before.
    (possible,) = ev.allowed_actions(role("o", other.id), ["iam:PassRole"])
    assert possible.conditions == ("StringEquals iam:PassedToService",)
    assert ev.allowed_actions(role("l", lam.id), ["iam:PassRole"], "*", passed_role_request("ec2.amazonaws.com")) == []


def test_boundary_conditions_are_decided_too():
    boundary = pol("boundary", stmt(["iam:*"], MFA_TRUE))
    writer = pol("writer", stmt(["iam:CreatePolicyVersion"]))
    ev = evaluator([boundary, writer], [trust("svc", "lambda.amazonaws.com", TrustKind.SERVICE)])
    assert ev.allowed_actions(role("svc", writer.id, boundary=boundary.id), ["iam:CreatePolicyVersion"]) == []
    assert ev.allowed_actions(user("mfa", writer.id, mfa=True, ), ["iam:CreatePolicyVersion"])
    bounded_person = Identity(**{**user("p", writer.id, mfa=True).model_dump(), "boundary_policy_id": boundary.id})
    assert ev.allowed_actions(bounded_person, ["iam:CreatePolicyVersion"])


def test_role_assumption_follows_the_callers_tags():
    assume = pol("assume-if-platform", Statement(actions=("sts:AssumeRole",), resources=(arn("role", "target"),),
                                                 conditions={"StringEquals": {"aws:PrincipalTag/team": "platform"}}))
    reader = pol("reader", stmt(["s3:GetObject"]))
    target = role("target", reader.id)
    callers = [role("web", assume.id, tags={"team": "web"}), role("platform", assume.id, tags={"team": "platform"}),
               role("web2", assume.id, tags={"team": "web"})]
    root = Trust(identity_id=target.id, principal=f"arn:aws:iam::{ACCOUNT}:root", kind=TrustKind.ASSUME_ROLE,
                 reason="trust policy of target")
    snap = Snapshot(identities=[*callers, target], policies=[assume, reader], trusts=[root])
    ctx = prepare(snap, load_policy_text("version: 1\n", "p.yaml"), date(2026, 11, 28))
    assert target.id in ctx.reach.act_as_successors(arn("role", "platform"))
    assert target.id not in ctx.reach.act_as_successors(arn("role", "web"))
    assert target.id not in ctx.reach.act_as_successors(arn("role", "web2"))


# --- end to end: IAM JSON as AWS returns it, through the real CLI -----------------------------------------

DATE = "2024-03-01T10:00:00+00:00"


def _document(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _trust_doc(service: str) -> dict:
    return _document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def _managed(name: str, document: dict, aws: bool = False) -> dict:
    owner = "aws" if aws else ACCOUNT
    return {"PolicyName": name, "PolicyId": f"ANPA{name.upper().replace('-', '')[:17]:0<17}",
            "Arn": f"arn:aws:iam::{owner}:policy/{name}", "Path": "/", "DefaultVersionId": "v1",
            "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
            "CreateDate": DATE, "UpdateDate": DATE,
            "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": True,
                                   "CreateDate": DATE}]}


def _attached(*names: str) -> list[dict]:
    return [{"PolicyName": n, "PolicyArn": ("arn:aws:iam::aws:policy/" if n == "AdministratorAccess"
                                            else f"arn:aws:iam::{ACCOUNT}:policy/") + n} for n in names]


def _role(name: str, service: str, *policies: str, tags: dict | None = None) -> dict:
    return {"Path": "/", "RoleName": name, "RoleId": f"AROA{name.upper().replace('-', '')[:17]:0<17}",
            "Arn": arn("role", name), "CreateDate": DATE, "AssumeRolePolicyDocument": _trust_doc(service),
            "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": _attached(*policies),
            "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
            "RoleLastUsed": {"LastUsedDate": "2026-11-20T10:00:00+00:00", "Region": "eu-west-1"}}


def _user(name: str, *policies: str) -> dict:
    return {"Path": "/", "UserName": name, "UserId": f"AIDA{name.upper().replace('-', '')[:17]:0<17}",
            "Arn": arn("user", name), "CreateDate": DATE, "UserPolicyList": [], "GroupList": [],
            "AttachedManagedPolicies": _attached(*policies), "Tags": []}


PASS_OTHER = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {
    "iam:PassedToService": ["application-autoscaling.amazonaws.com", "dax.amazonaws.com"]}}}
PASS_LAMBDA = {**PASS_OTHER, "Condition": {"StringEquals": {
    "iam:PassedToService": ["application-autoscaling.amazonaws.com", "dax.amazonaws.com", "lambda.amazonaws.com"]}}}
LAMBDA_DEPLOY = {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}
WRITE_POLICY = {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"}

POLICIES = {
    "iam-behind-mfa": _document({"Effect": "Allow", "Action": "iam:*", "Resource": "*", "Condition": MFA_TRUE}),
    "iam-mfa-if-exists": _document({"Effect": "Allow", "Action": "iam:*", "Resource": "*",
                                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}}),
    "pass-to-other-services": _document(PASS_OTHER, LAMBDA_DEPLOY),
    "pass-to-lambda": _document(PASS_LAMBDA, LAMBDA_DEPLOY),
    "expired-grant": _document({**WRITE_POLICY, "Condition": before("2025-06-30T00:00:00Z")}),
    "grant-until-2030": _document({**WRITE_POLICY, "Condition": before("2030-01-01T00:00:00Z")}),
    "platform-team-only": _document({**WRITE_POLICY, "Condition": {
        "StringEquals": {"aws:PrincipalTag/team": "platform"}}}),
    "force-mfa": _document(WRITE_POLICY, {"Effect": "Deny", "Action": "iam:*", "Resource": "*", "Condition": {
        "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}),
    "pii-for-data-team": _document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-pii/*",
                                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": "data"}}}),
}
LAMBDA = "lambda.amazonaws.com"
ROLES = [
    _role("svc-mfa-iam", LAMBDA, "iam-behind-mfa"),
    _role("deployer-other", "ec2.amazonaws.com", "pass-to-other-services"),
    _role("deployer-lambda", "ec2.amazonaws.com", "pass-to-lambda"),
    _role("lambda-admin", LAMBDA, "AdministratorAccess"),
    _role("expired-writer", LAMBDA, "expired-grant"),
    _role("future-writer", LAMBDA, "grant-until-2030"),
    _role("platform-writer", LAMBDA, "platform-team-only", tags={"team": "platform"}),
    _role("data-writer", LAMBDA, "platform-team-only", tags={"team": "data"}),
    # Same policy, different tags: system reach is computed per identity, never shared through the policy.
    _role("pii-web", LAMBDA, "pii-for-data-team", tags={"team": "web"}),
    _role("pii-data", LAMBDA, "pii-for-data-team", tags={"team": "data"}),
    _role("pii-untagged", LAMBDA, "pii-for-data-team"),
]
USERS = [_user("key-user", "iam-mfa-if-exists"), _user("mfa-user", "iam-behind-mfa"),
         _user("denied-key-user", "force-mfa")]
# user -> (password_enabled, mfa_active, access key active)
REPORT = {"key-user": (False, False, True), "mfa-user": (True, True, False), "denied-key-user": (False, False, True)}

COLUMNS = ["user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
           "password_next_rotation", "mfa_active", "access_key_1_active", "access_key_1_last_rotated",
           "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
           "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
           "access_key_2_last_used_region", "access_key_2_last_used_service", "cert_1_active",
           "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"]


def _report() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(["<root_account>", f"arn:aws:iam::{ACCOUNT}:root", DATE, "not_supported", "N/A",
                     "not_supported", "not_supported", "true", "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A",
                     "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"])
    for name, (password, mfa, key) in REPORT.items():
        b = {True: "true", False: "false"}
        writer.writerow([name, arn("user", name), DATE, b[password],
                         "2026-11-20T09:00:00+00:00" if password else "N/A", DATE if password else "N/A", "N/A",
                         b[mfa], b[key], "2026-09-01T10:00:00+00:00" if key else "N/A",
                         "2026-11-25T10:00:00+00:00" if key else "N/A", "eu-west-1" if key else "N/A",
                         "iam" if key else "N/A", "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false",
                         "N/A"])
    return out.getvalue()


def _gaad() -> dict:
    admin = _managed("AdministratorAccess", _document({"Effect": "Allow", "Action": "*", "Resource": "*"}), aws=True)
    return {"UserDetailList": USERS, "GroupDetailList": [], "RoleDetailList": ROLES,
            "Policies": [*(_managed(n, d) for n, d in POLICIES.items()), admin]}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("conditions")
    (tmp / "gaad.json").write_text(json.dumps(_gaad(), indent=2), encoding="utf-8")
    (tmp / "credential-report.csv").write_text(_report(), encoding="utf-8")
    (tmp / "policy.yaml").write_text(POLICY, encoding="utf-8")
    args = ["--import", str(tmp / "gaad.json"), "--import", str(tmp / "credential-report.csv"),
            "--policy", str(tmp / "policy.yaml"), "--as-of", AS_OF, "--format", "json"]
    result = CliRunner().invoke(build_app(), ["scan", *args])
    assert result.exit_code == 1, result.output
    reach = CliRunner().invoke(build_app(), ["explain", "--can-reach", "pii", "--no-findings", *args])
    assert reach.exit_code == 0, reach.output
    return {**json.loads(result.stdout), "can_reach_pii": json.loads(reach.stdout)}


POLICY = """\
version: 1
systems:
  pii:
    resources: ["arn:aws:s3:::acme-pii*"]
"""


def escalations(report: dict[str, Any], name: str) -> list[dict[str, Any]]:
    who = {arn("role", name), arn("user", name)}
    return [f for f in report["findings"]
            if f["category"] == "privilege-escalation" and (f.get("identity") or {}).get("id") in who]


def techniques(report: dict[str, Any], name: str) -> set[str]:
    return {f["evidence"]["technique"] for f in escalations(report, name)}


def test_e2e_mfa_only_grant_gives_a_service_role_nothing(report):
    assert escalations(report, "svc-mfa-iam") == []


def test_e2e_access_key_user_can_use_an_if_exists_mfa_grant(report):
    found = [f for f in escalations(report, "key-user") if f["evidence"]["technique"] == "aws-create-policy-version"]
    assert found and found[0]["rule_id"] == "privesc-single-step" and found[0]["evidence"]["conditional"] is False
    assert found[0]["severity"] == "critical"
    assert any("BoolIfExists aws:MultiFactorAuthPresent: met" in s for s in found[0]["evidence"]["statements"])


def test_e2e_user_with_an_mfa_device_stays_conditional(report):
    found = [f for f in escalations(report, "mfa-user") if f["evidence"]["technique"] == "aws-create-policy-version"]
    assert found and found[0]["evidence"]["conditional"] is True
    assert any("when Bool aws:MultiFactorAuthPresent" in s for s in found[0]["evidence"]["statements"])


def test_e2e_passed_to_service_decides_passrole_escalation(report):
    assert escalations(report, "deployer-other") == []  # PassRole only to application-autoscaling and dax
    (lam,) = [f for f in escalations(report, "deployer-lambda") if f["evidence"]["technique"] == "aws-passrole-lambda"]
    assert lam["rule_id"] == "privesc-single-step" and lam["evidence"]["conditional"] is False
    assert arn("role", "lambda-admin") in lam["evidence"]["targets"] and lam["severity"] == "critical"
    assert any("StringEquals iam:PassedToService: met" in s for s in lam["evidence"]["statements"])


def test_e2e_date_conditions_against_as_of(report):
    assert escalations(report, "expired-writer") == []
    (future,) = escalations(report, "future-writer")
    assert future["evidence"]["technique"] == "aws-create-policy-version" and future["evidence"]["conditional"] is False


def test_e2e_principal_tag_match_and_mismatch(report):
    assert techniques(report, "platform-writer") == {"aws-create-policy-version"}
    assert escalations(report, "data-writer") == []


def test_e2e_deny_on_missing_mfa_removes_access_from_an_access_key_user(report):
    assert escalations(report, "denied-key-user") == []


def test_e2e_system_reach_follows_principal_tags(report):
    text = json.dumps(report["can_reach_pii"])
    assert arn("role", "pii-data") in text
    assert arn("role", "pii-web") not in text and arn("role", "pii-untagged") not in text
