"""Hostile import files and snapshots through the real CLI: every wrong shape is an input error (exit 2) at
the `file:line:col` of the offending value, never a traceback."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_support import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from scan_support import shape_checks_in_a_child
from typer.testing import CliRunner

from nhiaudit import forked
from nhiaudit.cli import build_app
from nhiaudit.connectors.aws import export_shapes
from nhiaudit.jsonlocate import first_too_deep, locate, lone_surrogate_escape

DEMO_SNAPSHOT = Path(__file__).resolve().parent.parent / "examples" / "demo" / "snapshot.json"
DEEP = 100_000


def run(*args: str):
    result = CliRunner().invoke(build_app(), list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"exception escaped: {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    return result


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def line_of(text: str, token: str, delta: int = 0) -> int:
    assert text.count(token) == 1, f"{token!r} is not unique"
    return text[: text.index(token)].count("\n") + 1 + delta


def assert_located(result, path: Path, line: int, *words: str) -> None:
    assert result.exit_code == 2, result.output
    found = re.findall(rf"{re.escape(str(path))}:(\d+):(\d+):", result.output)
    assert found, result.output
    assert int(found[0][0]) == line, (line, result.output)
    for word in words:
        assert word in result.output, (word, result.output)


# ---- JSON exports: one hostile variant of a real fixture per case ---------------------------------------


def _statement_int(d: dict) -> None:
    d["Policies"][0]["PolicyVersionList"][1]["Document"]["Statement"] = 424242


def _inline_strings(d: dict) -> None:
    d["UserDetailList"][0]["UserPolicyList"] = ["not-a-policy"]


def _boundary_string(d: dict) -> None:
    d["RoleDetailList"][0]["PermissionsBoundary"] = "boundary-as-string"


def _trust(d: dict) -> dict:
    return d["RoleDetailList"][0]["AssumeRolePolicyDocument"]["Statement"]


def _condition_list(d: dict) -> None:
    _trust(d)["Condition"] = ["cond-list"]


def _condition_nested(d: dict) -> None:
    _trust(d)["Condition"] = {"StringEquals": {"sts:ExternalId": {"deeper": ["cond-nested"]}}}


def _action_object(d: dict) -> None:
    _trust(d)["Action"] = {"odd": "action-object"}


def _effect_missing(d: dict) -> None:
    stmt = d["Policies"][0]["PolicyVersionList"][1]["Document"]["Statement"][0]
    del stmt["Effect"]
    d["Policies"][0]["PolicyVersionList"][1]["Document"]["Statement"][0] = {"Sid": "no-effect-here", **stmt}


def _bad_date(d: dict) -> None:
    d["UserDetailList"][1]["CreateDate"] = "yesterday-ish"


def _tags_strings(d: dict) -> None:
    d["RoleDetailList"][0]["Tags"] = ["tag-as-string"]


def _arn_number(d: dict) -> None:
    d["UserDetailList"][2]["Arn"] = 1234567


def _key_without_date(d: dict) -> None:
    key = d["AccessKeyMetadata"][1]
    del key["CreateDate"]
    d["AccessKeyMetadata"][1] = {"AccessKeyId": key.pop("AccessKeyId"), **key}


def _function_string(d: dict) -> None:
    d["Functions"][1] = "function-as-string"


def _instance_lacking(d: dict) -> None:
    d["Reservations"][0]["Instances"][0] = {"ImageId": "ami-lacking"}


def _report_content_number(d: dict) -> None:
    d["Content"] = 31337


CASES: list[tuple[str, str, Callable[[Any], None], str, int, str]] = [
    # (id, fixture, mutation, token on the expected line, line delta, words in the message)
    ("statement-int", "gaad-cli.json", _statement_int, "424242", 0, "Statement: expected a statement"),
    ("inline-strings", "gaad-cli.json", _inline_strings, '"not-a-policy"', 0, "UserPolicyList[0]"),
    ("boundary-string", "gaad-cli.json", _boundary_string, '"boundary-as-string"', 0, "PermissionsBoundary"),
    ("condition-list", "gaad-cli.json", _condition_list, '"cond-list"', -1, "Condition: expected an object"),
    ("condition-nested", "gaad-cli.json", _condition_nested, '"cond-nested"', -2, "sts:ExternalId"),
    ("action-object", "gaad-cli.json", _action_object, '"action-object"', -1, "Action: expected a string"),
    ("effect-missing", "gaad-cli.json", _effect_missing, '"no-effect-here"', -1, "missing field 'Effect'"),
    ("create-date", "gaad-cli.json", _bad_date, '"yesterday-ish"', 0, "not a date"),
    ("tags-strings", "gaad-cli.json", _tags_strings, '"tag-as-string"', 0, "Tags[0]: expected an object"),
    ("arn-number", "gaad-cli.json", _arn_number, '"Arn": 1234567', 0, "UserDetailList[2].Arn"),
    ("key-no-date", "list-access-keys.json", _key_without_date, '"AKIAEXAMPLECIDEPLOY2"', -1, "'CreateDate'"),
    ("function-string", "list-functions.json", _function_string, '"function-as-string"', 0, "Functions[1]"),
    ("instance-lacking", "describe-instances.json", _instance_lacking, '"ami-lacking"', -1, "'InstanceId'"),
    ("report-content", "credential-report.json", _report_content_number, "31337", 0, "Content"),
]


@pytest.mark.parametrize(
    "name, mutate, token, delta, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_wrong_shape_is_located(tmp_path, name, mutate, token, delta, words):
    data = fixture(name)
    mutate(data)
    path = tmp_path / name
    text = json.dumps(data, indent=2)
    path.write_text(text)
    result = run("collect", "--import", str(path))
    assert_located(result, path, line_of(text, token, delta), words)


@pytest.mark.parametrize(
    "name, mutate, token, delta, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_wrong_shape_checked_in_another_process_is_located_the_same(tmp_path, monkeypatch, name, mutate, token,
                                                                   delta, words):
    """A large export's shape is checked in a forked child while this process transforms the file: the
    transform then meets the malformed value first, and whatever it makes of it, the shape error wins."""
    if not forked.can_fork():
        pytest.skip("forks: Linux only")
    started = shape_checks_in_a_child(monkeypatch)
    test_wrong_shape_is_located(tmp_path, name, mutate, token, delta, words)
    assert started == [1]


def test_every_problem_of_a_file_is_reported(tmp_path):
    data = fixture("gaad-cli.json")
    for mutate in (_statement_int, _inline_strings, _arn_number):
        mutate(data)
    path = tmp_path / "gaad.json"
    text = json.dumps(data, indent=2)
    path.write_text(text)
    result = run("collect", "--import", str(path))
    lines = sorted(int(n) for n in re.findall(rf"{re.escape(str(path))}:(\d+):\d+:", result.output))
    assert result.exit_code == 2
    assert lines == sorted(line_of(text, t) for t in ("424242", '"not-a-policy"', '"Arn": 1234567'))


def test_url_encoded_document_points_at_its_string(tmp_path):
    pages = fixture("gaad-pages.json")
    role = pages[1]["RoleDetailList"][0]
    role["AssumeRolePolicyDocument"] = "%7B%22Statement%22%3A%20%7B%22Effect%22%3A%20%22Maybe%22%7D%7D"
    path = tmp_path / "pages.json"
    text = json.dumps(pages, indent=1)
    path.write_text(text)
    result = run("collect", "--import", str(path))
    assert_located(result, path, line_of(text, "%22Maybe%22"), "(decoded).Statement.Effect", "'Maybe'")


def test_lone_surrogate_is_refused_at_its_place(tmp_path):
    path = tmp_path / "gaad.json"
    text = json.dumps(fixture("gaad-cli.json"), indent=2).replace('"alice"', '"ali\\ud800ce"', 1)
    path.write_text(text)
    result = run("collect", "--import", str(path))
    assert_located(result, path, line_of(text, "\\ud800"), "surrogate")


def test_paired_surrogates_are_fine(tmp_path):
    path = tmp_path / "gaad.json"
    text = json.dumps(fixture("gaad-cli.json"), indent=2).replace('"alice"', '"ali\\ud83e\\udd9cce"', 1)
    path.write_text(text)
    result = run("collect", "--import", str(path))
    assert result.exit_code == 0, result.output
    assert "ali\U0001f99cce" in json.loads(result.stdout)["identities"][1]["name"] + "".join(
        i["name"] for i in json.loads(result.stdout)["identities"]
    )


@pytest.mark.parametrize("opening", ["[", "{\"a\": "])
def test_json_nested_100k_deep_import(tmp_path, opening):
    path = tmp_path / "deep.json"
    closing = "]" if opening == "[" else "}"
    path.write_text('{\n  "UserDetailList":\n  ' + opening * DEEP + "1" + closing * DEEP + "\n}\n")
    result = run("collect", "--import", str(path))
    assert_located(result, path, 3, "nested too deeply")


def test_json_nested_100k_deep_snapshot(tmp_path):
    path = tmp_path / "deep-snapshot.json"
    path.write_text('{\n"schema_version": 1,\n"identities": ' + "[" * DEEP + "]" * DEEP + "\n}\n")
    result = run("collect", "--snapshot", str(path))
    assert_located(result, path, 3, "nested more than 200 levels")


def test_empty_json_object_and_array(tmp_path):
    for content in ("{}", "[]", "[{}]", '{"UserDetailList": []}'):
        path = tmp_path / "empty.json"
        path.write_text(content)
        result = run("collect", "--import", str(path))
        assert_located(result, path, 1)


# ---- CSV credential reports ------------------------------------------------------------------------------


def _report_lines() -> list[str]:
    return (FIXTURES / "credential-report.csv").read_text().splitlines()


def test_csv_field_over_the_limit(tmp_path):
    lines = _report_lines()
    lines[3] = "a" * (140 * 1024) + lines[3][lines[3].index(","):]
    path = tmp_path / "report.csv"
    path.write_text("\n".join(lines) + "\n")
    result = run("collect", "--import", str(path))
    assert_located(result, path, 4, "field larger than field limit")


def test_csv_missing_column(tmp_path):
    lines = _report_lines()
    lines[2] = lines[2][: lines[2].rindex(",")]
    path = tmp_path / "report.csv"
    path.write_text("\n".join(lines) + "\n")
    result = run("collect", "--import", str(path))
    assert_located(result, path, 3, "21 fields, but the header has 22")
    assert f"{path}:3:{len(lines[2]) + 1}:" in result.output


@pytest.mark.parametrize("column, value, words", [
    ("password_enabled", "maybe", "expected true or false"),
    ("user_creation_time", "not-a-time", "not a date"),
    ("arn", "no-arn-here", "not an ARN"),
])
def test_csv_bad_cell_is_located_at_its_column(tmp_path, column, value, words):
    lines = _report_lines()
    header = lines[0].split(",")
    cells = lines[4].split(",")
    cells[header.index(column)] = value
    lines[4] = ",".join(cells)
    path = tmp_path / "report.csv"
    path.write_text("\n".join(lines) + "\n")
    result = run("collect", "--import", str(path))
    assert_located(result, path, 5, words, f"column {column}")
    assert f"{path}:5:{lines[4].index(value) + 1}:" in result.output


# ---- snapshots -------------------------------------------------------------------------------------------


def test_snapshot_wrong_field_type_is_located(tmp_path):
    data = json.loads(DEMO_SNAPSHOT.read_text())
    data["identities"][1]["name"] = ["name-as-list"]
    data["identities"][2]["created"] = "not-a-date-either"
    path = tmp_path / "snap.json"
    text = json.dumps(data, indent=1)
    path.write_text(text)
    result = run("collect", "--snapshot", str(path))
    assert_located(result, path, line_of(text, '"name-as-list"', -1), "identities[1].name")
    assert f"{path}:{line_of(text, 'not-a-date-either')}:" in result.output


def test_snapshot_of_another_version(tmp_path):
    path = tmp_path / "snap.json"
    path.write_text('{\n "schema_version": 7,\n "identities": [{"id": 1}]\n}\n')
    result = run("collect", "--snapshot", str(path))
    assert_located(result, path, 2, "schema_version 7 is not supported")


def test_snapshot_invalid_json_position(tmp_path):
    path = tmp_path / "snap.json"
    path.write_text('{\n "schema_version": 1,\n "identities": [,]\n}\n')
    result = run("collect", "--snapshot", str(path))
    assert_located(result, path, 3, "not valid JSON")


# ---- the schema files are JSON Schema that the reference implementation reads the same way ---------------


def _reference_validator(kind: str) -> Draft202012Validator:
    files = export_shapes.schema_files()
    registry = Registry().with_resources(
        [(schema["$id"], Resource.from_contents(schema)) for schema in files.values()]
    )
    checker = FormatChecker()
    for name, test in export_shapes.FORMATS.items():
        checker.checks(name)(lambda value, test=test: not isinstance(value, str) or test(value) is None)
    schema = files[f"{kind}.schema.json"]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry, format_checker=checker)


@pytest.mark.parametrize("kind, name, mutate", [
    ("authorization-details", "gaad-cli.json", None),
    ("authorization-details", "gaad-cli.json", _condition_list),
    ("authorization-details", "gaad-cli.json", _effect_missing),
    ("authorization-details", "gaad-cli.json", _bad_date),
    ("access-keys", "list-access-keys.json", _key_without_date),
    ("lambda-functions", "list-functions.json", _function_string),
    ("ec2-instances", "describe-instances.json", _instance_lacking),
])
def test_checker_agrees_with_jsonschema(kind, name, mutate):
    data = fixture(name)
    if mutate:
        mutate(data)
    ours = {p.path for p in export_shapes.problems(kind, data)}
    reference = {tuple(e.absolute_path) for e in _reference_validator(kind).iter_errors(data)}
    assert bool(ours) == bool(reference) == bool(mutate)
    assert ours <= reference | {()}


# ---- the locator and scanners ----------------------------------------------------------------------------


def test_locator_follows_the_last_duplicate_key_like_json_loads():
    text = '{"a": {"b": 1},\n "a": {"b": [\n  0,\n  "x"]}}'
    assert json.loads(text)["a"]["b"][1] == "x"
    assert locate(text, ("a", "b", 1)) == (4, 3)
    assert locate(text, ("missing",)) == (1, 1)


def test_scanners_are_iterative_and_linear():
    deep = "[" * DEEP + "]" * DEEP
    assert first_too_deep(deep, 200) == 200
    assert locate(deep, (0,) * 5000) == (1, 5001)
    assert lone_surrogate_escape('"\\\\ud800 is text, \\ud83e\\udd9c a pair"') is None
    assert lone_surrogate_escape('"ok", "\\udc00"') == 7


# ---- property: random junk in a real export never crashes ------------------------------------------------

JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)


def _paths(value: Any) -> list[tuple]:
    out, stack = [], [((), value)]
    while stack:
        path, node = stack.pop()
        out.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack.extend(((*path, k), v) for k, v in items)
    return out


GAAD = fixture("gaad-cli.json")
GAAD_PATHS = sorted(p for p in _paths(GAAD) if p)


def _replace(data: Any, path: tuple, value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(GAAD_PATHS), JUNK), min_size=1, max_size=3))
def test_mutated_export_never_crashes(tmp_path_factory, mutations):
    data = copy.deepcopy(GAAD)
    for path, value in mutations:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier mutation replaced a parent
            _replace(data, path, value)
    folder = tmp_path_factory.mktemp("mutated")
    (folder / "gaad.json").write_text(json.dumps(data, indent=1))
    shutil.copy(FIXTURES / "credential-report.csv", folder / "report.csv")
    result = run("collect", "--import", str(folder / "gaad.json"), "--import", str(folder / "report.csv"))
    assert result.exit_code in {0, 1, 2, 3}, result.output
    if result.exit_code == 0:
        json.loads(result.stdout)
    else:
        assert re.search(r"gaad\.json:\d+:\d+:", result.output), result.output
