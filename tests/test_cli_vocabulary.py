"""One option vocabulary across commands, through the real CLI: help names values (no Python type names),
every report-writing command takes --format and -o, --fail-on means the same in scan and diff, the old
flags still work with a notice, and messages say what to do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.facts.docs import facts_markdown

ROOT = Path(__file__).resolve().parent.parent
DEMO = ["--snapshot", str(ROOT / "examples/demo/snapshot.json"), "--policy", str(ROOT / "examples/demo/policy.yaml"),
        "--as-of", "2026-11-28"]
# Commands whose output is a report of some kind: each takes --format and -o/--output.
REPORT_COMMANDS = [("scan",), ("diff",), ("explain",), ("graph",), ("rules", "list"), ("rules", "show"),
                   ("rules", "facts")]
PLACEHOLDERS = re.compile(r"<str>|<list\[|<bool>|<path>|<int>|<float>|\{[A-Za-z_.]+\}")


def run(*args: str):
    result = CliRunner().invoke(build_app(), list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def commands() -> dict[tuple[str, ...], object]:
    """Every command and group of the CLI by its path, walked from the click tree typer builds."""
    found: dict[tuple[str, ...], object] = {}

    def walk(command: object, path: tuple[str, ...]) -> None:
        found[path] = command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(build_app()), ())
    return found


def option_names(command: object) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}  # type: ignore[attr-defined]


def test_help_of_every_command_names_values_not_python_types() -> None:
    found = commands()
    assert {("scan",), ("rules", "list"), ("policy", "init"), ("snapshot", "merge")} <= set(found)
    for path in found:
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        bad = PLACEHOLDERS.findall(result.stdout)
        assert not bad, f"`nhiaudit {' '.join(path)} --help` shows {bad}:\n{result.stdout}"


def test_help_shows_the_choices_of_enumerated_options() -> None:
    scan_help = run("scan", "--help").stdout
    assert "info|low|medium|high|critical|none" in scan_help  # --fail-on
    assert "table|json|sarif|markdown" in scan_help.replace("\n", "")  # --format (other formats may follow)
    assert "Usage: nhiaudit diff [OPTIONS] OLD.json NEW.json" in run("diff", "--help").stdout


def test_every_report_command_takes_format_and_output() -> None:
    found = commands()
    for path in REPORT_COMMANDS:
        names = option_names(found[path])
        assert {"--format", "-f", "--output", "-o"} <= names, (path, sorted(names))
    for path, command in found.items():  # any command with a --format writes it to -o too
        if "--format" in option_names(command):
            assert "-o" in option_names(command), path


def test_fail_on_has_the_same_values_in_scan_and_diff(tmp_path: Path) -> None:
    def choices(command: str) -> list[str]:
        return re.search(r"--fail-on <([a-z|]+)>", run(command, "--help").stdout).group(1).split("|")

    assert choices("scan") == choices("diff") == ["info", "low", "medium", "high", "critical", "none"]
    report = tmp_path / "r.json"
    run("scan", *DEMO, "--format", "json", "-o", str(report), "--fail-on", "none")
    for command, args in (("scan", DEMO), ("diff", [str(report), str(report)])):
        bad = run(command, *args, "--fail-on", "severe")
        assert bad.exit_code == 2 and "'severe' is not one of" in bad.stderr, (command, bad.stderr)


def test_fail_on_info_in_diff(tmp_path: Path) -> None:
    """`info` was refused by diff; a new info finding now fails at --fail-on info (and not at low)."""
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    new_report = json.loads(run("scan", *DEMO, "--format", "json", "--fail-on", "none").stdout)
    old_report = dict(new_report, findings=[f for f in new_report["findings"] if f["severity"] != "info"])
    if len(old_report["findings"]) == len(new_report["findings"]):  # the demo has no info finding: make one
        info = dict(new_report["findings"][0], severity="info", fingerprint="0" * 64, status="open")
        new_report["findings"] = [*new_report["findings"], info]
    old.write_text(json.dumps(old_report), encoding="utf-8")
    new.write_text(json.dumps(new_report), encoding="utf-8")
    assert run("diff", str(old), str(new), "--fail-on", "info").exit_code == 1
    assert run("diff", str(old), str(new), "--fail-on", "INFO").exit_code == 1  # as scan: any case
    assert run("diff", str(old), str(new), "--fail-on", "low").exit_code == 0


def test_policy_help_names_only_commands_that_exist() -> None:
    result = run("policy", "--help")
    assert "describe" not in result.stdout.lower()
    listed = set(re.findall(r"^  (\w+)  ", result.stdout.split("Commands:", 1)[1], re.M))
    assert listed == set(commands()[("policy",)].commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("old", "new", "args"), [
    ("--json", ["--format", "json"], ["rules", "list"]),
    ("--json", ["--format", "json"], ["rules", "list", "--framework", "owasp-nhi"]),
    ("--markdown", ["--format", "markdown"], ["rules", "facts"]),
])
def test_old_flags_still_work_with_a_one_line_notice(old: str, new: list[str], args: list[str]) -> None:
    before, after = run(*args, old), run(*args, *new)
    assert before.exit_code == after.exit_code == 0
    assert before.stdout == after.stdout
    assert before.stderr == f"warning: {old} is deprecated; use {' '.join(new)}\n"
    assert after.stderr == ""
    assert old not in run(*args, "--help").stdout  # hidden: help teaches the new vocabulary only


def test_rules_commands_write_to_output(tmp_path: Path) -> None:
    listing = tmp_path / "rules.json"
    assert run("rules", "list", "--format", "json", "-o", str(listing)).exit_code == 0
    assert "admin-access" in {r["id"] for r in json.loads(listing.read_text(encoding="utf-8"))}
    facts = tmp_path / "facts.md"
    assert run("rules", "facts", "-f", "markdown", "--output", str(facts)).exit_code == 0
    assert facts.read_text(encoding="utf-8") == facts_markdown()
    shown = tmp_path / "admin.md"
    result = run("rules", "show", "admin-access", "--format", "markdown", "-o", str(shown))
    assert result.exit_code == 0 and result.stdout == ""
    assert shown.read_text(encoding="utf-8").startswith("# admin-access: ")
    table = tmp_path / "rules.txt"
    assert run("rules", "list", "-o", str(table)).exit_code == 0
    text = table.read_text(encoding="utf-8")
    assert "admin-access" in text and "\x1b[" not in text  # a file gets plain text, never colour codes
    card = json.loads(run("rules", "show", "cred-too-old", "--format", "json").stdout)
    assert card["id"] == "cred-too-old" and card["enabled"] is True


def test_rules_list_markdown_escapes_rule_text(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shipped = (ROOT / "rules" / "identity-unused.yaml").read_text(encoding="utf-8")
    hostile = shipped.replace("id: identity-unused", "id: my-rule").replace(
        "\ntitle: ", "\ntitle: <img src=x onerror=alert(1)> | [link](http://evil) ", 1)
    (rules / "my-rule.yaml").write_text(hostile, encoding="utf-8")
    out = run("rules", "list", "--rules", str(rules), "--format", "markdown").stdout
    row = next(line for line in out.splitlines() if "my-rule" in line)
    assert not re.search(r"(?<!\\)<img|(?<!\\)\]\(http", row), row  # no HTML, no link
    assert len(re.findall(r"(?<!\\)\|", row)) == 7, row  # six cells: the title's pipe stays inside its cell


def test_explain_without_a_target_says_what_to_give() -> None:
    result = run("explain", *DEMO)
    assert result.exit_code == 2
    assert "nothing to explain: give a TARGET" in result.stderr and "--can-reach SYSTEM" in result.stderr
    assert "not both" not in result.stderr
    both = run("explain", *DEMO, "support-copilot", "--can-reach", "customer-pii")
    assert both.exit_code == 2 and "not both" in both.stderr
