"""Baselines (by fingerprint) and drift between two reports, including `nhiaudit diff` on the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import report_factory as rf
import typer
from typer.testing import CliRunner

from nhiaudit.baseline import apply_baseline, load_report
from nhiaudit.cli import diff_cmd
from nhiaudit.drift import diff_reports, drift_json, drift_markdown
from nhiaudit.errors import InputError
from nhiaudit.findings import Category, FindingStatus, Severity
from nhiaudit.reporters import RenderContext, get_reporter


def write_report(path: Path, report) -> Path:
    path.write_text(get_reporter("json").render(report, RenderContext()), encoding="utf-8")
    return path


# --- baseline -------------------------------------------------------------------------------------


def test_baseline_marks_known_findings_and_only_new_ones_fail(tmp_path):
    old = rf.report([rf.finding("a", "x"), rf.finding("b", "x", line=3)])
    base = write_report(tmp_path / "base.json", old)
    # Same findings at other policy lines, plus one new gap.
    new = rf.report([rf.finding("a", "x", line=40), rf.finding("b", "x", line=41), rf.finding("c", "y")])
    marked = apply_baseline(new, base)
    status = {f.rule_id: f.status for f in marked.findings}
    assert status == {"a": FindingStatus.BASELINED, "b": FindingStatus.BASELINED, "c": FindingStatus.OPEN}
    assert marked.findings[0].status_reason == "present in baseline base.json"
    assert [f.rule_id for f in marked.failing(Severity.LOW)] == ["c"]
    assert marked.summary.by_status == {"baselined": 2, "open": 1}
    assert new.findings[0].status == FindingStatus.OPEN  # the input report is not modified


def test_rescan_against_its_own_baseline_has_nothing_new(tmp_path):
    report = rf.demo_report()
    marked = apply_baseline(report, write_report(tmp_path / "base.json", report))
    assert marked.failing(Severity.INFO) == []
    assert {f.status for f in marked.findings} == {FindingStatus.BASELINED, FindingStatus.EXCEPTED}


def test_excepted_findings_stay_excepted_and_an_expired_exception_is_not_hidden_by_the_baseline(tmp_path):
    old = rf.report([rf.finding("a", "x", status=FindingStatus.EXCEPTED, status_reason="until 2026-01-01")])
    base = write_report(tmp_path / "base.json", old)
    still_excepted = apply_baseline(old, base)
    assert still_excepted.findings[0].status == FindingStatus.EXCEPTED
    expired = rf.report([rf.finding("a", "x")])  # exception expired: the engine reports it open again
    assert apply_baseline(expired, base).failing(Severity.LOW) != []


def test_matching_is_by_fingerprint_not_rule_and_resource(tmp_path):
    base = write_report(tmp_path / "base.json", rf.report([rf.finding("a", "x", credential_id="AKIA1")]))
    other_key = rf.report([rf.finding("a", "x", credential_id="AKIA2")])
    assert apply_baseline(other_key, base).findings[0].status == FindingStatus.OPEN


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"schema_version": 1, "findings": [\n  {"rule_id": }\n]}',
         "tmp/bad.json:2:15: baseline is not valid JSON"),
        ("[1, 2]", "not an nhiaudit JSON report"),
        ('{"schema_version": 99, "findings": []}', "schema_version 99"),
        ('{"schema_version": 1, "findings": [{"rule_id": "a"}]}', "findings.0.title: Field required"),
    ],
)
def test_a_bad_baseline_is_an_input_error_naming_the_file(tmp_path, content, expected):
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        apply_baseline(rf.report([]), bad)
    text = str(info.value).replace(str(tmp_path), "tmp")
    assert expected in text
    assert text.startswith("tmp/bad.json:")


def test_a_missing_baseline_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="baseline not found"):
        apply_baseline(rf.report([]), tmp_path / "nope.json")


def test_load_report_round_trips_the_json_reporter(tmp_path):
    report = rf.demo_report()
    assert load_report(write_report(tmp_path / "r.json", report)) == report


# --- drift ----------------------------------------------------------------------------------------


def _old_new():
    old = rf.report([
        rf.finding("a", "x"),
        rf.finding("b", "x", severity=Severity.LOW, category=Category.SCOPE_DRIFT),
        rf.finding("gone", "z"),
    ])
    new = rf.report([
        rf.finding("a", "x", line=99),
        rf.finding("b", "x", severity=Severity.CRITICAL, category=Category.SCOPE_DRIFT,
                   status=FindingStatus.EXCEPTED),
        rf.finding("fresh", "y", severity=Severity.MEDIUM),
    ])
    return old, new


def test_diff_new_fixed_unchanged_by_fingerprint():
    drift = diff_reports(*_old_new())
    assert [f.rule_id for f in drift.new] == ["fresh"]
    assert [f.rule_id for f in drift.fixed] == ["gone"]
    assert [u.new.rule_id for u in drift.unchanged] == ["b", "a"]  # most severe first
    assert drift.unchanged[0].changes == {"severity": ("low", "critical"), "status": ("open", "excepted")}
    assert drift.unchanged[1].changes == {}


def test_diff_renderings():
    drift = diff_reports(*_old_new(), "old.json", "new.json")
    doc = json.loads(drift_json(drift))
    assert doc["counts"] == {"new": 1, "fixed": 1, "unchanged": 2}
    assert doc["new_findings"][0]["rule_id"] == "fresh"
    assert doc["unchanged_findings"][0]["changes"]["severity"] == {"old": "low", "new": "critical"}
    md = drift_markdown(drift)
    assert md.startswith("## nhiaudit diff: 1 new, 1 fixed, 2 unchanged\n")
    assert "### New (1)" in md and "### Fixed (1)" in md and "### Unchanged but different (1)" in md


# --- CLI ------------------------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Group, so `diff` stays a sub-command as in the real CLI."""

    diff_cmd.register(app)
    return app


