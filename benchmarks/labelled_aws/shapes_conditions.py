"""Request-time conditions (docs/policy.md `require_conditions`): integrations that require a network condition
on the grants reaching their support tickets, with a grant that tests aws:SourceVpce (also written in lower
case: condition keys are case-insensitive), one that does not, and ones that test it under
StringEqualsIfExists or StringNotEquals (they hold for a request without the key or with any other value:
they do not narrow)."""

from __future__ import annotations

from typing import Any

from benchmarks.labelled_aws import systems as s
from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.declared import declared_with
from benchmarks.labelled_aws.model import Expected
from benchmarks.labelled_aws.shapes_roles import BEDROCK


def _required(b: AccountBuilder) -> tuple[tuple[str, Any], ...]:
    return (("require_conditions", {"any_of": ["network"], "systems": [s.system(b.env, "support-tickets")]}),)


def _tickets(b: AccountBuilder, operator: str | None, key: str = "aws:SourceVpce", value: str | None = None,
             ) -> dict[str, Any]:
    stmt = b.tickets_read()
    if operator:
        stmt["Condition"] = {operator: {key: value or f"vpce-0{b.account.id[-4:]}a1b2c3d4e5f"}}
    return stmt


def _expected(b: AccountBuilder, why: str) -> tuple[Expected, ...]:
    return (Expected("scope-unconditioned-grant",
                     f"reads {s.system(b.env, 'support-tickets')} through a grant {why}; its integration "
                     "requires a network condition"),)


def vpce_condition(b: AccountBuilder) -> None:
    declared_with(b, "conditions-vpce", [BEDROCK, _tickets(b, "StringEquals")], extra=_required(b),
                  traits=("require-conditions",))


def no_condition(b: AccountBuilder) -> None:
    declared_with(b, "conditions-none", [BEDROCK, _tickets(b, None)], extra=_required(b),
                  traits=("require-conditions",), expected=_expected(b, "without conditions"))


def if_exists_condition(b: AccountBuilder) -> None:
    declared_with(b, "conditions-if-exists", [BEDROCK, _tickets(b, "StringEqualsIfExists")], extra=_required(b),
                  traits=("require-conditions", "near-miss"),
                  expected=_expected(b, "testing aws:SourceVpce only under StringEqualsIfExists"))


def vpce_lower_case_key(b: AccountBuilder) -> None:
    declared_with(b, "conditions-vpce-lower-case", [BEDROCK, _tickets(b, "StringEquals", "aws:sourcevpce")],
                  extra=_required(b), traits=("require-conditions", "near-miss"))


def not_equals_condition(b: AccountBuilder) -> None:
    declared_with(b, "conditions-not-equals", [BEDROCK, _tickets(b, "StringNotEquals")], extra=_required(b),
                  traits=("require-conditions", "near-miss"),
                  expected=_expected(b, "testing aws:SourceVpce only under StringNotEquals"))


def source_ip_condition(b: AccountBuilder) -> None:
    declared_with(b, "conditions-source-ip", [BEDROCK, _tickets(b, "IpAddress", "aws:SourceIp", "10.20.0.0/16")],
                  extra=_required(b), traits=("require-conditions",))


def region_condition(b: AccountBuilder) -> None:
    """A condition, but not a network one: aws:RequestedRegion is no class the policy lists."""
    declared_with(b, "conditions-region-only", [BEDROCK, _tickets(b, "StringEquals", "aws:RequestedRegion", b.region)],
                  extra=_required(b), traits=("require-conditions", "near-miss"),
                  expected=_expected(b, "testing only aws:RequestedRegion"))
