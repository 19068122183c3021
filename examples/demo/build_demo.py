"""Regenerate the demo estate snapshot (examples/demo/snapshot.json) of the fictional Acme Corp.

Run: .venv/bin/python examples/demo/build_demo.py. Every gap is planted on purpose; the comments say which
rule it is for. Dates are fixed relative to the demo's --as-of date 2026-11-28. The AWS and Azure parts are
written here as inventory records; the GCP project comes from recorded gcloud exports (fixtures/gcp/demo)
through the real import and transform.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting, AuditSelector
from nhiaudit.inventory.model import (
    Credential,
    CredentialSighting,
    CredentialType,
    DelegatedGrant,
    HumanUse,
    Identity,
    IdentityKind,
    Policy,
    Provider,
    SourceInfo,
    Statement,
    Trust,
    TrustKind,
    Workload,
)
from nhiaudit.inventory.snapshot import Snapshot

AS_OF = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PROD, DEV = "111122223333", "444455556666"
GCP_PROJECT = "acme-ml-prod"
TENANT = "7f3c1c9e-2a41-4c55-9a1e-0d6b2f7e8a10"


def ago(days: int) -> datetime:
    return AS_OF - timedelta(days=days)


def arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def aws_identity(account: str, kind: IdentityKind, name: str, created: int, last: int | None,
                 policies: list[str], tags: dict[str, str] | None = None, human: HumanUse | None = None) -> Identity:
    return Identity(
        id=arn(account, kind.value, name), provider=Provider.AWS, account=account, kind=kind, name=name,
        created=ago(created), last_activity=ago(last) if last is not None else None, policy_ids=tuple(policies),
        tags=tags or {}, human_use=human,
    )


def policy(pid: str, name: str, *statements: Statement, provider: Provider = Provider.AWS,
           kind: str = "customer") -> Policy:
    return Policy(id=pid, provider=provider, name=name, kind=kind, statements=statements)


def allow(actions: list[str], resources: list[str], sid: str | None = None) -> Statement:
    return Statement(effect="Allow", actions=tuple(actions), resources=tuple(resources), sid=sid)


def trust(role: str, principal: str, kind: TrustKind = TrustKind.ASSUME_ROLE, account: str = PROD,
          conditions: dict | None = None) -> Trust:
    role_arn = arn(account, "role", role)
    return Trust(identity_id=role_arn, principal=principal, kind=kind, conditions=conditions or {},
                 reason=f"trust policy of {role_arn}, statement 0")


def lambda_fn(name: str, role: str, integration: str) -> Workload:
    return Workload(id=f"arn:aws:lambda:eu-west-1:{PROD}:function:{name}", provider=Provider.AWS, account=PROD,
                    kind="lambda", name=name, identity_id=arn(PROD, "role", role), region="eu-west-1",
                    tags={"integration": integration})


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
P_COPILOT = f"arn:aws:iam::{PROD}:policy/support-copilot"
P_ANALYTICS = f"arn:aws:iam::{PROD}:policy/analytics-reader"
P_REPORT = f"arn:aws:iam::{PROD}:policy/weekly-report"
P_NOTEBOOK = f"arn:aws:iam::{DEV}:policy/notebook-bedrock"
P_SMTP = f"arn:aws:iam::{PROD}:policy/ses-send"


def aws_part() -> tuple[list, list, list, list, list]:
    policies = [
        policy(ADMIN, "AdministratorAccess", allow(["*"], ["*"]), kind="managed"),
        policy(P_COPILOT, "support-copilot",
               allow(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                     ["arn:aws:bedrock:*::foundation-model/*"], "InvokeModels"),
               allow(["s3:GetObject", "s3:ListBucket"],
                     ["arn:aws:s3:::acme-support-tickets", "arn:aws:s3:::acme-support-tickets/*"], "ReadTickets"),
               # Planted: lets the copilot assume the analytics role, which reads customer PII.
               allow(["sts:AssumeRole"], [arn(PROD, "role", "analytics-reader")], "AssumeAnalytics")),
        policy(P_ANALYTICS, "analytics-reader",
               allow(["s3:GetObject", "s3:ListBucket"],
                     ["arn:aws:s3:::acme-customer-pii-exports", "arn:aws:s3:::acme-customer-pii-exports/*"],
                     "ReadPiiExports")),
        policy(P_REPORT, "weekly-report",
               allow(["s3:GetObject"], ["arn:aws:s3:::acme-support-tickets/*"], "ReadTickets"),
               # Planted: finance ledger is not in the integration's may_reach.
               allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::acme-finance-ledger/*"], "Finance"),
               allow(["bedrock:InvokeModel"], ["*"], "Summarise")),
        policy(P_NOTEBOOK, "notebook-bedrock", allow(["bedrock:*"], ["*"], "AllBedrock")),
        policy(P_SMTP, "ses-send", allow(["ses:SendRawEmail"], ["*"])),
    ]
    identities = [
        aws_identity(PROD, IdentityKind.ROLE, "support-copilot", 300, 0, [P_COPILOT], {"environment": "prod"}),
        aws_identity(PROD, IdentityKind.ROLE, "analytics-reader", 900, 3, [P_ANALYTICS], {"environment": "prod"}),
        # Planted: CI user with admin rights, an old key it stopped using, and an expired exception.
        aws_identity(PROD, IdentityKind.USER, "ci-deployer", 800, 95, [ADMIN], {"owner": "platform@acme.example"}),
        # Planted: static key on an integration that forbids them, reaching finance data.
        aws_identity(PROD, IdentityKind.USER, "report-bot", 400, 1, [P_REPORT], {"environment": "prod"}),
        # Excepted: old SMTP key in a vendor appliance, covered by a valid exception.
        aws_identity(PROD, IdentityKind.USER, "legacy-smtp", 1500, 2, [P_SMTP]),
        # Planted: shadow AI in the dev account.
        aws_identity(DEV, IdentityKind.ROLE, "data-science-notebook", 120, 1, [P_NOTEBOOK], {"environment": "dev"}),
        aws_identity(PROD, IdentityKind.USER, "alice", 1000, 0, [P_ANALYTICS],
                     human=HumanUse(console_password=True, password_last_used=ago(0), mfa_active=True)),
    ]
    credentials = [
        Credential(id="AKIADEMOCIDEPLOYER01", identity_id=arn(PROD, "user", "ci-deployer"), provider=Provider.AWS,
                   type=CredentialType.ACCESS_KEY, created=ago(700), last_used=ago(95),
                   last_used_service="cloudformation", last_used_region="eu-west-1"),
        Credential(id="AKIADEMOREPORTBOT001", identity_id=arn(PROD, "user", "report-bot"), provider=Provider.AWS,
                   type=CredentialType.ACCESS_KEY, created=ago(45), last_used=ago(1), last_used_service="s3"),
        Credential(id="AKIADEMOLEGACYSMTP01", identity_id=arn(PROD, "user", "legacy-smtp"), provider=Provider.AWS,
                   type=CredentialType.ACCESS_KEY, created=ago(1400), last_used=ago(2), last_used_service="ses"),
    ]
    trusts = [
        Trust(identity_id=arn(PROD, "role", "support-copilot"), principal="lambda.amazonaws.com",
              kind=TrustKind.SERVICE, reason=f"trust policy of {arn(PROD, 'role', 'support-copilot')}, statement 0"),
        Trust(identity_id=arn(PROD, "role", "analytics-reader"), principal=f"arn:aws:iam::{PROD}:root",
              kind=TrustKind.ASSUME_ROLE, reason=f"trust policy of {arn(PROD, 'role', 'analytics-reader')}, "
              "statement 0"),
        Trust(identity_id=arn(DEV, "role", "data-science-notebook"), principal="sagemaker.amazonaws.com",
              kind=TrustKind.SERVICE, reason=f"trust policy of {arn(DEV, 'role', 'data-science-notebook')}, "
              "statement 0"),
    ]
    workloads = [
        Workload(id=f"arn:aws:lambda:eu-west-1:{PROD}:function:support-copilot", provider=Provider.AWS,
                 account=PROD, kind="lambda", name="support-copilot", identity_id=arn(PROD, "role", "support-copilot"),
                 region="eu-west-1", tags={"integration": "support-copilot"}),
    ]
    return identities, credentials, policies, trusts, workloads


P_DEPLOY_HELPER = f"arn:aws:iam::{PROD}:policy/deploy-helper"
P_CODE_REVIEW = f"arn:aws:iam::{DEV}:policy/code-review-bot"
P_BI = f"arn:aws:iam::{PROD}:policy/bi-insights"
P_GENAI = f"arn:aws:iam::{PROD}:policy/genai-worker"
P_PARTNER = f"arn:aws:iam::{PROD}:policy/partner-drop"
P_WEBSITE = f"arn:aws:iam::{PROD}:policy/website-deploy"
P_EXPORTER = f"arn:aws:iam::{PROD}:policy/ticket-exporter"
P_VENDOR = f"arn:aws:iam::{PROD}:policy/vendor-analytics"
P_GUARDRAIL = f"arn:aws:iam::{PROD}:policy/deny-customer-data"
P_ETL = f"arn:aws:iam::{PROD}:policy/etl-staging"
GITHUB_OIDC = f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"


def aws_catalogue_part() -> tuple[list, list, list, list, list]:
    """Gaps for the rest of the catalogue: escalation, risky trust, human use, reuse, environments."""
    bedrock = allow(["bedrock:InvokeModel"], ["arn:aws:bedrock:*::foundation-model/*"], "InvokeModels")
    policies = [
        # Planted: PassRole on every role + Lambda create/invoke: runs code as role/ops-admin (admin).
        policy(P_DEPLOY_HELPER, "deploy-helper",
               allow(["iam:PassRole"], [arn(PROD, "role", "*")], "PassAnyRole"),
               allow(["lambda:CreateFunction", "lambda:InvokeFunction", "lambda:GetFunction"], ["*"], "Functions")),
        # Planted: a dev AI agent that may assume a production admin role (multi-step escalation, dev -> prod).
        policy(P_CODE_REVIEW, "code-review-bot", bedrock,
               allow(["sts:AssumeRole"], [arn(PROD, "role", "deploy-admin")], "DeployToProd")),
        policy(P_BI, "bi-insights", bedrock,
               allow(["s3:GetObject"], ["arn:aws:s3:::acme-support-tickets/*"], "ReadTickets")),
        # Planted: service-wide wildcard on an integration identity.
        policy(P_GENAI, "genai-worker", allow(["bedrock:*"], ["*"], "AllBedrock")),
        policy(P_PARTNER, "partner-drop", allow(["s3:PutObject"], ["arn:aws:s3:::acme-partner-drop/*"])),
        policy(P_WEBSITE, "website-deploy", allow(["s3:PutObject", "s3:DeleteObject"], ["arn:aws:s3:::acme-www/*"])),
        policy(P_EXPORTER, "ticket-exporter", allow(["sts:AssumeRole"], [arn(PROD, "role", "genai-worker")])),
        policy(P_VENDOR, "vendor-analytics", allow(["s3:GetObject"], ["arn:aws:s3:::acme-support-tickets/*"])),
        # Guardrail on the admin roles: they stay admin, but cannot touch customer data.
        policy(P_GUARDRAIL, "deny-customer-data",
               Statement(effect="Deny", actions=("*",), resources=("arn:aws:s3:::acme-customer-pii*",),
                         sid="NoCustomerData"),
               Statement(effect="Deny", actions=("sts:AssumeRole",), resources=(arn(PROD, "role", "analytics-reader"),),
                         sid="NoPiiReaderRole")),
        policy(P_ETL, "etl-staging", allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::acme-etl-staging/*"])),
    ]
    prod = {"environment": "prod"}
    identities = [
        aws_identity(PROD, IdentityKind.ROLE, "deploy-helper", 200, 2, [P_DEPLOY_HELPER], prod),
        aws_identity(PROD, IdentityKind.ROLE, "ops-admin", 700, 10, [ADMIN, P_GUARDRAIL], prod),
        aws_identity(DEV, IdentityKind.ROLE, "code-review-bot", 90, 0, [P_CODE_REVIEW], {"environment": "dev"}),
        aws_identity(PROD, IdentityKind.ROLE, "deploy-admin", 600, 4, [ADMIN, P_GUARDRAIL], prod),
        # Planted: an integration's machine user that someone also logs in with (console password, no MFA).
        aws_identity(PROD, IdentityKind.USER, "bi-dashboard-bot", 200, 1, [P_BI], prod,
                     human=HumanUse(console_password=True, password_last_used=ago(3), mfa_active=False)),
        # Planted: one role for two integrations, tagged staging but used by production integrations.
        aws_identity(PROD, IdentityKind.ROLE, "genai-worker", 150, 0, [P_GENAI], {"environment": "staging"}),
        # Planted: trusts every AWS principal; an external id is no identity check.
        aws_identity(PROD, IdentityKind.ROLE, "partner-upload", 500, 20, [P_PARTNER], prod),
        # Planted: GitHub OIDC trust without a `sub` condition: any repository's workflow can assume it.
        aws_identity(PROD, IdentityKind.ROLE, "github-deploy", 300, 1, [P_WEBSITE], prod),
        # Planted: trusted by an unknown vendor account without sts:ExternalId.
        aws_identity(PROD, IdentityKind.ROLE, "vendor-analytics", 800, 5, [P_VENDOR], prod),
        # Planted: undeclared role that can assume genai-worker, an integration's AI role (AI through a chain).
        aws_identity(PROD, IdentityKind.ROLE, "ticket-exporter", 100, 1, [P_EXPORTER], prod),
        # Planted: never used since it was created 400 days ago.
        aws_identity(PROD, IdentityKind.ROLE, "old-etl", 400, None, [P_ETL], prod),
    ]
    credentials = [
        Credential(id="AKIADEMOBIDASHBOT001", identity_id=arn(PROD, "user", "bi-dashboard-bot"), provider=Provider.AWS,
                   type=CredentialType.ACCESS_KEY, created=ago(60), last_used=ago(1), last_used_service="bedrock"),
    ]
    trusts = [
        trust("ops-admin", "lambda.amazonaws.com", TrustKind.SERVICE),
        trust("deploy-admin", arn(DEV, "role", "code-review-bot")),
        trust("genai-worker", "lambda.amazonaws.com", TrustKind.SERVICE),
        trust("partner-upload", "*", conditions={"StringEquals": {"sts:ExternalId": "acme-partner-7731"}}),
        trust("github-deploy", GITHUB_OIDC, TrustKind.FEDERATED,
              conditions={"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}),
        trust("vendor-analytics", "arn:aws:iam::999988887777:root"),
        trust("genai-worker", arn(PROD, "role", "ticket-exporter")),
        trust("old-etl", f"arn:aws:iam::{PROD}:root"),
    ]
    workloads = [lambda_fn("faq-bot", "genai-worker", "faq-bot"),
                 lambda_fn("sales-email-drafter", "genai-worker", "sales-email-drafter")]
    return identities, credentials, policies, trusts, workloads


GCP_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gcp" / "demo"


def gcp_part() -> Snapshot:
    """The GCP project from its recorded gcloud exports (fixtures/gcp/demo), through the real import and
    transform, exactly as `nhiaudit scan --import` reads them. Planted there:
    - vertex-summariser (declared by doc-summariser): a user-managed key older than 90 days (cred-too-old);
    - batch-scorer: holds the Vertex predict role but no integration declares it (ai-undeclared);
    - user:ml-contractor@gmail.com holds roles/aiplatform.user on the project (trust-outside-ai-use)."""
    from nhiaudit.connectors.imports import import_files

    part = import_files([GCP_FIXTURES,
                         Path(f"{GCP_PROJECT}={GCP_FIXTURES / 'targeted' / 'project-iam-policy.json'}")])
    if part.collection_issues:
        raise SystemExit(f"the GCP demo fixtures are incomplete: {part.collection_issues}")
    # The import stamps today's date and the files' paths: the demo's source is fixed (reproducible).
    sources = [s.model_copy(update={"method": "demo", "collected_at": AS_OF,
                                    "detail": "recorded gcloud exports: fixtures/gcp/demo"}) for s in part.sources]
    return part.model_copy(update={"sources": sources})


SHARED_SECRET = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def azure_part() -> tuple[list, list, list, list]:
    hr_sp = "0b7e5a52-6d1f-4c1e-8b0e-5c3a9d2f4e61"
    marketing_sp = "9a4d2c71-3e8b-4f0a-b6d5-1e2f3a4b5c6d"
    openai = policy("/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
                    "Cognitive Services OpenAI User",
                    allow(["Microsoft.CognitiveServices/accounts/OpenAI/*"],
                          ["/subscriptions/*/resourceGroups/ai/providers/Microsoft.CognitiveServices/accounts/*"]),
                    provider=Provider.AZURE, kind="role")
    identities = [
        Identity(id=hr_sp, provider=Provider.AZURE, account=TENANT, kind=IdentityKind.SERVICE_PRINCIPAL,
                 name="hr-assistant", created=ago(200), last_activity=ago(0), policy_ids=(openai.id,)),
        # Planted: undeclared Azure OpenAI caller.
        Identity(id=marketing_sp, provider=Provider.AZURE, account=TENANT, kind=IdentityKind.SERVICE_PRINCIPAL,
                 name="marketing-gpt", created=ago(30), last_activity=ago(2), policy_ids=(openai.id,)),
    ]
    credentials = [
        # Planted: client secret without expiry on an integration that requires one.
        Credential(id="c1d2e3f4-0000-4a5b-8c9d-000000000001", identity_id=hr_sp, provider=Provider.AZURE,
                   type=CredentialType.CLIENT_SECRET, created=ago(20), last_used=ago(0), expires=None,
                   fingerprint=SHARED_SECRET),
        # Planted: the same secret copied to a second app registration.
        Credential(id="5b6c7d8e-0000-4f1a-9b2c-000000000002", identity_id=marketing_sp, provider=Provider.AZURE,
                   type=CredentialType.CLIENT_SECRET, created=ago(20), last_used=ago(2), expires=ago(-180),
                   fingerprint=SHARED_SECRET),
    ]
    grants = [
        DelegatedGrant(id="oauth2grant-hr-1", provider=Provider.AZURE, identity_id=hr_sp,
                       resource="Microsoft Graph", scopes=("User.Read.All", "Mail.Read"),
                       consent_type="AllPrincipals"),
    ]
    return identities, credentials, [openai], grants


def sightings() -> list[CredentialSighting]:
    """secret-leaked-credential: report-bot's active key (and its secret) pasted into a Lambda function's
    environment, where every reader of the function's configuration sees it."""
    return [CredentialSighting(
        detector="aws_access_key_id", key_id="AKIADEMOREPORTBOT001", secret_nearby=True,
        location_kind="lambda_environment", location=f"arn:aws:lambda:us-east-1:{PROD}:function:weekly-report-mailer",
        field="REPORTS_AWS_ACCESS_KEY_ID", provider=Provider.AWS, account=PROD, region="us-east-1")]


