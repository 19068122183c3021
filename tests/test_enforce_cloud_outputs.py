"""GCP and Azure guardrails in every output format on a synthetic estate with hostile names (policy and
estate): escaping in HCL, JSON, the terminal and shell commands; `terraform fmt -check`; byte-identical
output under any hash seed; `--check` of committed guardrails."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest
from enforce_cloud_support import cli, enforce_json, validate_schema, write

from nhiaudit.inventory.model import DelegatedGrant, Identity, IdentityKind, Policy, Provider, SourceInfo, Statement
from nhiaudit.inventory.snapshot import Snapshot

AS_OF = "2026-06-01"
SA = 'evil"${x}%{y}\x1b[2J\n@p.iam.gserviceaccount.com'
SP = "0000-sp'$(reboot)"
ASSIGNMENT = "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/a'$(reboot)"
SUB_ACCOUNT = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
HOSTILE = 'evil\\"\\n${x}%{y}\\e[31m'  # as YAML writes it: `evil"`, newline, template sequences, an escape


def _estate() -> Snapshot:
    binding = Policy(id="binding:projects/p:roles/storage.objectViewer", provider=Provider.GCP,
                     name="roles/storage.objectViewer", kind="role", statements=(
                         Statement(actions=("storage.objects.get", "storage.objects.list"),
                                   resources=("projects/p",)),))
    folder = Policy(id="binding:folders/123:roles/storage.objectCreator", provider=Provider.GCP,
                    name="roles/storage.objectCreator", kind="role",
                    statements=(Statement(actions=("storage.objects.create",), resources=("folders/123",)),))
    sa = Identity(id=SA, provider=Provider.GCP, account="p", kind=IdentityKind.SERVICE_ACCOUNT, name="evil",
                  policy_ids=(binding.id, folder.id))
    reader = Policy(id=ASSIGNMENT, provider=Provider.AZURE, name='Reader "x" ${y}', kind="role", statements=(
        Statement(actions=("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",),
                  resources=("/subscriptions/s1",)),))
    sp = Identity(id=SP, provider=Provider.AZURE, account="t", kind=IdentityKind.SERVICE_PRINCIPAL, name="sp",
                  policy_ids=(reader.id,))
    grant = DelegatedGrant(id="g;rm -rf /", provider=Provider.AZURE, identity_id=SP, resource="Microsoft Graph",
                           scopes=("Mail.Read",), consent_type="application")
    source = SourceInfo(provider=Provider.GCP, account="p", method="synthetic", ancestors=("folders/123",))
    return Snapshot(sources=[source], identities=[sa, sp], policies=[binding, folder, reader],
                    delegated_grants=[grant])


@pytest.fixture
def hostile(tmp_path):
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(_estate().model_dump_json())
    policy = write(tmp_path / "policy.yaml", f"""\
        version: 1
        systems:
          lake: {{resources: ["//storage.googleapis.com/projects/p/buckets/data-*"]}}
          secret: {{classification: restricted, resources: ["//storage.googleapis.com/projects/p/buckets/secret",
                                                            "//storage.googleapis.com/projects/q/buckets/secret"]}}
          reports: {{resources: ["{SUB_ACCOUNT}/blobServices/default/containers/reports*"]}}
          mail: {{classification: restricted, resources: ["delegated:Microsoft Graph/Mail.*"]}}
        integrations:
          - name: "{HOSTILE}"
            identities: ["{SA.replace(chr(10), '?').replace(chr(27), '?').replace('"', '?')}", "{SP}"]
            may_reach: [lake, reports]
            must_not_reach: [secret, mail]
        """)
    return snapshot, policy


def test_every_guardrail_kind_is_generated_and_follows_the_schema(hostile):
    _, data, _ = enforce_json(*hostile, AS_OF)
    kinds = sorted(g["kind"] for g in data["guardrails"].values())
    assert kinds == ["azure-graph-permission-removal", "azure-role-assignment", "gcp-conditional-binding",
                     "gcp-conditional-binding", "gcp-deny-policy"]  # the project's and the folder's binding
    # secret's bucket in project q is denied there; one on projects/p would also cut lake: left out, and said
    (deny,) = [g for g in data["guardrails"].values() if g["kind"] == "gcp-deny-policy"]
    assert deny["attachment"] == "projects/q"
    assert any("projects/p/buckets/secret (secret): no deny written: one on projects/p would also cut may_reach "
               "lake" in s for s in data["skipped"])
    assert validate_schema(data) == []
    assert all(set(n) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") for n in data["guardrails"])
    binding = next(g for g in data["guardrails"].values() if g["kind"] == "gcp-conditional-binding"
                   and g["document"]["resource"] == "projects/p")
    assert binding["document"]["add"]["condition"]["expression"] == \
        'resource.name.startsWith("projects/_/buckets/data-")'
    assert binding["document"]["add"]["members"] == [f"serviceAccount:{SA}"]  # JSON keeps the value, escaped


def test_shell_commands_quote_estate_values_or_are_left_out(hostile):
    _, data, _ = enforce_json(*hostile, AS_OF)
    assignment = next(g for g in data["guardrails"].values() if g["kind"] == "azure-role-assignment")
    delete = next(n for n in assignment["notes"] if "assignment delete" in n).removeprefix("apply: ")
    assert shlex.split(delete) == ["az", "role", "assignment", "delete", "--ids", ASSIGNMENT]
    create = next(n for n in assignment["notes"] if "assignment create" in n).removeprefix("apply: ")
    words = shlex.split(create)
    assert words[words.index("--assignee-object-id") + 1] == SP
    assert words[words.index("--role") + 1] == 'Reader "x" ${y}'
    assert "StringStartsWith 'reports'" in words[words.index("--condition") + 1]
    graph = next(g for g in data["guardrails"].values() if g["kind"] == "azure-graph-permission-removal")
    assert graph["document"]["remove"][0]["command"] is None  # ids Graph never gives: no command built from them


def test_plan_shows_no_control_character_and_no_forged_line(hostile):
    result = cli("enforce", "--snapshot", str(hostile[0]), "--policy", str(hostile[1]), "--as-of", AS_OF)
    assert "\x1b" not in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith(("${x}", "@p.iam"))]
    assert "~ GCP IAM deny policy nhiaudit-gcp-deny-" in result.stdout


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_output_is_formatted_hcl_with_templates_escaped(hostile, tmp_path):
    work = tmp_path / "tf"
    work.mkdir()
    result = cli("enforce", "--snapshot", str(hostile[0]), "--policy", str(hostile[1]), "--as-of", AS_OF,
                 "--format", "terraform", "-o", str(work / "main.tf"))
    assert result.exit_code in (0, 1), result.output
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"}
    fmt = subprocess.run(["terraform", "fmt", "-check", "-diff", str(work)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr  # parses, and is already in canonical layout
    text = (work / "main.tf").read_text()
    for block in ('resource "google_iam_deny_policy"', 'resource "google_project_iam_member"',
                  'resource "google_folder_iam_member"', 'folder   = "folders/123"',
                  'resource "azurerm_role_assignment"', "condition {"):
        assert block in text
    code = "\n".join(line for line in text.splitlines() if not line.startswith("#"))  # comments: not templated
    assert "${x}" not in code.replace("$${x}", "") and "%{y}" not in code.replace("%%{y}", "")
    assert "\x1b" not in text


def test_output_is_byte_identical_under_any_hash_seed(hostile, tmp_path):
    outputs = []
    for seed in ("1", "4242"):
        out = tmp_path / seed
        subprocess.run([sys.executable, "-m", "nhiaudit", "enforce", "--snapshot", str(hostile[0]), "--policy",
                        str(hostile[1]), "--as-of", AS_OF, "--quiet", "--output-dir", str(out)],
                       env={**os.environ, "PYTHONHASHSEED": seed, "NHIAUDIT_JOBS": "1"}, timeout=120)
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3


def test_check_passes_on_committed_guardrails_and_fails_when_the_policy_moves(hostile, tmp_path):
    snapshot, policy = hostile
    committed = tmp_path / "committed"
    cli("enforce", "--snapshot", str(snapshot), "--policy", str(policy), "--as-of", AS_OF, "--output-dir",
        str(committed))
    same = cli("enforce", "--snapshot", str(snapshot), "--policy", str(policy), "--as-of", AS_OF, "--check",
               str(committed), "-o", str(tmp_path / "plan.txt"))
    assert "differs" not in same.output
    policy.write_text(policy.read_text().replace("must_not_reach: [secret, mail]", "must_not_reach: [mail]"))
    moved = cli("enforce", "--snapshot", str(snapshot), "--policy", str(policy), "--as-of", AS_OF, "--check",
                str(committed), "-o", str(tmp_path / "plan2.txt"))
    assert moved.exit_code == 1 and "nhiaudit-enforce.json differs" in moved.output
    assert "removed" in moved.output  # the deny policy the written policy no longer asks for
