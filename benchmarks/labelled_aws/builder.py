"""One account's builder: the shared vocabulary of the shapes (tags, fresh keys, clean grants)."""

from __future__ import annotations

import random
from typing import Any

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws import systems
from benchmarks.labelled_aws.model import (
    HUMAN,
    NHI,
    Account,
    Console,
    CustomerPolicy,
    Estate,
    Expected,
    Integration,
    Key,
    Principal,
)
from benchmarks.labelled_aws.names import TEAMS, Names

REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "us-west-2")
WORKLOAD_SERVICES = ("s3", "dynamodb", "sqs", "sns", "secretsmanager", "kms")
HUMAN_SERVICES = ("s3", "ec2", "sts", "cloudformation", "logs", "ecr")
# Thresholds of the written policy (policy.yaml writes them out): values stay far from them.
MAX_AGE_DAYS, MAX_UNUSED_DAYS, GRACE_DAYS = 90, 30, 7


class AccountBuilder:
    def __init__(self, estate: Estate, account: Account, rng: random.Random) -> None:
        self.estate = estate
        self.account = account
        self.rng = rng
        self.names = Names(rng)
        self.region = REGIONS[estate.accounts.index(account) % len(REGIONS)]

    # --- records -------------------------------------------------------------------------------------

    def add(self, principal: Principal) -> Principal:
        self.estate.principals.append(principal)
        return principal

    def integrate(self, integration: Integration) -> Integration:
        self.estate.integrations.append(integration)
        return integration

    def customer_policy(self, name: str, document: dict[str, Any]) -> str:
        """A customer-managed policy of the account (created once); returns its ARN."""
        for policy in self.estate.customer_policies:
            if policy.account == self.account and policy.name == name:
                return policy.arn
        policy = CustomerPolicy(self.account, name, document)
        self.estate.customer_policies.append(policy)
        return policy.arn

    @property
    def env(self) -> str:
        return self.account.environment

    def arn(self, kind: str, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.account.id}:{kind}{path}{name}"

    # --- tags ----------------------------------------------------------------------------------------

    def human_tags(self, tagged: bool | None = None) -> tuple[tuple[str, str], ...]:
        """People: tagged kind=human about 80% of the time, else untagged."""
        if tagged is None:
            tagged = self.rng.random() < 0.8
        if not tagged:
            return ()
        return (("kind", "human"), ("team", self.rng.choice(TEAMS)))

    def workload_tags(self, tagged: bool | None = None, env: bool | None = None,
                      team: str | None = None) -> tuple[tuple[str, str], ...]:
        """Workloads: tagged kind=workload about 70% of the time; an environment tag (their account's)
        about 60%; always an owner."""
        if tagged is None:
            tagged = self.rng.random() < 0.7
        if env is None:
            env = self.rng.random() < 0.6
        team = team or self.rng.choice(TEAMS)
        tags: list[tuple[str, str]] = [("owner", f"{team}@acme.example"), ("team", team)]
        if tagged:
            tags.insert(0, ("kind", "workload"))
        if env:
            tags.append(("environment", self.env))
        return tuple(tags)

    # --- credentials ---------------------------------------------------------------------------------

    def fresh_key(self, services: tuple[str, ...] = WORKLOAD_SERVICES) -> Key:
        """Rotated within the age limit and used in the last days: nothing to report."""
        return Key(True, self.rng.randint(GRACE_DAYS + 3, MAX_AGE_DAYS - 15), self.rng.randint(0, 6),
                   self.rng.choice(services), self.region)

    def console(self, mfa: bool = True, used: bool = True) -> Console:
        return Console(self.rng.randint(0, 14) if used else None, mfa)

    def created(self, low: int = 120, high: int = 1800) -> int:
        return self.rng.randint(low, high)

    def recent(self) -> int:
        return self.rng.randint(0, 12)

    # --- clean grants --------------------------------------------------------------------------------

    def app_policy(self, app: str) -> tuple[str, dict[str, Any]]:
        """Least-privilege grants of one application: its own bucket, table, queue, secret and key, all
        outside the policy's systems."""
        acct, region, env = self.account.id, self.region, self.env
        picks = self.rng.sample(range(5), self.rng.randint(2, 4))
        stmts = []
        if 0 in picks:
            stmts.append(d.allow(["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                                 [f"arn:aws:s3:::acme-{env}-{app}-data", f"arn:aws:s3:::acme-{env}-{app}-data/*"]))
        if 1 in picks:
            stmts.append(d.allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                                 f"arn:aws:dynamodb:{region}:{acct}:table/{app}-*"))
        if 2 in picks:
            stmts.append(d.allow(["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                                  "sqs:GetQueueAttributes"], f"arn:aws:sqs:{region}:{acct}:{app}-*"))
        if 3 in picks:
            stmts.append(d.allow("secretsmanager:GetSecretValue",
                                 f"arn:aws:secretsmanager:{region}:{acct}:secret:{app}/*"))
        if 4 in picks:
            stmts.append(d.allow(["sns:Publish"], f"arn:aws:sns:{region}:{acct}:{app}-events"))
        return f"{app}-access", d.document(*stmts)

    def tickets_read(self, env: str | None = None) -> dict[str, Any]:
        env = env or self.env
        return d.allow(["s3:GetObject", "s3:ListBucket"],
                       [systems.bucket(env, "support-tickets"), systems.objects(env, "support-tickets")])

    # --- principals ----------------------------------------------------------------------------------

    def role(self, name: str, plant: str, trust: dict[str, Any], *, tags: tuple[tuple[str, str], ...] = (),
             inline: tuple[tuple[str, dict[str, Any]], ...] = (), managed: tuple[str, ...] = (),
             last_used: int | str | None = "recent", path: str = "/", instance_profile: bool = False,
             boundary: str | None = None, traits: tuple[str, ...] = (), expected: tuple[Expected, ...] = (),
             cls: str = NHI, unknown_actions: tuple[str, ...] = ()) -> Principal:
        used = self.recent() if last_used == "recent" else last_used
        assert used is None or isinstance(used, int)
        return self.add(Principal(
            account=self.account, kind="role", name=name, cls=cls, plant=plant,
            created_days=max(self.created(), (used or 0) + 30),
            path=path, tags=tags, inline=inline, managed=managed, trust=trust, last_used_days=used,
            instance_profile=instance_profile, boundary=boundary, unknown_actions=unknown_actions, traits=traits,
            expected=expected))

    def user(self, name: str, plant: str, cls: str, *, tags: tuple[tuple[str, str], ...] = (),
             inline: tuple[tuple[str, dict[str, Any]], ...] = (), managed: tuple[str, ...] = (),
             groups: tuple[str, ...] = (), console: Console | None = None, keys: tuple[Key, ...] = (),
             path: str = "/", traits: tuple[str, ...] = (), expected: tuple[Expected, ...] = ()) -> Principal:
        oldest = max([k.age_days for k in keys] + [console.last_used_days or 0 if console else 0])
        return self.add(Principal(
            account=self.account, kind="user", name=name, cls=cls, plant=plant,
            created_days=max(self.created(), oldest + 30),
            path=path, tags=tags, inline=inline, managed=managed, groups=groups, console=console, keys=keys,
            traits=traits, expected=expected))

    def human(self, plant: str, **kw: Any) -> Principal:
        kw.setdefault("tags", self.human_tags())
        kw.setdefault("managed", (d.CHANGE_PASSWORD,))
        return self.user(self.names.person(), plant, HUMAN, **kw)

    def service_role(self, plant: str, *, service: str | None = None, name: str | None = None,
                     **kw: Any) -> Principal:
        """A role a compute service assumes (Lambda, ECS task, EC2 instance), with its usual managed policy."""
        service = service or self.rng.choice(("lambda", "lambda", "ecs", "ec2"))
        base = {"lambda": (d.LAMBDA_BASIC,), "ecs": (d.ECS_EXECUTION,), "ec2": (d.SSM_CORE,)}[service]
        kw["managed"] = base + tuple(kw.get("managed", ()))
        kw.setdefault("tags", self.workload_tags())
        path = "/service-role/" if service == "lambda" and self.rng.random() < 0.3 else "/"
        kw.setdefault("path", path)
        return self.role(name or self.names.workload("role"), plant, d.service_trust(service),
                         instance_profile=service == "ec2", **kw)
