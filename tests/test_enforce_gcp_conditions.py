"""GCP: the conditional binding `enforce` generates narrows `resource.name`, so it satisfies a `resource` class
`require_conditions`: the scope-wide binding is a `scope-unconditioned-grant` today, and re-analysis with the
conditional binding in its place closes it (the planted project of test_enforce_gcp.py, collected through the
real clients)."""

from __future__ import annotations

import gcp_planted as planted
from enforce_cloud_support import checks, enforce_json, write
from test_enforce_gcp import POLICY, estate  # noqa: F401  (the collected project, module-scoped)

RULE = "scope-unconditioned-grant"


def test_the_conditional_binding_satisfies_a_resource_requirement(estate):  # noqa: F811
    required = POLICY.replace("        may_reach: [vertex]\n",
                              "        may_reach: [vertex]\n        require_conditions: {any_of: [resource]}\n")
    assert required != POLICY
    policy = write(estate["tmp"] / "policy-conditions.yaml", required)
    code, data, _ = enforce_json(estate["before"], policy, planted.AS_OF)
    (check,) = [c for name, c in checks(data).items() if name.startswith("nhiaudit-binding-support-agent")]
    assert [c for c in check["closed"] if c.startswith(f"{RULE}: support-agent")], check
    assert check["holds"] and not [r for r in check["remaining"] if r.startswith(RULE)]
    assert code == 0
