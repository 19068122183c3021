"""SCP and RCP caps in the evaluator, on small hand-built organisations (permissions/guardrails.py)."""

from __future__ import annotations

from typing import Any

import pytest

from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement
from nhiaudit.inventory.organization import RCP, SCP, AwsOrganization, OrgAccount, OrgPolicy
from nhiaudit.permissions.evaluate import Evaluator
from nhiaudit.permissions.principal_facts import principal_facts

MGMT, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
ROOT, OU, CHILD = "r-ab12", "ou-ab12-aaaaaaaa", "ou-ab12-bbbbbbbb"
EU_MODELS = "arn:aws:bedrock:eu-west-1::foundation-model/*"
US_MODELS = "arn:aws:bedrock:us-east-1::foundation-model/*"
AI = ("bedrock:InvokeModel",)


def stmt(effect: str = "Allow", actions: Any = ("*",), resources: Any = ("*",), **kw: Any) -> Statement:
    return Statement(effect=effect, actions=tuple(actions), resources=tuple(resources), **kw)


def scp(pid: str, targets: tuple[str, ...], *statements: Statement, kind: str = SCP) -> OrgPolicy:
    return OrgPolicy(id=pid, arn=f"arn:aws:organizations::{MGMT}:policy/o-abcdefghij/x/{pid}", name=pid.upper(),
                     type=kind, statements=statements, targets=targets)  # type: ignore[arg-type]


FULL = scp("p-FullAWSAccess", (ROOT, OU, CHILD, MGMT, MEMBER, OTHER), stmt())


def org(*policies: OrgPolicy) -> AwsOrganization:
    return AwsOrganization(
        id="o-abcdefghij", management_account=MGMT, policies=policies,
        accounts=(OrgAccount(account=MGMT, parents=(ROOT,)), OrgAccount(account=MEMBER, parents=(ROOT, OU)),
                  OrgAccount(account=OTHER, parents=(ROOT, OU, CHILD))))


def role(account: str, name: str, *statements: Statement, path: str = "/") -> tuple[Identity, Policy]:
    arn = f"arn:aws:iam::{account}:role{path}{name}"
    policy = Policy(id=f"inline:{arn}:p", provider=Provider.AWS, name="p", kind="inline", statements=statements)
    return Identity(id=arn, provider=Provider.AWS, account=account, kind=IdentityKind.ROLE, name=name,
                    policy_ids=(policy.id,), attributes={"path": path}), policy


def evaluator(policies: list[Policy], organization: AwsOrganization) -> Evaluator:
    return Evaluator({p.id: p for p in policies}, organizations=[organization],
                     principal_facts=lambda i: principal_facts(i, ()))


