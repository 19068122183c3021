"""Work grows linearly with one account's size: counted, not timed.

Escalation target selection, act-as (trust) edges, trust facts and reuse facts add the number of candidates
each of their loops examines to nhiaudit.work_counter. On one account of N principals and one of 2N (same
shape, benchmarks/one_account_estate.py: escalation grants on `*`, roles trusting services and the account
root, access keys), the counted work must not grow faster than ~2x. A per-identity pass over the account's
principals (the old `_Targets.select` copy and rescan, the per-identity admin count, the per-identity copy of
every role trusting the account root) makes it grow ~4x.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.one_account_estate import authorization_details, credential_report
from nhiaudit import work_counter
from nhiaudit.analysis import prepare
from nhiaudit.connectors.imports import import_files
from nhiaudit.facts.escalation import estate_analysis
from nhiaudit.facts.identity import identity_facts
from nhiaudit.policy.model import WrittenPolicy

MAX_RATIO = 2.3
SMALL = 120  # the small account: 600 users, 240 roles, 120 policies; the large one twice that
FAMILIES = ("escalation", "trust", "trust_facts", "reuse")


def _counted_work(tmp: Path, scale: int) -> tuple[Counter[str], int]:
    """Counts per loop family of analysing one account of 5*scale users, 2*scale roles, scale policies; and
    how many identities can escalate (the estate must exercise the loops)."""
    folder = tmp / f"scale-{scale}"
    folder.mkdir()
    users, roles = 5 * scale, 2 * scale
    (folder / "authorization-details.json").write_text(json.dumps(authorization_details(users, roles, scale)),
                                                       encoding="utf-8")
    (folder / "credential-report.csv").write_text(credential_report(users), encoding="utf-8")
    snapshot = import_files([folder])
    work_counter.reset()
    ctx = prepare(snapshot, WrittenPolicy(version=1), date(2026, 11, 28))
    analysis = estate_analysis(ctx)
    for identity in snapshot.identities:
        identity_facts(ctx, identity)
    families: Counter[str] = Counter()
    for name, n in work_counter.WORK.items():
        families[name.split(".")[0]] += n
    return families, len(analysis.escalations)


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Counter[str], Counter[str], int]:
    tmp = tmp_path_factory.mktemp("scaling")
    small, escalating = _counted_work(tmp, SMALL)
    large, _ = _counted_work(tmp, 2 * SMALL)
    return small, large, escalating


def test_the_estate_exercises_every_counted_loop(counted: tuple[Counter[str], Counter[str], int]) -> None:
    small, _, escalating = counted
    assert escalating >= 20  # identities with single-step escalations and selected targets
    assert small["escalation"] >= 500 and small["trust"] >= 50 and small["trust_facts"] >= 100


@pytest.mark.parametrize("family", FAMILIES)
def test_work_grows_linearly_with_one_account(counted: tuple[Counter[str], Counter[str], int],
                                              family: str) -> None:
    small, large, _ = counted
    # Plus one candidate per principal of the small account: loops that examine only a few hundred candidates
    # in all (trusts naming one identity) vary with which identity holds which grant. A per-identity pass over
    # the account adds (principals x candidates), hundreds of times that.
    principals = 7 * SMALL
    bound = MAX_RATIO * small[family] + principals
    assert large[family] <= bound, (
        f"{family}: {small[family]} -> {large[family]} candidates examined "
        f"({large[family] / max(small[family], 1):.2f}x; at most {bound:.0f})")
