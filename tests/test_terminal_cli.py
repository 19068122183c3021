"""--version, shell completion (--show-completion, the completion protocol itself) and the root options,
through a real process named `nhiaudit` as the installed script is."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from nhiaudit import __version__
from nhiaudit.cli import build_app

ROOT = Path(__file__).resolve().parents[1]
# argv[0] "nhiaudit": the program name completion scripts are generated for, as for the console script.
AS_NHIAUDIT = "import sys; sys.argv[0] = 'nhiaudit'; from nhiaudit.cli import main; main()"
HEAVY = ("boto3", "botocore", "google", "azure", "networkx", "rich", "yaml", "cel")
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)\s*$", re.MULTILINE)


def nhiaudit(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("_NHIAUDIT", "COMP_"))}
    return subprocess.run([sys.executable, "-X", "importtime", "-c", AS_NHIAUDIT, *args], capture_output=True,
                          text=True, cwd=ROOT, env=base | env, timeout=120, check=False)


def imported(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {name.split(".")[0] for name in _IMPORTED.findall(proc.stderr)}


def test_version():
    result = CliRunner().invoke(build_app(), ["--version"])
    assert result.exit_code == 0 and result.stdout == f"nhiaudit {__version__}\n"


def test_show_completion_bash_prints_a_script_for_nhiaudit():
    proc = nhiaudit("--show-completion", "bash")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "_NHIAUDIT_COMPLETE=complete_bash" in proc.stdout
    assert "complete -o default -F _nhiaudit_completion nhiaudit" in proc.stdout
    assert not imported(proc) & set(HEAVY)


def test_completion_answers_commands_options_and_choices_without_heavy_imports():
    def complete(words: str) -> list[str]:
        proc = nhiaudit(_NHIAUDIT_COMPLETE="complete_bash", COMP_WORDS=words,
                        COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert not imported(proc) & set(HEAVY)
        return proc.stdout.split()

    assert complete("nhiaudit sc") == ["scan"]
    assert "--no-color" in complete("nhiaudit --no")
    assert {"table", "json", "sarif", "markdown"} <= set(complete("nhiaudit scan --format "))


def test_root_help_lists_the_terminal_options():
    result = CliRunner().invoke(build_app(), ["--help"])
    assert result.exit_code == 0
    for option in ("--no-color", "-v, --verbose", "--install-completion", "--show-completion", "--version"):
        assert option in result.stdout, option
