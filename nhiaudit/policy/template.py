"""The commented starter policy written by `nhiaudit policy init` (tests check that it loads cleanly, that a
well-run estate passes it, and that its commented examples are valid once uncommented).

Active settings are the built-in defaults: a clean estate (rotated keys, none stale) passes them. Everything
that names a system, an identity or something stricter is a commented example, so the starter reports
nothing about identities that only exist in the example (example lines start with `#  `).
"""

from __future__ import annotations

LOCAL_SCHEMA_NAME = "nhiaudit-policy.schema.json"

_STARTER = """\
# yaml-language-server: $schema={schema_ref}
#
# nhiaudit written AI-usage policy. Format reference: docs/policy.md
# Check it with:  nhiaudit policy validate {file_hint}
{schema_note}version: 1

# Policy-wide credential rules; integrations inherit what they do not set. These are the built-in
# values, which a well-run estate passes; the stricter options are in comments.
defaults:
  credentials:
    max_age_days: 90        # static keys older than this are long-lived
    max_unused_days: 30     # active credentials unused this long are stale
    grace_days: 7           # newer credentials are never reported as unused (a rotation in progress)
    static_keys: allowed    # stricter: forbidden (short-lived credentials only: roles, federation)
    require_expiry: false   # stricter: true reports every credential without an end date, which
                            # includes every AWS access key (they cannot expire)
  # What the cloud must record of every AI access path (declared, or undeclared but able to call models):
  # required or optional (the built-in). Reported only where the setting was read and is known to be off.
  # audit:
  #   model_invocations: required   # Bedrock model invocation logging in the regions it may call models
  #   secret_access: required       # CloudTrail read management events (GetSecretValue, GetParameter, Decrypt)
  #   data_access: required         # CloudTrail data events for the systems it can reach
  # Which tags say an identity is used by a person (human) or by software (nhi). Built in when unset:
  # classification:
  #   tags:
  #     kind: {{human: [human, person], nhi: [workload, service, bot, machine]}}

# Downstream systems, by name. `resources` are patterns with * and ? globs. To use the example, replace
# `{{}}` and remove the `#` in front of its lines.
systems: {{}}
#  support-tickets:
#    kind: data
#    environment: prod
#    classification: internal
#    resources:
#      - "arn:aws:s3:::example-support-tickets*"
#  customer-pii:
#    kind: data
#    environment: prod
#    classification: restricted
#    resources:
#      - "arn:aws:s3:::example-customer-pii*"
#      - "arn:aws:dynamodb:*:*:table/customers"
#  bedrock-models:
#    kind: ai-model
#    resources:
#      - "arn:aws:bedrock:*::foundation-model/*"

# Approved AI agents, copilots and integrations. An identity that can call AI models but is not
# listed under any integration is reported as undeclared (shadow) AI. Example (replace `[]`):
integrations: []
#  - name: support-copilot
#    kind: agent
#    owner: support-eng@example.com
#    purpose: drafts replies to support tickets
#    environment: prod
#    identities:
#      - "arn:aws:iam::111122223333:role/support-copilot"
#    may_reach: [support-tickets, bedrock-models]
#    must_not_reach: [customer-pii]
#    credentials:
#      static_keys: forbidden   # this integration must use short-lived role sessions only
#      max_session_minutes: 60  # and its roles may not allow sessions longer than an hour
#    audit:
#      secret_access: required  # its secret reads must be logged (CloudTrail read management events)

# Identities people use (ids or globs, as in `identities`): classified human, so they are not reported as
# non-human identities (integrations' identities always count as non-human).
# humans:
#  - "arn:aws:iam::111122223333:user/alice.patel"

# Time-bound exceptions: `rule` is a rule id (see `nhiaudit rules list`) or a finding category.
# After `expires` the exception no longer applies and the finding is a violation again. Example (replace `[]`):
exceptions: []
#  - rule: long-lived-credential
#    identity: "arn:aws:iam::111122223333:user/legacy-smtp"
#    reason: SMTP credentials baked into a vendor appliance until its replacement
#    owner: it-ops@example.com
#    expires: 2027-03-31
"""

_SCHEMA_NOTE = (
    "# Editors complete and check this file with the JSON Schema named on the first line; write it beside\n"
    "# this file with:  nhiaudit policy schema -o {name}\n"
)


def starter_policy(schema_ref: str | None = None, file_hint: str = "policy.yaml") -> str:
    """Starter policy text. `schema_ref`: the JSON Schema path or URL for editors; by default the schema file
    `policy init -o` writes beside the policy, with a comment saying how to write it by hand."""
    note = "" if schema_ref is not None else _SCHEMA_NOTE.format(name=LOCAL_SCHEMA_NAME)
    return _STARTER.format(schema_ref=schema_ref or f"./{LOCAL_SCHEMA_NAME}", file_hint=file_hint,
                           schema_note=note)


def uncomment_examples(text: str) -> str:
    """The starter with its examples switched on (what a user does first; a test keeps them valid)."""
    lines = []
    for line in text.splitlines():
        if line in ("systems: {}", "integrations: []", "exceptions: []"):
            line = line.split(":")[0] + ":"
        elif line == "# humans:":
            line = "humans:"
        elif line.startswith("#  "):
            line = line[1:]
        lines.append(line)
    return "\n".join(lines) + "\n"
