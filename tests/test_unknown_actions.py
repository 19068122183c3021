"""Unknown actions (issue 11, point 6): `bedrock:Converse` is no IAM action (bedrock:InvokeModel authorises the
Converse API). An action name the installed catalogue does not know grants no access level on its own, and
every one is reported once per scan as a warning with its policy and statement: in the JSON report's collection
section (counted), the terminal summary, Markdown and SARIF. Built from `aws iam
get-account-authorization-details` output and scanned through the real CLI."""

from __future__ import annotations

import json
from typing import Any

from aws_exports import ACCOUNT, allow, arn, findings, gaad, role, scan_exports, write_exports
from sarif_checks import github_problems, schema_errors
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.model import Policy, Provider, Statement
from nhiaudit.permissions.catalogue import default_catalogue
from nhiaudit.permissions.unknown_actions import unknown_actions

SHARED = f"arn:aws:iam::{ACCOUNT}:policy/shared-typos"
ARTIFACTS = "arn:aws:s3:::acme-artifacts/*"
POLICY = f"""version: 1
systems:
  artifacts:
    kind: data
    resources: ["arn:aws:s3:::acme-artifacts*"]
integrations:
  - name: builder
    kind: agent
    identities: ["{arn('role', 'builder')}", "{arn('role', 'typist')}"]
    may_reach: [artifacts]
"""


def managed(name_arn: str, *statements: dict[str, Any]) -> dict[str, Any]:
    """A customer-managed policy of the GAAD `Policies` list, with its default version."""
    return {"PolicyName": name_arn.rsplit("/", 1)[-1], "PolicyId": "ANPAEXAMPLESHAREDTYPO", "Arn": name_arn,
            "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 2, "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True, "CreateDate": "2025-01-01T00:00:00+00:00", "UpdateDate": "2025-01-01T00:00:00+00:00",
            "PolicyVersionList": [{"Document": {"Version": "2012-10-17", "Statement": list(statements)},
                                   "VersionId": "v1", "IsDefaultVersion": True,
                                   "CreateDate": "2025-01-01T00:00:00+00:00"}]}


def estate() -> dict[str, Any]:
    doc = gaad(
        role("converse-only", "lambda.amazonaws.com", allow("bedrock:Converse", Sid="Chat")),
        role("invoker", "lambda.amazonaws.com", allow(["bedrock:InvokeModel", "bedrock:Converse"])),
        role("builder", "codebuild.amazonaws.com", allow(["s3:GetObject", "s3:GetObjet"], ARTIFACTS)),
        role("typist", "codebuild.amazonaws.com", allow("s3:PutObjekt", ARTIFACTS)),
    )
    shared = managed(SHARED, allow(["s3:Get*", "newsvc:*", "s3:Teleport*"], Sid="Patterns"),
                     {"Effect": "Deny", "NotAction": ["sts:AssumeRole", "sts:AssumeRol"],
                      "Resource": "arn:aws:s3:::acme-other-bucket/*"})
    doc["Policies"].append(shared)
    for entry in doc["RoleDetailList"][-2:]:  # builder and typist share it: warned about once
        entry["AttachedManagedPolicies"] = [{"PolicyName": "shared-typos", "PolicyArn": SHARED}]
    return {"gaad.json": doc}


def policy_file(tmp_path) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return str(path)


def test_converse_alone_gives_no_ai_capability_and_is_warned_about(tmp_path):
    report = scan_exports(tmp_path, estate(), "2026-11-28", "--policy", policy_file(tmp_path))
    paths = {p["identity_name"]: p for p in report["access_paths"]}
    assert "converse-only" not in paths  # not AI-capable: no shadow-AI entry
    assert findings(report, "ai-undeclared", "converse-only") == []
    assert findings(report, "ai-undeclared", "invoker")  # InvokeModel keeps its capability beside Converse
    warning = next(w for w in report["collection"]["warnings"] if w["policy_name"] == "inline"
                   and w["policy_id"].endswith("converse-only:inline"))
    assert (warning["kind"], warning["action"], warning["sid"], warning["statement_index"], warning["element"]) == \
        ("unknown_action", "bedrock:Converse", "Chat", 0, "Action")
    assert "statement Chat: Action bedrock:Converse is not an IAM action" in warning["message"]


