"""IAM roles: clean service roles, trust relationships (vendors, `*`, GitHub OIDC, other scanned accounts),
administrators, unused roles, undeclared AI use and an environment crossing into production."""

from __future__ import annotations

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws import systems
from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.model import Expected

# Vendors that assume a role in their customers' accounts: (role name, vendor account). The accounts are
# outside the scanned estate.
VENDORS = (("datadog-integration", "464622532012"), ("snowflake-s3-access", "898466741470"),
           ("wiz-scanner", "197171649850"), ("fivetran-loader", "834469178297"),
           ("vanta-auditor", "956993596390"), ("pagerduty-events", "864879987165"))
MONITORING = d.document(d.allow(["cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "tag:GetResources",
                                 "ec2:DescribeInstances", "logs:DescribeLogGroups"], "*"))
BEDROCK = d.allow(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], systems.MODEL_ARN)


def clean_service_role(b: AccountBuilder) -> None:
    """Its own application's resources; one in five also reads its own environment's support tickets."""
    name = b.names.workload("role", plain=b.rng.random() < 0.4)
    inline = [b.app_policy(name.split("-")[0])]
    if b.rng.random() < 0.2:
        inline.append(("tickets-read", d.document(b.tickets_read())))
    b.service_role("service-role", name=name, inline=tuple(inline),
                   traits=("reads-own-env-system",) if len(inline) > 1 else ())


def vendor_with_external_id(b: AccountBuilder) -> None:
    name, vendor = b.rng.choice(VENDORS)
    b.role(b.names.fixed("role", name), "vendor-external-id",
           d.trust({"AWS": f"arn:aws:iam::{vendor}:root"},
                   condition={"StringEquals": {"sts:ExternalId": f"acme-{b.rng.randint(10**7, 10**8)}"}}),
           inline=(("vendor-read", MONITORING),), tags=(("owner", "security@acme.example"), ("vendor", name)),
           traits=("foreign-trust", "external-id"))


