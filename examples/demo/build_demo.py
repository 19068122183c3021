"""Regenerate the demo estate snapshot (examples/demo/snapshot.json) of the fictional Acme Corp.

Run: .venv/bin/python examples/demo/build_demo.py. Every gap is planted on purpose; the comments say which
rule it is for. Dates are fixed relative to the demo's --as-of date 2026-11-28.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from nhiaudit.inventory.model import (
    Credential,
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


def gcp_part() -> tuple[list, list, list]:
    summariser = f"vertex-summariser@{GCP_PROJECT}.iam.gserviceaccount.com"
    scorer = f"batch-scorer@{GCP_PROJECT}.iam.gserviceaccount.com"
    vertex_user = policy(f"projects/{GCP_PROJECT}/roles/vertexPredict", "vertexPredict",
                         allow(["aiplatform.endpoints.predict", "aiplatform.endpoints.generateContent"],
                               [f"projects/{GCP_PROJECT}/*"]), provider=Provider.GCP)
    docs_reader = policy(f"projects/{GCP_PROJECT}/roles/docsReader", "docsReader",
                         allow(["storage.objects.get", "storage.objects.list"],
                               [f"projects/_/buckets/acme-contracts*"]), provider=Provider.GCP)
    identities = [
        Identity(id=summariser, provider=Provider.GCP, account=GCP_PROJECT, kind=IdentityKind.SERVICE_ACCOUNT,
                 name="vertex-summariser", created=ago(400), last_activity=ago(0),
                 policy_ids=(vertex_user.id, docs_reader.id), tags={"env": "prod"}),
        # Planted: undeclared Vertex AI caller.
        Identity(id=scorer, provider=Provider.GCP, account=GCP_PROJECT, kind=IdentityKind.SERVICE_ACCOUNT,
                 name="batch-scorer", created=ago(60), last_activity=ago(1), policy_ids=(vertex_user.id,)),
    ]
    credentials = [
        # Planted: user-managed SA key older than the integration's 90 days.
        Credential(id=f"projects/{GCP_PROJECT}/serviceAccounts/{summariser}/keys/3f1e9c0a7b", identity_id=summariser,
                   provider=Provider.GCP, type=CredentialType.SA_KEY, created=ago(150), last_used=ago(0)),
    ]
    return identities, credentials, [vertex_user, docs_reader]


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
                   type=CredentialType.CLIENT_SECRET, created=ago(20), last_used=ago(0), expires=None),
    ]
    grants = [
        DelegatedGrant(id="oauth2grant-hr-1", provider=Provider.AZURE, identity_id=hr_sp,
                       resource="Microsoft Graph", scopes=("User.Read.All", "Mail.Read"),
                       consent_type="AllPrincipals"),
    ]
    return identities, credentials, [openai], grants


def build() -> Snapshot:
    ids, creds, pols, trusts, workloads = aws_part()
    g_ids, g_creds, g_pols = gcp_part()
    a_ids, a_creds, a_pols, grants = azure_part()
    return Snapshot(
        generated_at=AS_OF,
        sources=[SourceInfo(provider=Provider.AWS, account=PROD, method="demo", collected_at=AS_OF),
                 SourceInfo(provider=Provider.AWS, account=DEV, method="demo", collected_at=AS_OF),
                 SourceInfo(provider=Provider.GCP, account=GCP_PROJECT, method="demo", collected_at=AS_OF),
                 SourceInfo(provider=Provider.AZURE, account=TENANT, method="demo", collected_at=AS_OF)],
        identities=ids + g_ids + a_ids, credentials=creds + g_creds + a_creds, policies=pols + g_pols + a_pols,
        trusts=trusts, workloads=workloads, delegated_grants=grants,
    )


if __name__ == "__main__":
    out = Path(__file__).with_name("snapshot.json")
    build().write(out)
    print(f"wrote {out}")
