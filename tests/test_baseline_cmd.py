"""`nhiaudit baseline create | update` and `scan --baseline` with the minimal file, on the demo estate.

Everything runs through the real CLI (Typer's CliRunner) on real files; no mocks.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nhiaudit.baseline import load_baseline
from nhiaudit.baseline_file import Baseline, BaselineEntry, render_baseline
from nhiaudit.cli import build_app

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "examples" / "demo" / "snapshot.json"
POLICY = ROOT / "examples" / "demo" / "policy.yaml"
AS_OF = "2026-11-28"
ENTRY_KEYS = {"fingerprint", "rule_id", "identity", "integration", "first_seen", "reason"}
GHOST = "arn:aws:iam::999999999999:role/e2e-ghost-agent"


def run(*args: str, snapshot: Path = SNAPSHOT, policy: Path = POLICY, as_of: str = AS_OF):
    argv = [*args, "--snapshot", str(snapshot), "--policy", str(policy), "--as-of", as_of, "--quiet"]
    result = CliRunner().invoke(build_app(), argv)
    # CliRunner reports an uncaught exception as exit 1 too: only a deliberate exit counts.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def scan_json(*args: str, policy: Path = POLICY) -> tuple[int, dict]:
    result = run("scan", "--format", "json", "--fail-on", "info", *args, policy=policy)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def ghost_policy(tmp_path: Path) -> Path:
    """The demo policy plus one integration whose identity is not in the estate: one new finding."""
    data = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    data.setdefault("integrations", []).append(
        {"name": "e2e-ghost-agent", "kind": "agent", "owner": "e2e@example.com", "identities": [GHOST]})
    path = tmp_path / "policy-ghost.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def created(tmp_path) -> Path:
    out = tmp_path / ".nhiaudit-baseline.yaml"
    result = run("baseline", "create", "-o", str(out), "--reason", "adopted on day one")
    assert result.exit_code == 0, result.output
    return out


# --- create ------------------------------------------------------------------------------------------


def test_create_exits_0_and_writes_only_fingerprint_rule_identity_and_date(created):
    text = created.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["baseline_version"] == 1 and set(doc) == {"baseline_version", "findings"}
    _, report = scan_json()
    open_prints = {f["fingerprint"] for f in report["findings"] if f["status"] == "open"}
    assert {e["fingerprint"] for e in doc["findings"]} == open_prints  # the excepted one is not accepted
    for entry in doc["findings"]:
        assert set(entry) <= ENTRY_KEYS
        assert entry["first_seen"] == date(2026, 11, 28) and entry["reason"] == "adopted on day one"
    # Nothing of the report beyond the entries: no key ids, escalation paths, messages or evidence.
    for finding in report["findings"]:
        if finding["credential_id"]:
            assert finding["credential_id"] not in text
        assert finding["message"] not in text
    assert "AKIA" not in text and "access_paths" not in text and "evidence" not in text
    keys = [(e["rule_id"], e["identity"] or "", e["fingerprint"]) for e in doc["findings"]]
    assert keys == sorted(keys)


def test_create_is_deterministic_and_writes_json_for_a_json_name(created, tmp_path):
    again = tmp_path / "again.yaml"
    assert run("baseline", "create", "-o", str(again), "--reason", "adopted on day one").exit_code == 0
    assert again.read_bytes() == created.read_bytes()
    as_json = tmp_path / "baseline.json"
    assert run("baseline", "create", "-o", str(as_json), "--reason", "adopted on day one").exit_code == 0
    assert load_baseline(as_json) == load_baseline(created)
    assert json.loads(as_json.read_text(encoding="utf-8"))["baseline_version"] == 1


def test_create_refuses_to_replace_a_baseline_without_force(created):
    before = created.read_bytes()
    result = run("baseline", "create", "-o", str(created))
    assert result.exit_code == 2
    assert "baseline update" in result.output and "--force" in result.output
    assert created.read_bytes() == before
    result = run("baseline", "create", "-o", str(created), "--force")
    assert result.exit_code == 0 and b"reason" not in created.read_bytes()


def test_create_writes_nothing_when_collection_is_incomplete(tmp_path):
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    snapshot["collection_issues"] = [{"provider": "aws", "account": "111122223333",
                                      "operation": "iam:ListRoles", "message": "AccessDenied"}]
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(snapshot), encoding="utf-8")
    out = tmp_path / "b.yaml"
    result = run("baseline", "create", "-o", str(out), snapshot=partial)
    assert result.exit_code == 3 and not out.exists()
    assert "incomplete" in result.output


# --- scan --baseline and diff ------------------------------------------------------------------------


def test_scan_with_the_minimal_baseline_suppresses_every_accepted_finding(created, tmp_path):
    code, report = scan_json("--baseline", str(created))
    assert code == 0
    assert report["summary"]["by_status"] == {"baselined": 39, "excepted": 1}
    reasons = {f["status_reason"] for f in report["findings"] if f["status"] == "baselined"}
    assert reasons == {f"present in baseline {created.name} since 2026-11-28: adopted on day one"}
    code, report = scan_json("--baseline", str(created), policy=ghost_policy(tmp_path))
    assert code == 1
    assert [f["integration"] for f in report["findings"] if f["status"] == "open"] == ["e2e-ghost-agent"]


def test_the_old_full_report_still_works_as_a_baseline(tmp_path):
    old = tmp_path / "report.json"
    assert run("scan", "--format", "json", "-o", str(old)).exit_code == 1
    code, report = scan_json("--baseline", str(old))
    assert code == 0 and "open" not in report["summary"]["by_status"]


def test_diff_counts_open_to_baselined_as_unchanged_not_different(created, tmp_path):
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    assert run("scan", "--format", "json", "-o", str(before)).exit_code == 1
    assert run("scan", "--format", "json", "-o", str(after), "--baseline", str(created)).exit_code == 0
    result = CliRunner().invoke(build_app(), ["diff", str(before), str(after), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["counts"] == {"new": 0, "fixed": 0, "unchanged": 40}
    assert [u for u in doc["unchanged_findings"] if u["changes"]] == []
    table = CliRunner().invoke(build_app(), ["diff", str(before), str(after)])
    assert "Unchanged but different" not in table.stdout
    # The way back (a finding dropped from the baseline fails again) is a change worth listing.
    back = CliRunner().invoke(build_app(), ["diff", str(after), str(before), "--format", "json"])
    changed = [u for u in json.loads(back.stdout)["unchanged_findings"] if u["changes"]]
    assert len(changed) == 39 and changed[0]["changes"]["status"] == {"old": "baselined", "new": "open"}


def test_diff_refuses_a_baseline_file_with_a_clear_message(tmp_path):
    as_json = tmp_path / "baseline.json"
    assert run("baseline", "create", "-o", str(as_json)).exit_code == 0
    result = CliRunner().invoke(build_app(), ["diff", str(as_json), str(as_json)])
    assert result.exit_code == 2 and "is a baseline file" in result.output


# --- update ------------------------------------------------------------------------------------------


def test_update_with_a_new_finding_writes_nothing_without_yes_and_exits_1(created, tmp_path):
    before = created.read_bytes()
    policy = ghost_policy(tmp_path)
    result = run("baseline", "update", str(created), policy=policy, as_of="2026-12-05")
    assert result.exit_code == 1
    assert "1 new to accept, 0 resolved to drop, 39 kept" in result.stdout
    assert "scope-unknown-identity" in result.stdout or "e2e-ghost-agent" in result.stdout
    assert "--yes" in result.output and created.read_bytes() == before
    dry = run("baseline", "update", str(created), "--dry-run", "--yes", policy=policy, as_of="2026-12-05")
    assert dry.exit_code == 0 and "1 new to accept" in dry.stdout and created.read_bytes() == before


def test_update_with_yes_accepts_the_new_finding_and_keeps_first_seen_dates_and_reasons(created, tmp_path):
    old = load_baseline(created).by_fingerprint()
    result = run("baseline", "update", str(created), "--yes", "--reason", "ghost: ticket 42",
                 policy=ghost_policy(tmp_path), as_of="2026-12-05")
    assert result.exit_code == 0, result.output
    new = load_baseline(created).by_fingerprint()
    added = [e for fp, e in new.items() if fp not in old]
    assert len(added) == 1 and added[0].first_seen == date(2026, 12, 5) and added[0].reason == "ghost: ticket 42"
    assert added[0].integration == "e2e-ghost-agent"
    assert all(new[fp] == entry for fp, entry in old.items())  # date and reason kept
    code, _ = scan_json("--baseline", str(created), policy=ghost_policy(tmp_path))
    assert code == 0


def test_update_drops_resolved_findings_without_asking(created, tmp_path):
    assert run("baseline", "update", str(created), "--yes", policy=ghost_policy(tmp_path)).exit_code == 0
    grown = created.read_bytes()
    result = run("baseline", "update", str(created), as_of="2026-12-06")  # the ghost entry is gone again
    assert result.exit_code == 0, result.output
    assert "0 new to accept, 1 resolved to drop, 39 kept" in result.stdout
    assert created.read_bytes() != grown and len(load_baseline(created).entries) == 39
    dropped = created.read_bytes()
    same = run("baseline", "update", str(created))
    assert same.exit_code == 0 and "0 new to accept, 0 resolved to drop, 39 kept" in same.stdout
    assert created.read_bytes() == dropped


def test_update_converts_an_old_full_report_to_the_minimal_file(tmp_path):
    old = tmp_path / "baseline.json"
    assert run("scan", "--format", "json", "-o", str(old)).exit_code == 1
    result = run("baseline", "update", str(old), "--yes", as_of="2027-01-01")  # older keys are findings now
    assert result.exit_code == 0, result.output
    doc = json.loads(old.read_text(encoding="utf-8"))
    assert set(doc) == {"baseline_version", "findings"} and len(doc["findings"]) > 39
    seen = [e["first_seen"] for e in doc["findings"]]
    assert seen.count(AS_OF) == 39 and set(seen) == {AS_OF, "2027-01-01"}  # the report's date for the old


# --- validation --------------------------------------------------------------------------------------

GOOD = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("b.yaml", "baseline_version: 2\nfindings: []\n", ":1:19: baseline_version: baseline_version 2"),
        ("b.yaml", f"baseline_version: 1\nfindings:\n- fingerprint: {GOOD[:-1]}\n  rule_id: a\n"
                   "  first_seen: 2026-01-01\n", ":3:16: findings[0].fingerprint: expected 32 lowercase hex"),
        ("b.yaml", f"baseline_version: 1\nfindings:\n- {{fingerprint: {GOOD}, rule_id: a, first_seen: 2026-01-01}}\n"
                   f"- {{fingerprint: {GOOD}, rule_id: b, first_seen: 2026-01-01}}\n",
         ":4:17: findings[1].fingerprint: duplicate fingerprint (first at line 3)"),
        ("b.yaml", f"baseline_version: 1\nfindings:\n- fingerprint: {GOOD}\n  rule_id: a\n  first_seen: 2026-02-30\n",
         ":5:15: findings[0].first_seen: expected a date as YYYY-MM-DD"),
        ("b.yaml", f"baseline_version: 1\nfindings:\n- fingerprint: {GOOD}\n  rule: a\n  first_seen: 2026-01-01\n",
         ":4:9: findings[0].rule: unknown key"),
        ("b.yaml", "baseline_version: 1\nfindings: !!python/object:os.system {}\n", ":2:11: unsupported YAML tag"),
        ("b.yaml", "baseline_version: 1\nbaseline_version: 1\n", ":2:1: duplicate key 'baseline_version'"),
        ("b.yaml", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
         "YAML nodes (aliases expanded)"),
        ("b.yaml", "", "baseline is empty"),
        ("b.yaml", "- just\n- a list\n", ":1:1: baseline is neither a baseline file"),
        ("b.yaml", "findings: [\n", "YAML syntax error"),
        ("b.json", '{"baseline_version": 1,\n "findings": [{"fingerprint": 7}]}', ":2:15: findings[0]: "
                                                                                   "`rule_id` is required"),
    ],
)
def test_a_bad_baseline_exits_2_naming_file_line_and_column(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    for args in (("scan", "--format", "json", "--baseline", str(path)), ("baseline", "update", str(path))):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert expected in result.output.replace(str(path), "")
        assert result.output.startswith(f"error: {path}") and "Traceback" not in result.output


def test_hostile_values_round_trip_as_ascii(tmp_path):
    """Identities and reasons are attacker- or user-controlled: the file shows escapes, never the raw
    characters (a bidi override could disguise an entry in a reviewed diff), and reads back the same."""
    nasty = "arn:aws:iam::1:role/x\u202eevil\x1b[2J\n- fingerprint: forged"
    entries = [BaselineEntry(rule_id="r: #1", identity=nasty, fingerprint=GOOD, first_seen=date(2026, 1, 2),
                             reason="2026"),
               BaselineEntry(rule_id="yes", identity=None, fingerprint="f" * 32, first_seen=date(2026, 1, 2),
                             integration="null", reason="\u200b")]
    baseline = Baseline.of(entries)
    for name in ("b.yaml", "b.json"):
        path = tmp_path / name
        path.write_text(render_baseline(baseline, name.endswith(".json")), encoding="utf-8")
        assert path.read_bytes().isascii()
        assert load_baseline(path) == baseline
