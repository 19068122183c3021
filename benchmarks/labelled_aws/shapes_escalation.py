"""Privilege escalation on service roles: real single-step techniques, latent ones (no target in the data),
grants that conditions make unusable for software, and chains to an administrator role.

Service roles (Lambda, ECS tasks, EC2 instances) never carry MFA, so grants behind
`aws:MultiFactorAuthPresent` / `aws:MultiFactorAuthAge` give them nothing; `iam:PassedToService` limits
which service a role may be passed to; date conditions are judged at --as-of; `aws:PrincipalTag/*` against
the role's own tags.
"""

from __future__ import annotations

from typing import Any

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.model import Expected

EXPIRED = ("DateLessThan", "aws:CurrentTime", "2025-06-30T00:00:00Z")
EXPIRED_EPOCH = ("NumericLessThan", "aws:EpochTime", "1751241600")  # 2025-06-30
IN_FORCE = ("DateLessThan", "aws:CurrentTime", "2027-12-31T23:59:59Z")


def _role(b: AccountBuilder, plant: str, statements: list[dict[str, Any]], *, traits: tuple[str, ...],
          expected: tuple[Expected, ...] = (), tags: tuple[tuple[str, str], ...] | None = None,
          service: str | None = None) -> str:
    name = b.names.workload("role")
    kw: dict[str, Any] = {} if tags is None else {"tags": tags}
    role = b.service_role(plant, service=service, name=name,
                          inline=(b.app_policy(name.split("-")[0]), (f"{plant}-grants", d.document(*statements))),
                          traits=traits, expected=expected, **kw)
    return role.arn


def mfa_gated_role(b: AccountBuilder) -> None:
    acct = b.account.id
    condition = d.MFA_PRESENT if b.rng.random() < 0.7 else d.MFA_RECENT
    actions: str | list[str] = "iam:*" if b.rng.random() < 0.5 else ["iam:PutRolePolicy", "iam:AttachRolePolicy"]
    _role(b, "mfa-gated-role", [d.allow(actions, f"arn:aws:iam::{acct}:*" if actions == "iam:*" else
                                        f"arn:aws:iam::{acct}:role/*", condition)],
          traits=("mfa-condition",))


def passrole_limited(b: AccountBuilder) -> None:
    """PassRole on `*` limited to services that run no caller code, next to Lambda create + invoke."""
    _role(b, "passrole-limited", [
        d.allow("iam:PassRole", "*", {"StringEquals": {"iam:PassedToService": [
            "application-autoscaling.amazonaws.com", "dax.amazonaws.com"]}}),
        d.allow(["lambda:CreateFunction", "lambda:InvokeFunction", "lambda:GetFunction"], "*"),
    ], traits=("passrole", "passed-to-service"))


def passrole_associated(b: AccountBuilder) -> None:
    """PassRole on `*` only for association with EC2 instances, next to Lambda create + invoke: a role
    cannot be passed to a new function."""
    _role(b, "passrole-associated", [
        d.allow("iam:PassRole", "*", {"ArnLike": {"iam:AssociatedResourceArn":
                                                  f"arn:aws:ec2:{b.region}:{b.account.id}:instance/*"}}),
        d.allow(["lambda:CreateFunction", "lambda:InvokeFunction", "lambda:GetFunction"], "*"),
    ], traits=("passrole", "associated-resource"))


def passrole_lambda(b: AccountBuilder) -> None:
    _role(b, "passrole-lambda", [
        d.allow("iam:PassRole", "*"),
        d.allow(["lambda:CreateFunction", "lambda:InvokeFunction", "lambda:GetFunction"], "*"),
    ], traits=("passrole", "escalation"),
        expected=(Expected("privesc-single-step", "iam:PassRole on * with lambda:CreateFunction + InvokeFunction; "
                                                  "an administrator role trusts Lambda"),))


def passrole_cloudformation(b: AccountBuilder) -> None:
    _role(b, "passrole-cloudformation", [
        d.allow("iam:PassRole", "*"),
        d.allow(["cloudformation:CreateStack", "cloudformation:DescribeStacks"], "*"),
    ], traits=("passrole", "latent"),
        expected=(Expected("privesc-latent", "iam:PassRole on * with cloudformation:CreateStack; collected: no "
                                             "role trusts cloudformation.amazonaws.com"),))


def update_function_code(b: AccountBuilder) -> None:
    _role(b, "update-function-code", [
        d.allow(["lambda:UpdateFunctionCode", "lambda:GetFunction"],
                f"arn:aws:lambda:{b.region}:{b.account.id}:function:*"),
    ], traits=("latent",),
        expected=(Expected("privesc-latent", "lambda:UpdateFunctionCode on every function; no Lambda functions "
                                             "were collected"),))


def create_policy_version(b: AccountBuilder) -> None:
    _role(b, "create-policy-version", [
        d.allow(["iam:CreatePolicyVersion", "iam:GetPolicy", "iam:GetPolicyVersion"],
                f"arn:aws:iam::{b.account.id}:policy/*"),
    ], traits=("escalation",),
        expected=(Expected("privesc-single-step", "iam:CreatePolicyVersion on the account's policies"),))


