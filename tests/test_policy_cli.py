"""`nhiaudit policy validate | schema | init` through the real CLI (CliRunner and one subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.policy.loader import load_policy
from nhiaudit.policy.schema import policy_json_schema

ROOT = Path(__file__).resolve().parents[1]

GOOD = textwrap.dedent("""\
    version: 1
    systems:
      tickets:
        resources: ["arn:aws:s3:::tickets*"]
      bedrock-models:
        kind: ai-model
        resources: ["arn:aws:bedrock:*::foundation-model/*"]
    integrations:
      - name: support-copilot
        owner: support@example.com
        identities: ["arn:aws:iam::111122223333:role/support-copilot"]
        may_reach: [tickets, bedrock-models]
    exceptions:
      - rule: long-lived-credential
        identity: "arn:aws:iam::111122223333:user/legacy-smtp"
        reason: vendor appliance
        owner: it-ops@example.com
        expires: 2027-03-31
    """)

# Typo'd system name (line 12), typo'd field name (line 10), impossible date (line 18).
BROKEN = (
    GOOD.replace("may_reach: [tickets, bedrock-models]", "may_reach: [tickets, bedrok-models]")
    .replace("    owner: support@example.com", "    ower: support@example.com")
    .replace("expires: 2027-03-31", "expires: 2027-13-01")
)
BROKEN_PROBLEMS = [
    "{f}:10:5: integrations[0].ower: unknown field; did you mean 'owner'?",
    "{f}:12:26: integrations[0].may_reach[1]: unknown system 'bedrok-models'; did you mean 'bedrock-models'?",
    "{f}:18:14: exceptions[0].expires: expected a date YYYY-MM-DD, got '2027-13-01'",
]
SYNTAX = GOOD.replace('    identities: ["arn', '    identities: "arn')  # stray ']' at line 11, col 65


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def write(tmp_path: Path):
    def _write(text: str, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def test_validate_reports_every_problem_with_exact_locations(write) -> None:
    path = write(BROKEN)
    code, out, err = run("policy", "validate", str(path))
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"error: {p.format(f=path)}" for p in BROKEN_PROBLEMS]
    assert "Traceback" not in err


def test_validate_syntax_error_is_one_located_message(write) -> None:
    path = write(SYNTAX)
    code, _, err = run("policy", "validate", str(path))
    assert code == 2
    (line,) = err.splitlines()
    assert line.startswith(f"error: {path}:11:65: YAML syntax error: ")


def test_validate_as_a_real_process(write) -> None:
    path = write(BROKEN)
    venv_python = ROOT / ".venv" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    proc = subprocess.run(
        [
            str(venv_python if venv_python.exists() else sys.executable),
            "-m",
            "nhiaudit",
            "policy",
            "validate",
            str(path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [f"error: {p.format(f=path)}" for p in BROKEN_PROBLEMS]
    assert proc.stdout == ""


def test_validate_ok_and_expired_exception_warning(write) -> None:
    path = write(GOOD)
    code, out, err = run("policy", "validate", str(path), "--as-of", "2027-03-31")
    assert (code, out, err) == (0, f"{path}: ok (1 integrations, 2 systems, 1 exceptions)\n", "")
    code, out, err = run("policy", "validate", str(path), "--as-of", "2027-04-01")
    assert code == 0 and out.endswith("ok (1 integrations, 2 systems, 1 exceptions)\n")
    assert err.startswith(f"warning: {path}:18:14: exceptions[0]: exception for rule 'long-lived-credential'")
    assert "expired on 2027-03-31" in err


def test_validate_knows_shipped_rule_ids(write) -> None:
    assert (
        run("policy", "validate", str(write(GOOD.replace("long-lived-credential", "cred-too-old"))))[0] == 0
    )
    path = write(GOOD.replace("long-lived-credential", "cred-to-old"))
    code, _, err = run("policy", "validate", str(path))
    assert code == 2
    assert err == (
        f"error: {path}:14:11: exceptions[0].rule: 'cred-to-old' is neither a rule id nor a finding "
        "category; did you mean 'cred-too-old'?\n"
    )


def test_user_text_is_not_taken_as_console_markup(write) -> None:
    path = write(GOOD.replace("may_reach: [tickets, bedrock-models]", 'may_reach: ["[bold]tickets"]'))
    code, _, err = run("policy", "validate", str(path))
    assert code == 2 and "unknown system '[bold]tickets'" in err


def test_validate_bad_input_exits_2(write, tmp_path: Path) -> None:
    code, _, err = run("policy", "validate", str(tmp_path / "missing.yaml"))
    assert code == 2 and "policy file not found" in err
    code, _, err = run("policy", "validate", str(write(GOOD)), "--as-of", "someday")
    assert code == 2 and "--as-of must be a date" in err


def test_schema_command(tmp_path: Path) -> None:
    code, out, _ = run("policy", "schema")
    assert code == 0 and json.loads(out) == policy_json_schema()
    target = tmp_path / "out" / "policy.schema.json"
    assert run("policy", "schema", "--output", str(target))[0] == 0
    assert json.loads(target.read_text()) == policy_json_schema()


def test_init_writes_a_starter_that_validates_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "policy.yaml"
    code, _, err = run("policy", "init", "--output", str(target))
    assert code == 0 and f"wrote {target}" in err
    text = target.read_text()
    # The editor header points at a schema written beside the policy, so completion works offline.
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./nhiaudit-policy.schema.json"
    assert json.loads((tmp_path / "nhiaudit-policy.schema.json").read_text()) == policy_json_schema()
    assert load_policy(target).defaults.credentials.require_expiry is False
    assert run("policy", "validate", str(target))[0] == 0

    target.write_text("mine\n")
    code, _, err = run("policy", "init", "--output", str(target))
    assert code == 2 and "already exists; use --force" in err
    assert target.read_text() == "mine\n"
    code, _, _ = run("policy", "init", "-o", str(target), "--force", "--schema-ref", "./policy.schema.json")
    assert code == 0
    assert target.read_text().startswith("# yaml-language-server: $schema=./policy.schema.json\n")

    code, out, _ = run("policy", "init")
    assert code == 0 and out.startswith("# yaml-language-server: $schema=")
