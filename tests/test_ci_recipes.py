"""The CI recipes in examples/ci/ are hardened as zizmor asks, and the GitLab one installs and publishes.

GitHub workflows: every `uses:` pinned by a full commit SHA with its version in a comment (one SHA per
action across the recipes), checkout without persisted credentials, no permissions by default and explicit
ones per job, nhiaudit installed pinned (commit SHA or exact version) in every job that holds `id-token:
write`, no step output or event data expanded into a script, and a concurrency group in which a push cannot
cancel the nightly scan. GitLab: an image that can run the git+https install, the ID-token job pinned the same
way, and the Code Quality report the scan writes declared under `artifacts:reports:codequality`; the scan
command of the recipe runs as written (on the demo snapshot instead of a live account).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_gitlab_codequality import schema_errors

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"
WORKFLOWS = sorted(CI.glob("github-actions*.yml"))
GITLAB = CI / "gitlab-ci.yml"
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED_USE = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^\s+#\s*v\d+(\.\d+){0,2}\b")
PINNED_SPEC = re.compile(r"(@[0-9a-f]{40}|==\d+(\.\d+)*)$")
# Scopes a recipe may write: the OIDC token, SARIF upload (and a PR comment, documented in docs/ci.md).
WRITABLE = {"id-token", "security-events", "pull-requests"}
# Expressions an attacker can shape (step outputs carry estate data; event payloads carry PR titles, ...).
UNSAFE_IN_SCRIPT = re.compile(r"\$\{\{\s*(steps\.|github\.event|github\.head_ref|inputs\.|needs\.)")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    return on if isinstance(on, dict) else {name: None for name in ([on] if isinstance(on, str) else on)}


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, job, step) for name, job in workflow["jobs"].items() for step in job.get("steps", [])]


def test_there_are_recipes_to_check():
    assert len(WORKFLOWS) >= 4 and GITLAB.exists()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version(path):
    lines = [m for line in path.read_text(encoding="utf-8").splitlines() if (m := USES_LINE.match(line))]
    used = [step["uses"] for _, _, step in steps(load(path)) if "uses" in step]
    assert [m["ref"] for m in lines] == used  # every `uses:` of the workflow, none hidden from the text check
    for match in lines:
        assert PINNED_USE.match(match["ref"]), f"{path.name}: {match['ref']} is not pinned to a full commit SHA"
        assert VERSION_COMMENT.match(match["rest"]), f"{path.name}: {match['ref']} has no `# vX.Y.Z` comment"


def test_each_action_has_one_pin_across_the_recipes():
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOWS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if (m := USES_LINE.match(line)) and (pinned := PINNED_USE.match(m["ref"])):
                pins.setdefault(pinned["action"], set()).add((pinned["sha"], m["rest"].strip()))
    assert {"actions/checkout", "actions/setup-python", "github/codeql-action/upload-sarif"} <= set(pins)
    assert {action: len(p) for action, p in pins.items()} == dict.fromkeys(pins, 1)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_leaves_no_credentials_behind(path):
    checkouts = [step for _, _, step in steps(load(path)) if step.get("uses", "").startswith("actions/checkout@")]
    for step in checkouts:
        assert (step.get("with") or {}).get("persist-credentials") is False, path.name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_none_by_default_and_minimal_per_job(path):
    workflow = load(path)
    assert workflow.get("permissions") == {}, f"{path.name}: the workflow must grant nothing by default"
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict) and permissions, f"{path.name}: job {name} sets no permissions"
        for scope, level in permissions.items():
            assert level in ("read", "write", "none"), (path.name, name, scope, level)
            assert level != "write" or scope in WRITABLE, f"{path.name}: job {name} writes {scope}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_jobs_with_an_oidc_token_install_nhiaudit_pinned(path):
    workflow = load(path)
    for name, job in workflow["jobs"].items():
        if (job.get("permissions") or {}).get("id-token") != "write":
            continue
        env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
        installs = [step["run"] for step in job.get("steps", []) if "pip install" in step.get("run", "")]
        assert installs, f"{path.name}: job {name} installs nothing"
        for run in installs:
            specs = [env[var] for var in re.findall(r"\$\{?(\w+)\}?", run) if var in env]
            assert specs, f"{path.name}: job {name}: `{run}` installs no pinned spec from the environment"
            for spec in specs:
                assert PINNED_SPEC.search(spec), f"{path.name}: job {name} installs {spec!r} unpinned"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_attacker_shaped_expression_is_expanded_into_a_script(path):
    for name, _, step in steps(load(path)):
        assert not UNSAFE_IN_SCRIPT.search(step.get("run", "")), f"{path.name}: job {name}: {step.get('name')}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_a_push_cannot_cancel_the_nightly_scan(path):
    workflow = load(path)
    assert "schedule" in triggers(workflow), path.name
    concurrency = workflow.get("concurrency")
    assert isinstance(concurrency, dict) and concurrency.get("group"), path.name
    cancel = concurrency.get("cancel-in-progress", False)
    by_event = "github.event_name" in concurrency["group"]
    assert by_event or cancel is False, f"{path.name}: a push in the same group would cancel the schedule"
    if isinstance(cancel, str):  # an expression: it must never be true for the schedule
        assert "github.event_name == 'pull_request'" in cancel, cancel


def gitlab_job() -> dict[str, Any]:
    return load(GITLAB)["nhiaudit"]


def test_gitlab_job_can_install_nhiaudit_pinned():
    job = gitlab_job()
    spec = job["variables"]["NHIAUDIT_SPEC"]
    assert PINNED_SPEC.search(spec), spec
    install = next(line for line in job["before_script"] if "pip install" in line)
    assert "NHIAUDIT_SPEC" in install
    if "git+" in spec:  # pip needs git: the -slim and alpine images have none, unless the job installs it
        image = job["image"] if isinstance(job["image"], str) else job["image"]["name"]
        installs_git = any("install" in line and " git" in line for line in job["before_script"])
        assert installs_git or not re.search(r"-(slim|alpine)", image), image


def test_gitlab_job_publishes_the_code_quality_report_it_writes():
    job = gitlab_job()
    report = job["artifacts"]["reports"]["codequality"]
    script = "\n".join(job["script"])
    assert f"--output-gitlab-codequality {report}" in script
    assert job["artifacts"]["when"] == "always"
    assert "nhiaudit.sarif" in job["artifacts"]["paths"]


def test_gitlab_scan_command_runs_as_written(tmp_path):
    """The recipe's script with the demo snapshot in place of `--aws`, in a checkout with the policy where
    the recipe expects it: the Code Quality issues point at that policy, relative to the checkout."""
    job = gitlab_job()
    script = "\n".join(job["script"]).replace("--aws ", f"--snapshot {ROOT / 'examples/demo/snapshot.json'} "
                                              "--as-of 2026-11-28 ")
    (tmp_path / ".git").mkdir()
    policy = tmp_path / job["variables"]["POLICY"]
    policy.parent.mkdir(parents=True)
    shutil.copyfile(ROOT / "examples" / "demo" / "policy.yaml", policy)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # this checkout's `nhiaudit`
    done = subprocess.run(["bash", "-ec", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, "POLICY": job["variables"]["POLICY"]})
    assert done.returncode == 1, done.stderr  # findings at or above --fail-on: the job fails, artifacts kept
    assert "critical" in done.stdout.lower()  # the table is in the job log
    issues = json.loads((tmp_path / job["artifacts"]["reports"]["codequality"]).read_text(encoding="utf-8"))
    assert issues and schema_errors(issues) == []
    assert {i["location"]["path"] for i in issues} == {job["variables"]["POLICY"]}
    for name in job["artifacts"]["paths"]:
        assert (tmp_path / name).is_file(), name


@pytest.mark.skipif(shutil.which("zizmor", path=str(Path(sys.executable).parent)) is None,
                    reason="zizmor is not installed in this environment (pip install zizmor)")
def test_zizmor_offline_finds_nothing_above_informational():
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent))
    done = subprocess.run([str(zizmor), "--offline", "--format", "json", "--min-severity", "low",
                           *map(str, WORKFLOWS)], capture_output=True, text=True)
    findings = json.loads(done.stdout or "[]")
    # The sharded recipe expands the static matrix index into its collect command (tests/test_sharding.py
    # runs that command as written); zizmor rates it informational or low at low confidence.
    relevant = [f for f in findings if not (f["ident"] == "template-injection"
                                            and f["determinations"]["confidence"] == "Low")]
    assert relevant == [], json.dumps(relevant, indent=1)[:3000]