def test_unknown_actions_neither_raise_nor_lower_a_level(tmp_path):
    report = scan_exports(tmp_path, estate(), "2026-11-28", "--policy", policy_file(tmp_path))
    paths = {p["identity_name"]: p for p in report["access_paths"]}
    assert [(r["system"], r["access"]) for r in paths["builder"]["reachable_systems"]] == [("artifacts", "read")]
    # s3:PutObjekt is no action: it does not raise the shared policy's read (s3:Get*) to write.
    assert [(r["system"], r["access"]) for r in paths["typist"]["reachable_systems"]] == [("artifacts", "read")]


def test_every_unknown_entry_is_counted_once_sorted_and_patterns_matching_known_actions_are_not(tmp_path):
    report = scan_exports(tmp_path, estate(), "2026-11-28")
    entries = [(w["policy_id"], w["element"], w["action"]) for w in report["collection"]["warnings"]]

    def inline(name: str) -> str:
        return f"inline:{arn('role', name)}:inline"

    assert entries == [  # sorted by policy, statement, element, action; the shared policy once
        (SHARED, "Action", "newsvc:*"), (SHARED, "Action", "s3:Teleport*"), (SHARED, "NotAction", "sts:AssumeRol"),
        (inline("builder"), "Action", "s3:GetObjet"), (inline("converse-only"), "Action", "bedrock:Converse"),
        (inline("invoker"), "Action", "bedrock:Converse"), (inline("typist"), "Action", "s3:PutObjekt"),
    ]
    assert report["collection"]["unknown_actions"] == 7 and report["collection"]["complete"] is True
    again = scan_exports(tmp_path / "again", estate(), "2026-11-28")
    assert again["collection"]["warnings"] == report["collection"]["warnings"]


def test_terminal_markdown_and_sarif_show_the_warnings(tmp_path):
    args = write_exports(tmp_path / "exports", estate())
    out = tmp_path / "out"
    result = CliRunner().invoke(build_app(), [
        "scan", *args, "--as-of", "2026-11-28", "--fail-on", "none", "--format", "table",
        "--output-markdown", str(out) + ".md", "--output-sarif", str(out) + ".sarif"])
    assert result.exit_code == 0, result.output
    assert "7 unknown IAM actions ignored, see --format json" in result.stdout
    assert "policy shared-typos statement Patterns: Action newsvc:*" in result.stdout
    markdown = (tmp_path / "out.md").read_text(encoding="utf-8")
    assert "7 unknown IAM actions ignored" in markdown and "`bedrock:Converse`" in markdown
    sarif = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    run = sarif["runs"][0]
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("bedrock:Converse is not an IAM action" in n for n in notes)
    assert run["properties"]["unknownActions"] == 7
    assert schema_errors(sarif) == [] and github_problems(sarif) == []


def test_gcp_and_azure_policies_are_not_judged_by_the_aws_catalogue():
    gcp = Policy(id="roles/custom", provider=Provider.GCP, name="custom",
                 statements=(Statement(actions=("aiplatform.endpoints.predict",)),))
    aws = Policy(id="p", provider=Provider.AWS, name="p", statements=(Statement(actions=("*", "S3:getobject")),))
    assert unknown_actions([gcp, aws], default_catalogue()) == []


def test_hostile_action_names_are_escaped_in_every_output(tmp_path):
    doc = gaad(role("hostile", "lambda.amazonaws.com", allow("s3:Get\x1b[2J|<b>[x](http://evil)`")))
    args = write_exports(tmp_path / "exports", {"gaad.json": doc})
    result = CliRunner().invoke(build_app(), ["scan", *args, "--as-of", "2026-11-28", "--fail-on", "none",
                                              "--output-markdown", str(tmp_path / "out.md")])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\\x1b[2J" in result.stdout
    markdown = (tmp_path / "out.md").read_text(encoding="utf-8")
    # A code span whose fence outlasts the value's backticks: no HTML, link or cell can come out of it.
    assert "\x1b" not in markdown and "> - `` s3:Get\\x1b[2J|<b>[x](http://evil)` `` in policy inline:" in markdown