REGION_DENY = scp("p-region", (OU,), stmt("Deny", ("bedrock:*",),
                                           conditions={"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
                                           sid="OnlyUsEast1"))


def test_region_deny_removes_models_of_other_regions_only() -> None:
    eu, eu_p = role(MEMBER, "eu", stmt(actions=AI, resources=(EU_MODELS,)))
    us, us_p = role(MEMBER, "us", stmt(actions=AI, resources=(US_MODELS,)))
    star, star_p = role(MEMBER, "star", stmt(actions=AI))
    ev = evaluator([eu_p, us_p, star_p], org(FULL, REGION_DENY))
    assert ev.allowed_actions(eu, AI) == []
    assert ev.reach(eu, ["arn:aws:bedrock:*::foundation-model/*"]) is None
    removals = ev.guardrail_removals(eu, ("actions", AI, "*"))
    assert [r.text for r in removals] == [
        f"removed by SCP p-region (P-REGION), statement 0 (OnlyUsEast1), attached to {OU}"]
    assert ev.allowed_actions(us, AI)
    # On `*` the region is the caller's choice: the Deny stays conditional, recorded, not applied.
    found = ev.reach(star, ["arn:aws:bedrock:*::foundation-model/*"])
    assert found is not None and any("conditional Deny" in (d.note or "") for d in found.denies)


def test_management_account_and_service_linked_roles_are_not_capped() -> None:
    mgmt, mgmt_p = role(MGMT, "eu", stmt(actions=AI, resources=(EU_MODELS,)))
    slr, slr_p = role(MEMBER, "AWSServiceRoleForX", stmt(actions=AI, resources=(EU_MODELS,)),
                      path="/aws-service-role/bedrock.amazonaws.com/")
    ev = evaluator([mgmt_p, slr_p], org(FULL, scp("p-root", (ROOT,), stmt("Deny", ("bedrock:*",)))))
    assert ev.allowed_actions(mgmt, AI) and ev.allowed_actions(slr, AI)
    assert ev.context_key(mgmt) == ()


def test_allow_list_at_two_levels_keeps_the_intersection() -> None:
    ident, pol = role(OTHER, "admin", stmt())
    # The OU allows s3 and bedrock, the child OU only s3: bedrock is capped, s3 stays, admin is gone.
    ou_list = scp("p-ou", (OU,), stmt(actions=("s3:*", "bedrock:*")))
    child_list = scp("p-child", (CHILD,), stmt(actions=("s3:*",)))
    full_elsewhere = scp("p-FullAWSAccess", (ROOT, OTHER), stmt())
    ev = evaluator([pol], org(full_elsewhere, ou_list, child_list))
    assert ev.is_admin(ident) is None
    assert ev.allowed_actions(ident, AI) == []
    assert ev.can_perform(ident, "s3:GetObject", "arn:aws:s3:::bucket/key") is not None
    texts = [r.text for r in ev.guardrail_removals(ident, ("actions", AI, "*"))]
    assert texts == [f"not allowed by any SCP attached to {CHILD} (p-child P-CHILD)"]


def test_admin_kept_under_full_access_and_a_partial_deny() -> None:
    ident, pol = role(MEMBER, "admin", stmt())
    ev = evaluator([pol], org(FULL, REGION_DENY))
    found = ev.is_admin(ident)
    assert found is not None and "SCP p-region" in (found.note or "")


def test_level_without_recorded_scp_caps_nothing() -> None:
    ident, pol = role(OTHER, "admin", stmt())
    ev = evaluator([pol], org(scp("p-root", (ROOT,), stmt(actions=("s3:*",)))))
    assert ev.is_admin(ident) is None  # the root's allow-list caps
    # Nothing recorded at the OU (an incomplete import): that level caps nothing, the others allow `*`.
    ev = evaluator([pol], org(FULL.model_copy(update={"targets": (ROOT, CHILD, OTHER)})))
    assert ev.is_admin(ident) is not None


def test_not_action_deny_removes_everything_but_the_listed_actions() -> None:
    ident, pol = role(MEMBER, "r", stmt(actions=("s3:GetObject", "bedrock:InvokeModel")))
    deny = scp("p-na", (MEMBER,), Statement(effect="Deny", not_actions=("s3:*",), resources=("*",)))
    ev = evaluator([pol], org(FULL, deny))
    assert ev.allowed_actions(ident, AI) == []
    assert ev.can_perform(ident, "s3:GetObject", "arn:aws:s3:::b/k") is not None


@pytest.mark.parametrize(("arn", "kept"), [("arn:aws:iam::222222222222:role/breakglass", True),
                                           ("arn:aws:iam::222222222222:role/other", False)])
def test_break_glass_exception_decided_from_the_principal_arn(arn: str, kept: bool) -> None:
    name = arn.rsplit("/", 1)[1]
    ident, pol = role(MEMBER, name, stmt(actions=AI, resources=(EU_MODELS,)))
    deny = scp("p-bg", (OU,), stmt("Deny", ("bedrock:*",), conditions={
        "StringNotEquals": {"aws:RequestedRegion": "us-east-1"},
        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/breakglass"}}))
    ev = evaluator([pol], org(FULL, deny))
    assert bool(ev.allowed_actions(ident, AI)) is kept


def test_conditional_deny_on_an_undecided_key_is_recorded_not_applied() -> None:
    ident, pol = role(MEMBER, "r", stmt(actions=AI, resources=(EU_MODELS,)))
    deny = scp("p-ip", (OU,), stmt("Deny", ("bedrock:*",), conditions={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    ev = evaluator([pol], org(FULL, deny))
    reach = ev.reach(ident, [EU_MODELS])
    assert reach is not None
    assert [d.note for d in reach.denies] == [f"SCP attached to {OU}: conditional Deny: recorded, not applied"]


def test_rcp_denies_requests_to_member_resources_from_any_principal() -> None:
    table = "arn:aws:dynamodb:us-east-1:222222222222:table/customers"
    outsider, pol = role(MGMT, "reader", stmt(actions=("dynamodb:GetItem",), resources=(table,)))
    rcp = scp("p-rcp", (OU,), stmt("Deny", ("dynamodb:*",), conditions={
        "StringNotEqualsIfExists": {"aws:PrincipalAccount": MEMBER}}), kind=RCP)
    ev = evaluator([pol], org(FULL, rcp))
    assert ev.reach(outsider, [table]) is None  # a management-account principal, a member account's table
    own, own_pol = role(MEMBER, "reader", stmt(actions=("dynamodb:GetItem",), resources=(table,)))
    ev = evaluator([own_pol], org(FULL, rcp))
    assert ev.reach(own, [table]) is not None


def test_rcp_caps_a_bucket_whose_owner_the_snapshot_holds() -> None:
    """S3 ARNs name no account: the bucket's resource-policy record says which member account owns it."""
    from nhiaudit.analysis import bucket_owners
    from nhiaudit.inventory.resources import ResourcePolicy

    objects = "arn:aws:s3:::member-data/*"
    outsider, pol = role(MGMT, "reader", stmt(actions=("s3:GetObject",), resources=(objects,)))
    rcp = scp("p-rcp", (OU,), stmt("Deny", ("s3:*",), conditions={
        "StringNotEqualsIfExists": {"aws:PrincipalAccount": MEMBER}}), kind=RCP)
    held = [ResourcePolicy(id="arn:aws:s3:::member-data", account=MEMBER, service="s3", has_policy=False)]
    capped = Evaluator({pol.id: pol}, organizations=[org(FULL, rcp)], resource_account=bucket_owners(held),
                       principal_facts=lambda i: principal_facts(i, ()))
    assert capped.reach(outsider, [objects]) is None
    assert evaluator([pol], org(FULL, rcp)).reach(outsider, [objects]) is not None  # owner unknown: not capped
    assert bucket_owners(held)("arn:aws:s3:::other-bucket/x") is None
    assert bucket_owners(held)("arn:aws:dynamodb:us-east-1:222222222222:table/t") is None
