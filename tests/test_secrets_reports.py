"""`scan --secrets-in` through the real CLI, in the reports people read: two trees given together each keep their
own sightings (the key of a different inventory user in each, at its own file:line), and the leaked-credential
findings (`secret-leaked-credential`, `secret-unknown-credential`) are in the terminal table and in the Markdown
summary with their file:line, while the secret values written next to the key ids are in neither."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_secrets_scan import (
    APP_ID,
    ENTRA_SECRET,
    LEGACY,
    LEGACY_KEY,
    POLICY,
    RETIRED,
    RETIRED_KEY,
    SP_ID,
    TENANT,
    UNKNOWN_KEY,
    estate,
    leaks,
)
from typer.testing import CliRunner

from nhiaudit.cli import build_app

AS_OF = "2026-11-01"
AWS_SECRET = "Zq3vREPORTSawsSECRETk7Xp9/Lm+Wn2Rt5Yb8Hd0Q"  # 40 characters, next to LEGACY_KEY
SECRETS = (AWS_SECRET, ENTRA_SECRET, AWS_SECRET[4:-4], ENTRA_SECRET[6:])


def run_scan(tmp: Path, *args: str, columns: int = 400) -> tuple[int, str, str]:
    snapshot = tmp / "snapshot.json"
    estate().write(snapshot)
    (tmp / "policy.yaml").write_text(POLICY)
    result = CliRunner().invoke(build_app(), [
        "scan", "--snapshot", str(snapshot), "--policy", str(tmp / "policy.yaml"), "--as-of", AS_OF, "--quiet",
        *args], env={"COLUMNS": str(columns)})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def tree(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_two_trees_each_give_the_leak_of_their_own_user_at_their_own_line(tmp_path):
    first = tree(tmp_path / "service-a", {"smtp.env": f"SMTP_HOST=mail.example.com\nAWS_ACCESS_KEY_ID={LEGACY_KEY}\n"})
    second = tree(tmp_path / "service-b", {"bot.md": f"# bot\n\nsetup notes\n\nold key: {RETIRED_KEY}\n"})
    out = tmp_path / "report.json"
    code, _, err = run_scan(tmp_path, "--secrets-in", str(first), "--secrets-in", str(second), "--format", "json",
                            "-o", str(out), "--fail-on", "none")
    assert code == 0, err
    report = json.loads(out.read_text())
    found = leaks(report)
    assert set(found) == {LEGACY_KEY, RETIRED_KEY}
    legacy, retired = found[LEGACY_KEY], found[RETIRED_KEY]
    assert (legacy["rule_id"], legacy["identity"]["id"], legacy["severity"]) == (
        "secret-leaked-credential", LEGACY, "critical")
    assert legacy["evidence"]["where"] == f"{first}/smtp.env:2"
    assert legacy["file_location"] == {"file": f"{first}/smtp.env", "line": 2, "commit": None}
    assert (retired["rule_id"], retired["identity"]["id"], retired["severity"]) == (
        "secret-leaked-credential", RETIRED, "medium")  # an inactive key: still a leak
    assert retired["evidence"]["where"] == f"{second}/bot.md:5"
    assert retired["file_location"] == {"file": f"{second}/bot.md", "line": 5, "commit": None}
    assert report["secrets_scan"]["trees"] == [str(first), str(second)]
    assert report["secrets_scan"]["files_read"] == 2

    # Each tree alone gives its own leak only: the findings are not the first tree's, repeated.
    code, _, _ = run_scan(tmp_path, "--secrets-in", str(second), "--format", "json", "-o", str(out),
                          "--fail-on", "none")
    assert set(leaks(json.loads(out.read_text()))) == {RETIRED_KEY}


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    """An AWS key id with its secret key, and an Entra client id with its client secret and a key of no collected
    account, in two trees."""
    aws = tree(tmp_path / "deploy", {"deploy.env": f"REGION=eu-west-1\nAWS_ACCESS_KEY_ID={LEGACY_KEY}\n"
                                                   f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"})
    entra = tree(tmp_path / "hr", {"azure.env": f"AZURE_TENANT_ID={TENANT}\nAZURE_CLIENT_ID={APP_ID}\n"
                                                f"AZURE_CLIENT_SECRET={ENTRA_SECRET}\n",
                                   "notes.md": f"someone else's: {UNKNOWN_KEY}\n"})
    return aws, entra


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} holds a secret value"


def test_terminal_table_shows_the_leaks_with_their_place_and_no_secret(tmp_path, planted):
    aws, entra = planted
    code, out, err = run_scan(tmp_path, "--secrets-in", str(aws), "--secrets-in", str(entra))
    assert code == 1, err  # an active leaked key of an identity that reaches a system fails the run
    text = " ".join(out.split())
    assert "\x1b[" not in out  # not a terminal: no colour codes
    assert (f"CRITICAL │ secret-leaked-credential │ legacy-smtp │ aws_access_key_id {LEGACY_KEY} of legacy-smtp is "
            f"written in {aws}/deploy.env:2 (credential active: yes, last used: 2026-10-31; reaches: customer-pii)"
            ) in text
    assert "HIGH │ secret-leaked-credential │ hr-assistant │" in text and f"{entra}/azure.env:3" in text
    assert "LOW │ secret-unknown-credential │" in text and UNKNOWN_KEY in text
    assert_no_secret(out + err, "the table")
    # The narrow (80-column) layout lists the same findings as blocks.
    code, narrow, err = run_scan(tmp_path, "--secrets-in", str(aws), "--secrets-in", str(entra), columns=80)
    assert code == 1 and "CRITICAL  secret-leaked-credential" in narrow and "LOW  secret-unknown-credential" in narrow
    assert_no_secret(narrow + err, "the narrow table")


def unescaped(markdown: str) -> str:
    """Markdown with its backslash escapes removed (paths are escaped: `deploy\\.env`)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_markdown_summary_shows_the_leaks_with_their_place_and_no_secret(tmp_path, planted):
    aws, entra = planted
    md_file = tmp_path / "summary.md"
    code, out, err = run_scan(tmp_path, "--secrets-in", str(aws), "--secrets-in", str(entra), "--format", "markdown",
                              "--output-markdown", str(md_file), "--fail-on", "none")
    assert code == 0, err
    for md in (out, md_file.read_text()):
        lines = unescaped(md).splitlines()
        (legacy,) = [line for line in lines if "`secret-leaked-credential`" in line and f"key `{LEGACY_KEY}`" in line]
        assert legacy.startswith("| **critical** | `secret-leaked-credential` |")
        assert f"`{LEGACY}` key `{LEGACY_KEY}`" in legacy and f"written in {aws}/deploy.env:2" in legacy
        assert "rotate it" in legacy  # how to fix
        entra_row = next(line for line in lines if f"{entra}/azure.env:3" in line)
        assert entra_row.startswith("| **high** | `secret-leaked-credential` |") and SP_ID in entra_row
        assert any(line.startswith("| low | `secret-unknown-credential` |") and UNKNOWN_KEY in line for line in lines)
        assert_no_secret(md, "the Markdown summary")
        assert_no_secret(unescaped(md), "the Markdown summary (unescaped)")
    assert_no_secret(err, "stderr")
