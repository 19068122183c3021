"""Live collection of the organisation's guardrails (`--aws-org`): one snapshot holding the AwsOrganization
record, or, when any call fails, a CollectionIssue and no record (caps unknown are never applied)."""

from __future__ import annotations

from datetime import UTC, datetime

from nhiaudit.connectors.aws.account import CALL_FAILURES, describe_error
from nhiaudit.connectors.aws.org_guardrails import MISSING_GUARDRAILS, get_organization, transform_organization
from nhiaudit.connectors.aws.readonly import ReadOnlyViolation
from nhiaudit.connectors.aws.session import Clients
from nhiaudit.inventory.model import CollectionIssue, Provider
from nhiaudit.inventory.snapshot import Snapshot


def collect_guardrails(clients: Clients, caller_account: str) -> Snapshot:
    operation = "organizations:ListRoots"

    def track(event_name: str, **_: object) -> None:
        nonlocal operation  # the last operation started names the failure
        _, _service, name = event_name.split(".", 2)
        operation = f"organizations:{name}"

    client = clients.client("organizations")
    client.meta.events.register("before-parameter-build.organizations", track)
    try:
        record = transform_organization(get_organization(client))
    except ReadOnlyViolation:
        raise
    except CALL_FAILURES as exc:
        issue = CollectionIssue(provider=Provider.AWS, account=caller_account, operation=operation,
                                message=describe_error(exc), missing=MISSING_GUARDRAILS)
        return Snapshot(generated_at=datetime.now(UTC), collection_issues=[issue])
    return Snapshot(generated_at=datetime.now(UTC), aws_organizations=[record])
