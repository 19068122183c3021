"""`nhiaudit policy init --from-snapshot`: the draft validates (loader and JSON Schema), a scan of the same
estate with it reports no scope drift and no undeclared AI identity but still the credential and trust
findings, hostile names stay inside their strings, output is byte-identical under any hash seed, -o keeps
init's conventions, and a large estate gives a bounded draft."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.model import (
    CollectionIssue,
    Identity,
    IdentityKind,
    Policy,
    Provider,
    Statement,
    Workload,
)
from nhiaudit.inventory.snapshot import Snapshot, load_snapshot
from nhiaudit.policy.schema import policy_json_schema

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo" / "snapshot.json"
AS_OF = "2026-11-30"
DRAFTED_AWAY = {"scope-drift", "undeclared-ai-identity"}


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.output


def draft(tmp_path: Path, *source: str, name: str = "draft.yaml") -> tuple[Path, str]:
    out = tmp_path / name
    code, output = cli("policy", "init", *source, "--as-of", AS_OF, "-o", str(out), "--quiet")
    assert code == 0, output
    return out, out.read_text(encoding="utf-8")


def scan(tmp_path: Path, policy: Path, *source: str) -> dict:
    out = tmp_path / "report.json"
    code, output = cli("scan", *source, "--policy", str(policy), "--as-of", AS_OF, "--format", "json",
                       "--fail-on", "none", "-o", str(out), "--quiet")
    assert code == 0, output
    return json.loads(out.read_text())


def check_valid(path: Path, text: str) -> dict:
    code, output = cli("policy", "validate", str(path))
    assert code == 0, output
    data = yaml.safe_load(text)
    jsonschema.validate(data, policy_json_schema())
    return data


def test_demo_draft_validates_and_describes_today(tmp_path):
    path, text = draft(tmp_path, "--from-snapshot", str(DEMO))
    data = check_valid(path, text)
    assert (tmp_path / "nhiaudit-policy.schema.json").exists()  # as `policy init -o` does
    names = [i["name"] for i in data["integrations"]]
    assert names == sorted(names) and "support-copilot" in names  # named after its workload's integration tag
    copilot = next(i for i in data["integrations"] if i["name"] == "support-copilot")
    assert copilot["identities"] == ["arn:aws:iam::111122223333:role/support-copilot"]
    assert copilot["environment"] == "prod" and copilot["credentials"] == {"static_keys": "forbidden"}
    assert "s3-acme-support-tickets" in copilot["may_reach"] and copilot["must_not_reach"] == []
    tickets = data["systems"]["s3-acme-support-tickets"]
    assert tickets["resources"] == ["arn:aws:s3:::acme-support-tickets", "arn:aws:s3:::acme-support-tickets/*"]
    assert data["defaults"]["credentials"]["max_age_days"] == 90  # worst case 1402 days: built-in kept
    # every generated entry carries its evidence: systems and integrations on the line before, identities and
    # may_reach entries on their own line
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("- name:") or (line.startswith('  "') and line.endswith(":")):
            assert lines[i - 1].strip().startswith("# review:"), line
    for entry in data["integrations"]:
        for value in [*entry["identities"], *entry["may_reach"]]:
            assert any(f'- "{value}"  # review: ' in line for line in lines), value
    report = scan(tmp_path, path, "--snapshot", str(DEMO))
    categories = Counter(f["category"] for f in report["findings"])
    assert not DRAFTED_AWAY & set(categories), [f["message"] for f in report["findings"]
                                               if f["category"] in DRAFTED_AWAY]
    assert {"long-lived-credential", "unused-credential", "risky-trust"} <= set(categories)


def test_every_ai_capable_identity_is_declared_once(tmp_path):
    _, text = draft(tmp_path, "--from-snapshot", str(DEMO))
    declared = [i for entry in yaml.safe_load(text)["integrations"] for i in entry["identities"]]
    assert len(declared) == len(set(declared))
    # a chain caller (ticket-exporter -> genai-worker) counts, as for ai-undeclared-via-chain
    assert "arn:aws:iam::111122223333:role/ticket-exporter" in declared
    # no AI access at all, or only through `*` (ops-admin: AdministratorAccess): not declared
    assert "arn:aws:iam::111122223333:user/legacy-smtp" not in declared
    assert "arn:aws:iam::111122223333:role/ops-admin" not in declared


def test_output_conventions_of_policy_init(tmp_path):
    out = tmp_path / "p.yaml"
    out.write_text("mine\n")
    code, output = cli("policy", "init", "--from-snapshot", str(DEMO), "-o", str(out), "--quiet")
    assert code == 2 and "already exists" in output and out.read_text() == "mine\n"
    code, output = cli("policy", "init", "--from-snapshot", str(DEMO), "-o", str(out), "--force", "--quiet")
    assert code == 0 and out.read_text().startswith("# yaml-language-server")
    code, output = cli("policy", "init", "--from-snapshot", str(DEMO), "-o", str(DEMO), "--force", "--quiet")
    assert code == 2 and load_snapshot(DEMO)  # never over an input
    code, output = cli("policy", "init", "--from-snapshot", str(tmp_path / "missing.json"))
    assert code == 2 and "Traceback" not in output
    code, output = cli("policy", "init", "--from-snapshot", str(DEMO), "--as-of", AS_OF)
    assert code == 0 and "integrations:" in output  # stdout without -o


def test_same_bytes_under_any_hash_seed(tmp_path):
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "nhiaudit", "policy", "init", "--from-snapshot", str(DEMO),
                               "--as-of", AS_OF, "--quiet"], capture_output=True, env=env, check=True, timeout=300)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and b"integrations:" in outputs[0]


HOSTILE = [
    'evil"\n  - name: injected\n#',
    "line\u2028break\u0085nel\u2029ps",
    "key: value # not a comment {[&*!|>'\"%@`]}",
    "\u202egnirts desrever\u200b",
    "back\\slash\\n\ttab\x1b[31mred",
    "---\n...\nversion: 2",
]


def _hostile_snapshot() -> Snapshot:
    bedrock = Policy(id="arn:aws:iam::111122223333:policy/ai", provider=Provider.AWS, name="ai\n- injected",
                     statements=(Statement(actions=("bedrock:InvokeModel",),
                                           resources=("arn:aws:bedrock:*::foundation-model/*",)),
                                 Statement(actions=("s3:GetObject",),
                                           resources=("arn:aws:s3:::acme-\"x\"\n#-bucket/*",))))
    identities = [
        Identity(id=f"arn:aws:iam::111122223333:role/r{i}", provider=Provider.AWS, account="111122223333",
                 kind=IdentityKind.ROLE, name=name, tags={"owner": name, "environment": "prod\n# x"},
                 policy_ids=(bedrock.id,))
        for i, name in enumerate(HOSTILE)
    ]
    identities.append(Identity(id="arn:aws:iam::111122223333:role/tagged", provider=Provider.AWS,
                               account="111122223333", kind=IdentityKind.ROLE, name="tagged",
                               policy_ids=(bedrock.id,)))
    workload = Workload(id="arn:aws:lambda:us-east-1:111122223333:function:f", provider=Provider.AWS,
                        account="111122223333", kind="lambda", name="f\n- x",
                        identity_id="arn:aws:iam::111122223333:role/tagged", tags={"integration": HOSTILE[0]})
    return Snapshot(identities=identities, policies=[bedrock], workloads=[workload])


def test_hostile_names_stay_inside_their_strings(tmp_path):
    snap = tmp_path / "hostile.json"
    _hostile_snapshot().write(snap)
    path, text = draft(tmp_path, "--from-snapshot", str(snap))
    data = check_valid(path, text)
    assert set(data) == {"version", "defaults", "systems", "integrations", "exceptions"}
    names = {i["name"] for i in data["integrations"]}
    # names come back exactly (so findings that compare them with tags agree), none became a key or entry; the
    # workload tag keeps its exact value, the identity named the same gets a suffix
    assert names == {*HOSTILE, HOSTILE[0] + "-2"} and "injected" not in names
    assert data["version"] == 1
    for entry in data["integrations"]:
        assert set(entry) <= {"name", "owner", "environment", "identities", "may_reach", "must_not_reach",
                              "credentials"}
    for line in text.splitlines():  # no raw line break or control character from the estate survives
        assert not any(ch in line for ch in "\x1b\u2028\u2029\u0085\u202e\u200b")
    report = scan(tmp_path, path, "--snapshot", str(snap))
    assert not DRAFTED_AWAY & {f["category"] for f in report["findings"]}


def _ai_estate(names: list[str]) -> Snapshot:
    bedrock = Policy(id="arn:aws:iam::1:policy/ai", provider=Provider.AWS, name="ai",
                     statements=(Statement(actions=("bedrock:InvokeModel",),
                                           resources=("arn:aws:bedrock:*::foundation-model/*",)),))
    return Snapshot(policies=[bedrock], identities=[
        Identity(id=f"arn:aws:iam::1:role/{name}", provider=Provider.AWS, account="1", kind=IdentityKind.ROLE,
                 name=name, policy_ids=(bedrock.id,)) for name in names])


def _letters(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = chr(97 + r) + out
        if not n:
            return out


def test_large_estate_gives_a_bounded_draft(tmp_path):
    from nhiaudit.drafting import build

    count = build.MAX_INTEGRATIONS + 25
    # numbered copies of one workload: grouped harder, by name stem, into one integration
    snap = tmp_path / "numbered.json"
    _ai_estate([f"agent-{i:04d}" for i in range(count)]).write(snap)
    path, text = draft(tmp_path, "--from-snapshot", str(snap), name="numbered.yaml")
    data = check_valid(path, text)
    assert [i["name"] for i in data["integrations"]] == ["agent"]
    assert len(data["integrations"][0]["identities"]) == count
    # as many different names: capped, and the draft says so
    snap = tmp_path / "distinct.json"
    _ai_estate([f"bot-{_letters(i)}" for i in range(count)]).write(snap)
    path, text = draft(tmp_path, "--from-snapshot", str(snap), name="distinct.yaml")
    data = check_valid(path, text)
    assert len(data["integrations"]) == build.MAX_INTEGRATIONS
    assert "# review: 25 more integration(s)" in text


def test_few_numbered_identities_stay_apart(tmp_path):
    snap = tmp_path / "few.json"
    _ai_estate(["agent-01", "agent-02"]).write(snap)
    _, text = draft(tmp_path, "--from-snapshot", str(snap))
    assert [i["name"] for i in yaml.safe_load(text)["integrations"]] == ["agent-01", "agent-02"]


@pytest.mark.parametrize("source", ["--snapshot", "--from-snapshot"])
def test_snapshot_options_are_the_same(tmp_path, source):
    _, text = draft(tmp_path, source, str(DEMO))
    assert "support-copilot" in text


def test_incomplete_collection_still_drafts_and_exits_3(tmp_path):
    snapshot = _ai_estate(["agent"]).model_copy(update={"collection_issues": [CollectionIssue(
        provider=Provider.AWS, account="1", operation="iam:ListRoles", message="AccessDenied")]})
    snap = tmp_path / "partial.json"
    snapshot.write(snap)
    out = tmp_path / "p.yaml"
    code, output = cli("policy", "init", "--from-snapshot", str(snap), "-o", str(out))
    assert code == 3 and "collection incomplete" in output
    assert "agent" in out.read_text()


def test_gcp_planted_exports(tmp_path):
    import gcp_planted

    args = gcp_planted.write_exports(tmp_path / "exports")
    out = tmp_path / "gcp.yaml"
    code, output = cli("policy", "init", *args, "--as-of", gcp_planted.AS_OF, "-o", str(out), "--quiet")
    assert code == 0, output
    data = check_valid(out, out.read_text())
    declared = {i for entry in data["integrations"] for i in entry["identities"]}
    assert {gcp_planted.AGENT, gcp_planted.SHADOW, gcp_planted.TRIAGE} <= declared
    assert gcp_planted.COMPUTE not in declared  # Editor: AI only through a broad role
    report = tmp_path / "report.json"
    code, output = cli("scan", *args, "--policy", str(out), "--as-of", gcp_planted.AS_OF, "--format", "json",
                       "--fail-on", "none", "-o", str(report), "--quiet")
    assert code == 0, output
    categories = {f["category"] for f in json.loads(report.read_text())["findings"]}
    assert not categories & DRAFTED_AWAY
    assert {"long-lived-credential", "risky-trust"} <= categories


def test_azure_planted_exports(tmp_path):
    import azure_planted

    args = azure_planted.write_exports(tmp_path / "exports")
    out = tmp_path / "azure.yaml"
    code, output = cli("policy", "init", *args, "--as-of", azure_planted.AS_OF, "-o", str(out), "--quiet")
    assert code == 0, output
    data = check_valid(out, out.read_text())
    declared = {i for entry in data["integrations"] for i in entry["identities"]}
    assert {azure_planted.AGENT, azure_planted.SHADOW} <= declared
    report = tmp_path / "report.json"
    code, output = cli("scan", *args, "--policy", str(out), "--as-of", azure_planted.AS_OF, "--format", "json",
                       "--fail-on", "none", "-o", str(report), "--quiet")
    assert code == 0, output
    categories = {f["category"] for f in json.loads(report.read_text())["findings"]}
    assert not categories & DRAFTED_AWAY
    assert {"long-lived-credential", "risky-trust"} <= categories
