"""`--import`: AWS CLI exports detected from content and built into one snapshot (the real CLI)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from aws_support import FIXTURES
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.imports import import_files
from nhiaudit.errors import InputError
from nhiaudit.inventory.model import CredentialType
from nhiaudit.inventory.snapshot import load_snapshot

A = "arn:aws:iam::111122223333"
ALL = ["gaad-cli.json", "credential-report.json", "list-access-keys.json", "list-access-keys-legacy-smtp.json",
       "list-functions.json", "describe-instances.json"]


def paths(*names: str) -> list[Path]:
    return [FIXTURES / n for n in names]


def creds(snapshot):
    return {(c.identity_id.rsplit("/", 1)[-1], c.id): c for c in snapshot.credentials}


def test_import_of_every_format_builds_one_account():
    snap = import_files(paths(*ALL))
    (source,) = snap.sources
    assert (source.account, source.method) == ("111122223333", "import")
    assert "not imported" not in source.detail and "gaad-cli.json" in source.detail
    assert len(snap.identities) == 9 and len(snap.workloads) == 3
    got = creds(snap)
    assert set(got) == {("ci-deployer", "AKIAEXAMPLECIDEPLOY1"), ("ci-deployer", "AKIAEXAMPLECIDEPLOY2"),
                        ("legacy-smtp", "AKIAEXAMPLELEGACYSMT"),
                        ("legacy-smtp", f"{A}:user/legacy-smtp#signing_certificate_1")}
    assert got[("legacy-smtp", f"{A}:user/legacy-smtp#signing_certificate_1")].type == CredentialType.CERTIFICATE
    alice = next(i for i in snap.identities if i.name == "alice")
    assert alice.human_use.console_password and alice.human_use.mfa_active
    assert snap.complete


def test_without_list_access_keys_the_report_slots_stand_for_keys():
    snap = import_files(paths("gaad-cli.json", "credential-report.csv"))
    assert set(creds(snap)) == {
        ("ci-deployer", f"{A}:user/service/ci-deployer#access_key_1"),
        ("ci-deployer", f"{A}:user/service/ci-deployer#access_key_2"),
        ("legacy-smtp", f"{A}:user/legacy-smtp#access_key_1"),
        ("legacy-smtp", f"{A}:user/legacy-smtp#signing_certificate_1"),
    }
    assert "list-access-keys" in snap.sources[0].detail  # says what was not imported


def test_equivalent_shapes_give_equal_snapshots():
    def content(snap):
        data = json.loads(snap.to_json())
        data.pop("generated_at")
        for s in data["sources"]:
            s.pop("collected_at")
            s.pop("detail")
        return data

    merged = content(import_files(paths("gaad-cli.json", "credential-report.json")))
    assert content(import_files(paths("gaad-pages.json", "credential-report.csv"))) == merged


def test_report_only_gives_minimal_users():
    snap = import_files(paths("credential-report.csv"))
    assert sorted(i.name for i in snap.identities) == ["alice", "ci-deployer", "legacy-smtp"]
    assert "authorization details" in snap.sources[0].detail


def test_split_pages_in_several_files_combine(tmp_path):
    pages = json.loads((FIXTURES / "gaad-pages.json").read_text())
    files = []
    for i, page in enumerate(pages):
        files.append(tmp_path / f"page{i}.json")
        files[-1].write_text(json.dumps(page))
    files.append(tmp_path / "again.json")  # the same page twice: each entity once
    files[-1].write_text(json.dumps(pages[0]))
    assert len(import_files(files).identities) == 9


@pytest.mark.parametrize("content, message, line", [
    ('{"hello": "world"}', "unrecognised export file", 1),
    ("just some text", "unrecognised export file", 1),
    ('{\n  "UserDetailList": [\n    {"Arn": }\n  ]\n}', "not valid JSON", 3),
    ('{"schema_version": 1, "identities": []}', "pass it with --snapshot", 1),
    ('{"AccessKeyMetadata": [{"UserName": "nobody", "AccessKeyId": "AKIAX", "Status": "Active", '
     '"CreateDate": "2024-01-01T00:00:00Z"}]}', "is in no imported", 1),
    ('{"UserDetailList": [{"Arn": "arn:aws:iam::111111111111:user/a"}, '
     '{"Arn": "arn:aws:iam::222222222222:user/b"}]}', "exactly one account", 1),
    ('{"UserDetailList": [{"Arn": "not-an-arn"}]}', "not an ARN", 1),
    ('{"RoleDetailList": [{"Arn": "arn:aws:iam::111111111111:role/r", "AssumeRolePolicyDocument": '
     '{"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": 5}}}}]}',
     "Principal.AWS: expected a string", 1),
])
def test_bad_files_are_input_errors_with_location(tmp_path, content, message, line):
    bad = tmp_path / "export.json"
    bad.write_text(content)
    with pytest.raises(InputError) as err:
        import_files([bad])
    (problem,) = err.value.problems
    assert message in problem.message and problem.location.line == line
    assert problem.location.file.endswith("export.json")


def test_collect_cli_writes_a_loadable_snapshot(tmp_path):
    out = tmp_path / "snap.json"
    args = ["collect", "-o", str(out)]
    for name in ALL:
        args += ["--import", str(FIXTURES / name)]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    snap = load_snapshot(out)
    assert len(snap.identities) == 9 and snap.complete


def test_collect_cli_bad_import_exits_2(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2")
    result = CliRunner().invoke(build_app(), ["collect", "--import", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:1:6" in result.output and "not valid JSON" in result.output


def test_collect_cli_without_a_source_exits_2():
    result = CliRunner().invoke(build_app(), ["collect"])
    assert result.exit_code == 2 and "nothing to collect" in result.output


def test_collect_cli_to_stdout(tmp_path):
    shutil.copy(FIXTURES / "credential-report.csv", tmp_path / "report")  # detected by content, not name
    result = CliRunner().invoke(build_app(), ["collect", "--import", str(tmp_path / "report")])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["identities"][0]["provider"] == "aws"
