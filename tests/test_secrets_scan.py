"""`nhiaudit scan --secrets-in DIR [--history]` through the real CLI on a real git repository: a key of the
inventory gives a leaked-credential finding with the identity, its state and reach, located at file:line in
JSON and SARIF; Entra and GCP keys join through their ids; an unknown key is a low finding; a compliant twin
gives none; usage errors exit 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sarif_checks import github_problems, schema_errors
from test_secrets_tree import git, make_repo, needs_git
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.model import (
    Credential,
    CredentialType,
    Identity,
    IdentityKind,
    Policy,
    Provider,
    SourceInfo,
    Statement,
)
from nhiaudit.inventory.snapshot import Snapshot

ACCOUNT = "111122223333"
LEGACY = f"arn:aws:iam::{ACCOUNT}:user/legacy-smtp"
RETIRED = f"arn:aws:iam::{ACCOUNT}:user/retired-bot"
LEGACY_KEY = "AKIAEXAMPLELEGACY001"
RETIRED_KEY = "AKIAEXAMPLERETIRED01"
UNKNOWN_KEY = "AKIAEXAMPLEOTHERACC1"
TENANT = "99999999-8888-7777-6666-555555555555"
APP_ID = "11111111-2222-3333-4444-555555555555"
SP_ID = "aaaaaaaa-0000-0000-0000-000000000001"
ENTRA_SECRET = "hrB8Q~canaryCANARYcanaryCANARYcanary0123"
GCP_KEY_ID = "0123456789abcdef0123456789abcdef01234567"
GCP_SA = "batch-scorer@acme-ml.iam.gserviceaccount.com"
AS_OF = "2026-11-01"
POLICY = """\
version: 1
systems:
  customer-pii:
    classification: restricted
    resources: ["arn:aws:s3:::acme-customer-pii*"]
