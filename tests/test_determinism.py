"""Same inputs, same bytes: every report, explanation and graph export of the real CLI is identical under
different PYTHONHASHSEED values (and on two runs: some libraries randomise hashing per process whatever the
seed), apart from the time a report was generated.

The AWS estate is built to offer ties: several equally short escalation chains, equal-length act-as paths
to several administrators and to the same systems, several integrations reaching the same systems through
the same identities. Which of the tied paths is shown must not depend on hashing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aws_exports import access_keys, allow, arn, credential_report, gaad, report_row, role, user, write_exports

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
AS_OF = "2026-11-28"
SEEDS = ("1", "2")
# The time of the run, in JSON and SARIF (key and value on one line, as both reporters write them). Nothing
# else may differ: an imported export carries no collection time (`collected_at` is null).
_GENERATED = re.compile(rb'("(?:generated_at|generatedAt)": )"[^"]*"')

ESTATE_POLICY = """\
version: 1
systems:
  customer-pii:
    environment: prod
    classification: restricted
    resources: ["arn:aws:s3:::acme-pii*"]
  tickets:
    environment: prod
    resources: ["arn:aws:s3:::acme-tickets*"]
  models:
    kind: ai-model
    resources: ["arn:aws:bedrock:*::foundation-model/*"]
integrations:
  - name: copilot-a
    kind: agent
    owner: a@acme.example
    purpose: drafts replies
    environment: dev
    identities: ["arn:aws:iam::111122223333:user/bot"]
    may_reach: [models]
    must_not_reach: [customer-pii]
  - name: copilot-b
    kind: agent
    owner: b@acme.example
    purpose: summarises tickets
    environment: prod
    identities: ["arn:aws:iam::111122223333:user/bot", "arn:aws:iam::111122223333:role/reader-*"]
    may_reach: [models, tickets]
  - name: copilot-c
    kind: copilot
    owner: c@acme.example
    purpose: answers questions
    identities: ["arn:aws:iam::111122223333:role/reader-*"]
    may_reach: [models]
