"""A privilege-escalation technique (or AI capability action) naming an action the installed catalogue does not know
would never match a grant and pass silently (issue 11, point 4): `nhiaudit rules validate DIR` reports it at its
file:line with exit status 2, and the shipped data files are clean."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.facts.data_check import action_problem, data_problems
from nhiaudit.facts.escalation_data import load_escalation_catalogue
from nhiaudit.inventory.model import Provider
from nhiaudit.permissions.catalogue import default_catalogue
from nhiaudit.rules_engine.loader import shipped_rules_dir

CATALOGUE = default_catalogue()


def validate(directory: Path):
    return CliRunner().invoke(build_app(), ["rules", "validate", str(directory)])


def test_every_shipped_aws_technique_action_is_known_by_its_exact_name():
    techniques = load_escalation_catalogue().techniques(Provider.AWS)
    unknown = {(t.id, a) for t in techniques for a in t.requires if CATALOGUE.canonical(a) != a}
    assert unknown == set()


def test_shipped_ai_capability_actions_are_known():
    data = yaml.safe_load((shipped_rules_dir() / "data" / "ai_capability.yaml").read_text(encoding="utf-8"))
    assert [a for a in data["aws"]["actions"] if CATALOGUE.canonical(a) != a] == []
    assert "bedrock:Converse" not in data["aws"]["actions"]  # no IAM action: bedrock:InvokeModel covers it


def test_shipped_data_files_pass_and_rules_validate_checks_them():
    assert data_problems(shipped_rules_dir(), CATALOGUE) == []
    result = validate(shipped_rules_dir())
    assert result.exit_code == 0, result.output


def test_an_unknown_technique_action_fails_validate_with_its_line(tmp_path):
    data = tmp_path / "rules" / "data"
    data.mkdir(parents=True)
    path = data / "privilege_escalation.yaml"
    path.write_text(
        "aws:\n"
        "  - id: aws-put-user-policy\n    title: ok\n    requires: [iam:PutUserPolicy]\n"
        "  - id: aws-passrole-typo\n    title: typo\n    requires: [iam:PassRoles, lambda:CreateFunction]\n"
        "gcp:\n  - id: gcp-short\n    title: two parts\n    requires: [iam.serviceAccountKeys]\n"
        "azure:\n  - id: azure-no-verb\n    title: no verb\n"
        "    requires: [Microsoft.Compute/virtualMachines/runCommand]\n",
        encoding="utf-8")
    result = validate(tmp_path / "rules")
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert f"{path}:5:" in out and "technique aws-passrole-typo: unknown AWS action 'iam:PassRoles'" in out
    assert f"{path}:9:" in out and "'iam.serviceAccountKeys' is not a GCP permission" in out
    assert f"{path}:13:" in out and "is not an Azure operation" in out
    assert "aws-put-user-policy" not in out


def test_an_unknown_ai_capability_action_fails_validate_at_its_line(tmp_path):
    data = tmp_path / "rules" / "data"
    data.mkdir(parents=True)
    path = data / "ai_capability.yaml"
    path.write_text("aws:\n  actions:\n    - bedrock:InvokeModel\n    - bedrock:Converse\n", encoding="utf-8")
    result = validate(tmp_path / "rules")
    assert result.exit_code == 2
    assert f"{path}:4:7: unknown AWS action 'bedrock:Converse'" in " ".join(result.output.split())


@pytest.mark.parametrize("provider, action, ok", [
    (Provider.AWS, "iam:PassRole", True), (Provider.AWS, "iam:passrole", True), (Provider.AWS, "iam:*", False),
    (Provider.GCP, "iam.serviceAccounts.actAs", True), (Provider.GCP, "iam.serviceAccounts", False),
    (Provider.AZURE, "Microsoft.Web/sites/config/write", True),
    (Provider.AZURE, "Microsoft.Compute/virtualMachines/runCommand/action", True),
    (Provider.AZURE, "microsoft.directory/applications/credentials/update", True),
    (Provider.AZURE, "Microsoft.Web/sites", False),
])
def test_action_shapes(provider, action, ok):
    assert (action_problem(provider, action, CATALOGUE) is None) is ok
