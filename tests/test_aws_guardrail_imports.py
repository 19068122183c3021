"""Import of `aws organizations` outputs: detection by shape, TARGET=FILE for outputs that do not say what
they list, and hostile or incomplete files as input errors with file:line (exit 2), never a traceback.

The files are written in the shapes the AWS CLI prints (Organizations API reference: ListRoots, DescribePolicy,
ListTargetsForPolicy, ListOrganizationalUnitsForParent, ListAccountsForParent; the same shapes moto returns in
tests/test_aws_guardrails.py)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.imports import import_files
from nhiaudit.errors import InputError

MGMT = "111111111111"
ORG = "o-abcdefghij"
ROOT, OU = "r-ab12", "ou-ab12-aaaaaaaa"
MEMBER = "222222222222"
DENY_BEDROCK = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}]})


def _roots() -> dict[str, Any]:
    return {"Roots": [{"Id": ROOT, "Arn": f"arn:aws:organizations::{MGMT}:root/{ORG}/{ROOT}", "Name": "Root",
                       "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}]}


def _policy(pid: str, content: Any = DENY_BEDROCK) -> dict[str, Any]:
    return {"Policy": {"PolicySummary": {
        "Id": pid, "Arn": f"arn:aws:organizations::{MGMT}:policy/{ORG}/service_control_policy/{pid}",
        "Name": "deny-bedrock", "Description": "", "Type": "SERVICE_CONTROL_POLICY", "AwsManaged": False},
        "Content": content}}


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def _tree(tmp_path: Path) -> list[str]:
    ous = {"OrganizationalUnits": [{"Id": OU, "Arn": f"arn:aws:organizations::{MGMT}:ou/{ORG}/{OU}", "Name": "ai"}]}
    accounts = {"Accounts": [{"Id": MEMBER, "Arn": f"arn:aws:organizations::{MGMT}:account/{ORG}/{MEMBER}",
                              "Name": "m", "Status": "ACTIVE"}]}
    return [f"{ROOT}={_write(tmp_path, 'ous-root', ous)}", f"{OU}={_write(tmp_path, 'accounts-ou', accounts)}",
            f"{ROOT}={_write(tmp_path, 'accounts-root', {'Accounts': []})}",
            f"{OU}={_write(tmp_path, 'ous-ou', {'OrganizationalUnits': []})}"]


def scan(*paths: str | Path) -> Any:
    args = [a for p in paths for a in ("--import", str(p))]
    return CliRunner().invoke(build_app(), ["scan", *args, "--format", "json", "--fail-on", "none", "--quiet"])


def test_a_complete_import_builds_the_organisation(tmp_path: Path) -> None:
    pid = "p-abcdefgh"
    targets = {"Targets": [{"TargetId": OU, "Arn": "x", "Name": "ai", "Type": "ORGANIZATIONAL_UNIT"}]}
    snap = import_files([_write(tmp_path, "roots", _roots()), _write(tmp_path, "policy", _policy(pid)),
                         Path(f"{pid}={_write(tmp_path, 'targets', targets)}"), *map(Path, _tree(tmp_path))])
    (org,) = snap.aws_organizations
    assert (org.id, org.management_account, org.enabled_types) == (ORG, MGMT, ("SERVICE_CONTROL_POLICY",))
    assert [(p.id, p.targets, p.statements[0].effect) for p in org.policies] == [(pid, (OU,), "Deny")]
    assert [(a.account, a.parents) for a in org.accounts] == [(MEMBER, (ROOT, OU))]


def test_policy_content_that_is_not_json_is_located(tmp_path: Path) -> None:
    bad = _write(tmp_path, "policy", _policy("p-abcdefgh", "{not json"))
    result = scan(_write(tmp_path, "roots", _roots()), bad)
    assert result.exit_code == 2
    assert f"{bad}:" in result.stderr and "not JSON" in result.stderr and "Traceback" not in result.output


def test_outputs_that_do_not_name_their_subject_need_a_target(tmp_path: Path) -> None:
    targets = _write(tmp_path, "targets", {"Targets": []})
    result = scan(_write(tmp_path, "ous", {"OrganizationalUnits": []}))
    assert result.exit_code == 2 and "TARGET=FILE" in result.stderr
    result = scan(f"not-an-id={targets}")
    assert result.exit_code == 2 and "must be its policy id" in result.stderr, result.output


@pytest.mark.parametrize("bad_id", ["12345", "../../etc", "2" * 13, 7])
def test_hostile_account_ids_are_refused(tmp_path: Path, bad_id: Any) -> None:
    accounts = _write(tmp_path, "accounts", {"Accounts": [{"Id": bad_id, "Arn": "arn:aws:x::1:y"}]})
    result = scan(_write(tmp_path, "roots", _roots()), f"{ROOT}={accounts}")
    assert result.exit_code == 2 and "not an account id" in result.stderr, result.output


def test_a_listed_policy_without_its_document_is_an_input_error(tmp_path: Path) -> None:
    listed = {"Policies": [{"Id": "p-abcdefgh", "Arn": "x", "Name": "n", "Type": "SERVICE_CONTROL_POLICY",
                            "AwsManaged": False}]}
    result = scan(_write(tmp_path, "roots", _roots()), _write(tmp_path, "listed", listed))
    assert result.exit_code == 2 and "listed but not described" in result.stderr


def test_an_ou_that_lists_itself_is_not_followed(tmp_path: Path) -> None:
    loop = {"OrganizationalUnits": [{"Id": OU, "Arn": "x", "Name": "loop"}]}
    snap = import_files([_write(tmp_path, "roots", _roots()), Path(f"{ROOT}={_write(tmp_path, 'a', loop)}"),
                         Path(f"{OU}={_write(tmp_path, 'b', loop)}")])
    assert snap.aws_organizations[0].accounts == ()


def test_without_list_roots_the_policy_arn_and_root_targets_say_the_rest(tmp_path: Path) -> None:
    pid = "p-abcdefgh"
    targets = {"Targets": [{"TargetId": OU, "Arn": "x", "Name": "ai", "Type": "ORGANIZATIONAL_UNIT"}]}
    snap = import_files([_write(tmp_path, "policy", _policy(pid)), Path(f"{pid}={_write(tmp_path, 't', targets)}"),
                         *map(Path, _tree(tmp_path))])
    (org,) = snap.aws_organizations
    assert (org.id, org.management_account, org.enabled_types) == (ORG, MGMT, None)  # types: those imported
    assert [(a.account, a.parents) for a in org.accounts] == [(MEMBER, (ROOT, OU))]


_WRONG = [None, 7, "x", [], {}, [7], {"a": 1}]


def _mutations(data: Any, path: tuple[Any, ...] = ()) -> Any:
    """Every value of the document replaced by every wrong-typed value, one at a time."""
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        for wrong in _WRONG:
            if wrong != value:
                yield (*path, key), wrong
        yield from _mutations(value, (*path, key))


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(data))
    holder = copy
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return copy


def test_wrong_types_anywhere_are_input_errors_never_crashes(tmp_path: Path) -> None:
    pid = "p-abcdefgh"
    targets = {"Targets": [{"TargetId": OU, "Arn": "x", "Name": "ai", "Type": "ORGANIZATIONAL_UNIT"}]}
    files = {"roots": (_roots(), None), "policy": (_policy(pid), None), "targets": (targets, pid)}
    for name, (data, _) in files.items():
        for path, wrong in _mutations(data):
            written = {n: _write(tmp_path, n, _replaced(d, path, wrong) if n == name else d)
                       for n, (d, _) in files.items()}
            args = [f"{t}={written[n]}" if t else str(written[n]) for n, (_, t) in files.items()]
            # An input error is located in a file (exit 2); anything else escaping would be a crash (exit 4).
            with contextlib.suppress(InputError):
                import_files([Path(a) for a in [*args, *_tree(tmp_path)]])
