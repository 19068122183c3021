"""`integrations[].require_conditions`: which request-time conditions narrow a grant, per cloud.

An entry of `any_of` is a provider-neutral class or one cloud's own condition key:

- `network`, `tag`, `time`, `resource`: the classes below, mapped to each cloud's keys;
- an AWS condition key (`aws:SourceVpce`, `aws:ResourceTag/*`: it has a `:`; `*` globs, case-insensitive);
- a GCP IAM condition attribute or function (`request.time`, `resource.name`, `resource.matchTag`);
- an Azure ABAC attribute (`@Environment[isPrivateLink]`, `@Resource[Microsoft.Storage/...`: starts with `@`),
  matched as the start of an attribute reference in the condition, case-insensitively.

A grant is narrowed when its statement's condition tests one of them: an AWS condition block naming the key
under an operator that holds only for requests carrying a matching value (not `Null`, `...IfExists`,
`ForAllValues:` or a negated operator: see `narrowing_operator`), a GCP binding condition whose CEL expression
mentions the attribute, an Azure role assignment condition referring to the attribute.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.permissions.patterns import glob_match

# Sources: AWS global condition context keys (IAM User Guide, reference_policies_condition-keys); GCP IAM
# Conditions attribute reference (cloud.google.com/iam/docs/conditions-attribute-reference); Azure ABAC
# condition format (learn.microsoft.com/azure/role-based-access-control/conditions-format).
CONDITION_CLASSES: dict[str, dict[str, tuple[str, ...]]] = {
    "network": {
        "aws": ("aws:SourceVpce", "aws:SourceVpc", "aws:SourceVpcArn", "aws:SourceIp", "aws:VpcSourceIp",
                "aws:ViaAWSService", "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast"),
        "gcp": ("request.auth.access_levels",),
        "azure": ("@Environment[isPrivateLink]", "@Environment[Microsoft.Network/privateEndpoints]",
                  "@Environment[Microsoft.Network/virtualNetworks/subnets]"),
    },
    "tag": {
        "aws": ("aws:ResourceTag/*", "aws:PrincipalTag/*", "aws:RequestTag/*", "aws:TagKeys",
                "s3:ExistingObjectTag/*"),
        "gcp": ("resource.matchTag", "resource.matchTagId", "resource.hasTagKey", "resource.hasTagKeyId"),
        "azure": ("@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags",
                  "@Principal["),
    },
    "time": {
        "aws": ("aws:CurrentTime", "aws:EpochTime"),
        "gcp": ("request.time",),
        "azure": ("@Environment[UtcNow]",),
    },
    "resource": {
        "aws": ("s3:prefix", "dynamodb:LeadingKeys", "aws:ResourceAccount", "aws:ResourceOrgID"),
        "gcp": ("resource.name", "resource.type", "resource.service"),
        "azure": ("@Resource[",),
    },
}
_GCP_NAME = re.compile(r"^[a-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")


def entry_problem(entry: str) -> str | None:
    """Why an `any_of` entry means nothing (None: it is fine)."""
    if entry in CONDITION_CLASSES or entry.startswith("@") or ":" in entry or _GCP_NAME.match(entry):
        return None
    return (f"{entry!r} is neither a condition class ({', '.join(CONDITION_CLASSES)}), an AWS key (`aws:SourceVpce`), "
            "a GCP attribute (`request.time`) nor an Azure attribute (`@Environment[isPrivateLink]`)")


def expand(any_of: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """cloud -> the keys/attributes the entries stand for (classes expanded; a key counts for its cloud)."""
    out: dict[str, list[str]] = {"aws": [], "gcp": [], "azure": []}
    for entry in any_of:
        if entry in CONDITION_CLASSES:
            for cloud, keys in CONDITION_CLASSES[entry].items():
                out[cloud].extend(keys)
        elif entry.startswith("@"):
            out["azure"].append(entry)
        elif ":" in entry:
            out["aws"].append(entry)
        else:
            out["gcp"].append(entry)
    return {cloud: tuple(dict.fromkeys(keys)) for cloud, keys in out.items()}


def narrowing_operator(operator: str) -> bool:
    """Does an Allow condition with this operator hold only for requests that carry a matching value?

    Not for `Null` (tests presence only), `...IfExists` and `ForAllValues:` (both hold when the request
    lacks the key: a request from outside a VPC endpoint has no `aws:SourceVpce`), nor negated operators
    (`StringNotEquals`, `NotIpAddress`: they hold for every value but the listed ones, and for a missing key)."""
    op = operator.lower()
    if op.startswith("forallvalues:"):
        return False
    op = op.removeprefix("foranyvalue:")
    return not (op.startswith("null") or op.endswith("ifexists") or "not" in op)


def _aws_keys(conditions: Mapping[str, Any], narrowing_only: bool = True) -> list[str]:
    keys = []
    for operator, body in conditions.items():
        if not isinstance(body, Mapping) or (narrowing_only and not narrowing_operator(str(operator))):
            continue
        keys.extend(str(k) for k in body)
    return keys


def _mentions(expression: str, attribute: str) -> bool:
    start = expression.find(attribute)
    while start >= 0:
        before = expression[start - 1] if start else " "
        end = start + len(attribute)
        after = expression[end] if end < len(expression) else " "
        if not (before.isalnum() or before in "._") and not (after.isalnum() or after == "_"):
            return True
        start = expression.find(attribute, start + 1)
    return False


def narrowing_keys(conditions: Mapping[str, Any], wanted: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The wanted keys/attributes a statement's raw `conditions` test (empty: the grant is not narrowed)."""
    gcp = conditions.get("gcp:condition")
    if isinstance(gcp, Mapping):
        expression = str(gcp.get("expression", ""))
        return [a for a in wanted["gcp"] if _mentions(expression, a)]
    azure = conditions.get("azure:condition")
    if isinstance(azure, str):
        lowered = azure.lower()
        return [a for a in wanted["azure"] if a.lower() in lowered]
    present = _aws_keys(conditions)
    return [w for w in wanted["aws"] if any(glob_match(w, k, case_sensitive=False) for k in present)]


