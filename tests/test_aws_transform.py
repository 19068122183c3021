"""Pure transforms on recorded raw shapes (fixtures/aws): no network, no SDK."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aws_support import FIXTURES

from nhiaudit.connectors.aws.raw import RawDataError
from nhiaudit.connectors.aws.transform_credentials import (
    keys_needing_last_used,
    parse_credential_report,
    transform_user_credentials,
    with_user_activity,
)
from nhiaudit.connectors.aws.transform_iam import (
    merge_authorization_pages,
    transform_authorization_details,
    transform_statement,
    transform_trust_policy,
)
from nhiaudit.connectors.aws.workloads import transform_ec2_reservations, transform_lambda_functions
from nhiaudit.inventory.model import CredentialType, IdentityKind, TrustKind

A = "arn:aws:iam::111122223333"


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def inv():
    return transform_authorization_details(load("gaad-cli.json"))


def by_id(items):
    return {x.id: x for x in items}


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_identities_with_group_policies_flattened(inv):
    ids = by_id(inv.identities)
    assert len(ids) == 9
    ci = ids[f"{A}:user/service/ci-deployer"]
    assert ci.kind == IdentityKind.USER and ci.account == "111122223333" and ci.name == "ci-deployer"
    assert ci.policy_ids == (
        f"{A}:policy/deploy-artifacts",
        f"inline:{A}:user/service/ci-deployer:read-secrets",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        f"inline:{A}:group/deployers:assume-deploy",
    )
    assert ci.policy_sources == {
        f"{A}:policy/deploy-artifacts": "attached",
        f"inline:{A}:user/service/ci-deployer:read-secrets": "inline",
        "arn:aws:iam::aws:policy/ReadOnlyAccess": "group:deployers",
        f"inline:{A}:group/deployers:assume-deploy": "group:deployers",
    }
    assert ci.attributes["path"] == "/service/" and ci.attributes["groups"] == "deployers"
    assert ci.created == t("2023-02-01T10:00:00")
    assert ci.owner == "platform@acme.example"
    assert ids[f"{A}:user/legacy-smtp"].owner == "it-ops@acme.example"  # "Owner" tag, any case
    assert ids[f"{A}:user/service/build-bot"].boundary_policy_id == f"{A}:policy/workload-boundary"


def test_roles_last_use_boundary_and_profiles(inv):
    ids = by_id(inv.identities)
    copilot = ids[f"{A}:role/ai/support-copilot"]
    assert copilot.kind == IdentityKind.ROLE
    assert copilot.last_activity == t("2026-11-19T22:10:00") and "us-east-1" in copilot.last_activity_detail
    assert copilot.boundary_policy_id == f"{A}:policy/workload-boundary"
    assert copilot.attributes == {"path": "/ai/", "unique_id": "AROAEXAMPLESUPPORTCOP"}
    assert ids[f"{A}:role/vendor-analytics"].last_activity is None
    assert inv.instance_profile_roles == {f"{A}:instance-profile/web-server": f"{A}:role/web-server"}


def test_policies_default_version_and_normalised_statements(inv):
    policies = by_id(inv.policies)
    deploy = policies[f"{A}:policy/deploy-artifacts"]
    assert deploy.kind == "customer" and deploy.name == "deploy-artifacts"
    allow, deny = deploy.statements  # v2 is the default version, not v1 (s3:* on *)
    assert allow.actions == ("s3:PutObject", "s3:GetObject") and allow.resources == ("arn:aws:s3:::acme-artifacts/*",)
    assert deny.effect == "Deny" and deny.actions == () and deny.not_actions == ("s3:*",)
    assert deny.resources == () and deny.not_resources == ("arn:aws:s3:::acme-artifacts",)
    (invoke,) = policies[f"{A}:policy/bedrock-invoke"].statements  # a single statement object
    assert invoke.sid == "Invoke" and invoke.actions == ("bedrock:InvokeModel",)
    assert invoke.conditions == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    inline = policies[f"inline:{A}:group/deployers:assume-deploy"]
    assert inline.kind == "inline" and inline.statements[0].actions == ("sts:AssumeRole",)


def test_only_attached_aws_managed_policies_are_kept(inv):
    ids = set(by_id(inv.policies))
    assert {"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws:iam::aws:policy/AmazonSESFullAccess"} <= ids
    assert "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" not in ids  # AWS-managed, attached nowhere
    assert {f"{A}:policy/unused-customer", f"{A}:policy/workload-boundary"} <= ids  # customer: always kept
    assert by_id(inv.policies)["arn:aws:iam::aws:policy/AdministratorAccess"].kind == "managed"


def test_trust_policies(inv):
    trusts = {(x.identity_id.rsplit("/", 1)[-1], x.principal): x for x in inv.trusts}
    vendor = trusts[("vendor-analytics", "arn:aws:iam::444455556666:root")]  # bare account id normalised
    assert vendor.kind == TrustKind.ASSUME_ROLE and vendor.conditions == {}
    assert vendor.reason == f"trust policy of {A}:role/vendor-analytics, statement 0"
    partner = trusts[("vendor-analytics", "arn:aws:iam::777788889999:role/partner")]
    assert partner.conditions == {"StringEquals": {"sts:ExternalId": "acme-42"}} and "Partner" in partner.reason
    github = trusts[("github-deploy", f"{A}:oidc-provider/token.actions.githubusercontent.com")]
    assert github.kind == TrustKind.FEDERATED and "StringLike" in github.conditions
    assert trusts[("support-copilot", "lambda.amazonaws.com")].kind == TrustKind.SERVICE
    open_trust = [x for x in inv.trusts if x.identity_id.endswith("/open-trust")]
    assert [(x.principal, x.kind) for x in open_trust] == [("*", TrustKind.ASSUME_ROLE)]  # Deny/TagSession skipped


def test_trust_edge_cases():
    role = "arn:aws-cn:iam::111122223333:role/r"
    doc = {"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["123456789012", "*"]}, "Action": "sts:Assume*"},
        {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws-cn:iam::1:root"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": "AROAUNIQUEIDOFDELETED"}, "Action": "*"},
    ]}
    got = [(x.principal, x.reason.endswith("NotPrincipal")) for x in transform_trust_policy(role, doc)]
    assert got == [("arn:aws-cn:iam::123456789012:root", False), ("*", False), ("*", True),
                   ("AROAUNIQUEIDOFDELETED", False)]


def test_raw_api_pages_give_the_same_inventory_as_the_cli_export(inv):
    # gaad-pages.json: three raw pages, URL-encoded policy documents, "Z" timestamps.
    pages = load("gaad-pages.json")
    assert len(pages) == 3 and isinstance(pages[1]["RoleDetailList"][0]["AssumeRolePolicyDocument"], str)
    assert transform_authorization_details(merge_authorization_pages(pages)) == inv


@pytest.mark.parametrize("raw, problem", [
    ({"Effect": "Maybe", "Action": "s3:*"}, "Effect"),
    ({"Effect": "Allow", "Action": 7}, "string"),
    ({"Effect": "Allow", "Action": "s3:*", "Condition": ["x"]}, "Condition"),
])
def test_malformed_statements_are_refused(raw, problem):
    with pytest.raises(RawDataError, match=problem):
        transform_statement(raw)


def test_credential_report_parsing():
    rows = {r.user: r for r in parse_credential_report((FIXTURES / "credential-report.csv").read_bytes())}
    assert set(rows) == {"ci-deployer", "alice", "legacy-smtp"}  # the root row is left out
    ci = rows["ci-deployer"]
    assert ci.has_keys and not ci.password_enabled and ci.password_last_used is None
    key1, key2 = ci.keys
    assert key1.active and key1.created == t("2023-02-01T10:05:00") and key1.last_used_service == "s3"
    assert not key2.active and key2.exists and key2.last_used is None and key2.last_used_region is None
    assert not rows["alice"].has_keys and rows["alice"].mfa_active
    assert rows["legacy-smtp"].certificates[0].exists


def test_report_placeholders():
    header = (FIXTURES / "credential-report.csv").read_text().splitlines()[0]
    line = ("bot,arn:aws:iam::1:user/bot,2024-01-01T00:00:00+00:00,true,no_information,N/A,not_supported,false,"
            "true,2024-01-01T00:00:00+00:00,2024-02-01T00:00:00+00:00,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,"
            "false,N/A")
    (row,) = parse_credential_report(f"\ufeff{header}\n{line}\n")
    assert row.password_enabled and row.password_last_used is None
    assert row.keys[0].last_used == t("2024-02-01T00:00:00") and row.keys[0].last_used_service is None
    with pytest.raises(RawDataError, match="lacks column"):
        parse_credential_report("user,arn\nx,y\n")
    with pytest.raises(RawDataError, match="line 2"):
        parse_credential_report(f"{header}\n{line.replace('2024-02-01T00:00:00+00:00', 'yesterday')}\n")


def test_keys_pair_with_report_slots_by_creation_time():
    rows = {r.user: r for r in parse_credential_report((FIXTURES / "credential-report.csv").read_text())}
    keys = load("list-access-keys.json")["AccessKeyMetadata"]
    creds = transform_user_credentials(f"{A}:user/service/ci-deployer", rows["ci-deployer"], keys, {})
    assert [(c.id, c.active, c.last_used_service, c.last_used_region) for c in creds] == [
        ("AKIAEXAMPLECIDEPLOY1", True, "s3", "eu-west-1"), ("AKIAEXAMPLECIDEPLOY2", False, None, None)]
    # A key deleted after the report was generated is gone: ListAccessKeys is authoritative.
    assert len(transform_user_credentials("u", rows["ci-deployer"], keys[:1], {})) == 1
    # Without ListAccessKeys the report slots stand for the keys.
    slots = transform_user_credentials(f"{A}:user/legacy-smtp", rows["legacy-smtp"], None, {})
    assert [(c.id.rsplit("#", 1)[1], c.type) for c in slots] == [
        ("access_key_1", CredentialType.ACCESS_KEY), ("signing_certificate_1", CredentialType.CERTIFICATE)]
    assert slots[0].created == t("2021-03-10T12:00:00") and slots[0].last_used is None


def test_last_used_lookup_only_where_the_report_lacks_it():
    rows = {r.user: r for r in parse_credential_report((FIXTURES / "credential-report.csv").read_text())}
    metadata = {"ci-deployer": load("list-access-keys.json")["AccessKeyMetadata"],
                "build-bot": [{"UserName": "build-bot", "AccessKeyId": "AKIANEW", "Status": "Active",
                               "CreateDate": "2026-11-21T07:01:00Z"}]}
    assert keys_needing_last_used(rows, metadata) == ["AKIANEW"]  # not in the report (created after it)
    looked_up = {"AKIANEW": {"AccessKeyLastUsed": {"LastUsedDate": "2026-11-22T11:00:00Z", "ServiceName": "bedrock",
                                                   "Region": "us-east-1"}}}
    (cred,) = transform_user_credentials(f"{A}:user/service/build-bot", None, metadata["build-bot"], looked_up)
    assert (cred.last_used, cred.last_used_service, cred.last_used_region) == (
        t("2026-11-22T11:00:00"), "bedrock", "us-east-1")


def test_user_activity_and_human_use(inv):
    rows = {r.arn: r for r in parse_credential_report((FIXTURES / "credential-report.csv").read_text())}
    ids = by_id(inv.identities)
    legacy_arn = f"{A}:user/legacy-smtp"
    legacy = with_user_activity(ids[legacy_arn], rows[legacy_arn],
                                transform_user_credentials(legacy_arn, rows[legacy_arn], None, {}))
    assert legacy.human_use.console_password and not legacy.human_use.mfa_active
    assert legacy.last_activity == t("2026-10-01T08:00:00") and legacy.last_activity_detail == "console sign-in"
    ci_arn = f"{A}:user/service/ci-deployer"
    ci = with_user_activity(ids[ci_arn], rows[ci_arn], transform_user_credentials(
        ci_arn, rows[ci_arn], load("list-access-keys.json")["AccessKeyMetadata"], {}))
    assert ci.last_activity == t("2026-11-19T17:00:00")
    assert ci.last_activity_detail == "access key AKIAEXAMPLECIDEPLOY1 used (s3 in eu-west-1)"
    role = ids[f"{A}:role/web-server"]
    assert with_user_activity(role, None, []) is role


def test_workload_transforms(inv):
    lambdas = transform_lambda_functions(load("list-functions.json")["Functions"])
    assert {(w.name, w.identity_id, w.region, w.kind) for w in lambdas} == {
        ("support-copilot", f"{A}:role/ai/support-copilot", "us-east-1", "lambda"),
        ("ticket-triage", f"{A}:role/ai/support-copilot", "us-east-1", "lambda")}
    reservations = load("describe-instances.json")["Reservations"]
    (web,) = transform_ec2_reservations(reservations, inv.instance_profile_roles)
    assert web.id == "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0"
    assert (web.name, web.identity_id, web.region, web.kind) == ("web-1", f"{A}:role/web-server", "us-east-1",
                                                                  "ec2_instance")
    assert transform_ec2_reservations(reservations, {}) == []  # unknown profile: no role to attach
    stopped = json.loads(json.dumps(reservations))
    stopped[0]["Instances"][0]["State"]["Name"] = "terminated"
    assert transform_ec2_reservations(stopped, inv.instance_profile_roles) == []