def escalation_denied(b: AccountBuilder) -> None:
    """An escalation grant that an explicit Deny in the same policy takes back."""
    _role(b, "escalation-denied", [
        d.allow(["iam:CreatePolicyVersion", "iam:GetPolicy"], f"arn:aws:iam::{b.account.id}:policy/*"),
        {"Sid": "NoIamWrites", "Effect": "Deny", "Action": ["iam:Create*", "iam:Put*", "iam:Attach*",
                                                            "iam:Update*", "iam:Set*"], "Resource": "*"},
    ], traits=("deny",))


def expired_grant(b: AccountBuilder) -> None:
    op, key, value = EXPIRED if b.rng.random() < 0.6 else EXPIRED_EPOCH
    _role(b, "expired-grant", [
        d.allow(["iam:CreatePolicyVersion", "iam:AttachRolePolicy"], f"arn:aws:iam::{b.account.id}:*",
                {op: {key: value}}),
    ], traits=("date-condition", "expired"))


def in_force_grant(b: AccountBuilder) -> None:
    op, key, value = IN_FORCE
    _role(b, "in-force-grant", [
        d.allow(["iam:CreatePolicyVersion", "iam:AttachRolePolicy"], f"arn:aws:iam::{b.account.id}:*",
                {op: {key: value}}),
    ], traits=("date-condition", "escalation"),
        expected=(Expected("privesc-single-step", "iam:AttachRolePolicy / CreatePolicyVersion until 2027-12-31: "
                                                  "in force at --as-of"),))


def _tag_grant(b: AccountBuilder, plant: str, own_team: str, expected: tuple[Expected, ...]) -> None:
    tags = (("kind", "workload"), ("owner", f"{own_team}@acme.example"), ("team", own_team))
    _role(b, plant, [d.allow(["iam:PutRolePolicy", "iam:AttachRolePolicy"], f"arn:aws:iam::{b.account.id}:role/*",
                             {"StringEquals": {"aws:PrincipalTag/team": "platform"}})],
          tags=tags, traits=("principal-tag", f"team-{own_team}"), expected=expected)


def principal_tag_match(b: AccountBuilder) -> None:
    _tag_grant(b, "principal-tag-match", "platform",
               (Expected("privesc-single-step", "iam:PutRolePolicy for aws:PrincipalTag/team=platform; the role "
                                                "is tagged team=platform"),))


def principal_tag_mismatch(b: AccountBuilder) -> None:
    _tag_grant(b, "principal-tag-mismatch", b.rng.choice(("data", "growth", "support")), ())


def passrole_to_task_role(b: AccountBuilder) -> None:
    """A deployer that may pass one (non-admin) ECS task role to tasks it registers and runs."""
    task = b.names.workload("role", function="worker")
    task_role = b.service_role("ecs-task-role", service="ecs", name=task, inline=(b.app_policy(task.split("-")[0]),))
    _role(b, "passrole-task-role", [
        d.allow("iam:PassRole", task_role.arn),
        d.allow(["ecs:RegisterTaskDefinition", "ecs:RunTask", "ecs:DescribeTasks"], "*"),
    ], traits=("passrole", "escalation"),
        expected=(Expected("privesc-single-step", f"iam:PassRole on {task} (trusts ecs-tasks) with "
                                                  "ecs:RegisterTaskDefinition + RunTask"),))


def chain_to_admin(b: AccountBuilder) -> None:
    """A role allowed to assume an administrator role that trusts it."""
    source = b.names.workload("role")
    admin = b.names.fixed("role", f"{b.env}-ops-admin")
    # No environment tags on either side: the administrator reaches every system, of every environment.
    role = b.service_role("chain-source", name=source, tags=b.workload_tags(env=False),
                   inline=(b.app_policy(source.split("-")[0]),
                           ("assume-ops", d.document(d.allow("sts:AssumeRole", b.arn("role", admin))))),
                   traits=("assume-role",),
                   expected=(Expected("privesc-via-chain", f"may assume {admin}, which has AdministratorAccess"),))
    b.role(admin, "chain-admin", d.trust({"AWS": role.arn}), managed=(d.ADMIN,),
           tags=b.workload_tags(env=False), traits=("admin", "chain-target"),
           expected=(Expected("admin-access", "role with AdministratorAccess"),))


def chain_behind_mfa(b: AccountBuilder) -> None:
    """The same, but the admin role's trust requires MFA: a role session never has it."""
    source = b.names.workload("role")
    admin = b.names.fixed("role", f"{b.env}-breakglass-admin")
    role = b.service_role("chain-mfa-source", name=source, tags=b.workload_tags(env=False),
                   inline=(b.app_policy(source.split("-")[0]),
                           ("assume-breakglass", d.document(d.allow("sts:AssumeRole", b.arn("role", admin))))),
                   traits=("assume-role", "mfa-trust"))
    b.role(admin, "chain-mfa-admin", d.trust({"AWS": role.arn}, condition=d.MFA_PRESENT),
           managed=(d.ADMIN,), tags=b.workload_tags(env=False), traits=("admin", "mfa-trust"),
           expected=(Expected("admin-access", "role with AdministratorAccess"),))
