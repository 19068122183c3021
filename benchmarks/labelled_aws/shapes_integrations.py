"""Declared AI integrations (roles and users) and the identities around them: in scope, scope drift,
environment crossings, reuse, stale entries, forbidden static keys, human use, wildcards, chains."""

from __future__ import annotations

from typing import Any

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws import systems as s
from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.model import NHI, Expected, Integration
from benchmarks.labelled_aws.shapes_roles import BEDROCK

AI_WORDS = ("copilot", "summariser", "assistant", "agent", "classifier", "chatbot", "triage")
AI_APPS = ("support", "tickets", "contracts", "claims", "invoices", "search", "catalog", "hr", "sales", "docs")
Statements = list[dict[str, Any]]


def _names(b: AccountBuilder, kind: str) -> tuple[str, str]:
    """(identity name, integration name): the integration is named after its identity and environment."""
    base = b.names.take("ai", f"{b.rng.choice(AI_APPS)}-{b.rng.choice(AI_WORDS)}")  # unique over users and roles
    name = b.names.take(kind, base)
    return name, f"{name}-{b.env}-{b.account.id[-4:]}"


def _grants(b: AccountBuilder, extra: Statements) -> tuple[tuple[str, dict[str, Any]], ...]:
    return (("ai-access", d.document(BEDROCK, b.tickets_read(), *extra)),)


def _integration(b: AccountBuilder, name: str, identities: tuple[str, ...], plant: str, *,
                 may_reach: tuple[str, ...] = (), static_keys: str | None = None,
                 env: str | None = None, expected: tuple[Expected, ...] = (),
                 extra: tuple[tuple[str, Any], ...] = ()) -> Integration:
    env = env or b.env
    return b.integrate(Integration(
        name=name, environment=env, identities=identities,
        may_reach=(s.MODELS, s.system(env, "support-tickets"), *may_reach),
        must_not_reach=(s.system(env, "customer-data"),), kind=b.rng.choice(("agent", "copilot", "integration")),
        owner=f"{b.rng.choice(('support-eng', 'ml-platform', 'data', 'legal-eng'))}@acme.example",
        purpose="answers and summarises with Bedrock models", static_keys=static_keys, plant=plant,
        expected=expected, extra=extra))


def declared_role(b: AccountBuilder, plant: str, *, extra: Statements | None = None,
                  expected: tuple[Expected, ...] = (), may_reach: tuple[str, ...] = (),
                  tags: tuple[tuple[str, str], ...] | None = None, traits: tuple[str, ...] = ()) -> str:
    name, integration = _names(b, "role")
    role = b.service_role(plant, service=b.rng.choice(("lambda", "ecs")), name=name,
                          inline=_grants(b, extra or []),
                          tags=tags if tags is not None else b.workload_tags(env=b.rng.random() < 0.5),
                          traits=("declared", "ai", *traits), expected=expected)
    _integration(b, integration, (role.arn,), plant, may_reach=may_reach, static_keys="forbidden")
    return role.arn


def declared_user(b: AccountBuilder, plant: str, *, extra: Statements | None = None,
                  expected: tuple[Expected, ...] = (), static_keys: str | None = None, console: bool = False,
                  traits: tuple[str, ...] = ()) -> str:
    name, integration = _names(b, "user")
    user = b.user(name, plant, NHI, path="/service/", tags=b.workload_tags(env=b.rng.random() < 0.5),
                  inline=_grants(b, extra or []), keys=(b.fresh_key(("bedrock", "s3")),),
                  console=b.console(mfa=False) if console else None,
                  traits=("declared", "ai", "access-key", *traits), expected=expected)
    _integration(b, integration, (user.arn,), plant, static_keys=static_keys)
    return user.arn


def _read(env: str, suffix: str) -> dict[str, Any]:
    return d.allow(["s3:GetObject", "s3:ListBucket"], [s.bucket(env, suffix), s.objects(env, suffix)])


def integration_role_clean(b: AccountBuilder) -> None:
    declared_role(b, "integration-role")


def integration_user_clean(b: AccountBuilder) -> None:
    declared_user(b, "integration-user")


def _drift(b: AccountBuilder, suffix: str, rule: str, why: str) -> None:
    extra = [_read(b.env, suffix)]
    plant = f"integration-{suffix}"
    expected = (Expected(rule, why),)
    if b.rng.random() < 0.6:
        declared_role(b, plant + "-role", extra=extra, expected=expected, traits=("scope-drift",))
    else:
        declared_user(b, plant + "-user", extra=extra, expected=expected, traits=("scope-drift",))


def scope_forbidden(b: AccountBuilder) -> None:
    _drift(b, "customer-data", "scope-forbidden-system",
           f"reads {s.system(b.env, 'customer-data')}, which its integration's must_not_reach lists")


def scope_not_allowed(b: AccountBuilder) -> None:
    _drift(b, "finance-reports", "scope-not-allowed-system",
           f"reads {s.system(b.env, 'finance-reports')}, which its integration's may_reach does not list")


def env_other_listed(b: AccountBuilder) -> None:
    other = s.other_nonprod(b.env)
    declared_role(b, "integration-env-other-listed", extra=[_read(other, "support-tickets")],
                  may_reach=(s.system(other, "support-tickets"),), traits=("env-crossing",),
                  expected=(Expected("env-reaches-other-environment",
                                     f"{b.env} integration identity reads {other} support tickets "
                                     "(allowed by may_reach, still an environment crossing)"),))


