"""Trust, environment, reuse and human-use facts; and every fact the builders emit is documented."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from nhiaudit.analysis import prepare
from nhiaudit.facts.credential import credential_facts, shared_fingerprints
from nhiaudit.facts.identity import identity_facts
from nhiaudit.facts.policy_entries import binding_facts, exception_facts, integration_facts
from nhiaudit.facts.schema import FACTS, SubjectKind, unknown_fact_references
from nhiaudit.facts.trust_facts import flatten_conditions, principal_account
from nhiaudit.inventory.model import (
    Credential,
    CredentialType,
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
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot
from nhiaudit.policy.loader import load_policy, load_policy_text

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT, OTHER_SCANNED = "111122223333", "444455556666"
NOW = datetime(2026, 11, 28, tzinfo=UTC)
POLICY = f"""\
version: 1
systems:
  prod-data: {{environment: prod, classification: restricted, resources: ["arn:aws:s3:::prod-data*"]}}
  dev-sandbox: {{environment: dev, resources: ["arn:aws:s3:::dev-sandbox*"]}}
  shared-tools: {{environment: shared, resources: ["arn:aws:s3:::tools*"]}}
integrations:
  - name: faq-bot
    environment: prod
    identities: ["arn:aws:iam::{ACCOUNT}:role/worker"]
  - name: drafter
    environment: prod
    identities: ["arn:aws:iam::{ACCOUNT}:role/worker", "arn:aws:iam::{ACCOUNT}:user/bi-bot"]
