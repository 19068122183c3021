"""Bucket policies for the synthetic estate (`scan_benchmark.py --resource-policies N`): N buckets the policy's
systems name (`bucket-<20s>-<k>`), owned round-robin by the estate's accounts, each with a statement naming three
roles, one letting in the organisation (`*` with aws:PrincipalOrgID) and the usual Deny of plain HTTP; every
`deny_every` bucket also denies deletes to everyone but one role (NotPrincipal: a Deny that matches every identity,
the costly case: 1 = all buckets)."""

from __future__ import annotations

import random

from nhiaudit.inventory.model import IdentityKind, Provider, Statement
from nhiaudit.inventory.resources import ResourcePolicy, ResourceStatement
from nhiaudit.inventory.snapshot import Snapshot


def add_bucket_policies(snapshot: Snapshot, count: int, seed: int = 11, deny_every: int = 10) -> Snapshot:
    rng = random.Random(seed)
    roles = [i.id for i in snapshot.identities if i.kind is IdentityKind.ROLE]
    accounts = sorted({s.account for s in snapshot.sources})
    records = []
    for k in range(count):
        arn = f"arn:aws:s3:::bucket-{(k % 10) * 20}-{k}"
        objects = (arn, f"{arn}/*")
        statements = (
            ResourceStatement(index=0, principals=tuple(rng.sample(roles, 3)), statement=Statement(
                actions=("s3:GetObject", "s3:PutObject"), resources=objects, sid="Named")),
            ResourceStatement(index=1, principals=("*",), statement=Statement(
                actions=("s3:GetObject",), resources=objects, sid="Org",
                conditions={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})),
            ResourceStatement(index=2, principals=("*",), statement=Statement(
                effect="Deny", actions=("s3:*",), resources=objects, sid="DenyInsecureTransport",
                conditions={"Bool": {"aws:SecureTransport": "false"}})),
        )
        if k % deny_every == 0:
            statements += (ResourceStatement(index=3, principals=(rng.choice(roles),), not_principal=True,
                                             statement=Statement(effect="Deny", actions=("s3:DeleteObject",),
                                                                 resources=objects, sid="OnlyAdminDeletes")),)
        records.append(ResourcePolicy(id=arn, provider=Provider.AWS, account=accounts[k % len(accounts)],
                                      service="s3", statements=statements))
    return snapshot.model_copy(update={"resource_policies": records})