def env_other_unlisted(b: AccountBuilder) -> None:
    other = s.other_nonprod(b.env)
    target = s.system(other, "support-tickets")
    declared_role(b, "integration-env-other-unlisted", extra=[_read(other, "support-tickets")],
                  traits=("env-crossing", "scope-drift"),
                  expected=(Expected("env-reaches-other-environment",
                                     f"{b.env} integration identity reads {other} support tickets"),
                            Expected("scope-not-allowed-system", f"reads {target}, not in may_reach")))


def env_multiple(b: AccountBuilder) -> None:
    other = s.other_nonprod(b.env)
    tags = (("kind", "workload"), ("owner", "ml-platform@acme.example"), ("environment", other))
    declared_role(b, "integration-env-multiple", tags=tags, traits=("env-tag-mismatch",),
                  expected=(Expected("env-multiple-environments",
                                     f"tagged environment={other}, listed by a {b.env} integration"),))


def reused_identity(b: AccountBuilder) -> None:
    arn = declared_role(b, "integration-reused", traits=("reused",),
                        expected=(Expected("identity-reused-across-integrations",
                                           "listed by two integrations"),))
    _, second = _names(b, "role")
    _integration(b, second + "-b", (arn,), "integration-reused-second", static_keys="forbidden")


def stale_entry(b: AccountBuilder) -> None:
    gone = b.names.take("role", b.names.take("ai", f"{b.rng.choice(AI_APPS)}-{b.rng.choice(AI_WORDS)}-legacy"))
    integration = f"{gone}-{b.env}-{b.account.id[-4:]}"
    _integration(b, integration, (b.arn("role", gone),), "integration-stale",
                 expected=(Expected("policy-unknown-identity", f"lists role {gone}, which does not exist"),))


def static_key_forbidden(b: AccountBuilder) -> None:
    declared_user(b, "integration-static-forbidden", static_keys="forbidden", traits=("static-forbidden",),
                  expected=(Expected("static-key-forbidden",
                                     "active access key; its integration says static_keys: forbidden"),))


def declared_user_console(b: AccountBuilder) -> None:
    declared_user(b, "integration-user-console", console=True, traits=("console",),
                  expected=(Expected("human-use-of-nhi", "an integration's user also has a console password"),))


def wildcard(b: AccountBuilder) -> None:
    declared_role(b, "integration-wildcard", extra=[d.allow("bedrock:*", "*")], traits=("wildcard",),
                  expected=(Expected("ai-identity-wildcard", "integration identity holds bedrock:* on *"),))


def chain_to_forbidden(b: AccountBuilder) -> None:
    """A declared role that may assume a (clean, undeclared) exporter role reading customer data."""
    exporter = b.names.workload("role", function="exporter")
    arn = declared_role(b, "integration-chain-forbidden",
                        extra=[d.allow("sts:AssumeRole", b.arn("role", exporter))], traits=("assume-role",),
                        expected=(Expected("scope-forbidden-system",
                                           f"through {exporter} it reads {s.system(b.env, 'customer-data')}, "
                                           "which its integration forbids"),))
    b.role(exporter, "chain-exporter", d.trust({"AWS": arn}), tags=b.workload_tags(env=True),
           inline=(("export", d.document(_read(b.env, "customer-data"))),), traits=("chain-target",))


def ai_chain_undeclared(b: AccountBuilder) -> None:
    """A role that may assume an undeclared AI role: both are shadow AI."""
    source = b.names.workload("role")
    ai = b.names.workload("role", function="bot")
    role = b.service_role("ai-chain-source", name=source, tags=b.workload_tags(env=False),
                          inline=(b.app_policy(source.split("-")[0]),
                                  ("assume-ai", d.document(d.allow("sts:AssumeRole", b.arn("role", ai))))),
                          traits=("assume-role",),
                          expected=(Expected("ai-undeclared-via-chain",
                                             f"may assume {ai}, which calls Bedrock models"),))
    b.role(ai, "ai-chain-target", d.trust({"AWS": role.arn}), tags=b.workload_tags(env=False),
           inline=(("bedrock-invoke", d.document(BEDROCK)),), traits=("ai",),
           expected=(Expected("ai-undeclared", "bedrock:InvokeModel and no integration declares it"),))


def ai_chain_declared(b: AccountBuilder) -> None:
    """A role that may assume a declared integration's role: it rides on an approved AI path."""
    name, integration = _names(b, "role")
    source = b.names.workload("role")
    b.role(name, "ai-chain-declared-target",
           d.document({"Effect": "Allow", "Principal": {"Service": d.SERVICES["lambda"]}, "Action": "sts:AssumeRole"},
                      {"Effect": "Allow", "Principal": {"AWS": b.arn("role", source)}, "Action": "sts:AssumeRole"}),
           managed=(d.LAMBDA_BASIC,), inline=_grants(b, []), tags=b.workload_tags(env=False),
           traits=("declared", "ai"))
    _integration(b, integration, (b.arn("role", name),), "ai-chain-declared-target", static_keys="forbidden")
    b.service_role("ai-chain-declared-source", name=source, tags=b.workload_tags(env=False), path="/",
                   inline=(b.app_policy(source.split("-")[0]),
                           ("assume-ai", d.document(d.allow("sts:AssumeRole", b.arn("role", name))))),
                   traits=("assume-role",),
                   expected=(Expected("ai-undeclared-via-chain",
                                      f"may assume {name}, the role of integration {integration}"),))
