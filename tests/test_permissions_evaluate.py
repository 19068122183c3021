"""Evaluator semantics: Allow/Deny, NotAction/NotResource, boundaries, conditions, unknown actions,
GCP/Azure statements, and the evidence every answer carries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement
from nhiaudit.permissions import Evaluator, ReachLevel, default_catalogue

PII = ("arn:aws:s3:::acme-customer-pii*",)
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def stmt(effect: str = "Allow", **kw: Any) -> Statement:
    return Statement(effect=effect, **kw)  # type: ignore[arg-type]


def policy(
    pid: str, *statements: Statement, provider: Provider = Provider.AWS, kind: str = "customer"
) -> Policy:
    return Policy(id=pid, provider=provider, name=pid.rsplit("/", 1)[-1], kind=kind, statements=statements)  # type: ignore[arg-type]


def ident(*policy_ids: str, boundary: str | None = None, provider: Provider = Provider.AWS) -> Identity:
    return Identity(
        id="arn:aws:iam::111122223333:role/agent",
        provider=provider,
        account="111122223333",
        kind=IdentityKind.ROLE,
        name="agent",
        policy_ids=policy_ids,
        boundary_policy_id=boundary,
    )


POLICIES = [
    policy(ADMIN_ARN, stmt(actions=("*",), resources=("*",))),
    policy(
        "p/s3-read", stmt(actions=("s3:Get*", "s3:List*"), resources=("arn:aws:s3:::acme-*",), sid="ReadAcme")
    ),
    policy("p/s3-all", stmt(actions=("s3:*",), resources=("*",))),
    policy("p/deny-pii", stmt("Deny", actions=("s3:*",), resources=PII)),
    policy(
        "p/deny-pii-conditional",
        stmt(
            "Deny",
            actions=("s3:*",),
            resources=PII,
            conditions={"Bool": {"aws:MultiFactorAuthPresent": "false"}},
        ),
    ),
    policy("p/deny-put-bucket-policy", stmt("Deny", actions=("s3:PutBucketPolicy",), resources=("*",))),
    policy(
        "p/deny-one-bucket", stmt("Deny", actions=("s3:*",), resources=("arn:aws:s3:::acme-customer-pii-eu",))
    ),
    policy("p/not-iam", stmt(not_actions=("iam:*", "organizations:*"), resources=("*",))),
    policy("p/deny-except-reads", stmt("Deny", not_actions=("s3:Get*", "s3:List*"), resources=("*",))),
    policy("p/s3-not-pii", stmt(actions=("s3:*",), not_resources=PII)),
    policy("p/deny-outside-public", stmt("Deny", actions=("*",), not_resources=("arn:aws:s3:::public-*",))),
    policy("p/boundary-s3-read", stmt(actions=("s3:Get*",), resources=("*",)), kind="boundary"),
    policy(
        "p/vpce-only",
        stmt(
            actions=("s3:GetObject",),
            resources=PII,
            conditions={"StringEquals": {"aws:SourceVpce": "vpce-1"}},
        ),
    ),
    policy("p/newsvc", stmt(actions=("newsvc:DoThing", "s3:TeleportBucket"), resources=("*",))),
    policy("p/deny-newsvc", stmt("Deny", actions=("newsvc:*",), resources=("*",))),
    policy(
        "p/bedrock-claude",
        stmt(
            actions=("bedrock:InvokeModel",),
            resources=("arn:aws:bedrock:*::foundation-model/anthropic.*",),
        ),
    ),
    policy("p/bedrock-all", stmt(actions=("bedrock:*",), resources=("*",))),
    policy(
        "p/deny-claude",
        stmt("Deny", actions=("bedrock:*",), resources=("arn:aws:bedrock:*::foundation-model/*",)),
    ),
    policy("p/assume-app", stmt(actions=("sts:AssumeRole",), resources=("arn:aws:iam::*:role/app-*",))),
    policy(
        "p/iam-attach-all",
        stmt(actions=("iam:AttachRolePolicy", "iam:PassRole"), resources=("arn:aws:iam::*:role/*",)),
    ),
    policy(
        "p/iam-attach-one", stmt(actions=("iam:AttachRolePolicy",), resources=("arn:aws:iam::1:role/app-x",))
    ),
    policy(
        "p/inline",
        stmt(actions=("dynamodb:GetItem",), resources=("arn:aws:dynamodb:*:*:table/customers",)),
        kind="inline",
    ),
    # GCP: role permissions bound on a project; Azure: role definitions assigned on a scope.
    policy(
        "roles/bq-reader@projects/acme-prod",
        stmt(
            actions=("bigquery.tables.getData", "bigquery.tables.list"),
            resources=("projects/acme-prod",),
        ),
        provider=Provider.GCP,
    ),
    policy(
        "roles/aiplatform.user@projects/acme-prod",
        stmt(
            actions=("aiplatform.endpoints.predict",),
            resources=("projects/acme-prod",),
        ),
        provider=Provider.GCP,
    ),
    policy("azure/owner", stmt(actions=("*",), resources=("/subscriptions/s1",)), provider=Provider.AZURE),
    policy(
        "azure/contributor",
        stmt(
            actions=("*",),
            not_actions=(
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
            ),
            resources=("/subscriptions/s1",),
        ),
        provider=Provider.AZURE,
    ),
    policy(
        "azure/reader", stmt(actions=("*/read",), resources=("/subscriptions/s1",)), provider=Provider.AZURE
    ),
    policy(
        "azure/openai-user",
        stmt(
            actions=("Microsoft.CognitiveServices/*",),
            resources=("/subscriptions/s1/resourceGroups/ai",),
        ),
        provider=Provider.AZURE,
    ),
]
AZ_STORAGE = ("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/pii",)


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    return Evaluator({p.id: p for p in POLICIES}, default_catalogue())


def test_administrator_access_reaches_everything_as_admin(ev: Evaluator) -> None:
    r = ev.reach(ident(ADMIN_ARN), PII)
    assert r is not None and r.level == ReachLevel.ADMIN
    s = r.statements[0]
    assert s.reason == (
        "policy AdministratorAccess (arn:aws:iam::aws:policy/AdministratorAccess) statement 0 allows * on *"
    )
    assert len(s.actions) == 10 and s.action_count > 100  # capped list plus the full count
    assert s.actions[0] in {"s3:PutBucketPolicy", "s3:PutBucketAcl", "s3:DeleteBucketPolicy"} or (
        default_catalogue().access_level(s.actions[0]).value == "permissions_management"
    )
    admin = ev.is_admin(ident(ADMIN_ARN))
    assert admin is not None and admin.reason == s.reason
    json.dumps(r.to_evidence())  # plain data all the way down


def test_read_only_statement_gives_read_with_evidence(ev: Evaluator) -> None:
    r = ev.reach(ident("p/s3-read"), PII)
    assert r is not None and r.level == ReachLevel.READ
    s = r.statements[0]
    assert (
        s.sid == "ReadAcme"
        and "s3:GetObject" in ev.allowed_actions(ident("p/s3-read"), ["s3:GetObject"])[0].actions
    )
    assert all(a.startswith(("s3:Get", "s3:List")) for a in s.actions)
    assert ev.reach(ident("p/s3-read"), ("arn:aws:s3:::other-bucket",)) is None
    assert ev.reach(ident("p/s3-read"), ("arn:aws:dynamodb:*:*:table/customers",)) is None
    assert ev.is_admin(ident("p/s3-read")) is None


def test_deny_covering_the_system_wins(ev: Evaluator) -> None:
    assert ev.reach(ident("p/s3-read", "p/deny-pii"), PII) is None
    r = ev.reach(ident(ADMIN_ARN, "p/deny-pii"), PII)
    assert r is not None and r.level != ReachLevel.ADMIN  # s3 is gone; what is left is not s3
    assert all(not a.startswith("s3:") for a in r.statements[0].actions)
    assert r.denies[0].note == "Deny applied: removes these actions"


def test_partial_or_conditional_deny_is_recorded_not_applied(ev: Evaluator) -> None:
    r = ev.reach(ident("p/s3-all", "p/deny-one-bucket"), PII)
    assert r is not None and r.level == ReachLevel.ADMIN
    assert "only part of the resources" in (r.denies[0].note or "")
    r = ev.reach(ident("p/s3-all", "p/deny-pii-conditional"), PII)
    assert r is not None and r.level == ReachLevel.ADMIN
    assert r.denies[0].conditions == ("Bool aws:MultiFactorAuthPresent",)
    assert "conditional" in (r.denies[0].note or "")


def test_deny_covering_the_allowing_statement_resources_applies(ev: Evaluator) -> None:
    # The Deny does not cover `*` (the question), but it covers everything the Allow grants.
    found = ev.allowed_actions(ident("p/bedrock-claude", "p/deny-claude"), ["bedrock:InvokeModel*"])
    assert found == []
    assert ev.allowed_actions(ident("p/bedrock-claude"), ["bedrock:InvokeModel*"])[0].actions == (
        "bedrock:InvokeModel",
    )


def test_not_action_allows_everything_else(ev: Evaluator) -> None:
    role = ("arn:aws:iam::111122223333:role/deploy",)
    r = ev.reach(ident("p/not-iam"), role)
    assert r is not None and r.statements[0].not_action
    assert "sts:AssumeRole" in ev.allowed_actions(ident("p/not-iam"), ["sts:AssumeRole"])[0].actions
    assert ev.allowed_actions(ident("p/not-iam"), ["iam:PassRole"]) == []
    assert r.level == ReachLevel.WRITE  # sts on the role; no iam:* (no permissions management)
    assert ev.reach(ident("p/not-iam"), PII).level == ReachLevel.ADMIN  # s3:PutBucketPolicy


def test_deny_not_action_leaves_only_the_exceptions(ev: Evaluator) -> None:
    r = ev.reach(ident("p/s3-all", "p/deny-except-reads"), PII)
    assert r is not None and r.level == ReachLevel.READ
    assert all(a.startswith(("s3:Get", "s3:List")) for a in r.statements[0].actions)


def test_not_resource_on_allow_and_deny(ev: Evaluator) -> None:
    assert ev.reach(ident("p/s3-not-pii"), PII) is None
    assert ev.reach(ident("p/s3-not-pii"), ("arn:aws:s3:::acme-logs",)).level == ReachLevel.ADMIN
    assert ev.reach(ident("p/s3-not-pii"), ("arn:aws:s3:::acme-customer-pii-eu",)) is None
    assert ev.reach(ident("p/s3-all", "p/deny-outside-public"), PII) is None
    assert ev.reach(ident("p/s3-all", "p/deny-outside-public"), ("arn:aws:s3:::public-site",)) is not None


def test_boundary_intersects_identity_allows(ev: Evaluator) -> None:
    r = ev.reach(ident(ADMIN_ARN, boundary="p/boundary-s3-read"), PII)
    assert r is not None and r.level == ReachLevel.READ and r.boundary_policy_id == "p/boundary-s3-read"
    assert all(a.startswith("s3:Get") for a in r.statements[0].actions)
    assert (
        ev.reach(ident(ADMIN_ARN, boundary="p/boundary-s3-read"), ("arn:aws:dynamodb:*:*:table/customers",))
        is None
    )
    assert ev.is_admin(ident(ADMIN_ARN, boundary="p/boundary-s3-read")) is None
    # The boundary alone grants nothing.
    assert ev.reach(ident(boundary="p/boundary-s3-read"), PII) is None
    # Same policies, different boundary: cached answers must not leak between them.
    assert ev.reach(ident(ADMIN_ARN), PII).level == ReachLevel.ADMIN


def test_missing_policies_are_reported(ev: Evaluator) -> None:
    r = ev.reach(ident("p/s3-all", "p/gone", boundary="p/gone-boundary"), PII)
    assert r is not None and r.level == ReachLevel.ADMIN  # a missing boundary does not restrict
    assert r.missing_policy_ids == ("p/gone", "p/gone-boundary")


def test_conditions_are_recorded_and_do_not_block(ev: Evaluator) -> None:
    r = ev.reach(ident("p/vpce-only"), PII)
    assert r is not None and r.level == ReachLevel.READ and r.conditional
    assert r.statements[0].conditions == ("StringEquals aws:SourceVpce",)
    assert "when StringEquals aws:SourceVpce" in r.statements[0].reason
    assert not ev.reach(ident("p/s3-read"), PII).conditional


def test_unknown_action_names_grant_no_level_and_are_reported(ev: Evaluator) -> None:
    # Names the catalogue does not know (an unknown service's action, a typo) grant nothing on their own.
    assert ev.reach(ident("p/newsvc"), ("arn:aws:newsvc:us-east-1:111122223333:thing/x",)) is None
    assert ev.reach(ident("p/newsvc"), PII) is None
    # Next to a known action they neither raise nor lower its level, and stay listed.
    mixed = policy("p/mixed", stmt(actions=("s3:GetObject", "s3:TeleportBucket"), resources=("*",)))
    r = Evaluator({mixed.id: mixed}).reach(ident("p/mixed"), PII)
    assert r is not None and r.level == ReachLevel.READ and r.unknown_actions == ("s3:TeleportBucket",)
    # Unknown services are still matched by wildcards, on both sides.
    r = ev.reach(ident(ADMIN_ARN), ("arn:aws:newsvc:us-east-1:111122223333:thing/x",))
    assert r is not None and r.level == ReachLevel.ADMIN and r.unknown_actions == ("newsvc:*",)
    assert ev.reach(ident("p/newsvc", "p/deny-newsvc"), ("arn:aws:newsvc:us-east-1:1:thing/x",)) is None
    found = ev.allowed_actions(ident("p/bedrock-all"), ["bedrock:InvokeFutureModel"])
    assert found and found[0].unknown_actions == ("bedrock:InvokeFutureModel",)


def test_ai_capability_queries(ev: Evaluator) -> None:
    found = ev.allowed_actions(ident("p/bedrock-all"), ["bedrock:InvokeModel*", "sagemaker:InvokeEndpoint"])
    assert set(found[0].actions) == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
    assert ev.allowed_actions(ident("p/s3-all"), ["bedrock:InvokeModel*"]) == []
    gcp = ident("roles/aiplatform.user@projects/acme-prod", provider=Provider.GCP)
    assert ev.allowed_actions(gcp, ["aiplatform.endpoints.predict"])[0].actions == (
        "aiplatform.endpoints.predict",
    )
    azure = ident("azure/openai-user", provider=Provider.AZURE)
    chat = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
    assert ev.allowed_actions(azure, [chat])[0].actions == (chat,)
    assert ev.allowed_actions(ident(ADMIN_ARN), [chat]) == []  # AWS statements do not grant Azure actions


def test_can_perform_role_assumption_and_pass_role(ev: Evaluator) -> None:
    who = ident("p/assume-app")
    ok = ev.can_perform(who, "sts:AssumeRole", "arn:aws:iam::111122223333:role/app-billing")
    assert ok is not None and ok.actions == ("sts:AssumeRole",)
    assert ev.can_perform(who, "sts:AssumeRole", "arn:aws:iam::111122223333:role/admin") is None
    assert ev.can_perform(ident("p/iam-attach-all"), "iam:PassRole", "arn:aws:iam::1:role/x") is not None
    assert ev.can_perform(ident(ADMIN_ARN), "iam:PassRole", "arn:aws:iam::1:role/x") is not None


def test_permissions_management_on_broad_resources(ev: Evaluator) -> None:
    found = ev.permissions_management_actions(ident("p/iam-attach-all"))
    assert found and found[0].actions == ("iam:AttachRolePolicy",)  # PassRole is write, not listed
    assert ev.permissions_management_actions(ident("p/iam-attach-one")) == []
    narrow = ev.permissions_management_actions(ident("p/iam-attach-one"), broad_only=False)
    assert narrow[0].actions == ("iam:AttachRolePolicy",)
    s3_pm = ev.permissions_management_actions(ident("p/s3-all"))[0]
    assert (
        s3_pm.action_count > 10
        and len(s3_pm.actions) == 10
        and all(a.startswith("s3:") for a in s3_pm.actions)
    )
    reduced = ev.permissions_management_actions(ident("p/s3-all", "p/deny-put-bucket-policy"))[0]
    assert reduced.action_count == s3_pm.action_count - 1
    assert ev.permissions_management_actions(ident("p/s3-read")) == []


def test_gcp_grants_apply_below_their_scope(ev: Evaluator) -> None:
    sa = ident("roles/bq-reader@projects/acme-prod", provider=Provider.GCP)
    r = ev.reach(sa, ("projects/acme-prod/datasets/pii*",))
    assert r is not None and r.level == ReachLevel.READ
    assert ev.reach(sa, ("projects/acme-dev/datasets/pii*",)) is None
    assert ev.reach(sa, PII) is None  # GCP permissions never reach AWS resources


def test_azure_roles(ev: Evaluator) -> None:
    assert ev.reach(ident("azure/owner"), AZ_STORAGE).level == ReachLevel.ADMIN
    assert ev.reach(ident("azure/contributor"), AZ_STORAGE).level == ReachLevel.WRITE
    assert ev.reach(ident("azure/reader"), AZ_STORAGE).level == ReachLevel.READ
    assert ev.reach(ident("azure/openai-user"), AZ_STORAGE) is None  # other resource group and service
    owner = ev.is_admin(ident("azure/owner"))
    assert owner is not None and owner.reason.endswith("allows * on /subscriptions/s1")
    assert ev.is_admin(ident("azure/contributor")) is None
    pm = ev.permissions_management_actions(ident("azure/owner"))
    assert pm and pm[0].policy_id == "azure/owner"
    assert ev.permissions_management_actions(ident("azure/contributor")) == []


def test_statement_on_several_patterns_is_one_evidence_entry(ev: Evaluator) -> None:
    r = ev.reach(
        ident(ADMIN_ARN), ("arn:aws:s3:::acme-customer-pii*", "arn:aws:dynamodb:*:*:table/customers")
    )
    assert r is not None and len(r.statements) == 1
    assert any(
        a.startswith("dynamodb:")
        for a in ev.reach(ident(ADMIN_ARN), ("arn:aws:dynamodb:*:*:table/customers",)).statements[0].actions
    )
    assert r.statements[0].action_count > ev.reach(ident(ADMIN_ARN), PII).statements[0].action_count


def test_inline_policies_evaluate_without_being_cached(ev: Evaluator) -> None:
    r = ev.reach(ident("p/inline"), ("arn:aws:dynamodb:*:*:table/customers",))
    assert r is not None and r.level == ReachLevel.READ
    assert r.to_evidence()["statements"][0]["policy_id"] == "p/inline"


def test_results_serialise_to_plain_dicts(ev: Evaluator) -> None:
    r = ev.reach(ident("p/s3-all", "p/deny-one-bucket", boundary="p/boundary-s3-read"), PII)
    data = r.to_evidence()
    assert json.loads(json.dumps(data)) == data
    assert set(data) >= {"level", "statements", "denies", "unknown_actions", "conditional", "reason"}
    assert data["statements"][0]["statement"] == 0 and data["statements"][0]["effect"] == "Allow"
    assert "limited by permissions boundary p/boundary-s3-read" in data["reason"]
