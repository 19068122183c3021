"""`nhiaudit enforce` outputs on synthetic estates: size limits (merging, compaction, the refusal), hostile
names in every format, byte-identical output under any hash seed, --output-dir and --check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from enforce_support import ACCOUNT, AS_OF, DEMO_POLICY, DEMO_SNAPSHOT, enforce, enforce_json, role, write_snapshot
from test_enforce_demo import demo_without_chain

from nhiaudit.enforce.aws_document import assume_statement, fit_boundary
from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement
from nhiaudit.permissions.catalogue import default_catalogue
from nhiaudit.permissions.evaluate import Evaluator

BUCKETS = [f"arn:aws:s3:::data-{n:03d}" for n in range(300)]
READ = ("s3:GetObject", "s3:ListBucket")


def _policy(tmp_path, text: str):
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def many_buckets(tmp_path):
    """An integration whose may_reach system lists 300 buckets, next to a secret bucket of the same prefix."""
    snapshot = write_snapshot(tmp_path / "snap.json", role(
        "lake-agent", Statement(actions=READ, resources=tuple(f"{b}*" for b in BUCKETS)),
        Statement(actions=("s3:GetObject",), resources=("arn:aws:s3:::data-secret/*",))))
    resources = ", ".join(f'"{b}*"' for b in BUCKETS)
    policy = _policy(tmp_path, f"""\
        version: 1
        systems:
          lake: {{environment: prod, resources: [{resources}]}}
          secret: {{environment: prod, classification: restricted, resources: ["arn:aws:s3:::data-secret*"]}}
        integrations:
          - name: lake-agent
            environment: prod
            identities: ["arn:aws:iam::{ACCOUNT}:role/lake-agent"]
            may_reach: [lake]
        """)
    return snapshot, policy


def test_hundreds_of_resources_fit_by_merging_patterns_that_reach_no_other_system(many_buckets):
    code, data = enforce_json(*many_buckets)
    g = data["guardrails"]["nhiaudit-boundary-lake-agent"]
    assert code == 0 and g["size"] <= 6144 < len(json.dumps(BUCKETS))
    assert g["compaction"] == "resource-wildcards"
    (allow,) = [s for s in g["document"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Action"] == sorted(READ) and len(allow["Resource"]) < 10  # data-0*, data-1*, data-2*
    assert "arn:aws:s3:::data-*" not in allow["Resource"]  # would reach the secret bucket
    # The proof, by the evaluator: the document grants nothing on the secret system and everything on the lake.
    policy = Policy(id="b", provider=Provider.AWS, name="b", kind="boundary", statements=tuple(
        Statement(effect=s["Effect"], actions=tuple(s["Action"] if isinstance(s["Action"], list) else [s["Action"]]),
                  resources=tuple(s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
        for s in g["document"]["Statement"]))
    probe = Identity(id="p", provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind.ROLE, name="p",
                     policy_ids=("b",))
    evaluator = Evaluator({"b": policy})
    assert evaluator.reach(probe, ["arn:aws:s3:::data-secret*"]) is None
    assert all(evaluator.actions_on(probe, f"{b}*") >= set(READ) for b in BUCKETS[::37])
    check = data["verification"]["checks"][0]
    assert check["holds"] and any("secret" in c for c in check["closed"]) and not check["lost"]


def test_a_kept_role_chain_is_written_as_is_whatever_the_compaction():
    """sts:AssumeRole on the exact roles of a kept chain is never merged (`role/reader-*`) nor widened (`sts:*`)."""
    roles = [f"arn:aws:iam::{ACCOUNT}:role/reader-{n}" for n in range(2)]
    allowed = {f"{b}*": frozenset(READ) for b in BUCKETS}
    fitted = fit_boundary(allowed, (), default_catalogue(), lambda *_: True, fixed=[assume_statement(roles)])
    assert fitted.compaction == "resource-wildcards"  # the S3 patterns were merged to fit
    assert {"Sid": "MayReachThroughRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roles} in \
        fitted.document["Statement"]
    assert [s for s in fitted.document["Statement"] if "sts:" in json.dumps(s)] == [assume_statement(roles)]


def test_a_boundary_that_cannot_fit_is_refused_with_the_reason_and_nothing_written(tmp_path):
    # One table per account: patterns of different accounts are never merged, so nothing can shrink them.
    tables = [f"arn:aws:dynamodb:us-east-1:{100000000000 + n}:table/t" for n in range(300)]
    snapshot = write_snapshot(tmp_path / "snap.json", role(
        "wide", Statement(actions=("dynamodb:GetItem",), resources=tuple(tables))))
    resources = ", ".join(f'"{t}"' for t in tables)
    policy = _policy(tmp_path, f"""\
        version: 1
        systems: {{tables: {{resources: [{resources}]}}}}
        integrations: [{{name: wide, identities: ["arn:aws:iam::{ACCOUNT}:role/wide"], may_reach: [tables]}}]
        """)
    out = tmp_path / "out"
    result = enforce("--snapshot", str(snapshot), "--policy", str(policy), "--output-dir", str(out))
    assert result.exit_code == 2
    assert "does not fit AWS's limit of 6,144 characters" in result.output and "wide" in result.output
    assert not out.exists() or not any(out.iterdir())


HOSTILE = 'evil"${jndi}%{x}\\\n\x1b[31mred\u202e'


@pytest.fixture
def hostile(tmp_path):
    name = "bad\nname\x1b]0;"  # not a valid IAM name: no shell command is generated for it
    snapshot = write_snapshot(tmp_path / "snap.json",
                              role(name, Statement(actions=("bedrock:InvokeModel",), resources=("*",))),
                              role("ok-role", Statement(actions=("bedrock:InvokeModel",), resources=("*",))))
    integration = json.dumps(HOSTILE)  # a YAML double-quoted scalar takes JSON escapes
    policy = _policy(tmp_path, f"""\
        version: 1
        systems:
          models: {{kind: ai-model, resources: ["arn:aws:bedrock:*::foundation-model/*"]}}
        integrations:
          - name: {integration}
            identities: ["arn:aws:iam::{ACCOUNT}:role/*"]
            may_reach: [models]
        """)
    return snapshot, policy


def test_hostile_names_are_escaped_in_every_format(hostile, tmp_path):
    snapshot, policy = hostile
    out = tmp_path / "out"
    result = enforce("--snapshot", str(snapshot), "--policy", str(policy), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    plan = (out / "nhiaudit-enforce-plan.txt").read_text()
    tf = (out / "nhiaudit-enforce.tf").read_text()
    data = json.loads((out / "nhiaudit-enforce.json").read_text())
    for text in (plan, tf):
        assert "\x1b" not in text and "\u202e" not in text
        assert "\nname" not in text  # the newline in the role name forged no line
    code = "\n".join(line for line in tf.splitlines() if not line.startswith("#"))  # comments are never templated
    assert "${jndi}" in tf and "${jndi}" not in code.replace("$${jndi}", "")
    assert "%{x}" not in code.replace("%%{x}", "")
    (g,) = [g for g in data["guardrails"].values() if g["kind"] == "aws-permissions-boundary"]
    assert g["integrations"] == [HOSTILE]  # JSON keeps the value, escaped
    assert g["name"].startswith("nhiaudit-boundary-evil-") and all(c.isalnum() or c in "-" for c in g["name"])
    bad = next(t for t in g["targets"] if t["name"].startswith("bad"))
    assert bad["command"] is None  # no shell command from a name IAM would never accept
    tags = {t["identity"]: t for t in data["tags"]}
    assert all(set(t["value"]) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") for t in tags.values())


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
@pytest.mark.parametrize("which", ["demo", "hostile"])
def test_terraform_output_is_formatted_hcl(which, hostile, tmp_path):
    snapshot, policy = (DEMO_SNAPSHOT, DEMO_POLICY) if which == "demo" else hostile
    work = tmp_path / "tf"
    work.mkdir()
    result = enforce("--snapshot", str(snapshot), "--policy", str(policy), "--format", "terraform",
                     "-o", str(work / "main.tf"))
    assert result.exit_code == (1 if which == "demo" else 0), result.output  # the demo fails its verification
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"}
    fmt = subprocess.run(["terraform", "fmt", "-check", "-diff", str(work)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr  # parses, and is already in canonical layout
    text = (work / "main.tf").read_text()
    assert 'resource "aws_iam_policy"' in text and 'resource "aws_organizations_policy"' in text


def test_output_is_byte_identical_under_any_hash_seed(tmp_path):
    outputs = []
    for seed in ("1", "12345"):
        out = tmp_path / seed
        run = subprocess.run([sys.executable, "-m", "nhiaudit", "enforce", "--snapshot", str(DEMO_SNAPSHOT),
                              "--policy", str(DEMO_POLICY), "--as-of", AS_OF, "--quiet", "--output-dir", str(out)],
                             env={**os.environ, "PYTHONHASHSEED": seed, "NHIAUDIT_JOBS": "1"}, timeout=120)
        assert run.returncode == 1  # written, and the verification fails (code-review-bot's lost chain)
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3


def test_check_passes_on_committed_guardrails_and_fails_when_the_policy_diverges(tmp_path):
    committed = tmp_path / "guardrails"
    snapshot = demo_without_chain(tmp_path)  # the demo whose guardrails all verify: exit 1 means a difference
    assert enforce("--snapshot", str(snapshot), "--policy", str(DEMO_POLICY), "--output-dir",
                   str(committed)).exit_code == 0
    same = enforce("--snapshot", str(snapshot), "--policy", str(DEMO_POLICY), "--check", str(committed))
    assert same.exit_code == 0, same.output
    changed = tmp_path / "policy.yaml"  # support-tickets no longer allowed to support-copilot
    changed.write_text(DEMO_POLICY.read_text().replace(
        "may_reach: [support-tickets, bedrock-models]\n    must_not_reach: [customer-pii]",
        "may_reach: [bedrock-models]\n    must_not_reach: [customer-pii]"))
    assert changed.read_text() != DEMO_POLICY.read_text()
    differs = enforce("--snapshot", str(snapshot), "--policy", str(changed), "--check", str(committed))
    assert differs.exit_code == 1
    assert "nhiaudit-enforce.json differs" in differs.output and "nhiaudit-boundary-support-copilot: changed" in \
        differs.output
    assert "nhiaudit-enforce.tf differs" in differs.output


def test_check_of_a_directory_without_guardrails_is_a_usage_error(tmp_path):
    result = enforce("--snapshot", str(DEMO_SNAPSHOT), "--policy", str(DEMO_POLICY), "--check", str(tmp_path))
    assert result.exit_code == 2 and "--output-dir" in result.output


def test_json_output_follows_its_documented_schema(many_buckets, hostile):
    import jsonschema
    from enforce_support import ROOT

    schema = json.loads((ROOT / "docs" / "enforce.schema.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    for snapshot, policy in ((DEMO_SNAPSHOT, DEMO_POLICY), many_buckets, hostile):
        _, data = enforce_json(snapshot, policy)
        assert list(validator.iter_errors(data)) == [], (snapshot, policy)
    data["guardrails"][next(iter(data["guardrails"]))]["document"]["Statement"] = []
    assert list(validator.iter_errors(data))  # the check can fail


def test_outputs_never_replace_an_input_and_output_dir_must_be_a_directory(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEMO_POLICY.read_text())
    over = enforce("--snapshot", str(DEMO_SNAPSHOT), "--policy", str(policy), "-o", str(policy))
    assert over.exit_code == 2 and "it is an input of this run" in over.output
    assert policy.read_text() == DEMO_POLICY.read_text()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    not_dir = enforce("--snapshot", str(DEMO_SNAPSHOT), "--policy", str(policy), "--output-dir", str(a_file))
    assert not_dir.exit_code == 2 and a_file.read_text() == "x"
    both = enforce("--snapshot", str(DEMO_SNAPSHOT), "--policy", str(policy), "-o", str(tmp_path / "x"),
                   "--output-dir", str(tmp_path / "d"))
    assert both.exit_code == 2 and "not both" in both.output