def audit_part() -> list[AuditLogSetting]:
    """What the production account records. Planted: Bedrock invocation logging is on in eu-west-1 but off in
    us-east-1, where support-copilot may call models too; the organisation trail records data events of the
    customer PII buckets but not of the support tickets the copilot reads."""
    pii_events = AuditSelector(category="data", resource_types=("AWS::S3::Object",),
                               arn_starts_with=("arn:aws:s3:::acme-customer-pii",))
    trail = AuditLogSetting(
        provider=Provider.AWS, account=PROD, kind=AuditKind.CLOUDTRAIL_TRAIL,
        id=f"arn:aws:cloudtrail:eu-west-1:{PROD}:trail/acme-org-trail", name="acme-org-trail", multi_region=True,
        organization=True, logging=True, destination="s3://acme-cloudtrail-logs",
        selectors=(AuditSelector(category="management"), pii_events))
    bedrock = [AuditLogSetting(
        provider=Provider.AWS, account=PROD, kind=AuditKind.BEDROCK_INVOCATION_LOGGING,
        id=f"bedrock-invocation-logging:{region}", name=f"Bedrock model invocation logging in {region}",
        regions=(region,), logging=on, destination="CloudWatch Logs /aws/bedrock/invocations" if on else None,
        delivers=("text",) if on else ()) for region, on in (("eu-west-1", True), ("us-east-1", False))]
    return [trail, *bedrock]


