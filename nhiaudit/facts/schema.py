"""The documented facts each rule subject exposes, with a neutral default and a description.

Used three ways: docs/rules.md lists them, `rules validate` checks that a rule only references facts
that exist, and rule test cases only give the facts they care about (the rest take these defaults).
"""

from __future__ import annotations

import copy
import re
from enum import StrEnum
from typing import Any


class SubjectKind(StrEnum):
    IDENTITY = "identity"
    CREDENTIAL = "credential"
    INTEGRATION = "integration"
    BINDING = "binding"
    EXCEPTION = "exception"
    PRINCIPAL = "principal"  # a GCP principal named in bindings that is not an identity of the inventory
    SIGHTING = "sighting"  # a credential seen in plain text: a repository file or commit, cloud configuration


_CRED_RULES = {
    "max_age_days": (90, "effective max credential age (strictest across the identity's integrations)"),
    "max_unused_days": (30, "effective max days unused"),
    "require_expiry": (False, "whether credentials must expire"),
    "static_keys": ("allowed", "'allowed' or 'forbidden'"),
    "grace_days": (7, "credentials younger than this are never 'unused'"),
    "max_session_minutes": (None, "longest role session allowed (strictest across the identity's integrations); "
                                  "null: no limit"),
}

FACTS: dict[SubjectKind, dict[str, tuple[Any, str]]] = {
    SubjectKind.IDENTITY: {
        "id": ("", "identity id: ARN, service-account email or object id"),
        "name": ("", "short name"),
        "provider": ("aws", "aws, gcp or azure"),
        "account": ("", "AWS account, GCP project or Entra tenant"),
        "kind": ("role", "user, role, service_account, service_principal, managed_identity, application"),
        "tags": ({}, "tags / labels, map of string to string"),
        "owner": ("", "owner from the inventory or the `owner` tag"),
        "age_days": (0, "days since the identity was created"),
        "never_used": (False, "no recorded activity at all"),
        "activity_known": (True, "activity is recorded for this identity's account (false: 'never used' is "
                                 "unknown, e.g. Entra ID without the sign-in activity reports)"),
        "days_inactive": (0, "days since last activity (since creation when never used)"),
        "disabled": (False, "the identity is disabled"),
        "declared": (False, "at least one policy integration lists this identity"),
        "integrations": ([], "names of the integrations listing this identity"),
        "served_integrations": ([], "integrations it serves: those listing it plus those its workloads are "
                                    "tagged for (tag `integration`)"),
        "environments": ([], "environments it belongs to: from its tags (environment/env/stage, comma-separated "
                             "values allowed), its integrations and its workloads' tags"),
        "environment_sources": ([], "where each environment comes from"),
        "env_crossings": ([], "reached systems whose environment is not one of its environments (both known), "
                              "one entry per foreign environment"),
        "workloads": ([], "workloads running as it"),
        "credentials": ([], "its credentials"),
        "active_static_credentials": (0, "how many of its credentials are active static ones (keys, secrets)"),
        "can_invoke_ai": (False, "it can call an AI model (rules/data/ai_capability.yaml)"),
        "ai_explicit": (False, "the AI capability comes from a grant naming AI actions, not only a full `*`"),
        "ai_access": ([], "how it can call AI models: allowing statements and AI vendor grants"),
        "ai_via_chain": ({}, "shortest role-assumption / impersonation path to an identity that can call AI "
                             "models explicitly; `{}` when there is none or when it can itself"),
        "reach": ([], "systems of the policy it can reach, directly or through role assumption / impersonation"),
        "out_of_scope": ([], "reach entries one of its integrations does not allow, one per integration"),
        "unconditioned_grants": ([], "allowing statements that let it reach a may_reach system of an integration "
                                     "with `require_conditions` without testing any of the required request "
                                     "conditions, one per integration, system and statement"),
        "is_admin": (False, "allowed every action on every resource"),
        "admin_evidence": ("", "the statement that makes it admin"),
        "broad_roles": ([], "GCP Owner / Editor and predefined `*.admin` roles bound to it on a project, folder or "
                            "organisation, in force at --as-of"),
        "azure_broad_roles": ([], "Azure Owner / Contributor / User Access Administrator assignments at "
                                  "subscription, management-group or root scope"),
        "graph_permissions": ([], "Microsoft Graph permissions it holds: application permissions and delegated "
                                  "scopes (rules/data/azure_graph.yaml)"),
        "publisher": ("", "Entra: who publishes its application: microsoft, tenant (this tenant) or foreign "
                          "(a third party's multi-tenant app); '' elsewhere"),
        "default_compute_sa": (False, "it is a project's default Compute Engine service account "
                                      "(`NUMBER-compute@developer.gserviceaccount.com`)"),
        "wildcard_actions": ([], "service-wide wildcard actions (`*`, `s3:*`, `Microsoft.Storage/*`, `NotAction`) "
                                 "granted on all resources of their scope, as attached"),
        "wildcard_evidence": ([], "the statements granting `wildcard_actions`"),
        "escalations": ([], "single-step privilege escalations (rules/data/privilege_escalation.yaml) its "
                            "effective permissions allow; not computed for admins"),
        "escalation_path": ({}, "shortest role-assumption / impersonation path to an identity that is admin or "
                                "can make itself admin; `{}` when there is none, and for admins"),
        "latent_escalations": ([], "escalations its effective permissions allow whose target kind the data does "
                                   "not hold (no role trusts the service, no other user, no workload listed or "
                                   "none exists): items of `escalations` plus `why`; not computed for admins"),
        "static_key_groups": ([], "its active static credentials by type: `type`, `count`, `newest_age_days` "
                                  "(-1 when a creation date is unknown), `keys` (`id`, `age_days`, `last_used` "
                                  "date or 'never', `last_used_service`), `key`"),
        "trusts": ([], "who may act as it: one entry per trust record"),
        "external_trusts": ([], "the `trusts` whose principal is outside its own account: anybody (`*`, "
                                "`allUsers`), federated issuers, other accounts, principals outside the inventory"),
        "classification": ({"class": "unknown", "source": "none", "reasons": []},
                           "used by a person or by software, and why: `class` human, nhi or unknown; `source` "
                           "policy (integration `identities`, `humans:`), tag (`defaults.classification.tags`), "
                           "kind (AWS role, service account, service principal...; IAM Identity Center and "
                           "SAML-only roles are human), signals (a workload runs as it; for IAM users: name "
                           "shape, keys, console password, MFA) or none; `reasons` in words "
                           "(nhiaudit/facts/classification.py)"),
        "looks_human": (False, "`classification.class` is human"),
        "human_use": ({"console_password": False, "password_days_since_use": -1, "interactive_sign_in": False,
                       "mfa_active": False}, "signs of interactive human use"),
        "max_session_minutes": (None, "AWS role: the longest session it allows (MaxSessionDuration, in minutes); "
                                      "null when not collected (no ListRoles / list-roles) or not a role"),
        "policy": ({k: v for k, (v, _) in _CRED_RULES.items()}, "effective credential rules: "
                   + ", ".join(_CRED_RULES)),
        "audit_gaps": ([], "what the policy's `audit:` requires to be recorded of this AI access path (an "
                           "identity an integration lists or that can call AI models) and the cloud is known not "
                           "to record: one entry per kind (per system for data access); unknown is never a gap"),
    },
    SubjectKind.CREDENTIAL: {
        "id": ("", "credential id (access key id, key name, secret keyId): never a secret"),
        "type": ("access_key", "access_key, sa_key, client_secret, certificate, token, password, federated"),
        "static": (True, "a long-lived secret that a workload stores"),
        "active": (True, "the credential is active"),
        "managed_by": ("user", "'user' or 'system' (provider-rotated)"),
        "age_days": (0, "days since creation"),
        "age_known": (True, "the creation date is known"),
        "never_used": (False, "no recorded use"),
        "usage_known": (True, "use is recorded for this credential's account (false: 'never used' is unknown, "
                              "e.g. GCP without Policy Analyzer activities)"),
        "days_unused": (0, "days since last use (since creation when never used)"),
        "last_used_service": ("", "service of the last use, where known"),
        "has_expiry": (False, "the credential has an expiry date"),
        "expires": ("", "expiry date YYYY-MM-DD or ''"),
        "days_to_expiry": (0, "days until expiry (negative when past)"),
        "validity_days": (0, "days from creation to expiry (0 when either is unknown): how long the credential "
                             "is meant to live"),
        "shared_with": ([], "ids of the other identities holding a credential with the same fingerprint"),
        "shared_with_names": ([], "their names"),
        "identity": ({"id": "", "name": "", "kind": "", "provider": "aws", "account": "", "declared": False,
                      "integrations": [], "exists": True}, "the identity it authenticates"),
        "policy": ({k: v for k, (v, _) in _CRED_RULES.items()}, "effective credential rules"),
    },
    SubjectKind.INTEGRATION: {
        "name": ("", "integration name"),
        "kind": ("", "agent, copilot, ..."),
        "owner": ("", "owner"),
        "environment": ("", "declared environment"),
        "identities": ([], "identity ids it resolved to"),
        "may_reach": ([], "systems it may reach"),
        "must_not_reach": ([], "systems it must not reach"),
        "policy_path": ([], "YAML path of the entry"),
    },
    SubjectKind.BINDING: {
        "integration": ("", "integration name"),
        "pattern": ("", "the identity entry as written"),
        "is_glob": (False, "the entry is a glob"),
        "matched": (True, "it matched at least one identity in the inventory"),
        "policy_path": ([], "YAML path of the entry"),
    },
    SubjectKind.EXCEPTION: {
        "rule": ("", "rule id or category"),
        "identity": ("", "identity id or glob"),
        "owner": ("", "owner"),
        "reason": ("", "justification"),
        "expires": ("", "expiry date"),
        "expired": (False, "--as-of is after the expiry date"),
        "days_expired": (0, "days since expiry"),
        "days_to_expiry": (0, "days until expiry"),
        "matched": (True, "the identity entry matches an identity in the inventory (or a GCP member that "
                             "bindings name, or the key id / hash a credential sighting was seen as)"),
        "index": (0, "position in `exceptions`"),
        "policy_path": ([], "YAML path of the entry"),
    },
    SubjectKind.PRINCIPAL: {
        "principal": ("", "the member as bindings name it: `user:a@x.com`, `group:g@x.com`, `domain:x.com`, "
                          "`allUsers`, `allAuthenticatedUsers`, `principalSet://...`"),
        "provider": ("gcp", "gcp"),
        "type": ("user", "user, group, domain, public (allUsers / allAuthenticatedUsers), federated "
                         "(principal:// and principalSet://) or other"),
        "domain": ("", "its domain (lower case), '' when it names none"),
        "public": (False, "`allUsers` (anyone) or `allAuthenticatedUsers` (any Google account)"),
        "outside_domains": (False, "a user / group / domain outside the organisation's domains "
                                   "(`defaults.gcp.domains`, `--gcp-domain`, the collected organisation's "
                                   "domain); false when no domain is known"),
        "audience": ("", "who that is, in words: `anyone on the internet`, `any Google account`, `outside the "
                         "organisation's domains` or ''"),
        "grants": ([], "the bindings naming it that are in force at --as-of, one entry per binding"),
    },
    SubjectKind.SIGHTING: {
        "id": ("", "the credential as seen: its key id (access key id, GCP private_key_id) or `sha256:` + 12 hex "
                   "digits of a secret value; never the value"),
        "detector": ("aws_access_key_id", "aws_access_key_id, aws_secret_access_key, gcp_service_account_key or "
                                          "azure_client_secret (docs/secrets.md)"),
        "key_id": ("", "public key id, '' for a secret value"),
        "value_hash": ("", "`sha256:` + 12 hex digits of a secret value, '' for a key id"),
        "location_kind": ("file", "file, git_commit, lambda_environment, ecs_task_environment, ssm_parameter, "
                                  "cloudformation_stack, ec2_user_data, cloud_run_environment, "
                                  "cloud_function_environment or app_service_settings"),
        "location": ("", "file path as scanned, or the resource ARN"),
        "line": (0, "first line of the file where it is written (0: not a file)"),
        "lines": ([], "every line of the file where it is written (first 20)"),
        "commit": ("", "the commit that added it (git_commit), '' otherwise"),
        "field": ("", "environment variable (`container/NAME` for ECS) or parameter name"),
        "where": ("", "the location in words: `path:line (commit abc)` or `kind ARN (field)`"),
        "in_cloud": (False, "seen in cloud configuration (not in a scanned tree)"),
        "cloud": ({"provider": "", "account": "", "region": ""}, "where in the cloud it was seen"),
        "secret_nearby": (False, "a key id whose secret half (AWS secret access key, GCP private key) is written "
                                 "next to it: usable as it stands"),
        "matched": ("none", "credential (a credential of the inventory), identity (its identity is known, the "
                            "credential is not collected) or none (not in the collected accounts)"),
        "credential": ({"id": "", "type": "", "exists": False, "active": False, "last_used": "never",
                        "days_unused": -1}, "the inventory credential it is, when matched"),
        "identity": ({"id": "", "name": "", "kind": "", "provider": "", "account": "", "exists": False,
                      "declared": False, "integrations": []}, "the identity it authenticates, when known"),
        "reach": ([], "systems of the policy that identity can reach, directly or through a chain"),
        "reach_systems": ([], "their names"),
        "key": ("", "location and credential (finding identity)"),
    },
}


