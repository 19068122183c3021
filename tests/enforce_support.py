"""Helpers for the `nhiaudit enforce` tests: the real CLI, and small synthetic AWS estates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.inventory.model import Identity, IdentityKind, Policy, Provider, Statement
from nhiaudit.inventory.snapshot import Snapshot

ROOT = Path(__file__).resolve().parent.parent
DEMO_SNAPSHOT = ROOT / "examples" / "demo" / "snapshot.json"
DEMO_POLICY = ROOT / "examples" / "demo" / "policy.yaml"
AS_OF = "2026-11-30"
ACCOUNT = "111122223333"


def enforce(*args: str) -> Any:
    """`nhiaudit enforce ARGS --as-of AS_OF` through the real CLI (stderr kept apart)."""
    return CliRunner().invoke(build_app(), ["enforce", *args, "--as-of", AS_OF, "--quiet"])


def enforce_json(snapshot: Path, policy: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = enforce("--snapshot", str(snapshot), "--policy", str(policy), "--format", "json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def role(name: str, *statements: Statement, account: str = ACCOUNT) -> tuple[Identity, Policy]:
    iid = f"arn:aws:iam::{account}:role/{name}"
    policy = Policy(id=f"inline:{iid}:access", provider=Provider.AWS, name="access", kind="inline",
                    statements=statements)
    identity = Identity(id=iid, provider=Provider.AWS, account=account, kind=IdentityKind.ROLE, name=name,
                        policy_ids=(policy.id,))
    return identity, policy


def write_snapshot(path: Path, *entries: tuple[Identity, Policy]) -> Path:
    snapshot = Snapshot(identities=[i for i, _ in entries], policies=[p for _, p in entries])
    path.write_text(snapshot.model_dump_json())
    return path