integrations: []
"""


def estate() -> Snapshot:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    pii = Policy(id="inline:legacy:pii", provider=Provider.AWS, name="pii", kind="inline",
                 statements=(Statement(actions=("s3:GetObject",), resources=("arn:aws:s3:::acme-customer-pii/*",)),))
    identities = [
        Identity(id=LEGACY, provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind.USER, name="legacy-smtp",
                 created=when, policy_ids=(pii.id,)),
        Identity(id=RETIRED, provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind.USER, name="retired-bot",
                 created=when),
        Identity(id=SP_ID, provider=Provider.AZURE, account=TENANT, kind=IdentityKind.SERVICE_PRINCIPAL,
                 name="hr-assistant", attributes={"appId": APP_ID}),
        Identity(id=GCP_SA, provider=Provider.GCP, account="acme-ml", kind=IdentityKind.SERVICE_ACCOUNT,
                 name="batch-scorer"),
    ]
    credentials = [
        Credential(id=LEGACY_KEY, identity_id=LEGACY, provider=Provider.AWS, type=CredentialType.ACCESS_KEY,
                   created=when, last_used=datetime(2026, 10, 31, tzinfo=UTC)),
        Credential(id=RETIRED_KEY, identity_id=RETIRED, provider=Provider.AWS, type=CredentialType.ACCESS_KEY,
                   created=when, active=False),
        Credential(id="key-1", identity_id=SP_ID, provider=Provider.AZURE, type=CredentialType.CLIENT_SECRET,
                   created=when, fingerprint="hint:hrB:2026-01-01T00:00:00Z:2028-01-01T00:00:00Z"),
        Credential(id=f"projects/acme-ml/serviceAccounts/{GCP_SA}/keys/{GCP_KEY_ID}", identity_id=GCP_SA,
                   provider=Provider.GCP, type=CredentialType.SA_KEY, created=when),
    ]
    sources = [SourceInfo(provider=Provider.AWS, account=ACCOUNT, method="synthetic"),
               SourceInfo(provider=Provider.AZURE, account=TENANT, method="synthetic"),
               SourceInfo(provider=Provider.GCP, account="acme-ml", method="synthetic")]
    return Snapshot(sources=sources, identities=identities, credentials=credentials, policies=[pii])


def leaky_repo(path: Path) -> Path:
    repo = make_repo(path)
    (repo / "config").mkdir()
    (repo / "config" / "smtp.env").write_text(
        f"SMTP_HOST=mail.example.com\nSMTP_PORT=587\nAWS_ACCESS_KEY_ID={LEGACY_KEY}\n")
    (repo / "config" / "azure.env").write_text(
        f"AZURE_TENANT_ID={TENANT}\nAZURE_CLIENT_ID={APP_ID}\nAZURE_CLIENT_SECRET={ENTRA_SECRET}\n")
    (repo / "sa.json").write_text(json.dumps({
        "type": "service_account", "project_id": "acme-ml", "private_key_id": GCP_KEY_ID,
        "private_key": "-----BEGIN PRIVATE KEY-----\nCANARY\n-----END PRIVATE KEY-----\n",
        "client_email": GCP_SA}, indent=2))
    (repo / "README.md").write_text(f"# tools\n\nold bot key: {RETIRED_KEY}\nsomeone else's: {UNKNOWN_KEY}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
    return repo


def scan(tmp: Path, *extra: str) -> tuple[int, dict, dict]:
    snapshot = tmp / "snapshot.json"
    estate().write(snapshot)
    (tmp / "policy.yaml").write_text(POLICY)
    out, sarif = tmp / "report.json", tmp / "report.sarif"
    result = CliRunner().invoke(build_app(), [
        "scan", "--snapshot", str(snapshot), "--policy", str(tmp / "policy.yaml"), "--as-of", AS_OF,
        "--format", "json", "-o", str(out), "--output-sarif", str(sarif), "--sarif-root", str(tmp),
        "--fail-on", "none", "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return result.exit_code, json.loads(out.read_text()), json.loads(sarif.read_text())


def leaks(report: dict) -> dict[str, dict]:
    return {f["evidence"]["seen_as"]: f for f in report["findings"] if f["category"] == "leaked-credential"}


@needs_git
def test_inventory_key_in_a_repository_is_critical_with_identity_and_reach(tmp_path):
    repo = leaky_repo(tmp_path / "repo")
    _, report, sarif = scan(tmp_path, "--secrets-in", str(repo))
    found = leaks(report)
    legacy = found[LEGACY_KEY]
    assert (legacy["rule_id"], legacy["severity"], legacy["identity"]["id"]) == (
        "secret-leaked-credential", "critical", LEGACY)
    assert legacy["credential_id"] == LEGACY_KEY
    assert legacy["evidence"]["where"] == f"{repo}/config/smtp.env:3"
    assert (legacy["evidence"]["active"], legacy["evidence"]["last_used"]) == (True, "2026-10-31")
    assert legacy["evidence"]["reach"] == ["customer-pii"]
    assert legacy["file_location"] == {"file": f"{repo}/config/smtp.env", "line": 3, "commit": None}
    assert "legacy-smtp" in legacy["message"] and "customer-pii" in legacy["message"]
    # An inactive key is still a leak, at a lower severity; a key of another account is a low note.
    assert (found[RETIRED_KEY]["severity"], found[RETIRED_KEY]["evidence"]["active"]) == ("medium", False)
    assert (found[UNKNOWN_KEY]["rule_id"], found[UNKNOWN_KEY]["severity"]) == ("secret-unknown-credential", "low")
    assert found[UNKNOWN_KEY]["identity"] is None
    # Entra: joined through the client id next to it and the hint; GCP: through private_key_id.
    entra = next(f for f in found.values() if f["evidence"]["where"].endswith("azure.env:3"))
    assert (entra["identity"]["id"], entra["credential_id"], entra["severity"]) == (SP_ID, "key-1", "high")
    assert entra["evidence"]["seen_as"].startswith("sha256:") and ENTRA_SECRET not in json.dumps(report)
    gcp = found[GCP_KEY_ID]
    assert (gcp["identity"]["id"], gcp["evidence"]["secret_nearby"]) == (GCP_SA, True)
    # SARIF points at the file and line, relative to the SARIF root.
    results = {r["properties"]["fingerprint"]: r for r in sarif["runs"][0]["results"]}
    where = results[legacy["fingerprint"]]["locations"][0]["physicalLocation"]
    assert where == {"artifactLocation": {"uri": "repo/config/smtp.env"}, "region": {"startLine": 3}}
    assert schema_errors(sarif) == [] and github_problems(sarif) == []
    assert report["secrets_scan"]["files_read"] == 4 and report["secrets_scan"]["trees"] == [str(repo)]


@needs_git
def test_history_finds_a_key_removed_from_the_work_tree(tmp_path):
    repo = leaky_repo(tmp_path / "repo")
    added = git(repo, "rev-parse", "HEAD")
    (repo / "config" / "smtp.env").write_text("SMTP_HOST=mail.example.com\n")
    git(repo, "commit", "-qam", "key moved to the role")
    _, report, sarif = scan(tmp_path, "--secrets-in", str(repo))
    assert LEGACY_KEY not in leaks(report)
    _, report, sarif = scan(tmp_path, "--secrets-in", str(repo), "--history")
    legacy = [f for f in report["findings"] if f["evidence"].get("seen_as") == LEGACY_KEY]
    assert len(legacy) == 1 and legacy[0]["evidence"]["commit"] == added
    assert legacy[0]["evidence"]["where"] == f"{repo}/config/smtp.env:3 (commit {added[:12]})"
    (result,) = [r for r in sarif["runs"][0]["results"] if r["properties"]["fingerprint"] == legacy[0]["fingerprint"]]
    assert result["properties"]["commit"] == added
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert report["secrets_scan"]["commits_read"] == 2


@needs_git
def test_compliant_twin_gives_no_leak(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "smtp.env").write_text("SMTP_HOST=mail.example.com\n# credentials come from the instance role\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
    _, report, _ = scan(tmp_path, "--secrets-in", str(repo), "--history")
    assert leaks(report) == {} and report["secrets_scan"]["sightings"] == 0


def test_fingerprints_do_not_move_with_lines(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.env").write_text(f"K={LEGACY_KEY}\n")
    _, first, _ = scan(tmp_path, "--secrets-in", str(tree))
    (tree / "a.env").write_text(f"# moved down\n\nK={LEGACY_KEY}\n")
    _, second, _ = scan(tmp_path, "--secrets-in", str(tree))
    assert leaks(first)[LEGACY_KEY]["fingerprint"] == leaks(second)[LEGACY_KEY]["fingerprint"]
    assert leaks(second)[LEGACY_KEY]["file_location"]["line"] == 3


def test_usage_errors_exit_2(tmp_path):
    estate().write(tmp_path / "s.json")
    for args, words in ((["--secrets-in", str(tmp_path / "missing")], "not a directory"),
                        (["--history"], "--history")):
        result = CliRunner().invoke(build_app(), ["scan", "--snapshot", str(tmp_path / "s.json"), *args])
        assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output


def test_an_exception_names_an_unknown_key_by_its_id(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "setup.md").write_text(f"Example: `{UNKNOWN_KEY}`\n")
    policy = POLICY + (f"exceptions:\n  - rule: secret-unknown-credential\n    identity: {UNKNOWN_KEY}\n"
                       "    reason: documented example\n    owner: docs@acme.example\n    expires: 2027-01-01\n")
    estate().write(tmp_path / "s.json")
    (tmp_path / "p.yaml").write_text(policy)
    result = CliRunner().invoke(build_app(), [
        "scan", "--snapshot", str(tmp_path / "s.json"), "--policy", str(tmp_path / "p.yaml"), "--as-of", AS_OF,
        "--secrets-in", str(tree), "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (leak,) = leaks(report).values()
    assert leak["status"] == "excepted"
    assert not [f for f in report["findings"] if f["rule_id"] == "policy-exception-unmatched"]