_TRUST_SHAPE = {
    "principal": "ARN, `*`, service principal, OIDC issuer, service-account email ...",
    "kind": "assume_role, impersonate, owner, federated or service",
    "reason": "where the trust comes from (trust policy statement, binding)",
    "conditions": "list of {operator, key (lower case), values}",
    "pins": "AWS: condition keys (lower case) the trust requires with a listed value: StringEquals / StringLike "
            "/ ArnEquals / ArnLike (or ForAnyValue:), not IfExists, not negated, not only wildcards, e.g. "
            "`sts:externalid`, `aws:principalorgid`; a Null or negated clause pins nothing",
    "principal_account": "AWS account / GCP project of the principal, '' when it names none",
    "cross_account": "the principal's account differs from the identity's",
    "foreign": "the principal's account is outside the scanned inventory",
    "principal_known": "the principal is an identity of the inventory",
    "external": "the principal is outside the identity's own account (see external_trusts)",
    "outside_domains": "a GCP user / group / domain member outside the organisation's domains "
                       "(`defaults.gcp.domains`, `--gcp-domain`, the collected organisation's domain); "
                       "false when no domain is known",
    "federation_pin": "GCP workload identity federation: what pins the trust to one workload (an attribute "
                      "condition on repository / subject / environment, or such a member); Entra federated "
                      "credential: a subject pinned to a repository and environment / ref (a literal `*` never "
                      "matches: pinned), or a claims-matching expression whose patterns all are; '' when nothing",
    "entra_federated": "an Entra federated identity credential (its pin is judged by nhiaudit: `federation_pin`)",
    "key": "kind|principal|reason (finding identity)",
}

