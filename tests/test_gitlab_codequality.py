"""`--format gitlab-codequality`: the Code Climate JSON subset GitLab shows in the merge request widget.

The schema below is written from GitLab's documentation ("Code Quality report format", docs.gitlab.com/ci/
testing/code_quality): a JSON array of objects with `description`, `check_name`, `fingerprint` (unique per
violation), `severity` (info, minor, major, critical or blocker), `location.path` (relative to the repository)
and `location.lines.begin` (the line). Other Code Climate properties are allowed and ignored by GitLab.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import report_factory as rf
from test_output_escaping import HOSTILE, ROLE, UNSAFE, hostile_policy, hostile_snapshot
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.findings import Category, FindingStatus, Severity
from nhiaudit.reporters import OutputFormat, RenderContext, get_reporter

DEMO_POLICY = "examples/demo/policy.yaml"
DEMO = ["scan", "--snapshot", "examples/demo/snapshot.json", "--policy", DEMO_POLICY, "--as-of", "2026-11-28"]
GITLAB_SEVERITIES = ["info", "minor", "major", "critical", "blocker"]
CODE_QUALITY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": GITLAB_SEVERITIES},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    # Relative to the repository: no leading slash, no scheme or drive, no backslash.
                    "path": {"type": "string", "minLength": 1, "pattern": r"^(?![/\\])(?![A-Za-z][A-Za-z0-9+.-]*:)"
                                                                         r"[^\\]+$"},
                    "lines": {"type": "object", "required": ["begin"],
                              "properties": {"begin": {"type": "integer", "minimum": 1}}},
                },
            },
        },
    },
}


def schema_errors(issues: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(CODE_QUALITY_SCHEMA)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(issues)]
    if isinstance(issues, list):
        fingerprints = [i.get("fingerprint") for i in issues if isinstance(i, dict)]
        if len(set(fingerprints)) != len(fingerprints):
            errors.append("duplicate fingerprints")
    return errors


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args))


def test_the_schema_check_can_fail():
    assert schema_errors({"description": "x"})
    bad = [{"description": "", "check_name": "r", "fingerprint": "f", "severity": "high",
            "location": {"path": "/etc/passwd", "lines": {"begin": 0}}}]
    assert len(schema_errors(bad)) == 4
    good = {"description": "d", "check_name": "r", "fingerprint": "f", "severity": "minor",
            "location": {"path": "policy.yaml", "lines": {"begin": 1}}}
    assert schema_errors([good]) == [] and schema_errors([good, good]) == ["duplicate fingerprints"]


def test_demo_scan_gives_one_issue_per_open_finding_where_sarif_points(tmp_path):
    out, sarif_out = tmp_path / "gl-code-quality-report.json", tmp_path / "demo.sarif"
    result = run(*DEMO, "--format", "gitlab-codequality", "-o", str(out), "--output-sarif", str(sarif_out),
                 "--sarif-root", ".")
    assert result.exit_code == 1, result.output
    issues = json.loads(out.read_text(encoding="utf-8"))
    assert schema_errors(issues) == []
    report = json.loads(run(*DEMO, "--format", "json").stdout)
    open_findings = [f for f in report["findings"] if f["status"] == "open"]
    assert len(open_findings) < len(report["findings"])  # the demo's excepted key is left out
    assert [i["fingerprint"] for i in issues] == [f["fingerprint"] for f in open_findings]
    assert [i["check_name"] for i in issues] == [f["rule_id"] for f in open_findings]
    ranks = {s: n for n, s in enumerate(["info", "low", "medium", "high", "critical"])}
    assert [GITLAB_SEVERITIES.index(i["severity"]) for i in issues] == [ranks[f["severity"]] for f in open_findings]
    # The same file and line as the SARIF result of the same finding: the written policy's entry.
    sarif = json.loads(sarif_out.read_text(encoding="utf-8"))
    where = {r["partialFingerprints"]["primaryLocationLineHash"]: r["locations"][0]["physicalLocation"]
             for r in sarif["runs"][0]["results"]}
    for issue in issues:
        physical = where[issue["fingerprint"]]
        assert issue["location"] == {"path": physical["artifactLocation"]["uri"],
                                     "lines": {"begin": physical["region"]["startLine"]}}
    policy_lines = Path(DEMO_POLICY).read_text(encoding="utf-8").splitlines()
    drift = next(i for i in issues if i["check_name"] == "scope-forbidden-system"
                 and "support-copilot" in i["description"])
    assert drift["location"]["path"] == DEMO_POLICY
    assert policy_lines[drift["location"]["lines"]["begin"] - 1] == "  - name: support-copilot"


def test_severities_map_one_to_one_in_order(tmp_path):
    findings = [rf.finding("r", f"id-{s}", severity=s) for s in Severity]
    issues = json.loads(get_reporter(OutputFormat.GITLAB_CODEQUALITY).render(
        rf.report(findings), RenderContext(sarif_root=tmp_path)))
    assert [i["severity"] for i in issues] == GITLAB_SEVERITIES


def test_only_open_findings_are_issues_and_an_empty_report_is_an_empty_array(tmp_path):
    reporter = get_reporter(OutputFormat.GITLAB_CODEQUALITY)
    context = RenderContext(sarif_root=tmp_path)
    assert reporter.render(rf.report([]), context) == "[]\n"
    quiet = rf.report([rf.finding(status=FindingStatus.EXCEPTED, status_reason="ok"),
                       rf.finding("b", status=FindingStatus.BASELINED, status_reason="in baseline")])
    assert reporter.render(quiet, context) == "[]\n"


def test_output_is_standard_indented_json_and_byte_identical_across_renders(tmp_path):
    report = rf.demo_report()
    reporter = get_reporter(OutputFormat.GITLAB_CODEQUALITY)
    first = reporter.render(report, RenderContext(sarif_root=tmp_path))
    assert first == reporter.render(report, RenderContext(sarif_root=tmp_path))
    assert first == json.dumps(json.loads(first), indent=2, ensure_ascii=False) + "\n"
    assert "".join(reporter.chunks(report, RenderContext(sarif_root=tmp_path))) == first


def test_without_any_file_issues_point_at_a_placeholder_with_a_warning(tmp_path):
    context = RenderContext(sarif_root=tmp_path)
    report = rf.report([rf.finding(line=None)], policy_file=None)
    issues = json.loads(get_reporter(OutputFormat.GITLAB_CODEQUALITY).render(report, context))
    assert issues[0]["location"] == {"path": "nhiaudit", "lines": {"begin": 1}}
    assert any("placeholder path 'nhiaudit'" in w for w in context.warnings)
    assert schema_errors(issues) == []


def test_a_policy_outside_the_root_warns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "root").mkdir()
    context = RenderContext(sarif_root=tmp_path / "root")
    report = rf.report([rf.finding(policy_file=str(tmp_path / "policy.yaml"), category=Category.SCOPE_DRIFT)])
    issues = json.loads(get_reporter(OutputFormat.GITLAB_CODEQUALITY).render(report, context))
    assert issues[0]["location"]["path"] == "../policy.yaml"
    assert any("outside the GitLab Code Quality root" in w for w in context.warnings)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile-gitlab")
    (root / "snap.json").write_text(json.dumps(hostile_snapshot(), indent=1), encoding="utf-8")
    (root / "policy.yaml").write_text(hostile_policy(), encoding="utf-8")
    return root


def test_hostile_names_are_escaped(hostile):
    result = run("scan", "-s", str(hostile / "snap.json"), "-p", str(hostile / "policy.yaml"),
                 "--as-of", "2026-02-01", "--format", "gitlab-codequality", "--sarif-root", str(hostile))
    assert result.exit_code == 1, result.output
    assert UNSAFE.search(result.stdout) is None  # no raw control, bidi or invisible character in the file
    issues = json.loads(result.stdout)
    assert schema_errors(issues) == []
    about_role = [i for i in issues if "bot" in i["description"]]
    assert about_role
    for issue in issues:
        text = issue["description"]
        assert UNSAFE.search(text) is None and "\n" not in text  # one line, controls shown as escapes
        assert issue["location"]["path"] == "policy.yaml"
    text = " ".join(i["description"] for i in about_role)
    assert "\\x1b[2J" in text and "\\r0 findings, all clear\\n" in text and "\\u202e" in text
    assert "<img src=x onerror=alert(1)>" in text  # data kept as text: GitLab shows descriptions as text
    assert ROLE not in text and HOSTILE not in text
