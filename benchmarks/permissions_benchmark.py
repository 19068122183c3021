"""Micro benchmark: 10,000 identities sharing 300 policies, evaluated against 10 systems.

Run: .venv/bin/python benchmarks/permissions_benchmark.py   (target: evaluation < 2 s)
"""

from __future__ import annotations

import random
import resource
import time

from nhiaudit.inventory.model import Identity, Policy, Statement
from nhiaudit.permissions import Evaluator, default_catalogue

SYSTEMS = {
    "customer-pii": ("arn:aws:s3:::acme-customer-pii*", "arn:aws:dynamodb:*:*:table/customers"),
    "billing": ("arn:aws:dynamodb:*:*:table/billing*",),
    "bedrock-models": ("arn:aws:bedrock:*::foundation-model/*",),
    "secrets": ("arn:aws:secretsmanager:*:*:secret:prod/*",),
    "kms-prod": ("arn:aws:kms:*:111122223333:key/*",),
    "deploy-role": ("arn:aws:iam::111122223333:role/deploy",),
    "logs": ("arn:aws:s3:::acme-logs/*", "arn:aws:logs:*:*:log-group:/prod/*"),
    "queues": ("arn:aws:sqs:*:*:orders-*",),
    "lambda": ("arn:aws:lambda:*:*:function:prod-*",),
    "sagemaker": ("arn:aws:sagemaker:*:*:endpoint/*",),
}
SERVICES = ["s3", "dynamodb", "bedrock", "secretsmanager", "kms", "sqs", "lambda", "sagemaker", "logs", "ec2"]
VERBS = ["Get*", "List*", "Describe*", "Put*", "Delete*", "Invoke*", "*", "Create*", "Update*"]
RESOURCES = [
    "*",
    "arn:aws:s3:::acme-*",
    "arn:aws:s3:::acme-logs/*",
    "arn:aws:dynamodb:*:*:table/*",
    "arn:aws:secretsmanager:*:*:secret:prod/*",
    "arn:aws:kms:*:*:key/*",
    "arn:aws:sqs:*:*:*",
    "arn:aws:lambda:*:*:function:*",
    "arn:aws:bedrock:*::foundation-model/anthropic.*",
    "arn:aws:iam::111122223333:role/*",
    "arn:aws:sagemaker:*:*:endpoint/prod-*",
]


def make_policies(rng: random.Random, n: int = 300) -> dict[str, Policy]:
    policies = {}
    for i in range(n):
        stmts = []
        for _ in range(rng.randint(1, 4)):
            svc = rng.choice(SERVICES)
            actions = tuple(f"{svc}:{rng.choice(VERBS)}" for _ in range(rng.randint(1, 3)))
            roll = rng.random()
            if roll < 0.1:
                stmts.append(Statement(effect="Deny", actions=actions, resources=(rng.choice(RESOURCES),)))
            elif roll < 0.15:
                stmts.append(Statement(not_actions=("iam:*", "organizations:*"), resources=("*",)))
            elif roll < 0.25:
                stmts.append(
                    Statement(
                        actions=actions,
                        resources=(rng.choice(RESOURCES),),
                        conditions={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
                    )
                )
            else:
                stmts.append(Statement(actions=actions, resources=tuple(rng.sample(RESOURCES, 2))))
        if i % 50 == 0:
            stmts = [Statement(actions=("*",), resources=("*",))]
        if i % 37 == 0:
            stmts.append(
                Statement(actions=("sts:AssumeRole", "iam:PassRole"), resources=("arn:aws:iam::*:role/*",))
            )
        pid = f"arn:aws:iam::111122223333:policy/p{i}"
        policies[pid] = Policy(id=pid, provider="aws", name=f"p{i}", kind="customer", statements=tuple(stmts))
    return policies


def make_identities(rng: random.Random, policy_ids: list[str], n: int = 10_000) -> list[Identity]:
    out = []
    for i in range(n):
        attached = tuple(rng.sample(policy_ids, rng.randint(1, 5)))
        boundary = rng.choice(policy_ids) if i % 10 == 0 else None
        out.append(
            Identity(
                id=f"arn:aws:iam::111122223333:role/r{i}",
                provider="aws",
                account="111122223333",
                kind="role",
                name=f"r{i}",
                policy_ids=attached,
                boundary_policy_id=boundary,
            )
        )
    return out


def main() -> None:
    rng = random.Random(7)
    policies = make_policies(rng)
    identities = make_identities(rng, list(policies))
    t0 = time.perf_counter()
    evaluator = Evaluator(policies, default_catalogue())
    reached = 0
    for identity in identities:
        for patterns in SYSTEMS.values():
            if evaluator.reach(identity, patterns) is not None:
                reached += 1
    t1 = time.perf_counter()
    ai = sum(
        1
        for identity in identities
        if evaluator.allowed_actions(identity, ("bedrock:InvokeModel*", "sagemaker:InvokeEndpoint"))
    )
    admins = sum(1 for identity in identities if evaluator.is_admin(identity))
    t2 = time.perf_counter()
    pm = sum(1 for identity in identities if evaluator.permissions_management_actions(identity))
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"catalogue data {evaluator.catalogue.data_version}")
    print(
        f"reach: {len(identities)} identities x {len(SYSTEMS)} systems in {t1 - t0:.2f} s "
        f"({reached} reachable pairs)"
    )
    print(f"AI capability + is_admin: {t2 - t1:.2f} s ({ai} AI-capable, {admins} admins)")
    print(f"permissions management: {t3 - t2:.2f} s ({pm} identities)")
    print(f"total {t3 - t0:.2f} s, peak RSS {peak:.0f} MiB (whole process)")


if __name__ == "__main__":
    main()
