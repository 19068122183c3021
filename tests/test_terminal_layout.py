"""Terminal layouts at 80, 100 and 160 columns: no line wider than the terminal, rule ids and identifiers
(ARNs, e-mails) whole, colour only when asked for. Through the real CLI on the demo estate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
SCAN = ["scan", "--snapshot", str(DEMO / "snapshot.json"), "--policy", str(DEMO / "policy.yaml"),
        "--as-of", "2026-11-28"]
WIDTHS = (80, 100, 160)
PLAIN = {"NO_COLOR": None, "FORCE_COLOR": None, "TERM": None, "COLUMNS": None}


def run(*args: str, **env: str | None) -> tuple[int, str]:
    result = CliRunner(env={**PLAIN, **env}).invoke(build_app(), list(args))
    return result.exit_code, result.stdout


def whole(token: str, text: str) -> bool:
    """The token appears on one line, not glued to a longer id."""
    return re.search(rf"(?<![\w.:/@-]){re.escape(token)}(?![\w.:/@-])", text) is not None


def assert_fits(text: str, width: int) -> None:
    long = [line for line in text.splitlines() if len(line) > width]
    assert long == [], f"{len(long)} lines wider than {width}: {long[:3]}"
    assert "\x1b" not in text


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("demo") / "report.json"
    code, _ = run(*SCAN, "--format", "json", "-o", str(out))
    assert code == 1
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("width", WIDTHS)
def test_findings_table_fits_and_keeps_ids_whole(demo, width):
    code, text = run(*SCAN, COLUMNS=str(width))
    assert code == 1
    assert_fits(text, width)
    for rule_id in {f["rule_id"] for f in demo["findings"]}:
        assert whole(rule_id, text), rule_id
    for path in demo["access_paths"]:  # the "who" of every AI access path, with its ARN or e-mail
        assert whole(path["identity"], text), path["identity"]
    if width < 120:  # narrow: one block per finding outside the paths, its identity whole on a line
        assert "┃ severity" not in text
        for f in demo["findings"]:
            if f["identity"]:
                assert whole(f["identity"]["id"], text), f["identity"]["id"]
    else:
        assert "┃ severity" in text and "Other findings" in text


def test_narrow_block_reads_severity_rule_then_message_identity_and_where(demo):
    _, text = run(*SCAN, COLUMNS="80")
    lines = text.splitlines()
    head = lines.index("CRITICAL  admin-access")
    block = "\n".join(lines[head:head + 8])
    assert block.splitlines()[1].startswith("  deploy-admin can perform every action")
    assert "\n  deploy-admin arn:aws:iam::111122223333:role/deploy-admin\n" in block
    assert "\n  aws, account 111122223333\n" in block


def test_width_is_80_when_unknown_and_columns_when_piped(demo):
    _, unknown = run(*SCAN)
    assert max(len(line) for line in unknown.splitlines()) == 80
    _, wide = run(*SCAN, COLUMNS="132")
    assert max(len(line) for line in wide.splitlines()) == 132


def test_colour_follows_force_color_no_color_and_the_flag():
    assert "\x1b[" in run(*SCAN, FORCE_COLOR="1")[1]
    assert "\x1b" not in run(*SCAN, FORCE_COLOR="1", NO_COLOR="1")[1]
    assert "\x1b" not in run("--no-color", *SCAN, FORCE_COLOR="1")[1]
    assert "\x1b" not in run(*SCAN, FORCE_COLOR="0")[1]


def test_a_table_written_to_a_file_has_no_colour(tmp_path):
    out = tmp_path / "report.txt"
    code, _ = run(*SCAN, "-o", str(out), FORCE_COLOR="1")
    assert code == 1
    assert_fits(out.read_text(encoding="utf-8"), 80)


@pytest.mark.parametrize("width", (80, 100, 140))
def test_rules_list_never_truncates_a_rule_id(width):
    code, listing = run("rules", "list", "--format", "json") if _has_format() else run("rules", "list", "--json")
    assert code == 0
    ids = [r["id"] for r in json.loads(listing)]
    code, text = run("rules", "list", COLUMNS=str(width))
    assert code == 0
    assert_fits(text, width)
    assert "…" not in text
    for rule_id in ids:
        assert whole(rule_id, text), rule_id


def _has_format() -> bool:
    _, help_text = run("rules", "list", "--help")
    return "--format" in help_text


def _diff_inputs(tmp: Path, demo: dict) -> tuple[Path, Path]:
    old, new = dict(demo), dict(demo)
    old["findings"] = demo["findings"][:-3]
    new["findings"] = demo["findings"][3:]
    paths = tmp / "old.json", tmp / "new.json"
    for path, report in zip(paths, (old, new), strict=True):
        path.write_text(json.dumps(report), encoding="utf-8")
    return paths


@pytest.mark.parametrize("width", WIDTHS)
def test_diff_keeps_arns_whole(demo, tmp_path, width):
    old, new = _diff_inputs(tmp_path, demo)
    code, text = run("diff", str(old), str(new), COLUMNS=str(width))
    assert code == 0
    assert_fits(text, width)
    moved = demo["findings"][:3] + demo["findings"][-3:]
    for f in moved:
        assert whole(f["rule_id"], text)
        if f["identity"]:
            assert whole(f["identity"]["id"], text), f["identity"]["id"]
