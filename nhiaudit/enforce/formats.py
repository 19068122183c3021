"""Output formats of `nhiaudit enforce` (a leaf module: the CLI imports it at start-up)."""

from __future__ import annotations

from enum import StrEnum


class EnforceFormat(StrEnum):
    PLAN = "plan"  # what would change for whom, and the verification (for people)
    JSON = "json"  # the policy documents keyed by guardrail, with their targets
    TERRAFORM = "terraform"  # aws_iam_policy, aws_organizations_policy, google_iam_deny_policy, azurerm_role_assignment

    @property
    def file_name(self) -> str:
        """The file `--output-dir` writes and `--check` compares for this format."""
        return _FILE_NAMES[self]


_FILE_NAMES = {
    EnforceFormat.PLAN: "nhiaudit-enforce-plan.txt",
    EnforceFormat.JSON: "nhiaudit-enforce.json",
    EnforceFormat.TERRAFORM: "nhiaudit-enforce.tf",
}