def condition_summary(conditions: Mapping[str, Any], limit: int = 200) -> str:
    """What a statement's conditions test, short: AWS keys, or the GCP/Azure condition text clipped."""
    gcp = conditions.get("gcp:condition")
    if isinstance(gcp, Mapping):
        text = str(gcp.get("expression", ""))
    elif isinstance(conditions.get("azure:condition"), str):
        text = str(conditions["azure:condition"])
    else:
        text = "; ".join(f"{op} {', '.join(sorted(str(k) for k in body))}" for op, body in sorted(conditions.items())
                         if isinstance(body, Mapping))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def require_conditions_problems(integrations: list[Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Loader checks (on the raw data): every `any_of` entry means something, every `systems` entry is in the
    integration's may_reach."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for i, entry in enumerate(integrations):
        block = entry.get("require_conditions") if isinstance(entry, dict) else None
        if not isinstance(block, dict):
            continue
        for j, item in enumerate(block.get("any_of") if isinstance(block.get("any_of"), list) else []):
            problem = entry_problem(item) if isinstance(item, str) and item else None
            if problem:
                problems.append((("integrations", i, "require_conditions", "any_of", j),
                                 f"integrations[{i}].require_conditions.any_of[{j}]: {problem}"))
        may_reach = entry.get("may_reach") if isinstance(entry.get("may_reach"), list) else []
        for j, name in enumerate(block.get("systems") if isinstance(block.get("systems"), list) else []):
            if isinstance(name, str) and name not in may_reach:
                problems.append((("integrations", i, "require_conditions", "systems", j),
                                 f"integrations[{i}].require_conditions.systems[{j}]: {name!r} is not in this "
                                 "integration's may_reach"))
    return problems