"""


def arn(kind: str, name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def ident(kind: str, name: str, policies=(), tags=None, human=None) -> Identity:
    return Identity(id=arn(kind, name), provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind(kind), name=name,
                    created=NOW, last_activity=NOW, policy_ids=tuple(policies), tags=tags or {}, human_use=human)


def trust(role: str, principal: str, kind=TrustKind.ASSUME_ROLE, conditions=None) -> Trust:
    return Trust(identity_id=arn("role", role), principal=principal, kind=kind, conditions=conditions or {},
                 reason=f"trust policy of {role}, statement 0")


def build() -> dict[str, dict]:
    s3_all = Policy(id="p-s3", provider=Provider.AWS, name="s3-all",
                    statements=(Statement(actions=("s3:*",), resources=("*",), sid="All"),))
    snapshot = Snapshot(
        generated_at=NOW,
        sources=[SourceInfo(provider=Provider.AWS, account=OTHER_SCANNED)],
        identities=[
            ident("role", "worker", ["p-s3"], {"environment": "staging"}),
            ident("role", "dev-job", ["p-s3"], {"env": "dev"}),
            ident("role", "vendor", [], {"environment": "prod"}),
            ident("user", "bi-bot", [], {}, HumanUse(console_password=True, password_last_used=NOW)),
            ident("user", "alice", [], {}, HumanUse(console_password=True, mfa_active=True)),
        ],
        policies=[s3_all],
        credentials=[Credential(id="AKIABIBOT", identity_id=arn("user", "bi-bot"), provider=Provider.AWS,
                                type=CredentialType.ACCESS_KEY, created=NOW, last_used=NOW)],
        trusts=[
            trust("vendor", "arn:aws:iam::999988887777:root"),
            trust("vendor", f"arn:aws:iam::{OTHER_SCANNED}:role/ci"),
            trust("vendor", "*", conditions={"StringEquals": {"aws:PrincipalOrgID": ["o-1", "o-2"]}}),
            trust("vendor", "lambda.amazonaws.com", TrustKind.SERVICE),
            trust("vendor", arn("role", "worker")),
            trust("worker", f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
                  TrustKind.FEDERATED),
        ],
        workloads=[Workload(id=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{n}", provider=Provider.AWS,
                            account=ACCOUNT, kind="lambda", name=n, identity_id=arn("role", "dev-job"),
                            tags={"integration": n, "environment": "dev"}) for n in ("etl-a", "etl-b")],
    )
    ctx = prepare(snapshot, load_policy_text(POLICY, "policy.yaml"), date(2026, 11, 28))
    return {i.name: identity_facts(ctx, i) for i in snapshot.identities}


FACTS_BY_NAME = build()


def test_trust_facts_classify_principals():
    trusts = {t["principal"]: t for t in FACTS_BY_NAME["vendor"]["trusts"]}
    foreign = trusts["arn:aws:iam::999988887777:root"]
    assert (foreign["principal_account"], foreign["foreign"], foreign["cross_account"]) == ("999988887777", True, True)
    scanned = trusts[f"arn:aws:iam::{OTHER_SCANNED}:role/ci"]
    assert scanned["cross_account"] and not scanned["foreign"] and scanned["external"]
    anyone = trusts["*"]
    assert anyone["conditions"] == ({"operator": "StringEquals", "key": "aws:principalorgid",
                                     "values": ("o-1", "o-2")},)
    assert not trusts["lambda.amazonaws.com"]["external"]
    same_account = trusts[arn("role", "worker")]
    assert same_account["principal_known"] and not same_account["external"]
    external = {t["principal"] for t in FACTS_BY_NAME["vendor"]["external_trusts"]}
    assert external == {"arn:aws:iam::999988887777:root", f"arn:aws:iam::{OTHER_SCANNED}:role/ci", "*"}
    assert len({t["key"] for t in FACTS_BY_NAME["vendor"]["trusts"]}) == 5
    assert FACTS_BY_NAME["worker"]["external_trusts"][0]["kind"] == "federated"


def test_principal_account_and_conditions_helpers():
    assert principal_account("arn:aws:iam::123456789012:role/x") == "123456789012"
    assert principal_account("123456789012") == "123456789012"
    assert principal_account("sa@other-proj.iam.gserviceaccount.com") == "other-proj"
    assert principal_account("token.actions.githubusercontent.com") == ""
    assert flatten_conditions({"subject": "repo:acme/app:ref:refs/heads/main"}) == (
        {"operator": "", "key": "subject", "values": ("repo:acme/app:ref:refs/heads/main",)},)


def test_environments_and_crossings():
    worker = FACTS_BY_NAME["worker"]
    assert worker["environments"] == ["prod", "staging"]
    assert {(e["environment"], e["source"]) for e in worker["environment_sources"]} == {
        ("staging", "tag"), ("prod", "integration faq-bot"), ("prod", "integration drafter")}
    crossings = {c["environment"]: c for c in worker["env_crossings"]}
    assert set(crossings) == {"dev", "shared"}  # prod is its own; the fact keeps every crossing, rules decide
    dev_job = FACTS_BY_NAME["dev-job"]
    assert dev_job["environments"] == ["dev"]
    by_env = {c["environment"]: c for c in dev_job["env_crossings"]}
    assert by_env["prod"]["systems"] == ("prod-data",) and by_env["prod"]["access"] == "admin"
    assert by_env["prod"]["path"][-1].startswith(f"identity:{arn('role', 'dev-job')} -[can_reach:admin]->")


def test_reuse_and_human_use():
    assert FACTS_BY_NAME["worker"]["served_integrations"] == ["drafter", "faq-bot"]
    assert FACTS_BY_NAME["dev-job"]["served_integrations"] == ["etl-a", "etl-b"]
    assert FACTS_BY_NAME["dev-job"]["workloads"][0]["integration"] == "etl-a"
    bi, alice = FACTS_BY_NAME["bi-bot"], FACTS_BY_NAME["alice"]
    assert bi["human_use"]["console_password"] and not bi["looks_human"]  # declared, with an active key
    assert bi["classification"] == {"class": "nhi", "source": "policy",
                                    "reasons": ["listed under integration drafter"]}
    assert alice["looks_human"]
    assert alice["classification"] == {"class": "human", "source": "signals", "reasons": [
        "MFA device active", "console password (never used) and no active access key"]}
    assert FACTS_BY_NAME["worker"]["classification"]["class"] == "nhi"  # a role (and an integration's)
    assert FACTS_BY_NAME["worker"]["wildcard_actions"] == ["s3:*"]
    assert "All" in FACTS_BY_NAME["worker"]["wildcard_evidence"][0]


def test_every_emitted_fact_is_documented_and_every_documented_fact_is_emitted():
    snapshot = load_snapshot(ROOT / "examples" / "demo" / "snapshot.json")
    ctx = prepare(snapshot, load_policy(ROOT / "examples" / "demo" / "policy.yaml"), date(2026, 11, 28))
    for identity in snapshot.identities:
        assert set(identity_facts(ctx, identity)) == set(FACTS[SubjectKind.IDENTITY]), identity.name
    shared = shared_fingerprints(ctx)
    for cred in snapshot.credentials:
        facts = credential_facts(ctx, cred, ctx.estate.identities.get(cred.identity_id), shared)
        assert set(facts) == set(FACTS[SubjectKind.CREDENTIAL])
    assert all(set(b) == set(FACTS[SubjectKind.BINDING]) for b in binding_facts(ctx))
    assert all(set(i) == set(FACTS[SubjectKind.INTEGRATION]) for i in integration_facts(ctx))
    assert all(set(e) == set(FACTS[SubjectKind.EXCEPTION]) for e in exception_facts(ctx))


def test_unknown_fact_references_check_map_keys_but_not_methods():
    kind = SubjectKind.IDENTITY
    assert unknown_fact_references(kind, "subject.escalation_path.size() > 0") == []
    assert unknown_fact_references(kind, "subject.escalation_path.lenght > 0") == ["subject.escalation_path.lenght"]
    assert unknown_fact_references(kind, "subject.human_use.console_pasword") == ["subject.human_use.console_pasword"]
    assert unknown_fact_references(kind, "subject.credentials.exists(c, c.static)") == []
    assert unknown_fact_references(kind, "subject.nope") == ["subject.nope"]
