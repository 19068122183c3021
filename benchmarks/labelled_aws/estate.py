"""Assemble the whole labelled estate: accounts, their groups, planted shapes, cross-account pairs, bulk."""

from __future__ import annotations

import random

from benchmarks.labelled_aws import documents as d
from benchmarks.labelled_aws import shapes_audit as audit
from benchmarks.labelled_aws import shapes_resources as resources
from benchmarks.labelled_aws import shapes_roles as roles
from benchmarks.labelled_aws.builder import AccountBuilder
from benchmarks.labelled_aws.catalogue import BULK, CROSS_ACCOUNT_PER_1000, CROSS_PAIRS, PLANTED, count
from benchmarks.labelled_aws.model import Account, Estate, Group
from benchmarks.labelled_aws.systems import ENVIRONMENTS

DEFAULT_AS_OF = "2026-11-28"
DEFAULT_SEED = 11
_FIRST_ACCOUNTS = ("111122223333", "444455556666", "777788889999")


class EstateTooSmall(ValueError):
    """The requested size cannot hold every planted shape."""


def account_ids(k: int) -> list[str]:
    more = [f"{210000000000 + i * 1234567:012d}" for i in range(max(0, k - len(_FIRST_ACCOUNTS)))]
    return [*_FIRST_ACCOUNTS, *more][:k]


def _sizes(total: int, k: int) -> list[int]:
    return [total // k + (1 if i < total % k else 0) for i in range(k)]


def _groups(b: AccountBuilder) -> list[Group]:
    acct, env = b.account, b.env
    dev_tools = d.document(d.allow(["logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogGroups",
                                    "cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "ecs:DescribeServices",
                                    "ecs:ListServices", "lambda:GetFunction", "lambda:ListFunctions"], "*"))
    analytics = d.document(
        d.allow(["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                 "glue:GetTable", "glue:GetTables", "glue:GetDatabase"], "*"),
        d.allow(["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::acme-{env}-dwh", f"arn:aws:s3:::acme-{env}-dwh/*"]))
    return [
        Group(acct, "admins", managed=(d.ADMIN,)),
        Group(acct, "developers", managed=(d.S3_READ, d.ECR_READ), inline=(("developer-tools", dev_tools),)),
        Group(acct, "readonly", managed=(d.S3_READ,)),
        Group(acct, "data-analysts", inline=(("analytics", analytics),)),
    ]


def _bulk_plan(rest: int) -> list[int]:
    """Largest-remainder split of `rest` over the BULK shares (deterministic)."""
    total = sum(share for _, share in BULK)
    exact = [rest * share / total for _, share in BULK]
    counts = [int(x) for x in exact]
    order = sorted(range(len(BULK)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: rest - sum(counts)]:
        counts[i] += 1
    return counts


def build_estate(principals: int = 3000, accounts: int = 3, seed: int = DEFAULT_SEED,
                 as_of: str = DEFAULT_AS_OF) -> Estate:
    if accounts < 1:
        raise EstateTooSmall("--accounts must be at least 1")
    rng = random.Random(seed)
    estate = Estate(as_of=as_of, seed=seed,
                    accounts=[Account(a, ENVIRONMENTS[i % len(ENVIRONMENTS)])
                              for i, a in enumerate(account_ids(accounts))])
    builders = [AccountBuilder(estate, a, rng) for a in estate.accounts]
    sizes = _sizes(principals, accounts)
    estate.systems.update(resources.systems())
    for b, size in zip(builders, sizes, strict=True):
        estate.groups.extend(_groups(b))
        audit.account_audit(b)
        roles.admin_service_role(b, service="lambda")  # PassRole to Lambda then reaches an administrator
        roles.sso_roles(b)
        for shape, per_1000 in PLANTED:
            for _ in range(count(per_1000, size)):
                shape(b)
    if accounts > 1:
        for i, b in enumerate(builders):
            for _ in range(count(CROSS_ACCOUNT_PER_1000, sizes[i])):
                roles.cross_account_deploy(b, builders[(i + 1) % accounts])
            for shape, per_1000 in CROSS_PAIRS:
                for _ in range(count(per_1000, sizes[i])):
                    shape(b, builders[(i + 1) % accounts])
    for b, size in zip(builders, sizes, strict=True):
        rest = size - sum(1 for p in estate.principals if p.account == b.account)
        if rest < 0:
            raise EstateTooSmall(f"{size} principals per account cannot hold the planted shapes "
                                 f"({size - rest}); ask for more principals or fewer accounts")
        for (shape, _), n in zip(BULK, _bulk_plan(rest), strict=True):
            for _ in range(n):
                shape(b)
    return estate
