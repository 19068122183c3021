"""Two active access keys on one identity (issue 11, point 5): `cred-multiple-active-keys` reports a rotation
that never finished or a key handed to a second consumer, not a rotation in progress (newest key younger than
the policy's `grace_days`), not an inactive second key, and not a key beside a signing certificate. Built from
`aws iam get-account-authorization-details`, `aws iam list-access-keys` and the credential report, scanned
through the real CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aws_exports import (
    access_keys,
    allow,
    credential_report,
    findings,
    gaad,
    report_row,
    scan_exports,
    user,
)
from scan_support import scan_planted

from nhiaudit.inventory.model import Credential, CredentialType, Identity, IdentityKind, Provider
from nhiaudit.inventory.snapshot import Snapshot

AS_OF = "2026-11-28"
OLD, NEWER = "2025-10-14T09:00:00+00:00", "2026-07-31T09:00:00+00:00"  # 410 and 120 days before AS_OF
RULE = "cred-multiple-active-keys"


def estate(name: str, keys: list[tuple[str, str, str]], report_keys, certificate: str | None = None) -> dict:
    return {
        "gaad.json": gaad(user(name, allow("s3:GetObject", "arn:aws:s3:::acme-artifacts/*"))),
        "report.csv": credential_report(report_row(name, report_keys, certificate=certificate)),
        f"keys-{name}.json": access_keys(name, *keys),
    }


def test_two_old_active_keys_are_reported_with_ids_ages_and_last_use(tmp_path):
    files = estate("ci-deployer", [("AKIAEXAMPLEOLDKEY001", "Active", OLD), ("AKIAEXAMPLENEWKEY001", "Active", NEWER)],
                   [(True, OLD, "2026-11-26T10:00:00+00:00", "s3"), (True, NEWER, None, None)])
    (found,) = findings(scan_exports(tmp_path, files, AS_OF), RULE, "ci-deployer")
    assert found["severity"] == "medium" and found["category"] == "long-lived-credential"
    assert "2 active access_key credentials, the newest 120 days old" in found["message"]
    assert "a rotation that never finished, or a key handed to a second consumer" in found["message"]
    evidence = found["evidence"]
    assert (evidence["count"], evidence["newest_age_days"], evidence["grace_days"]) == (2, 120, 7)
    assert evidence["keys"] == [
        {"id": "AKIAEXAMPLEOLDKEY001", "age_days": 410, "last_used": "2026-11-26", "last_used_service": "s3"},
        {"id": "AKIAEXAMPLENEWKEY001", "age_days": 120, "last_used": "never", "last_used_service": ""},
    ]


def test_a_rotation_in_progress_is_not_reported(tmp_path):
    fresh = "2026-11-26T09:00:00+00:00"  # two days old: within the default grace_days (7)
    files = estate("rotating", [("AKIAEXAMPLEOLDKEY002", "Active", OLD), ("AKIAEXAMPLENEWKEY002", "Active", fresh)],
                   [(True, OLD, "2026-11-27T10:00:00+00:00", "s3"), (True, fresh, None, None)])
    assert findings(scan_exports(tmp_path, files, AS_OF), RULE) == []


def test_the_policy_grace_days_decide_what_a_rotation_in_progress_is(tmp_path):
    fresh = "2026-11-25T09:00:00+00:00"  # three days old
    files = estate("rotating", [("AKIAEXAMPLEOLDKEY003", "Active", OLD), ("AKIAEXAMPLENEWKEY003", "Active", fresh)],
                   [(True, OLD, None, None), (True, fresh, None, None)])
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ndefaults:\n  credentials: {grace_days: 1}\n", encoding="utf-8")
    (found,) = findings(scan_exports(tmp_path, files, AS_OF, "--policy", str(policy)), RULE, "rotating")
    assert found["evidence"]["newest_age_days"] == 3 and found["evidence"]["grace_days"] == 1


def test_an_inactive_second_key_is_not_reported(tmp_path):
    files = estate("tidy", [("AKIAEXAMPLEOLDKEY004", "Inactive", OLD), ("AKIAEXAMPLENEWKEY004", "Active", NEWER)],
                   [(False, OLD, None, None), (True, NEWER, "2026-11-27T10:00:00+00:00", "sts")])
    assert findings(scan_exports(tmp_path, files, AS_OF), RULE) == []


def test_a_key_beside_a_signing_certificate_is_not_a_rotation(tmp_path):
    files = estate("smtp", [("AKIAEXAMPLESMTPKEY05", "Active", OLD)], [(True, OLD, None, None)], certificate=OLD)
    assert findings(scan_exports(tmp_path, files, AS_OF), RULE) == []


def test_gcp_service_account_keys_and_entra_client_secrets_count_too(tmp_path):
    """Every static credential type counts (docs: the rule's description); the connectors' own shapes are
    covered by their tests, so the snapshot is built from the inventory model here."""
    def when(days: int) -> datetime:
        return datetime(2026, 11, 28, tzinfo=UTC) - timedelta(days=days)

    sa = Identity(id="etl@acme-ml-prod.iam.gserviceaccount.com", provider=Provider.GCP, account="acme-ml-prod",
                  kind=IdentityKind.SERVICE_ACCOUNT, name="etl", created=when(400))
    sp = Identity(id="6f1e0c52-1111-4111-8111-111111111111", provider=Provider.AZURE,
                  account="11111111-1111-4111-8111-111111111111", kind=IdentityKind.SERVICE_PRINCIPAL,
                  name="hr-bot", created=when(400))
    creds = [Credential(id=f"{ident.id}#{n}", identity_id=ident.id, provider=ident.provider, type=kind,
                        created=when(age), expires=when(age - 365) if kind is CredentialType.CLIENT_SECRET else None)
             for ident, kind in ((sa, CredentialType.SA_KEY), (sp, CredentialType.CLIENT_SECRET))
             for n, age in ((1, 200), (2, 100))]
    snapshot = Snapshot(identities=[sa, sp], credentials=creds)
    report = scan_planted(tmp_path, snapshot, "version: 1\n", AS_OF)
    assert {(f["identity"]["name"], f["evidence"]["type"]) for f in findings(report, RULE)} == {
        ("etl", "sa_key"), ("hr-bot", "client_secret")}
