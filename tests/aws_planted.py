"""A moto estate with one planted gap per finding category, clean identities next to them, and the
written policy it is judged against. Used by the live, import and scan end-to-end tests."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from pathlib import Path

from aws_support import (
    MOTO_ACCOUNT,
    Moto,
    backdate_key,
    backdate_password_use,
    backdate_role,
    days_ago,
    iam_backend,
)

ACCOUNT = MOTO_ACCOUNT


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(principal: dict | str, condition: dict | None = None) -> str:
    stmt: dict = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return _doc(stmt)


LAMBDA = {"Service": "lambda.amazonaws.com"}
BEDROCK = {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*"}
TICKETS = {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
           "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/support-tickets"}
PII = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-customer-pii/*"}
DEV = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-dev-sandbox/*"}
PUBLIC = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-public-assets/*"}
ESCALATE = {"Effect": "Allow", "Action": ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"], "Resource": "*"}

# role name -> (trust policy, inline statements, days since last use or None)
ROLES: dict[str, tuple[str, list[dict], float | None]] = {
    "support-copilot": (_trust(LAMBDA), [BEDROCK, TICKETS, PII], 1),
    "clean-agent": (_trust(LAMBDA), [BEDROCK, TICKETS], 1),
    "shadow-ai": (_trust(LAMBDA), [BEDROCK], 2),
    "admin-bot": (_trust({"AWS": "444455556666"}), [], 3),
    "open-trust": (_trust("*"), [PUBLIC], 3),
    "escalator": (_trust(LAMBDA), [ESCALATE], 3),
    "data-sync": (_trust(LAMBDA), [PII, DEV], 1),
    "shared-worker": (_trust(LAMBDA), [BEDROCK], 1),
}
# user name -> (inline statements, key age days, key last used days ago or None, console password use days ago)
USERS: dict[str, tuple[list[dict], float, float | None, float | None]] = {
    "report-bot": ([BEDROCK], 400, 1, 3),
    "old-integration": ([PUBLIC], 200, None, None),
    "clean-svc": ([PUBLIC], 10, 1, None),
}
FUNCTIONS = {"copilot-fn": "support-copilot", "clean-fn": "clean-agent", "summarize-fn": "shared-worker",
             "translate-fn": "shared-worker"}

EXPECTED = {
    arn("role", "support-copilot"): {"scope-drift"},
    arn("role", "shadow-ai"): {"undeclared-ai-identity"},
    arn("role", "admin-bot"): {"overbroad-permissions", "risky-trust"},
    arn("role", "open-trust"): {"risky-trust"},
    arn("role", "escalator"): {"privilege-escalation"},
    arn("role", "data-sync"): {"environment-crossing"},
    arn("role", "shared-worker"): {"reused-identity"},
    arn("user", "report-bot"): {"long-lived-credential", "static-credential-forbidden", "human-use-of-nhi"},
    arn("user", "old-integration"): {"unused-credential"},
}
CLEAN = {arn("role", "clean-agent"), arn("user", "clean-svc")}
GHOST = arn("role", "ghost-agent")  # named by the policy, absent from the estate: stale-policy

POLICY = textwrap.dedent(f"""\
    version: 1
    defaults:
      credentials: {{max_age_days: 90, max_unused_days: 30, static_keys: allowed}}
    systems:
      customer-pii:
        environment: prod
        classification: restricted
        resources: ["arn:aws:s3:::acme-customer-pii*"]
      support-tickets:
        environment: prod
        resources: ["arn:aws:dynamodb:*:*:table/support-tickets"]
      bedrock-models:
        kind: ai-model
        resources: ["arn:aws:bedrock:*::foundation-model/*"]
      dev-sandbox:
        environment: dev
        resources: ["arn:aws:s3:::acme-dev-*"]
    integrations:
      - name: support-copilot
        owner: support-eng@acme.example
        environment: prod
        identities: ["{arn('role', 'support-copilot')}"]
        may_reach: [support-tickets, bedrock-models]
        must_not_reach: [customer-pii]
      - name: clean-agent
        owner: support-eng@acme.example
        environment: prod
        identities: ["{arn('role', 'clean-agent')}"]
        may_reach: [support-tickets, bedrock-models]
      - name: report-bot
        owner: finance@acme.example
        environment: prod
        identities: ["{arn('user', 'report-bot')}"]
        may_reach: [bedrock-models]
        credentials: {{static_keys: forbidden}}
      - name: data-sync
        owner: data@acme.example
        environment: prod
        identities: ["{arn('role', 'data-sync')}"]
        may_reach: [customer-pii, dev-sandbox]
      - name: summarizer
        owner: ml@acme.example
        environment: prod
        identities: ["{arn('role', 'shared-worker')}"]
        may_reach: [bedrock-models]
      - name: translator
        owner: ml@acme.example
        environment: prod
        identities: ["{arn('role', 'shared-worker')}"]
        may_reach: [bedrock-models]
      - name: ghost-agent
        owner: nobody@acme.example
        identities: ["{GHOST}"]
        may_reach: [bedrock-models]
    """)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buf.getvalue()


def seed_planted(moto: Moto) -> None:
    iam = moto.client("iam")
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    for name, (trust, statements, _) in ROLES.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        if statements:
            iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=_doc(*statements))
    iam.attach_role_policy(RoleName="admin-bot", PolicyArn=admin)
    for name, (statements, _, _, console) in USERS.items():
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=_doc(*statements))
        iam.create_access_key(UserName=name)
        if console is not None:
            iam.create_login_profile(UserName=name, Password="Corr3ct-Horse-Battery!")
    lam = moto.client("lambda")
    for fn, role in FUNCTIONS.items():
        lam.create_function(FunctionName=fn, Runtime="python3.12", Role=arn("role", role), Handler="app.handler",
                            Code={"ZipFile": _zip()})
    # Dates: moto stamps "now"; move them to where the story needs them.
    for name, (_, _, used) in ROLES.items():
        backdate_role(name, days_ago(500), days_ago(used) if used is not None else None)
    for name, (_, age, used, console) in USERS.items():
        service = "bedrock" if name == "report-bot" else "s3"
        backdate_key(name, days_ago(age), days_ago(used) if used is not None else None, service=service)
        if console is not None:
            backdate_password_use(name, days_ago(console))
    for name in USERS:
        iam_backend().users[name].create_date = days_ago(500)


def write_policy(directory: Path) -> Path:
    path = directory / "policy.yaml"
    path.write_text(POLICY)
    return path
