"""AWS trust-policy conditions decide act-as edges per caller (issue 11, point 3, trust side).

Estates are imported as AWS returns them: raw `GetAccountAuthorizationDetails` pages with URL-encoded
policy documents (trust policies included), the credential report CSV, `aws organizations list-accounts`
output; then scanned and explained through the real CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aws_support import Moto, aws_env, moto  # noqa: F401
from scan_support import findings, run

from nhiaudit.analysis import prepare
from nhiaudit.facts.chains import ChainIndex
from nhiaudit.facts.context import FactContext
from nhiaudit.graph.model import identity_node
from nhiaudit.graph.trust_conditions import TrustConditions, dates_in_force
from nhiaudit.inventory.model import HumanUse, Identity, IdentityKind, Policy, Provider, Statement, Trust, TrustKind
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot
from nhiaudit.permissions.principal_facts import principal_facts
from nhiaudit.policy.loader import load_policy_text

A, B, FOREIGN = "111122223333", "444455556666", "999988887777"
ORG = "o-a1b2c3d4e5"
AS_OF = "2026-11-28"
EXTERNAL_ID = "acme-7781-shared"
LAMBDA = {"Service": "lambda.amazonaws.com"}
ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
ASSUME_ANY = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
REPORT_HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
                 "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
                 "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
                 "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
                 "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
                 "cert_2_active,cert_2_last_rotated")


def arn(kind: str, name: str, account: str = A) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def encoded(document: dict[str, Any]) -> str:
    """A policy document as the IAM API returns it: URL-encoded JSON."""
    return quote(json.dumps(document), safe="")


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(principal: dict[str, Any] | str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return doc(stmt)


def role(name: str, trust_policy: dict[str, Any], *statements: dict[str, Any], account: str = A,
         tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "Path": "/", "RoleName": name, "RoleId": f"AROA{name.upper().replace('-', '')[:16]:0<16}",
        "Arn": arn("role", name, account), "CreateDate": "2025-01-15T09:30:00Z",
        "AssumeRolePolicyDocument": encoded(trust_policy), "InstanceProfileList": [],
        "RolePolicyList": [{"PolicyName": "access", "PolicyDocument": encoded(doc(*statements))}] if statements
        else [],
        "AttachedManagedPolicies": [], "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        "RoleLastUsed": {"LastUsedDate": "2026-11-20T10:00:00Z", "Region": "eu-west-1"},
    }


def user(name: str, *statements: dict[str, Any], account: str = A) -> dict[str, Any]:
    return {
        "Path": "/", "UserName": name, "UserId": f"AIDA{name.upper().replace('-', '')[:16]:0<16}",
        "Arn": arn("user", name, account), "CreateDate": "2024-03-01T08:00:00Z",
        "UserPolicyList": [{"PolicyName": "access", "PolicyDocument": encoded(doc(*statements))}],
        "GroupList": [], "AttachedManagedPolicies": [], "Tags": [],
    }


def write_gaad(path: Path, roles: Iterable[dict[str, Any]], users: Iterable[dict[str, Any]] = ()) -> str:
    """One raw GetAccountAuthorizationDetails page, as a JSON list of pages (URL-encoded documents)."""
    page = {"UserDetailList": list(users), "GroupDetailList": [], "RoleDetailList": list(roles), "Policies": [],
            "IsTruncated": False}
    path.write_text(json.dumps([page]), encoding="utf-8")
    return str(path)


def write_report(path: Path, rows: Iterable[str]) -> str:
    path.write_text("\n".join([REPORT_HEADER, *rows]) + "\n", encoding="utf-8")
    return str(path)


def human_row(name: str, mfa: bool) -> str:
    """A person: console password used yesterday, MFA device or not, no access key."""
    return (f"{name},{arn('user', name)},2024-03-01T08:00:00+00:00,true,2026-11-27T09:00:00+00:00,"
            f"2026-06-01T00:00:00+00:00,N/A,{'true' if mfa else 'false'},false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,"
            "false,N/A,false,N/A")


POLICY = """version: 1
systems:
  prod-data: {environment: prod, resources: ["arn:aws:s3:::prod-data*"]}
  partner-share: {resources: ["arn:aws:s3:::partner-share*"]}
  legacy: {resources: ["arn:aws:s3:::legacy-archive*"]}
