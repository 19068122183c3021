"""Generate a synthetic org-wide estate (snapshot + policy) for benchmarks.

    .venv/bin/python benchmarks/generate_estate.py --identities 10000 --out /tmp/estate

Deterministic (seeded). Shape: AWS users and roles spread over accounts, shared customer policies,
AdministratorAccess on a few, role chains through account-root trust, access keys on users, GCP service
accounts; a policy with integrations bound to some roles and systems matching some buckets.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nhiaudit.inventory.model import (
    Credential,
    CredentialType,
    Identity,
    IdentityKind,
    Policy,
    Provider,
    SourceInfo,
    Statement,
    Trust,
    TrustKind,
)
from nhiaudit.inventory.snapshot import Snapshot

NOW = datetime(2026, 11, 28, tzinfo=UTC)
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "dynamodb:GetItem", "dynamodb:PutItem", "sqs:SendMessage",
           "lambda:InvokeFunction", "bedrock:InvokeModel", "kms:Decrypt", "ec2:Describe*", "logs:PutLogEvents",
           "iam:PassRole", "s3:*", "secretsmanager:GetSecretValue", "sqs:ReceiveMessage", "sns:Publish"]


def generate(n_identities: int, n_policies: int = 300, n_accounts: int | None = None,
             seed: int = 7) -> tuple[Snapshot, str]:
    rng = random.Random(seed)
    n_accounts = n_accounts or max(1, n_identities // 500)
    accounts = [f"{100000000000 + i * 7919:012d}" for i in range(n_accounts)]
    policies = [Policy(id="arn:aws:iam::aws:policy/AdministratorAccess", provider=Provider.AWS,
                       name="AdministratorAccess", kind="managed",
                       statements=(Statement(actions=("*",), resources=("*",)),))]
    for p in range(n_policies):
        statements = []
        for s in range(rng.randint(1, 4)):
            acts = tuple(rng.sample(ACTIONS, rng.randint(1, 3)))
            bucket = f"arn:aws:s3:::bucket-{rng.randint(0, 200)}*"
            res = ("*",) if rng.random() < 0.3 else (bucket, f"arn:aws:dynamodb:*:*:table/t{rng.randint(0, 50)}")
            statements.append(Statement(actions=acts, resources=res, sid=f"S{s}"))
        if rng.random() < 0.08:  # a few policies let their holders assume roles of the account
            statements.append(Statement(actions=("sts:AssumeRole",), resources=(
                f"arn:aws:iam::{accounts[p % n_accounts]}:role/*" if rng.random() < 0.5 else "*",)))
        if rng.random() < 0.1:
            statements.append(Statement(effect="Deny", actions=("s3:DeleteObject",), resources=("*",)))
        policies.append(Policy(id=f"arn:aws:iam::{accounts[p % n_accounts]}:policy/p{p}", provider=Provider.AWS,
                               name=f"p{p}", statements=tuple(statements)))
    identities, credentials, trusts = [], [], []
    for i in range(n_identities):
        account = accounts[i % n_accounts]
        r = rng.random()
        attached = tuple(policies[rng.randint(1, n_policies)].id for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.01:
            attached += (policies[0].id,)
        created = NOW - timedelta(days=rng.randint(1, 1500))
        last = None if rng.random() < 0.2 else NOW - timedelta(days=rng.randint(0, 400))
        if r < 0.6:
            kind, ident_id = IdentityKind.ROLE, f"arn:aws:iam::{account}:role/r{i}"
        elif r < 0.9:
            kind, ident_id = IdentityKind.USER, f"arn:aws:iam::{account}:user/u{i}"
        else:
            kind, ident_id = IdentityKind.SERVICE_ACCOUNT, f"sa{i}@proj-{account}.iam.gserviceaccount.com"
        provider = Provider.GCP if kind is IdentityKind.SERVICE_ACCOUNT else Provider.AWS
        identities.append(Identity(id=ident_id, provider=provider, account=account, kind=kind,
                                   name=ident_id.split("/")[-1],
                                   created=created, last_activity=last,
                                   policy_ids=attached if provider is Provider.AWS else (),
                                   tags={"environment": rng.choice(["prod", "dev", "staging"])}))
        if kind is IdentityKind.USER:
            for k in range(rng.randint(0, 2)):
                credentials.append(Credential(id=f"AKIA{i:012d}{k:04d}", identity_id=ident_id, provider=Provider.AWS,
                                              type=CredentialType.ACCESS_KEY,
                                              created=created + timedelta(days=rng.randint(0, 30)),
                                              last_used=last, active=rng.random() < 0.8))
        if kind is IdentityKind.ROLE:
            if rng.random() < 0.15:
                trusts.append(Trust(identity_id=ident_id, principal=f"arn:aws:iam::{account}:root",
                                    kind=TrustKind.ASSUME_ROLE, reason=f"trust policy of {ident_id}, statement 0"))
            elif i > 10 and rng.random() < 0.5:
                other = identities[rng.randint(0, i - 1)]
                if other.provider is Provider.AWS:
                    trusts.append(Trust(identity_id=ident_id, principal=other.id, kind=TrustKind.ASSUME_ROLE,
                                        reason=f"trust policy of {ident_id}, statement 0"))
            else:
                trusts.append(Trust(identity_id=ident_id, principal="lambda.amazonaws.com", kind=TrustKind.SERVICE,
                                    reason=f"trust policy of {ident_id}, statement 0"))
    snapshot = Snapshot(generated_at=NOW, sources=[SourceInfo(provider=Provider.AWS, account=a, method="synthetic")
                                                   for a in accounts],
                        identities=identities, credentials=credentials, policies=policies, trusts=trusts)
    roles = [x.id for x in identities if x.kind is IdentityKind.ROLE]
    lines = ["version: 1", "defaults:", "  credentials: {max_age_days: 90, max_unused_days: 30}", "systems:"]
    for s in range(10):
        lines += [f"  sys{s}:", f"    environment: {'prod' if s % 2 else 'dev'}",
                  f"    resources: [\"arn:aws:s3:::bucket-{s * 20}*\"]"]
    lines += ["  models:", "    kind: ai-model", "    resources: [\"arn:aws:bedrock:*::foundation-model/*\"]"]
    lines.append("integrations:")
    for k in range(20):
        bound = rng.sample(roles, 3)
        lines += [f"  - name: agent-{k}", "    environment: prod", f"    identities: {bound!r}".replace("'", '"'),
                  "    may_reach: [models, sys1]", "    must_not_reach: [sys2]"]
    return snapshot, "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("/tmp/nhiaudit-estate"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    snapshot, policy = generate(args.identities, args.policies)
    snapshot.write(args.out / "snapshot.json")
    (args.out / "policy.yaml").write_text(policy, encoding="utf-8")
    print(f"wrote {args.out}/snapshot.json ({len(snapshot.identities)} identities) and policy.yaml")


if __name__ == "__main__":
    main()
