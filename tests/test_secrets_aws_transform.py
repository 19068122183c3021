"""The AWS sighting transforms on recorded API shapes (fixtures/aws: `aws lambda list-functions`, `aws ecs
describe-task-definition`, SSM GetParameters as botocore's model describes it), and the import path: a
list-functions export with an environment gives the same sightings as live collection, and a malformed
environment is an input error with file:line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.aws.sightings import ecs_sightings, lambda_sightings, ssm_sightings
from nhiaudit.inventory.snapshot import load_snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "aws"
KEY = "AKIAEXAMPLELEGACY001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARY0001"


def functions_with_env() -> dict:
    data = json.loads((FIXTURES / "list-functions.json").read_text())
    data["Functions"][0]["Environment"] = {"Variables": {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
                                                         "LOG_LEVEL": "info"}}
    return data


def test_lambda_environment():
    (seen,) = lambda_sightings(functions_with_env()["Functions"])
    assert (seen.location_kind, seen.field, seen.key_id, seen.secret_nearby) == (
        "lambda_environment", "AWS_ACCESS_KEY_ID", KEY, True)
    assert (seen.account, seen.region) == ("111122223333", "us-east-1")
    assert seen.location == "arn:aws:lambda:us-east-1:111122223333:function:support-copilot"


def test_ecs_container_environment_names_the_container():
    reply = json.loads((FIXTURES / "ecs-describe-task-definition-doc-summarizer.json").read_text())
    td = copy.deepcopy(reply["taskDefinition"])
    td["containerDefinitions"][0]["environment"] = [{"name": "OPENAI_BASE", "value": "https://x"},
                                                    {"name": "BEDROCK_KEY_ID", "value": KEY}]
    td["containerDefinitions"][0]["secrets"] = [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/db"}]
    (seen,) = ecs_sightings([td])
    assert (seen.location_kind, seen.field, seen.key_id) == ("ecs_task_environment", "summarizer/BEDROCK_KEY_ID",
                                                             KEY)
    assert ecs_sightings([reply["taskDefinition"]]) == []  # the recorded one has no environment


def test_ssm_secure_strings_are_ignored_even_when_given():
    arn = "arn:aws:ssm:eu-west-1:111122223333:parameter"
    params = [{"Name": "/a/aws_access_key_id", "Type": "SecureString", "Value": KEY, "ARN": f"{arn}/a/x"},
              {"Name": "/b/key", "Type": "StringList", "Value": f"x,{KEY}", "ARN": f"{arn}/b/key"}]
    (seen,) = ssm_sightings(params)
    assert (seen.field, seen.region, seen.location) == ("/b/key", "eu-west-1", f"{arn}/b/key")


def test_import_of_list_functions_gives_the_sightings(tmp_path):
    export = tmp_path / "functions.json"
    export.write_text(json.dumps(functions_with_env(), indent=2))
    out = tmp_path / "snap.json"
    result = CliRunner().invoke(build_app(), ["collect", "--import", str(export), "-o", str(out), "--quiet"])
    assert result.exit_code in (0, 3), result.output
    assert SECRET not in out.read_text()
    assert [(s.field, s.key_id) for s in load_snapshot(out).credential_sightings] == [("AWS_ACCESS_KEY_ID", KEY)]


def test_malformed_environment_is_an_input_error(tmp_path):
    data = functions_with_env()
    data["Functions"][1]["Environment"] = {"Variables": {"N": 5}}
    export = tmp_path / "functions.json"
    export.write_text(json.dumps(data, indent=2))
    result = CliRunner().invoke(build_app(), ["collect", "--import", str(export), "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 2 and "functions.json:" in result.output and "Traceback" not in result.output


def test_merge_keeps_sightings_once_and_older_snapshots_load(tmp_path):
    from nhiaudit.inventory.snapshot import Snapshot, merge_snapshots

    sightings = lambda_sightings(functions_with_env()["Functions"])
    merged = merge_snapshots([Snapshot(credential_sightings=sightings), Snapshot(credential_sightings=sightings),
                              Snapshot()])
    assert merged.credential_sightings == sightings
    Snapshot().write(tmp_path / "old.json")
    assert "credential_sightings" not in (tmp_path / "old.json").read_text()  # absent when empty: shape unchanged
    assert load_snapshot(tmp_path / "old.json").credential_sightings == []


def test_user_data_plain_gzip_and_hostile():
    import base64
    import gzip

    from nhiaudit.connectors.aws.user_data import MAX_ENCODED, instance_keys, user_data_sightings

    script = f"#!/bin/bash\nexport AWS_ACCESS_KEY_ID={KEY}\nexport AWS_SECRET_ACCESS_KEY={SECRET}\n".encode()
    data = {"us-east-1|111122223333|i-plain": base64.b64encode(script).decode(),
            "us-east-1|111122223333|i-gzip": base64.b64encode(gzip.compress(script)).decode(),
            "us-east-1|111122223333|i-bomb": base64.b64encode(gzip.compress(b"A" * 50_000_000)).decode(),
            "us-east-1|111122223333|i-bad": "not base64 !!",
            "us-east-1|111122223333|i-huge": "QUFB" * (MAX_ENCODED // 4 + 1)}
    seen = user_data_sightings(data)
    assert [(s.location.rsplit("/", 1)[-1], s.line, s.key_id, s.secret_nearby) for s in seen] == [
        ("i-gzip", 2, KEY, True), ("i-plain", 2, KEY, True)]
    reservations = [("us-east-1", {"OwnerId": "1", "Instances": [{"InstanceId": f"i-{n:04d}"} for n in range(205)]})]
    keys, left_out = instance_keys(reservations)
    assert len(keys) == 200 and left_out == 5 and keys[0] == "us-east-1|1|i-0000"