"""


def scan(tmp: Path, *imports: str) -> dict[str, Any]:
    policy = tmp / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    args = [a for f in imports for a in ("--import", f)]
    result = run("scan", *args, "--policy", str(policy), "--as-of", AS_OF, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def explain(tmp: Path, target: str, *imports: str) -> dict[str, Any]:
    policy = tmp / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    args = [a for f in imports for a in ("--import", f)]
    result = run("explain", target, *args, "--policy", str(policy), "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def context(tmp: Path, *imports: str) -> FactContext:
    """The analysed estate of `nhiaudit collect` on the imports (for edge-level checks)."""
    out = tmp / "snap.json"
    args = [a for f in imports for a in ("--import", f)]
    result = run("collect", *args, "-o", str(out))
    assert result.exit_code == 0, result.output
    return prepare(load_snapshot(out), load_policy_text(POLICY, "policy.yaml"), date.fromisoformat(AS_OF))


def reach_hops(explained: dict[str, Any], system: str) -> list[dict[str, Any]] | None:
    for path in explained["paths"]:
        for reach in path["reach"]:
            if reach["system"] == system:
                return reach["hops"]
    return None


# --- MFA on an account-root trust ---------------------------------------------------------------------


def mfa_estate(tmp: Path, admin_condition: dict[str, Any] | None) -> tuple[str, str]:
    roles = [
        role("etl-worker", trust(LAMBDA), ASSUME_ANY),  # a Lambda's role: its sessions never carry MFA
        role("break-glass-admin", trust({"AWS": root(A)}, admin_condition), ADMIN),
    ]
    users = [user("dana", ASSUME_ANY)]
    return (write_gaad(tmp / "gaad.json", roles, users),
            write_report(tmp / "report.csv", [human_row("dana", mfa=True)]))


def test_trust_requiring_mfa_gives_a_service_role_no_chain_but_keeps_the_human(tmp_path):
    files = mfa_estate(tmp_path, MFA)
    report = scan(tmp_path, *files)
    assert not findings(report, "privesc-via-chain", arn("role", "etl-worker"))
    # dana has an MFA device: she may present MFA, so the hop stays, conditional on it.
    (dana,) = findings(report, "privesc-via-chain", arn("user", "dana"))
    hops = dana["evidence"]["path"]
    assert len(hops) == 2 and "principal:" in hops[0]
    assert "conditional on: Bool aws:MultiFactorAuthPresent = true" in hops[1]

    explained = explain(tmp_path, "dana", *files)
    hops = reach_hops(explained, "prod-data")
    assert hops is not None and [h["kind"] for h in hops] == ["can_assume", "can_assume", "can_reach"]
    assert "break-glass-admin" in hops[1]["target_label"]
    assert "conditional on: Bool aws:MultiFactorAuthPresent = true" in hops[1]["reason"]
    assert reach_hops(explain(tmp_path, "etl-worker", *files), "prod-data") is None


def test_chain_index_says_which_paths_rest_on_a_condition(tmp_path):
    ctx = context(tmp_path, *mfa_estate(tmp_path, MFA))
    chains = ChainIndex(ctx.reach, [arn("role", "break-glass-admin")])
    assert chains.path(arn("user", "dana")) is not None and chains.conditional(arn("user", "dana"))
    assert chains.path(arn("role", "etl-worker")) is None and not chains.conditional(arn("role", "etl-worker"))


def test_same_admin_role_without_the_condition_is_a_chain(tmp_path):
    report = scan(tmp_path, *mfa_estate(tmp_path, None))
    (finding,) = findings(report, "privesc-via-chain", arn("role", "etl-worker"))
    assert finding["evidence"]["target"] == arn("role", "break-glass-admin")
    assert not any("conditional on" in hop for hop in finding["evidence"]["path"])


def test_mfa_hub_splits_by_caller_class_and_stays_linear():
    """200 callers allowed sts:AssumeRole on * (half service roles that never carry MFA, half roles others
    assume) and 50 roles trusting the account root with MFA required, 50 without: edges stay linear, and each
    caller reaches exactly the roles its requests can use."""
    def ident(name: str, *policies: str) -> Identity:
        return Identity(id=arn("role", name), provider=Provider.AWS, account=A, kind=IdentityKind.ROLE, name=name,
                        policy_ids=policies)

    service = [ident(f"svc{i}", "assume") for i in range(100)]
    assumed = [ident(f"ops{i}", "assume") for i in range(100)]
    guarded = [ident(f"guarded{i}", "read") for i in range(50)]
    plain = [ident(f"plain{i}", "read") for i in range(50)]
    trusts = [Trust(identity_id=s.id, principal="lambda.amazonaws.com", kind=TrustKind.SERVICE) for s in service]
    trusts += [Trust(identity_id=o.id, principal=arn("user", "someone"), kind=TrustKind.ASSUME_ROLE) for o in assumed]
    trusts += [Trust(identity_id=g.id, principal=root(A), kind=TrustKind.ASSUME_ROLE, conditions=MFA,
                     reason=f"trust policy of {g.name}") for g in guarded]
    trusts += [Trust(identity_id=p.id, principal=root(A), kind=TrustKind.ASSUME_ROLE,
                     reason=f"trust policy of {p.name}") for p in plain]
    policies = [Policy(id="assume", provider=Provider.AWS, name="assume",
                       statements=(Statement(actions=("sts:AssumeRole",), resources=("*",)),)),
                Policy(id="read", provider=Provider.AWS, name="read",
                       statements=(Statement(actions=("s3:GetObject",), resources=("arn:aws:s3:::prod-data/*",)),))]
    snap = Snapshot(identities=[*service, *assumed, *guarded, *plain], trusts=trusts, policies=policies)
    ctx = prepare(snap, load_policy_text(POLICY, "p.yaml"), date.fromisoformat(AS_OF))
    # 200 callers -> plain hub, 100 (MFA possible) -> their class hub, plain hub -> 50, class hub -> 50.
    assert len(ctx.estate.act_as) == 200 + 100 + 50 + 50
    svc, ops = set(ctx.reach.act_as_successors(service[0].id)), set(ctx.reach.act_as_successors(assumed[0].id))
    assert svc == {p.id for p in plain}
    assert ops == {p.id for p in plain} | {g.id for g in guarded}
    guarded_hop = ctx.reach.reach(assumed[0].id, "prod-data")
    assert guarded_hop is not None
    assert len(ctx.reach.identities_reaching("prod-data")) == 300


# --- sts:ExternalId, dates, principal tags -------------------------------------------------------------


def conditions_estate(tmp: Path) -> tuple[str, str]:
    partner_trust = trust({"AWS": root(B)}, {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}})
    roles_a = [
        role("partner-reader", partner_trust,
             {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::partner-share/*"}),
        role("expired-access", trust({"AWS": root(A)}, {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}),
             {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::legacy-archive/*"}),
        role("team-data-admin", trust({"AWS": root(A)}, {"StringEquals": {"aws:PrincipalTag/team": "data"}}), ADMIN),
        role("data-job", trust(LAMBDA), ASSUME_ANY, tags={"team": "data"}),
        role("web-job", trust(LAMBDA), ASSUME_ANY, tags={"team": "web"}),
        # Vendor trusts: which conditions count as an external id (the key in any case).
        role("vendor-equals", trust({"AWS": FOREIGN}, {"StringEquals": {"STS:EXTERNALID": "v-1"}})),
        role("vendor-null", trust({"AWS": FOREIGN}, {"Null": {"sts:ExternalId": "false"}})),
        role("vendor-negated", trust({"AWS": FOREIGN}, {"StringNotEquals": {"sts:ExternalId": "v-2"}})),
        role("vendor-if-exists", trust({"AWS": FOREIGN}, {"StringEqualsIfExists": {"sts:ExternalId": "v-3"}})),
        role("vendor-any", trust({"AWS": FOREIGN}, {"StringLike": {"sts:ExternalId": "*"}})),
    ]
    roles_b = [role("sync-bot", trust(LAMBDA),
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arn("role", "partner-reader")},
                    account=B)]
    return write_gaad(tmp / "gaad-a.json", roles_a), write_gaad(tmp / "gaad-b.json", roles_b)


@pytest.fixture(scope="module")
def conditions(tmp_path_factory) -> tuple[Path, tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("conditions")
    return tmp, conditions_estate(tmp)


def test_external_id_only_trust_is_usable_and_not_conditional(conditions):
    tmp, files = conditions
    ctx = context(tmp, *files)
    sync_bot, partner = identity_node(arn("role", "sync-bot", B)), identity_node(arn("role", "partner-reader"))
    kind, reason, residual = ctx.reach.act_as_edge(sync_bot, partner)
    assert kind == "can_assume" and residual == {}
    assert "requires sts:ExternalId" in reason and EXTERNAL_ID not in reason
    reached = ctx.reach.reach(arn("role", "sync-bot", B), "partner-share")
    assert reached is not None and reached.via_chain

    explained = explain(tmp, "sync-bot", *files)
    hops = reach_hops(explained, "partner-share")
    assert hops is not None and "requires sts:ExternalId" in hops[0]["reason"]
    assert "conditional on" not in hops[0]["reason"]
    assert EXTERNAL_ID not in json.dumps(explained)


def test_expired_trust_gives_no_edge(conditions):
    tmp, files = conditions
    ctx = context(tmp, *files)
    expired = identity_node(arn("role", "expired-access"))
    assert not [e for e in ctx.estate.act_as if e[1] == expired]
    # web-job may assume any role; only the expired trust would have let it in.
    assert arn("role", "web-job") not in ctx.reach.identities_reaching("legacy")
    assert arn("role", "expired-access") in ctx.reach.identities_reaching("legacy")


def test_principal_tag_condition_matches_the_callers_own_tag(conditions):
    tmp, files = conditions
    ctx = context(tmp, *files)
    admin = arn("role", "team-data-admin")
    assert admin in ctx.reach.act_as_successors(arn("role", "data-job"))
    assert admin not in ctx.reach.act_as_successors(arn("role", "web-job"))
    path = ctx.reach.reach(arn("role", "data-job"), "prod-data")
    assert path is not None
    assert "StringEquals aws:PrincipalTag/team met" in path.hops[1].reason
    assert not any("conditional on" in h.reason for h in path.hops)
    report = scan(tmp, *files)
    assert findings(report, "privesc-via-chain", arn("role", "data-job"))
    assert not findings(report, "privesc-via-chain", arn("role", "web-job"))


def test_foreign_account_rule_reads_the_parsed_external_id_clauses(conditions):
    tmp, files = conditions
    report = scan(tmp, *files)
    flagged = {f["identity"]["name"] for f in findings(report, "trust-foreign-account-no-external-id")}
    assert flagged == {"vendor-null", "vendor-negated", "vendor-if-exists", "vendor-any"}


# --- aws:PrincipalOrgID from the organisation's account list ------------------------------------------


def test_principal_org_id_from_imported_list_accounts(tmp_path):
    def account_entry(account: str) -> dict[str, Any]:
        return {"Id": account, "Arn": f"arn:aws:organizations::{A}:account/{ORG}/{account}", "Name": account,
                "Email": f"aws+{account}@acme.example", "Status": "ACTIVE", "JoinedMethod": "CREATED",
                "JoinedTimestamp": "2024-01-01T00:00:00+00:00"}

    (tmp_path / "accounts.json").write_text(json.dumps({"Accounts": [account_entry(A), account_entry(B)]}))
    in_org = trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": ORG}})
    other_org = trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-zzzzzzzzzz"}})
    roles_a = [role("org-reader", in_org, {"Effect": "Allow", "Action": "s3:GetObject",
                                           "Resource": "arn:aws:s3:::partner-share/*"}),
               role("other-org-reader", other_org, ADMIN)]
    roles_b = [role("org-job", trust(LAMBDA), ASSUME_ANY, account=B)]
    files = (write_gaad(tmp_path / "gaad-a.json", roles_a), write_gaad(tmp_path / "gaad-b.json", roles_b),
             str(tmp_path / "accounts.json"))
    ctx = context(tmp_path, *files)
    assert {s.account: s.organization_id for s in ctx.estate.snapshot.sources} == {A: ORG, B: ORG}
    job = arn("role", "org-job", B)
    assert ctx.reach.act_as_successors(job) == [arn("role", "org-reader")]
    _, reason, residual = ctx.reach.act_as_edge(identity_node(job), identity_node(arn("role", "org-reader")))
    assert residual == {} and "StringEquals aws:PrincipalOrgID met" in reason
    report = scan(tmp_path, *files)
    assert not findings(report, "trust-any-principal")


def test_list_accounts_import_is_shape_checked(tmp_path):
    gaad = write_gaad(tmp_path / "gaad.json", [role("job", trust(LAMBDA))])
    (tmp_path / "accounts.json").write_text(json.dumps({"Accounts": [{"Id": A, "Arn": "not-an-arn"}]}))
    result = run("collect", "--import", gaad, "--import", str(tmp_path / "accounts.json"), "-o",
                 str(tmp_path / "snap.json"))
    assert result.exit_code == 2 and "accounts.json:1:" in result.output and "not an ARN" in result.output


def test_live_org_collection_records_the_organisation_id(moto: Moto, aws_env, tmp_path):  # noqa: F811
    """--aws-org: the organisation id comes from the account ARNs ListAccounts already returns (no extra call)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")  # small accounts: a fast collection
        moto.reset()
        client = moto.client("organizations")
        org_id = client.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        client.create_account(Email="member@acme.example", AccountName="member")
        out = tmp_path / "org.json"
        result = run("collect", "--aws-org", "--aws-regions", "us-east-1", "-o", str(out))
    assert result.exit_code == 0, result.output
    sources = load_snapshot(out).sources
    assert len(sources) == 2 and {s.organization_id for s in sources} == {org_id}
    assert "organizations:DescribeOrganization" not in aws_env.front.operations()


