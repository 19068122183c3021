"""`policy init` on the planted AWS estate (moto + real boto3, live through the CLI's --aws and from a
collected snapshot): the draft validates, and a scan of the same estate with it reports no scope drift and no
undeclared AI identity, while the planted credential, trust and escalation gaps are still reported."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import aws_planted as planted
import pytest
import yaml
from aws_support import Moto, aws_environment, moto  # noqa: F401
from typer.testing import CliRunner

from nhiaudit.cli import build_app

STILL_REPORTED = {
    planted.arn("user", "report-bot"): {"long-lived-credential", "human-use-of-nhi"},
    planted.arn("role", "admin-bot"): {"overbroad-permissions", "risky-trust"},
    planted.arn("role", "open-trust"): {"risky-trust"},
    planted.arn("role", "escalator"): {"privilege-escalation"},
    planted.arn("user", "old-integration"): {"unused-credential"},
}


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def collected(moto: Moto, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:  # noqa: F811
    """The planted estate collected once into a snapshot, and a draft made live from the same estate."""
    moto.reset()
    planted.seed_planted(moto)
    tmp = tmp_path_factory.mktemp("draft-aws")
    with pytest.MonkeyPatch.context() as env:
        moto.front.reset()
        aws_environment(env, moto.front.url, tmp)
        snapshot = tmp / "snapshot.json"
        code, output = cli("collect", "--aws", "--aws-regions", "us-east-1", "-o", str(snapshot), "--quiet")
        assert code == 0, output
        live_draft = tmp / "live-draft.yaml"
        code, output = cli("policy", "init", "--aws", "--aws-regions", "us-east-1", "-o", str(live_draft),
                           "--quiet")
        assert code == 0, output
        calls = [op.split(":", 1)[-1] for op in moto.front.operations()]
        reads = ("Get", "List", "Describe", "GenerateCredentialReport")
        assert calls and not [op for op in calls if not op.startswith(reads)]
    return tmp, snapshot, live_draft.read_text()


def test_draft_of_the_planted_estate(collected):
    tmp, snapshot, live_text = collected
    draft = tmp / "draft.yaml"
    code, output = cli("policy", "init", "--from-snapshot", str(snapshot), "-o", str(draft), "--quiet")
    assert code == 0, output
    text = draft.read_text()
    # live and from a snapshot: the same draft (but for the file name in the header)
    assert text.replace("draft.yaml", "X") == live_text.replace("live-draft.yaml", "X")
    code, output = cli("policy", "validate", str(draft))
    assert code == 0, output
    data = yaml.safe_load(text)
    declared = {i for entry in data["integrations"] for i in entry["identities"]}
    ai = {planted.arn("role", n) for n in ("support-copilot", "clean-agent", "shadow-ai", "shared-worker")}
    assert ai | {planted.arn("user", "report-bot")} <= declared
    assert planted.arn("role", "admin-bot") not in declared  # AI only through AdministratorAccess
    # the two lambdas of shared-worker carry no integration tag: one integration named after the role
    names = {entry["name"] for entry in data["integrations"]}
    assert {"support-copilot", "shadow-ai", "shared-worker"} <= names
    systems = data["systems"]
    pii = next(s for s in systems.values() if "arn:aws:s3:::acme-customer-pii/*" in s["resources"])
    assert pii["classification"] == "restricted" and pii["resources"] == ["arn:aws:s3:::acme-customer-pii/*"]

    report = tmp / "report.json"
    code, output = cli("scan", "--snapshot", str(snapshot), "--policy", str(draft), "--format", "json",
                       "--fail-on", "none", "-o", str(report), "--quiet")
    assert code == 0, output
    findings = json.loads(report.read_text())["findings"]
    found: dict[str, set[str]] = defaultdict(set)
    for finding in findings:
        found[(finding.get("identity") or {}).get("id", "")].add(finding["category"])
    assert not {c for cats in found.values() for c in cats} & {"scope-drift", "undeclared-ai-identity"}
    missing = {who: want - found[who] for who, want in STILL_REPORTED.items() if want - found[who]}
    assert not missing, missing
