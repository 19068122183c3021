"""A declared integration's role with exactly the statements a shape gives (the newer families need grants
other than the usual Bedrock-anywhere and support-tickets pair) and further policy fields."""

from __future__ import annotations

from typing import Any

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.model import Expected
from benchmarks.labelled_aws.shapes_integrations import _integration, _names


def declared_with(b: AccountBuilder, plant: str, statements: list[dict[str, Any]], *,
                  expected: tuple[Expected, ...] = (), may_reach: tuple[str, ...] = (),
                  extra: tuple[tuple[str, Any], ...] = (), traits: tuple[str, ...] = ()) -> str:
    """The role (a Lambda or ECS service role) and its integration; returns the role's ARN."""
    name, integration = _names(b, "role")
    role = b.service_role(plant, service=b.rng.choice(("lambda", "ecs")), name=name,
                          inline=(("ai-access", d.document(*statements)),),
                          tags=b.workload_tags(env=b.rng.random() < 0.5), traits=("declared", "ai", *traits),
                          expected=expected)
    _integration(b, integration, (role.arn,), plant, may_reach=may_reach, static_keys="forbidden", extra=extra)
    return role.arn