def vendor_in_organisation(b: AccountBuilder) -> None:
    """An account outside the scan, but pinned to the organisation by aws:PrincipalOrgID."""
    b.role(b.names.fixed("role", "org-audit-reader"), "vendor-org-condition",
           d.trust({"AWS": "arn:aws:iam::123456789012:root"},
                   condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
           inline=(("audit-read", MONITORING),), tags=(("owner", "security@acme.example"),),
           traits=("foreign-trust", "org-condition"))


def vendor_without_external_id(b: AccountBuilder) -> None:
    name, vendor = b.rng.choice(VENDORS)
    bare = b.rng.random() < 0.5  # a bare account id is the same as its root ARN
    b.role(b.names.fixed("role", name), "vendor-no-external-id",
           d.trust({"AWS": vendor if bare else f"arn:aws:iam::{vendor}:root"}),
           inline=(("vendor-read", MONITORING),), tags=(("vendor", name),),
           traits=("foreign-trust", "no-external-id"),
           expected=(Expected("trust-foreign-account-no-external-id",
                              f"account {vendor} (not scanned) may assume it without sts:ExternalId"),))


def _public_assets() -> tuple[tuple[str, dict], ...]:
    return (("public-assets", d.document(d.allow("s3:GetObject", "arn:aws:s3:::acme-public-assets/*"))),)


def open_trust(b: AccountBuilder) -> None:
    principal = "*" if b.rng.random() < 0.5 else {"AWS": "*"}
    b.role(b.names.workload("role", function="api"), "open-trust", d.trust(principal),
           inline=_public_assets(), tags=b.workload_tags(),
           traits=("trust-any",),
           expected=(Expected("trust-any-principal", "trust policy allows Principal * with no condition"),))


def open_trust_org(b: AccountBuilder) -> None:
    b.role(b.names.workload("role", function="api"), "open-trust-org",
           d.trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
           inline=_public_assets(), tags=b.workload_tags(), traits=("trust-any", "org-condition"))


def _ci_push(b: AccountBuilder, app: str) -> tuple[tuple[str, dict], ...]:
    return (("ci-push", d.document(
        d.allow(["s3:PutObject", "s3:GetObject"], f"arn:aws:s3:::acme-{b.env}-artifacts/{app}/*"),
        d.allow(["ecr:GetAuthorizationToken"], "*"),
        d.allow(["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
                 "ecr:BatchCheckLayerAvailability"],
                f"arn:aws:ecr:{b.region}:{b.account.id}:repository/{app}"))),)


def github_pinned(b: AccountBuilder) -> None:
    """The subject names the repository (and, mostly, the branch)."""
    app = b.rng.choice(("orders", "billing", "search", "catalog", "checkout"))
    sub = f"repo:acme/{app}:ref:refs/heads/main" if b.rng.random() < 0.7 else f"repo:acme/{app}:*"
    cond = {"StringEquals": {f"{d.GITHUB_ISSUER}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{d.GITHUB_ISSUER}:sub": sub}}
    b.role(b.names.fixed("role", f"github-{app}-deploy"), "github-pinned", d.github_trust(b.account.id, cond),
           inline=_ci_push(b, app), tags=b.workload_tags(), traits=("github-oidc", "sub-pinned"))


def github_unpinned(b: AccountBuilder) -> None:
    """No subject condition, or one whose values are all wildcards: any repository's workflow may assume it."""
    app = b.rng.choice(("orders", "billing", "search", "catalog", "checkout"))
    aud = {"StringEquals": {f"{d.GITHUB_ISSUER}:aud": "sts.amazonaws.com"}}
    variant = b.rng.choice(("audience only", "audience only", "no condition", "sub repo:*"))
    cond = {"audience only": aud, "no condition": None,
            "sub repo:*": {**aud, "StringLike": {f"{d.GITHUB_ISSUER}:sub": "repo:*"}}}[variant]
    b.role(b.names.fixed("role", f"github-{app}-deploy"), "github-unpinned", d.github_trust(b.account.id, cond),
           inline=_ci_push(b, app), tags=b.workload_tags(), traits=("github-oidc", "no-sub"),
           expected=(Expected("trust-federated-unconstrained",
                              f"GitHub OIDC trust without a repository in its sub condition ({variant})"),))


def admin_service_role(b: AccountBuilder, service: str | None = None) -> None:
    # No environment tag: an administrator reaches every system of every environment.
    b.service_role("admin-service-role", service=service or b.rng.choice(("lambda", "ec2", "ecs")),
                   managed=(d.ADMIN,), tags=b.workload_tags(env=False), traits=("admin",),
                   expected=(Expected("admin-access", "service role with AdministratorAccess"),))


def sso_roles(b: AccountBuilder) -> None:
    """IAM Identity Center permission-set roles: people sign in to them through SAML."""
    saml = f"arn:aws:iam::{b.account.id}:saml-provider/AWSSSO_{b.account.id[:8]}a1b2c3d4_DO_NOT_DELETE"
    trust = d.trust({"Federated": saml}, "sts:AssumeRoleWithSAML",
                    {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}})
    for permission_set, managed in (("AdministratorAccess", d.ADMIN), ("ReadOnlyS3", d.S3_READ)):
        suffix = f"{int(b.account.id) * 7 + len(permission_set):x}"[-16:]
        b.role(f"AWSReservedSSO_{permission_set}_{suffix}", "sso-role", trust, managed=(managed,),
               path="/aws-reserved/sso.amazonaws.com/", cls="human",
               traits=("sso", *(("admin",) if managed == d.ADMIN else ())))


def power_user_role(b: AccountBuilder) -> None:
    """PowerUserAccess (everything but IAM): not an administrator; it may change the code of Lambda
    functions and run commands on instances, none of which the exports list."""
    b.service_role("power-user-role", managed=(d.POWER_USER,), tags=b.workload_tags(env=False),
                   traits=("power-user", "latent"),
                   expected=(Expected("privesc-latent", "PowerUserAccess allows lambda:UpdateFunctionCode and "
                                                        "ssm:SendCommand; no Lambda functions or EC2 instances "
                                                        "were collected"),))


