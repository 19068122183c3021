"""The written policy's `audit:` block: layering (built-in optional <- defaults <- integration), the strictest of
several integrations, and file:line errors for bad values (exit 2, no traceback)."""

from __future__ import annotations

from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.policy.loader import load_policy

POLICY = """\
version: 1
defaults:
  audit: {model_invocations: required}
integrations:
  - name: a
    audit: {secret_access: required}
  - name: b
    audit: {model_invocations: optional}
"""


def test_layering_and_strictest(tmp_path):
    from nhiaudit.facts.audit_coverage import audit_rules_for

    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    policy = load_policy(path)
    a, b = policy.integrations
    assert policy.effective_audit(None).model_dump() == {
        "model_invocations": "required", "secret_access": "optional", "data_access": "optional"}
    assert policy.effective_audit(a).secret_access == "required" and policy.effective_audit(a).model_invocations \
        == "required"
    assert policy.effective_audit(b).model_invocations == "optional"
    both = audit_rules_for(policy, [a, b])
    assert (both.model_invocations, both.secret_access) == ("required", "required")


def test_bad_value_is_located(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.replace("{secret_access: required}", "{secret_access: always}"))
    result = CliRunner().invoke(build_app(), ["policy", "validate", str(path)])
    assert result.exit_code == 2 and f"{path}:6:" in result.output and "Traceback" not in result.output, \
        result.output