"""


def _trusting(entry: dict, *principals: str, service: str | None = None) -> dict:
    """The role, trusted by the given principals (ARNs) and, optionally, a service."""
    statements = [{"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}]
    if service:
        statements.append({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
    return {**entry, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": statements}}


def _aws_estate() -> dict:
    """GAAD export of one account with many ties (names chosen so that no order of them is alphabetical
    by accident of construction)."""
    admin = allow("*")
    bot, ops, ci = arn("user", "bot"), arn("user", "ops"), arn("user", "ci")
    hops = [arn("role", f"hop-{n}") for n in ("q", "c", "m")]
    entries = [
        user("bot", allow("sts:AssumeRole", arn("role", "*")), allow("bedrock:InvokeModel")),
        user("ops", allow("sts:AssumeRole", arn("role", "*"))),
        user("ci", allow("sts:AssumeRole", arn("role", "hop-*"))),
        user("deployer", allow(["iam:PassRole"], arn("role", "*")),
             allow(["lambda:CreateFunction", "lambda:InvokeFunction"])),
        user("shadow", allow("sts:AssumeRole", arn("role", "ai-*"))),
        # Equally short chains: every admin role trusts bot, ops and the hop roles; Lambda may run them.
        *(_trusting(role(f"admin-{n}", None, admin), bot, ops, *hops, service="lambda.amazonaws.com")
          for n in ("z", "k", "b", "r", "f")),
        # Two-hop chains from ci: ci -> hop-* -> admin-*.
        *(_trusting(role(f"hop-{n}", None, allow("sts:AssumeRole", arn("role", "admin-*"))), ci)
          for n in ("q", "c", "m")),
        # Equal-length routes to the same systems.
        *(_trusting(role(f"reader-{n}", None, allow("s3:GetObject", ["arn:aws:s3:::acme-pii/*",
                                                                     "arn:aws:s3:::acme-tickets/*"]),
                         allow("bedrock:InvokeModel")), bot, ops, service="lambda.amazonaws.com")
          for n in ("y", "d", "p", "a")),
        # Equally short routes to AI for an identity that cannot call a model itself.
        *(_trusting(role(f"ai-{n}", None, allow("bedrock:InvokeModel")), arn("user", "shadow"))
          for n in ("w", "e", "n")),
        role("plain", None),  # trusts the account root: reached through the account hub
    ]
    return gaad(*entries)


def _aws_files() -> dict:
    rows = [report_row(name, [(True, "2025-01-02T00:00:00+00:00", "2026-11-20T00:00:00+00:00", "s3")])
            for name in ("bot", "ops", "ci", "deployer", "shadow")]
    return {
        "gaad.json": _aws_estate(),
        "credential-report.csv": credential_report(*rows),
        "keys-bot.json": access_keys("bot", ("AKIAB", "Active", "2025-01-02T00:00:00Z"),
                                     ("AKIAA", "Active", "2025-03-02T00:00:00Z")),
    }


def _normalised(data: bytes) -> bytes:
    return _GENERATED.sub(rb'\1"-"', data)


def _run(args: list[str], seed: str, out_dir: Path) -> dict[str, bytes]:
    """Every file the command writes into out_dir, and its stdout, by name."""
    out_dir.mkdir(parents=True)
    env = {**os.environ, "PYTHONHASHSEED": seed, "COLUMNS": "160", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    args = [a.replace("{out}", str(out_dir)) for a in args]
    done = subprocess.run([sys.executable, "-m", "nhiaudit", *args], cwd=ROOT, env=env, capture_output=True,
                          timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr.decode()
    outputs = {"stdout": done.stdout}
    outputs.update((p.name, p.read_bytes()) for p in sorted(out_dir.iterdir()))
    return {name: _normalised(data) for name, data in outputs.items()}


def _commands(inputs: list[str], targets: tuple[str, str], system: str) -> list[list[str]]:
    """Every output format once: scan (table, JSON, SARIF, Markdown in one run), explain of two targets (one
    as JSON, one as Markdown), explain --can-reach, and every graph export."""
    base = [*inputs, "--as-of", AS_OF, "-q"]
    return [
        ["scan", *base, "-f", "table", "--fail-on", "none", "--output-json", "{out}/r.json",
         "--output-sarif", "{out}/r.sarif", "--output-markdown", "{out}/r.md"],
        ["explain", targets[0], *base, "-f", "json", "-o", "{out}/e.json"],
        ["explain", targets[1], *base, "-f", "markdown", "-o", "{out}/e.md"],
        ["explain", "--can-reach", system, *base, "-f", "json", "-o", "{out}/c.json"],
        *(["graph", *base, "-f", fmt, "-o", f"{{out}}/g.{fmt}"] for fmt in ("json", "graphml", "dot", "mermaid")),
    ]


def _assert_same_everywhere(tmp_path: Path, commands: list[list[str]]) -> None:
    runs = [(i, seed, cmd) for i, cmd in enumerate(commands) for seed in SEEDS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda r: _run(r[2], r[1], tmp_path / f"{r[0]}-{r[1]}"), runs))
    by_command: dict[int, list[dict[str, bytes]]] = {}
    for (i, _, _), outputs in zip(runs, results, strict=True):
        by_command.setdefault(i, []).append(outputs)
    differing = [f"{' '.join(commands[i][:2])} -> {name}" for i, (first, *others) in by_command.items()
                 for name in first if any(other[name] != first[name] for other in others)]
    assert not differing, f"outputs that differ between seeds: {differing}"


def test_demo_is_identical_under_different_hash_seeds(tmp_path: Path) -> None:
    inputs = ["--snapshot", str(DEMO / "snapshot.json"), "--policy", str(DEMO / "policy.yaml")]
    _assert_same_everywhere(tmp_path, _commands(inputs, ("support-copilot", "code-review-bot"), "customer-pii"))


@pytest.fixture
def aws_inputs(tmp_path: Path) -> list[str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(ESTATE_POLICY, encoding="utf-8")
    return [*write_exports(tmp_path / "exports", _aws_files()), "--policy", str(policy)]


def test_tied_aws_estate_is_identical_under_different_hash_seeds(tmp_path: Path, aws_inputs: list[str]) -> None:
    targets = ("copilot-b", arn("user", "ci"))
    _assert_same_everywhere(tmp_path / "runs", _commands(aws_inputs, targets, "customer-pii"))


def test_random_seed_scan_matches(tmp_path: Path, aws_inputs: list[str]) -> None:
    """A seed chosen per run by the interpreter against a fixed one (the test above compares two processes
    with fixed seeds)."""
    scan = _commands(aws_inputs, ("", ""), "")[0]
    outputs = [_run(scan, seed, tmp_path / f"run-{n}") for n, seed in enumerate(("random", "1"))]
    assert outputs[0] == outputs[1]
