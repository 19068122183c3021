"""The commented starter policy written by `nhiaudit policy init` (a test checks that it loads cleanly)."""

from __future__ import annotations

from nhiaudit.policy.schema import SCHEMA_ID

_STARTER = """\
# yaml-language-server: $schema={schema_ref}
#
# nhiaudit written AI-usage policy. Format reference: docs/policy.md
# Check it with:  nhiaudit policy validate {file_hint}
version: 1

# Policy-wide credential rules. Integrations inherit anything they do not set themselves.
# Built-in values when unset: max_age_days 90, max_unused_days 30, require_expiry false,
# static_keys allowed, grace_days 7.
defaults:
  credentials:
    max_age_days: 90        # static keys older than this are long-lived
    max_unused_days: 30     # active credentials unused this long are stale
    require_expiry: true    # credentials without an expiry date violate
    static_keys: allowed    # or: forbidden
  # Which tags say an identity is used by a person (human) or by software (nhi). Built in when unset:
  # classification:
  #   tags:
  #     kind: {{human: [human, person], nhi: [workload, service, bot, machine]}}

# Downstream systems, by name. `resources` are patterns with * and ? globs.
systems:
  support-tickets:
    kind: data
    environment: prod
    classification: internal
    resources:
      - "arn:aws:s3:::example-support-tickets*"
  customer-pii:
    kind: data
    environment: prod
    classification: restricted
    resources:
      - "arn:aws:s3:::example-customer-pii*"
      - "arn:aws:dynamodb:*:*:table/customers"
  bedrock-models:
    kind: ai-model
    resources:
      - "arn:aws:bedrock:*::foundation-model/*"

# Approved AI agents, copilots and integrations. An identity that can call AI models but is not
# listed under any integration is reported as undeclared (shadow) AI.
integrations:
  - name: support-copilot
    kind: agent
    owner: support-eng@example.com
    purpose: drafts replies to support tickets
    environment: prod
    identities:
      - "arn:aws:iam::111122223333:role/support-copilot"
    may_reach: [support-tickets, bedrock-models]
    must_not_reach: [customer-pii]
    credentials:
      static_keys: forbidden   # this integration must use short-lived role sessions only

# Identities people use (ids or globs, as in `identities`): classified human, so they are not reported as
# non-human identities (integrations' identities always count as non-human).
# humans:
#   - "arn:aws:iam::111122223333:user/alice.patel"

# Time-bound exceptions: `rule` is a rule id (see `nhiaudit rules`) or a finding category.
# After `expires` the exception no longer applies and the finding is a violation again.
exceptions: []
#  - rule: long-lived-credential
#    identity: "arn:aws:iam::111122223333:user/legacy-smtp"
#    reason: SMTP credentials baked into a vendor appliance until its replacement
#    owner: it-ops@example.com
#    expires: 2027-03-31
"""


def starter_policy(schema_ref: str = SCHEMA_ID, file_hint: str = "policy.yaml") -> str:
    """Starter policy text; `schema_ref` is the JSON Schema URL or path editors should use."""
    return _STARTER.format(schema_ref=schema_ref, file_hint=file_hint)