# Keys of the entries of list facts and of map facts: documented in docs/rules.md, and used by
# `rules validate` to check `subject.<map>.<key>` references of maps whose default is empty.
SHAPES: dict[SubjectKind, dict[str, dict[str, str]]] = {
    SubjectKind.IDENTITY: {
        "environment_sources": {"environment": "environment name (lower case)",
                                "source": "`tag`, `integration NAME` or `workload KIND:NAME`"},
        "env_crossings": {"environment": "the foreign environment", "systems": "its systems the identity reaches",
                          "access": "highest access: read, write or admin", "via_chain": "one is reached via a chain",
                          "path": "hops to the first system", "key": "the environment (finding identity)"},
        "workloads": {"id": "workload id (ARN ...)", "kind": "lambda, ec2_instance, ecs_task, ecs_task_execution, "
                                                                 "bedrock_agent, bedrock_knowledge_base, "
                                                                 "sagemaker_notebook, sagemaker_endpoint, "
                                                                 "eks_service_account, eks_pod_identity, "
                                                                 "cloud_run, ...",
                      "name": "name", "integration": "its `integration` tag, or ''"},
        "credentials": {"id": "credential id", "type": "credential type", "static": "long-lived secret",
                        "active": "active", "age_days": "days since creation"},
        "ai_access": {"via": "`permission` or `delegated_grant`", "reason": "the statement or grant",
                      "policy_id": "allowing policy (permission)", "actions": "AI actions it matched",
                      "conditional": "the statement has conditions",
                      "wildcard_only": "the statement only grants a full `*` (or NotAction)"},
        "ai_via_chain": {"target": "id of the AI-capable identity at the end", "target_name": "its name",
                         "target_declared": "an integration lists it", "target_integrations": "those integrations",
                         "how": "how it can call AI models", "hops": "the path, one hop per entry",
                         "length": "number of hops"},
        "reach": {"system": "system name", "access": "read, write or admin", "via_chain": "through a chain",
                  "environment": "system environment", "classification": "system classification",
                  "kind": "system kind", "hops": "number of hops", "verdict": "allowed, undeclared, "
                  "must_not_reach or not_in_may_reach", "conditional": "the path rests on a condition nhiaudit "
                  "did not evaluate (access possible, not certain)"},
        "out_of_scope": {"system": "system name", "integration": "the integration whose policy it breaks",
                         "verdict": "must_not_reach or not_in_may_reach", "access": "read, write or admin",
                         "path": "hops, with the statement or trust behind each", "key": "integration/system",
                         "classification": "system classification", "environment": "system environment",
                         "conditional": "the path rests on a condition nhiaudit did not evaluate"},
        "unconditioned_grants": {"integration": "the integration whose require_conditions it breaks",
                                 "system": "system name (in may_reach)", "access": "read, write or admin",
                                 "statement": "the allowing statement, as text", "policy_id": "its policy",
                                 "statement_index": "its index in the policy",
                                 "conditions": "what its conditions test ('' when none)",
                                 "required": "the integration's require_conditions.any_of",
                                 "holder": "identity holding the grant (itself, or the end of its chain)",
                                 "path": "hops, with the statement or trust behind each",
                                 "key": "integration/system/policy#statement"},
        "escalations": {"technique": "technique id", "title": "what it does", "actions": "required actions",
                        "how": "how it is abused", "statements": "allowing statements",
                        "conditional": "every statement allowing some required action has conditions",
                        "target_type": "self, passed_role, principal or workload",
                        "targets": "identities whose privileges it yields (first 5, admins first)",
                        "target_count": "number of targets", "admin_targets": "targets with admin access",
                        "to_admin": "it yields admin: raises its own privileges or reaches an admin target",
                        "key": "technique id (finding identity)"},
        "escalation_path": {"target": "id of the admin(-capable) identity at the end", "target_name": "its name",
                            "target_reason": "why it is admin or how it makes itself admin",
                            "hops": "the path, one hop per entry", "length": "number of hops",
                            "conditional": "some hop rests on a trust condition nhiaudit could not decide"},
        "broad_roles": {"role": "role name (`roles/editor`)", "resource": "where it is bound",
                        "primitive": "Owner or Editor (a basic role)", "conditional": "an unevaluated condition "
                        "narrows it", "reason": "role, resource and binding", "key": "role|resource"},
        "azure_broad_roles": {"role": "Owner, Contributor or User Access Administrator",
                              "scope": "the assignment scope", "policy_id": "the role assignment",
                              "management_group": "the scope is a management group", "key": "policy id|scope"},
        "graph_permissions": {"resource": "resource application (Microsoft Graph)", "permission": "the permission "
                              "(`Mail.Read`)", "grant_id": "the app role assignment or OAuth2 grant",
                              "consent_type": "application, AllPrincipals or Principal",
                              "application": "an application permission (no user involved)",
                              "tenant_wide": "an application permission or tenant-wide admin consent",
                              "high_impact": "reads or writes all mail / files / sites / directory "
                              "(rules/data/azure_graph.yaml)", "escalation": "escalation technique id, or ''",
                              "foreign_app": "the holder is a third party's app (publisher foreign)",
                              "key": "grant id/permission (finding identity)"},
        "trusts": _TRUST_SHAPE,
        "external_trusts": _TRUST_SHAPE,
        "audit_gaps": {"kind": "model_invocations, secret_access or data_access", "requirement": "required",
                       "account": "the account whose settings were read", "system": "data access: the system",
                       "detail": "what is not recorded, in words", "missing": "regions, event sources or resource "
                       "patterns not recorded", "recorded_by": "settings that record part of it",
                       "checked": "every setting considered (trails, logging configurations)",
                       "classification": "data access: the system's classification",
                       "integrations": "the integrations listing the identity", "key": "kind/system or account"},
        "classification": {"class": "human, nhi or unknown", "source": "the step that decided: policy, tag, "
                           "kind, signals or none", "reasons": "why, in words (a list of short sentences)"},
    },
    SubjectKind.SIGHTING: {
        "reach": {"system": "system name", "access": "read, write or admin", "via_chain": "through a chain",
                  "classification": "system classification", "environment": "system environment"},
    },
    SubjectKind.PRINCIPAL: {
        "grants": {"role": "role name", "resource": "where it is bound (canonical name)",
                   "policy_id": "the binding policy", "ai_actions": "AI actions the role grants "
                   "(rules/data/ai_capability.yaml)", "act_as": "the role lets its members act as service "
                   "accounts (reported by the trust rules of those accounts)", "broad_role": "Owner, Editor or a "
                   "`*.admin` role", "conditional": "an unevaluated condition narrows it",
                   "reason": "role, resource and condition", "key": "principal|policy id (finding identity)"},
    },
}


