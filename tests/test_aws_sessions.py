"""Role session lifetime (issue 12): MaxSessionDuration from ListRoles (live, one paginated call per account)
or `aws iam list-roles` output (import), the written policy's `credentials.max_session_minutes`, and the
session-too-long finding. Live against moto through real boto3 and the real CLI; import from recorded CLI
output; hostile list-roles files are located input errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_support import FIXTURES, MOTO_ACCOUNT, Moto, Response, aws_env, export_like_cli, moto  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.imports import import_files
from nhiaudit.inventory.snapshot import load_snapshot

LONG = f"arn:aws:iam::{MOTO_ACCOUNT}:role/long-agent"
SHORT = f"arn:aws:iam::{MOTO_ACCOUNT}:role/short-agent"
FIXTURE_ROLE = "arn:aws:iam::111122223333:role"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                            "Principal": {"Service": "lambda.amazonaws.com"}}]})


@pytest.fixture(scope="module")
def estate(moto: Moto) -> Moto:  # noqa: F811
    moto.reset()
    iam = moto.client("iam")
    iam.create_role(RoleName="long-agent", AssumeRolePolicyDocument=TRUST, MaxSessionDuration=43200)
    iam.create_role(RoleName="short-agent", AssumeRolePolicyDocument=TRUST, MaxSessionDuration=3600)
    return moto


def write_policy(tmp_path: Path, integration_minutes: int | None, default_minutes: int | None = None,
                 identities: tuple[str, ...] = (LONG, SHORT)) -> Path:
    lines = ["version: 1"]
    if default_minutes is not None:
        lines += ["defaults:", "  credentials:", f"    max_session_minutes: {default_minutes}"]
    lines += ["integrations:", "  - name: support-agent", "    identities:"]
    lines += [f'      - "{arn}"' for arn in identities]
    if integration_minutes is not None:
        lines += ["    credentials:", f"      max_session_minutes: {integration_minutes}"]
    path = tmp_path / "policy.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def scan(tmp_path: Path, policy: Path, *source: str) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), ["scan", *source, "--policy", str(policy), "--format", "json",
                                              "--fail-on", "none", "-o", str(out), "--quiet"])
    assert out.exists(), result.output
    return result.exit_code, json.loads(out.read_text())


def session_findings(report: dict) -> dict[str, dict]:
    return {f["identity"]["id"]: f for f in report["findings"] if f["rule_id"] == "session-too-long"}


LIVE = ("--aws", "--aws-regions", "us-east-1")


# ---- live ------------------------------------------------------------------------------------------------

def test_live_twelve_hour_role_breaks_a_one_hour_integration(estate, aws_env, tmp_path):  # noqa: F811
    code, report = scan(tmp_path, write_policy(tmp_path, 60), *LIVE)
    assert code == 0 and report["collection"]["complete"]
    found = session_findings(report)
    assert set(found) == {LONG}  # the one-hour role is within the limit
    finding = found[LONG]
    assert finding["category"] == "long-lived-credential" and finding["severity"] == "medium"
    assert "720 minutes" in finding["message"] and "allows 60" in finding["message"]
    assert aws_env.front.operations().count("iam:ListRoles") == 1


def test_live_limit_the_role_meets_reports_nothing(estate, aws_env, tmp_path):  # noqa: F811
    _, report = scan(tmp_path, write_policy(tmp_path, 720), *LIVE)
    assert session_findings(report) == {}


def test_defaults_limit_every_role(estate, aws_env, tmp_path):  # noqa: F811
    # Neither role is listed by an integration: the policy's defaults apply to every role.
    _, report = scan(tmp_path, write_policy(tmp_path, None, default_minutes=60, identities=("arn:none",)), *LIVE)
    assert set(session_findings(report)) == {LONG}


def test_live_and_import_give_the_same_findings(estate, aws_env, tmp_path):  # noqa: F811
    policy = write_policy(tmp_path, 60)
    _, live = scan(tmp_path, policy, *LIVE)
    files = export_like_cli(estate, tmp_path / "exports")
    assert any(json.loads(f.read_text()).get("Roles") for f in files)  # the list-roles output is among them
    _, imported = scan(tmp_path, policy, *[a for f in files for a in ("--import", str(f))])
    keyed = [sorted((f["rule_id"], f["identity"]["id"], f["message"]) for f in r["findings"]) for r in (live, imported)]
    assert keyed[0] == keyed[1] and set(session_findings(imported)) == {LONG}


def test_denied_list_roles_is_an_issue_and_never_a_finding(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("iam:ListRoles")
    out = tmp_path / "snap.json"
    result = CliRunner().invoke(build_app(), ["collect", *LIVE, "-o", str(out)])
    assert result.exit_code == 3 and "iam:ListRoles" in result.stderr
    snap = load_snapshot(out)
    (issue,) = snap.collection_issues
    assert issue.operation == "iam:ListRoles" and "AccessDenied" in issue.message and "session" in issue.missing
    roles = {i.id: i for i in snap.identities if i.kind == "role"}
    assert {LONG, SHORT} <= set(roles) and all("max_session_seconds" not in i.attributes for i in roles.values())
    # Unknown session length never fires, whatever the limit.
    _, report = scan(tmp_path, write_policy(tmp_path, 60), "--snapshot", str(out))
    assert session_findings(report) == {}


def test_garbled_list_roles_reply_fails_only_that_call(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.replay("iam:ListRoles", lambda r: Response(200, b"<html><body>proxy login</body></html>",
                                                             "text/html"))
    out = tmp_path / "snap.json"
    result = CliRunner().invoke(build_app(), ["collect", *LIVE, "-o", str(out)])
    assert result.exit_code == 3, result.output
    snap = load_snapshot(out)
    assert [i.operation for i in snap.collection_issues] == ["iam:ListRoles"]
    assert {LONG, SHORT} <= {i.id for i in snap.identities}


# ---- import of recorded `aws iam list-roles` output ------------------------------------------------------

def test_import_reads_max_session_duration_beside_the_authorization_details(tmp_path):
    snap = import_files([FIXTURES / "gaad-cli.json", FIXTURES / "list-roles.json"])
    seconds = {i.name: i.attributes.get("max_session_seconds") for i in snap.identities if i.kind == "role"}
    assert seconds == {"support-copilot": "43200", "github-deploy": "7200", "vendor-analytics": "3600",
                       "web-server": "3600", "open-trust": "3600"}
    assert all("max_session_seconds" not in i.attributes for i in snap.identities if i.kind == "user")
    without = import_files([FIXTURES / "gaad-cli.json"])
    assert all("max_session_seconds" not in i.attributes for i in without.identities)


def test_import_findings_follow_the_policy(tmp_path):
    copilot, deploy = f"{FIXTURE_ROLE}/ai/support-copilot", f"{FIXTURE_ROLE}/github-deploy"
    policy = write_policy(tmp_path, 60, default_minutes=120, identities=(copilot,))
    args = ("--import", str(FIXTURES / "gaad-cli.json"), "--import", str(FIXTURES / "list-roles.json"))
    _, report = scan(tmp_path, policy, *args)
    found = session_findings(report)
    # support-copilot: 720 minutes against its integration's 60; github-deploy: 120 against the defaults' 120.
    assert set(found) == {copilot} and found[copilot]["evidence"]["policy_max_session_minutes"] == 60
    _, stricter = scan(tmp_path, write_policy(tmp_path, None, default_minutes=60, identities=(copilot,)), *args)
    assert set(session_findings(stricter)) == {copilot, deploy}
    _, unknown = scan(tmp_path, policy, "--import", str(FIXTURES / "gaad-cli.json"))
    assert session_findings(unknown) == {}


def _located(result, path: Path, line: int, *words: str) -> None:
    assert result.exit_code == 2, result.output
    found = re.findall(rf"{re.escape(str(path))}:(\d+):(\d+):", result.output)
    assert found and int(found[0][0]) == line, (line, result.output)
    for word in words:
        assert word in result.output, (word, result.output)


@pytest.mark.parametrize("value, words", [
    ('"43200"', ("MaxSessionDuration",)),  # a string where AWS sends an integer
    ("true", ("MaxSessionDuration",)),
    ("-5", ("MaxSessionDuration",)),
    ("99999999999999999999", ("MaxSessionDuration", "not 1 to 86400 seconds")),
])
def test_hostile_list_roles_is_an_input_error_at_its_line(tmp_path, value, words):
    data = json.loads((FIXTURES / "list-roles.json").read_text())
    data["Roles"][2]["MaxSessionDuration"] = "@@HOSTILE@@"
    text = json.dumps(data, indent=2).replace('"@@HOSTILE@@"', value)
    path = tmp_path / "list-roles.json"
    path.write_text(text)
    line = text[: text.index(f'"MaxSessionDuration": {value}')].count("\n") + 1
    result = CliRunner().invoke(build_app(), ["collect", "--import", str(FIXTURES / "gaad-cli.json"),
                                              "--import", str(path)])
    _located(result, path, line, *words)


def test_list_roles_with_a_role_that_is_not_an_object(tmp_path):
    data = json.loads((FIXTURES / "list-roles.json").read_text())
    data["Roles"][1] = "role-as-string"
    text = json.dumps(data, indent=2)
    path = tmp_path / "roles.json"
    path.write_text(text)
    result = CliRunner().invoke(build_app(), ["collect", "--import", str(path)])
    _located(result, path, text[: text.index('"role-as-string"')].count("\n") + 1, "Roles[1]")


def test_list_roles_schema_is_json_schema_that_agrees_with_the_checker():
    from jsonschema import Draft202012Validator

    from nhiaudit.connectors.aws import export_shapes

    schema = export_shapes.schema_files()["list-roles.schema.json"]
    Draft202012Validator.check_schema(schema)
    data = json.loads((FIXTURES / "list-roles.json").read_text())
    assert export_shapes.problems(export_shapes.LIST_ROLES, data) == []
    assert not list(Draft202012Validator(schema).iter_errors(data))
    data["Roles"][0]["MaxSessionDuration"] = "3600"
    ours = {p.path for p in export_shapes.problems(export_shapes.LIST_ROLES, data)}
    assert ours == {tuple(e.absolute_path) for e in Draft202012Validator(schema).iter_errors(data)}
