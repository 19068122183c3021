"""Resource-based policies (issue 12): recorded `aws s3api` / `kms` / `secretsmanager` / `lambda` / `sqs` / `sns`
output (fixtures/aws/resource-policies/) through the real CLI's `scan --import`, and through snapshots. Same- and
cross-account rules, KMS key policies and grants, S3 ACLs and Block Public Access, evidence in paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_exports import document, gaad
from typer.testing import CliRunner

from nhiaudit.cli import build_app

RP = Path(__file__).resolve().parent.parent / "fixtures" / "aws" / "resource-policies"
A, B = "111111111111", "222222222222"
AGENT = f"arn:aws:iam::{A}:role/partner-agent"
BUCKET = "arn:aws:s3:::acme-customer-pii-b"
KEY = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SUMMARIZER = f"arn:aws:iam::{A}:role/summarizer"

POLICY = """\
version: 1
systems:
  customer-pii:
    environment: prod
    classification: restricted
    resources: ["arn:aws:s3:::acme-customer-pii*"]
  prod-secrets:
    environment: prod
    classification: restricted
    resources: ["arn:aws:kms:*:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  bedrock-models:
    kind: ai-model
    resources: ["arn:aws:bedrock:*::foundation-model/*"]
integrations:
  - name: partner-agent
    kind: agent
    environment: dev
    identities: ["arn:aws:iam::111111111111:role/partner-agent"]
    may_reach: [bedrock-models]
"""


def role(name: str, account: str, *statements: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "Path": "/", "RoleName": name, "RoleId": f"AROA{name.upper().replace('-', '')[:16]:X<16}",
        "Arn": f"arn:aws:iam::{account}:role/{name}", "CreateDate": "2025-01-01T00:00:00+00:00",
        "AssumeRolePolicyDocument": document({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                              "Action": "sts:AssumeRole"}),
        "InstanceProfileList": [], "AttachedManagedPolicies": [], "RoleLastUsed": {},
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": document(*statements)}] if statements else [],
    }


READ_ANY_OBJECT = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
INVOKE = {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}
GAAD_A = gaad(role("partner-agent", A, READ_ANY_OBJECT, INVOKE),
              # AI-capable, undeclared, a dev role, no identity grant on the key
              role("summarizer", A, INVOKE, tags={"environment": "dev"}),
              role("batch-reader", A),
              role("key-user", A, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}))
GAAD_B = gaad(role("bucket-admin", B, {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}))


def imports(tmp: Path, *entries: tuple[str | None, str | Path | dict]) -> list[str]:
    """`--import` arguments: (TARGET or None, fixture name / path / JSON to write)."""
    args = []
    for i, (target, content) in enumerate(entries):
        if isinstance(content, dict):
            path = tmp / f"export-{i}.json"
            path.write_text(json.dumps(content), encoding="utf-8")
        else:
            path = RP / content if isinstance(content, str) else content
        args += ["--import", f"{target}={path}" if target else str(path)]
    return args


def scan(tmp: Path, *args: str, policy: str = POLICY) -> tuple[int, dict[str, Any], str]:
    (tmp / "policy.yaml").write_text(policy, encoding="utf-8")
    out = tmp / "report.json"
    result = CliRunner().invoke(build_app(), ["scan", *args, "--policy", str(tmp / "policy.yaml"), "--format",
                                              "json", "--fail-on", "none", "--as-of", "2026-11-28", "-o", str(out)])
    report = json.loads(out.read_text()) if out.exists() else {}
    return result.exit_code, report, result.output


def hits(report: dict[str, Any], rule: str, who: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule_id"] == rule and (f.get("identity") or {}).get("id") == who]


def systems_reached(report: dict[str, Any], who: str) -> set[str]:
    return {f["evidence"]["system"] for f in hits(report, "scope-not-allowed-system", who)}


def test_cross_account_bucket_without_a_grant_is_not_reached(tmp_path):
    # The agent may read any object (identity policy), but B's bucket policy names nobody of A.
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A), (None, GAAD_B),
                                                 (f"arn:aws:s3::{B}:acme-customer-pii-b",
                                                  "s3-get-bucket-policy-no-grant.json")))
    assert code == 0, out
    assert "customer-pii" not in systems_reached(report, AGENT)


def test_without_the_bucket_in_the_snapshot_identity_policies_decide(tmp_path):
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A)))
    assert code == 0, out
    assert "customer-pii" in systems_reached(report, AGENT)  # unknown is not denied


def test_cross_account_bucket_policy_naming_the_role_is_scope_drift_with_the_statement(tmp_path):
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A), (None, GAAD_B),
                                                 (f"arn:aws:s3::{B}:acme-customer-pii-b",
                                                  "s3-get-bucket-policy-partner.json")))
    assert code == 0, out
    [finding] = [f for f in hits(report, "scope-not-allowed-system", AGENT)
                 if f["evidence"]["system"] == "customer-pii"]
    assert finding["category"] == "scope-drift"
    path = json.dumps(finding["evidence"])
    assert f'bucket policy of {BUCKET}, statement 1 \\"ReadForPartner\\" allows s3:GetObject' in path
    assert AGENT in path  # the principal the statement names
    assert "policy inline" in path  # and the identity policy that must allow too (cross-account: AND)


def test_same_account_bucket_policy_alone_grants(tmp_path):
    # batch-reader has no identity policy at all; the bucket (owned by A) names it.
    bucket_policy = {"Policy": json.dumps(document({
        "Sid": "BatchRead", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:role/batch-reader"},
        "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}))}
    policy = POLICY + ("  - name: batch\n    identities: [\"arn:aws:iam::111111111111:role/batch-reader\"]\n"
                       "    may_reach: [bedrock-models]\n")
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A), (BUCKET, bucket_policy)), policy=policy)
    assert code == 0, out
    assert systems_reached(report, f"arn:aws:iam::{A}:role/batch-reader") == {"customer-pii"}


def test_same_account_policy_naming_only_the_account_adds_nothing(tmp_path):
    bucket_policy = {"Policy": json.dumps(document({
        "Effect": "Allow", "Principal": {"AWS": A}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}))}
    policy = POLICY + ("  - name: batch\n    identities: [\"arn:aws:iam::111111111111:role/batch-reader\"]\n"
                       "    may_reach: [bedrock-models]\n")
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A), (BUCKET, bucket_policy)), policy=policy)
    assert code == 0, out
    assert systems_reached(report, f"arn:aws:iam::{A}:role/batch-reader") == set()


def test_unconditional_deny_in_the_bucket_policy_removes_identity_access(tmp_path):
    bucket_policy = {"Policy": json.dumps(document({
        "Sid": "NoAgents", "Effect": "Deny", "Principal": {"AWS": AGENT}, "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"]}))}
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A), (BUCKET, bucket_policy)))
    assert code == 0, out
    assert "customer-pii" not in systems_reached(report, AGENT)


def test_kms_key_policy_lets_an_undeclared_ai_role_decrypt_a_prod_key(tmp_path):
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A), (KEY, "kms-get-key-policy-prod.json")))
    assert code == 0, out
    assert hits(report, "ai-undeclared", SUMMARIZER)
    [finding] = hits(report, "env-reaches-production", SUMMARIZER)
    text = json.dumps(finding["evidence"])
    assert "prod-secrets" in text
    assert f'key policy of {KEY}, statement 1 \\"Allow use of the key\\" allows kms:Encrypt' in text


def test_kms_without_the_root_statement_identity_policies_grant_nothing(tmp_path):
    policy = POLICY + ("  - name: keys\n    identities: [\"arn:aws:iam::111111111111:role/key-user\"]\n"
                       "    may_reach: [bedrock-models]\n")
    args = imports(tmp_path, (None, GAAD_A), (KEY, "kms-get-key-policy-no-root.json"))
    _, report, out = scan(tmp_path, *args, policy=policy)
    assert systems_reached(report, f"arn:aws:iam::{A}:role/key-user") == set(), out
    args = imports(tmp_path, (None, GAAD_A), (KEY, "kms-get-key-policy-prod.json"))
    _, report, out = scan(tmp_path, *args, policy=policy)  # the root statement enables identity policies
    assert systems_reached(report, f"arn:aws:iam::{A}:role/key-user") == {"prod-secrets"}, out


def test_kms_grant_allows_its_operations_to_the_grantee(tmp_path):
    policy = POLICY + ("  - name: batch\n    identities: [\"arn:aws:iam::111111111111:role/batch-reader\"]\n"
                       "    may_reach: [bedrock-models]\n")
    args = imports(tmp_path, (None, GAAD_A), (KEY, "kms-get-key-policy-no-root.json"), (None, "kms-list-grants.json"))
    _, report, out = scan(tmp_path, *args, policy=policy)
    [finding] = hits(report, "scope-not-allowed-system", f"arn:aws:iam::{A}:role/batch-reader")
    assert "KMS grant on " + KEY in json.dumps(finding["evidence"]), out


# ---- public buckets, Block Public Access, NotPrincipal, aws:PrincipalOrgID ---------------------------------

B_BUCKET = f"arn:aws:s3::{B}:acme-customer-pii-b"  # the TARGET naming the bucket's owner


def public_policy(condition: dict[str, Any] | None = None) -> dict[str, str]:
    statement = {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": f"{BUCKET}/*"}
    if condition:
        statement["Condition"] = condition
    return {"Policy": json.dumps(document(statement))}


def agent_reaches_pii(tmp: Path, *entries: tuple[str | None, str | Path | dict]) -> bool:
    code, report, out = scan(tmp, *imports(tmp, (None, GAAD_A), (None, GAAD_B), *entries))
    assert code == 0, out
    return "customer-pii" in systems_reached(report, AGENT)


def test_public_bucket_policy_lets_other_accounts_in(tmp_path):
    assert agent_reaches_pii(tmp_path, (B_BUCKET, public_policy()))


def test_restrict_public_buckets_of_the_owner_account_neutralises_a_public_policy(tmp_path):
    assert not agent_reaches_pii(tmp_path, (B_BUCKET, public_policy()), (B, "s3-get-public-access-block-all.json"))


def test_public_acl_grants_list_access_unless_ignore_public_acls(tmp_path):
    lister = role("lister", A, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})
    policy = POLICY + "  - name: lister\n    identities: [\"arn:aws:iam::111111111111:role/lister\"]\n"
    args = imports(tmp_path, (None, gaad(lister)), (None, GAAD_B), (B_BUCKET, "s3-get-bucket-policy-no-grant.json"),
                   (B_BUCKET, "s3-get-bucket-acl-public.json"))
    _, report, out = scan(tmp_path, *args, policy=policy)
    [finding] = hits(report, "scope-not-allowed-system", f"arn:aws:iam::{A}:role/lister")
    assert "bucket ACL of arn:aws:s3:::acme-customer-pii-b" in json.dumps(finding["evidence"]), out
    assert "AllUsers" in json.dumps(finding["evidence"])
    args.extend(imports(tmp_path, (B_BUCKET, "s3-get-public-access-block-all.json")))
    _, report, out = scan(tmp_path, *args, policy=policy)
    assert not hits(report, "scope-not-allowed-system", f"arn:aws:iam::{A}:role/lister"), out


ORG_ACCOUNTS = {"Accounts": [{"Id": A, "Arn": f"arn:aws:organizations::999999999999:account/o-a1b2c3d4e5/{A}",
                              "Email": "a@example.com", "Name": "a", "Status": "ACTIVE", "JoinedMethod": "INVITED",
                              "JoinedTimestamp": "2024-01-01T00:00:00+00:00"}]}


@pytest.mark.parametrize(("org", "reached"), [("o-a1b2c3d4e5", True), ("o-f6g7h8i9j0", False)])
def test_principal_org_id_is_decided_from_the_principal_s_organisation(tmp_path, org, reached):
    policy = public_policy({"StringEquals": {"aws:PrincipalOrgID": org}})
    assert agent_reaches_pii(tmp_path, (B_BUCKET, policy), (None, ORG_ACCOUNTS)) is reached


def test_deny_with_not_principal_denies_everyone_else(tmp_path):
    policy = {"Policy": json.dumps(document({
        "Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{A}:role/bucket-admin"}, "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"]}))}
    code, report, out = scan(tmp_path, *imports(tmp_path, (None, GAAD_A), (BUCKET, policy)))
    assert code == 0, out
    assert "customer-pii" not in systems_reached(report, AGENT)


def test_the_explain_path_shows_the_bucket_policy_statement(tmp_path):
    args = imports(tmp_path, (None, GAAD_A), (None, GAAD_B), (B_BUCKET, "s3-get-bucket-policy-partner.json"))
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["explain", AGENT, *args, "--policy", str(tmp_path / "policy.yaml"),
                                              "--as-of", "2026-11-28"], env={"COLUMNS": "400"})
    text = " ".join(result.output.split())
    assert 'bucket policy of arn:aws:s3:::acme-customer-pii-b, statement 1 "ReadForPartner"' in text, result.output
    assert "ReadForPartner" in text


def test_secret_policy_naming_an_account_lets_its_roles_in_through_their_own_policies(tmp_path):
    c = "333333333333"
    secrets_policy = POLICY.replace('''  bedrock-models:''', '''  db-secret:
    environment: prod
    resources: ["arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/*"]
  bedrock-models:''') + ("  - name: reader\n    identities: [\"arn:aws:iam::333333333333:role/*\"]\n"
                          "    may_reach: [bedrock-models]\n")
    readers = gaad(role("secret-reader", c, {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                             "Resource": "*"}),
                   role("no-grant", c))
    args = imports(tmp_path, (None, GAAD_A), (None, readers), (None, "secretsmanager-get-resource-policy.json"))
    code, report, out = scan(tmp_path, *args, policy=secrets_policy)
    assert code == 0, out
    assert systems_reached(report, f"arn:aws:iam::{c}:role/secret-reader") == {"db-secret"}
    assert systems_reached(report, f"arn:aws:iam::{c}:role/no-grant") == set()  # cross-account: AND
    [finding] = hits(report, "scope-not-allowed-system", f"arn:aws:iam::{c}:role/secret-reader")
    assert "secret resource policy of arn:aws:secretsmanager" in json.dumps(finding["evidence"])