@pytest.fixture
def reports(tmp_path) -> tuple[str, str]:
    old, new = _old_new()
    return str(write_report(tmp_path / "old.json", old)), str(write_report(tmp_path / "new.json", new))


def test_cli_diff_json(cli, reports):
    result = CliRunner().invoke(cli, ["diff", *reports, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"] == {"new": 1, "fixed": 1, "unchanged": 2}


def test_cli_diff_table_and_markdown_to_a_file(cli, reports, tmp_path):
    result = CliRunner().invoke(cli, ["diff", *reports])
    assert result.exit_code == 0, result.output
    assert "1 new" in result.stdout and "fresh" in result.stdout and "gone" in result.stdout
    out = tmp_path / "out" / "drift.md"
    result = CliRunner().invoke(cli, ["diff", *reports, "-f", "markdown", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("## nhiaudit diff: 1 new")
    table = tmp_path / "drift.txt"
    assert CliRunner().invoke(cli, ["diff", *reports, "-o", str(table)]).exit_code == 0
    assert "Fixed (1)" in table.read_text() and "\x1b[" not in table.read_text()


def test_cli_diff_fail_on_new(cli, reports):
    assert CliRunner().invoke(cli, ["diff", *reports, "-f", "json", "--fail-on", "medium"]).exit_code == 1
    assert CliRunner().invoke(cli, ["diff", *reports, "-f", "json", "--fail-on", "high"]).exit_code == 0


def test_cli_diff_bad_input_exits_2_with_file_line(cli, reports, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  nope\n}", encoding="utf-8")
    result = CliRunner().invoke(cli, ["diff", reports[0], str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2:3" in result.output and "Traceback" not in result.output


def test_diff_open_to_baselined_is_no_change_but_baselined_to_open_is():
    old = rf.report([rf.finding("a", "x")])
    new = rf.report([rf.finding("a", "x", status=FindingStatus.BASELINED, status_reason="present in baseline")])
    assert diff_reports(old, new).unchanged[0].changes == {}
    assert diff_reports(new, old).unchanged[0].changes == {"status": ("baselined", "open")}
    assert "Unchanged but different" not in drift_markdown(diff_reports(old, new))