def boundary_admin(b: AccountBuilder) -> None:
    """AdministratorAccess inside a permissions boundary: only what the boundary allows is effective."""
    boundary = b.customer_policy("acme-workload-boundary", d.document(d.allow(
        ["s3:*", "logs:*", "dynamodb:*", "sqs:*", "sns:*", "kms:Decrypt"], "*")))
    b.service_role("boundary-admin", managed=(d.ADMIN,), boundary=boundary, tags=b.workload_tags(env=False),
                   traits=("admin-policy", "boundary"))


def unused_role(b: AccountBuilder) -> None:
    last = None if b.rng.random() < 0.3 else b.rng.randint(60, 400)
    b.service_role("unused-role", inline=(b.app_policy("reporting"),), last_used=last, traits=("unused",),
                   expected=(Expected("identity-unused", "role never assumed" if last is None else
                                      f"role last assumed {last} days ago"),))


def ai_undeclared(b: AccountBuilder) -> None:
    b.service_role("ai-undeclared", service="lambda", name=b.names.workload("role", function="bot"),
                   inline=(("bedrock-invoke", d.document(BEDROCK)),), traits=("ai",),
                   expected=(Expected("ai-undeclared", "bedrock:InvokeModel and no integration declares it"),))


def ai_undeclared_broad(b: AccountBuilder) -> None:
    """Shadow AI with `s3:*` on everything, tagged with a non-production environment: it also reaches the
    production systems."""
    env = b.env if b.env != "prod" else "staging"
    b.service_role("ai-undeclared-broad", service="lambda", name=b.names.workload("role", function="bot"),
                   tags=(*b.workload_tags(env=False), ("environment", env)),
                   inline=(("bedrock-and-s3", d.document(BEDROCK, d.allow("s3:*", "*"))),),
                   traits=("ai", "s3-wildcard", "env-tag"),
                   expected=(Expected("ai-undeclared", "bedrock:InvokeModel and no integration declares it"),
                             Expected("env-reaches-production",
                                      f"tagged environment={env}; s3:* on * reaches the prod systems")))


def converse_only(b: AccountBuilder) -> None:
    """bedrock:Converse is no IAM action (InvokeModel authorises the Converse API): no model access."""
    b.service_role("converse-only", service="lambda",
                   inline=(("bedrock-converse", d.document(d.allow("bedrock:Converse", systems.MODEL_ARN))),),
                   traits=("unknown-action",), unknown_actions=("bedrock:Converse",))


def env_to_prod(b: AccountBuilder) -> None:
    env = b.env if b.env != "prod" else "staging"
    tags = (*b.workload_tags(env=False), ("environment", env))
    b.service_role("env-to-prod", tags=tags,
                   inline=(("prod-export", d.document(d.allow(
                       ["s3:GetObject", "s3:ListBucket"],
                       [systems.bucket("prod", "customer-data"), systems.objects("prod", "customer-data")]))),),
                   traits=("env-tag", "reaches-prod"),
                   expected=(Expected("env-reaches-production",
                                      f"tagged environment={env}, reads the prod customer-data bucket"),))


def cross_account_deploy(source: AccountBuilder, target: AccountBuilder) -> None:
    """A CI user of one scanned account that assumes a deploy role in another scanned account: trusted, own
    estate, no external id needed; the deploy role reaches no system."""
    user_name = source.names.fixed("user", "release-deployer")
    role_name = target.names.fixed("role", f"deploy-from-{source.env}")
    user_arn = source.arn("user", user_name, "/service/")
    role_arn = target.arn("role", role_name)
    trusted = user_arn if target.rng.random() < 0.5 else source.account.root  # the account root: any allowed
    source.user(user_name, "cross-account-deployer", "nhi", path="/service/", tags=source.workload_tags(),
                keys=(source.fresh_key(("sts", "cloudformation")),),
                inline=(("assume-deploy", d.document(d.allow("sts:AssumeRole", role_arn))),),
                traits=("access-key", "cross-account"))
    target.role(role_name, "cross-account-deploy-role", d.trust({"AWS": trusted}), tags=target.workload_tags(),
                inline=(("deploy", d.document(d.allow(
                    ["cloudformation:DescribeStacks", "ecs:UpdateService", "ecs:DescribeServices"], "*"))),),
                traits=("cross-account-trust",))