def default_subject(kind: SubjectKind) -> dict[str, Any]:
    return {name: copy.deepcopy(default) for name, (default, _) in FACTS[kind].items()}


def with_defaults(kind: SubjectKind, partial: dict[str, Any]) -> dict[str, Any]:
    """Complete a partial subject (rule test cases) with the documented defaults, nested maps included."""
    full = default_subject(kind)
    for key, value in partial.items():
        if isinstance(value, dict) and isinstance(full.get(key), dict) and key != "tags":
            full[key] = {**full[key], **value}
        else:
            full[key] = value
    return full


# `subject.x` or `subject.x.y`; a `.y(` is a method call (size, exists, ...), not a key.
_REFERENCE = re.compile(r"\bsubject\.([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\())?")


def unknown_fact_references(kind: SubjectKind, expression: str) -> list[str]:
    """`subject.x` / `subject.x.y` references in an expression that are not documented facts."""
    problems = []
    facts = FACTS[kind]
    shapes = SHAPES.get(kind, {})
    for match in _REFERENCE.finditer(expression):
        name, sub = match.group(1), match.group(2)
        if name not in facts:
            problems.append(f"subject.{name}")
            continue
        default = facts[name][0]
        if not sub or not isinstance(default, dict) or name == "tags":
            continue
        keys = default or shapes.get(name, {})
        if keys and sub not in keys:
            problems.append(f"subject.{name}.{sub}")
    return problems