def build() -> Snapshot:
    ids, creds, pols, trusts, workloads = aws_part()
    for extra, more in zip((ids, creds, pols, trusts, workloads), aws_catalogue_part(), strict=True):
        extra.extend(more)
    gcp = gcp_part()
    a_ids, a_creds, a_pols, grants = azure_part()
    return Snapshot(
        generated_at=AS_OF,
        sources=[SourceInfo(provider=Provider.AWS, account=PROD, method="demo", collected_at=AS_OF,
                            audit_collected=("bedrock_invocation_logging", "cloudtrail_event_data_store",
                                             "cloudtrail_trail")),
                 SourceInfo(provider=Provider.AWS, account=DEV, method="demo", collected_at=AS_OF),
                 *gcp.sources,
                 SourceInfo(provider=Provider.AZURE, account=TENANT, method="demo", collected_at=AS_OF)],
        identities=ids + gcp.identities + a_ids, credentials=creds + gcp.credentials + a_creds,
        policies=pols + gcp.policies + a_pols, trusts=trusts + gcp.trusts, workloads=workloads + gcp.workloads,
        delegated_grants=grants, credential_sightings=sightings(), audit_settings=audit_part(),
    )


if __name__ == "__main__":
    out = Path(__file__).with_name("snapshot.json")
    build().write(out)
    print(f"wrote {out}")