def test_principal_org_id_unknown_keeps_the_edge_conditional(tmp_path):
    in_org = trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": ORG}})
    files = (write_gaad(tmp_path / "gaad-a.json", [role("org-reader", in_org, ADMIN)]),
             write_gaad(tmp_path / "gaad-b.json", [role("org-job", trust(LAMBDA), ASSUME_ANY, account=B)]))
    ctx = context(tmp_path, *files)
    _, _, residual = ctx.reach.act_as_edge(identity_node(arn("role", "org-job", B)),
                                           identity_node(arn("role", "org-reader")))
    assert residual == {"StringEquals": {"aws:PrincipalOrgID": ORG}}


# --- the evaluation itself ------------------------------------------------------------------------------


def test_verdicts_for_callers_of_each_kind():
    conds = TrustConditions(None)
    never_mfa = principal_facts(Identity(id=arn("role", "svc"), provider=Provider.AWS, account=A,
                                         kind=IdentityKind.ROLE, name="svc"),
                                [Trust(identity_id=arn("role", "svc"), principal="lambda.amazonaws.com",
                                       kind=TrustKind.SERVICE)])
    unknown = principal_facts(Identity(id=arn("role", "ops"), provider=Provider.AWS, account=A,
                                       kind=IdentityKind.ROLE, name="ops"), [])

    def verdict(condition: dict[str, Any], caller=unknown):
        return conds.verdict(Trust(identity_id=arn("role", "t"), principal=root(A), kind=TrustKind.ASSUME_ROLE,
                                   conditions=condition), caller)

    key_user = principal_facts(Identity(id=arn("user", "bot"), provider=Provider.AWS, account=A,
                                        kind=IdentityKind.USER, name="bot", human_use=HumanUse()), [])
    assert verdict(MFA, never_mfa) is None and verdict(MFA, key_user) is None
    # Access-key requests lack the key (IfExists holds); role sessions carry "false".
    if_exists = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}
    assert verdict(if_exists, key_user).conditions == {} and verdict(if_exists, never_mfa) is None
    assert verdict({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, never_mfa) is None
    assert verdict(MFA).conditions == MFA
    mixed = {"StringEquals": {"sts:ExternalId": "x"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    kept = verdict(mixed)
    assert kept.conditions == {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}} and "requires sts:ExternalId" in kept.note
    assert verdict({"Null": {"sts:ExternalId": "true"}}).conditions == {}  # the caller may omit it


def test_dates_in_force_against_as_of():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)

    def t(condition: dict[str, Any]) -> Trust:
        return Trust(identity_id=arn("role", "t"), principal="accounts.google.com", kind=TrustKind.FEDERATED,
                     conditions=condition)

    assert not dates_in_force(t({"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}), now)
    assert dates_in_force(t({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}), now)
    assert not dates_in_force(t({"NumericLessThan": {"aws:EpochTime": "1700000000"}}), now)
    assert not dates_in_force(t({"DateGreaterThan": {"aws:EpochTime": "1900000000"}}), now)
    assert dates_in_force(t({"StringEquals": {"accounts.google.com:aud": "x"}}), now)
    assert dates_in_force(t({"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}), None)
