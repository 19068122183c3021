"""`run.sh`, the entry point of a fresh clone: what it installs, and that it never changes the system silently.

The real script runs under `sh` with a PATH of logging stand-ins (python, apt-get, id, and the virtualenv's
python/ruff/pytest/nhiaudit) and a virtualenv directory under tmp: nothing is installed, nothing in the
checkout is written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "run.sh"
SH = shutil.which("sh") or "/bin/sh"
ANNOUNCE = "installing graphviz with apt-get (root, for the DOT export test); set NHIAUDIT_NO_APT=1 to skip"
# Real tools the script uses besides shell builtins.
REAL_TOOLS = ("dirname", "touch", "timeout", "env")


@dataclass(frozen=True)
class Run:
    code: int
    stderr: str
    calls: list[str]


def _shim(path: Path, name: str, body: str = "") -> None:
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$FAKE_LOG"\n{body}', encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """A PATH with apt-get, id and python3 stand-ins (no `dot`), and an existing fake virtualenv."""
    bin_dir, venv_bin = tmp_path / "bin", tmp_path / "venv" / "bin"
    bin_dir.mkdir()
    venv_bin.mkdir(parents=True)
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        if real is None:
            pytest.skip(f"`{tool}` is not on this machine")
        (bin_dir / tool).symlink_to(real)
    _shim(bin_dir / "apt-get", "apt-get")
    _shim(bin_dir / "id", "id", 'if [ "$1" = -u ]; then echo "${FAKE_UID:-0}"; else echo "uid=${FAKE_UID:-0}"; fi\n')
    _shim(bin_dir / "python3", "python3")
    _shim(venv_bin / "python", "venv-python", 'echo "PYTHONWARNINGS=${PYTHONWARNINGS:-}" >> "$FAKE_LOG"\n')
    for tool in ("ruff", "pytest", "nhiaudit"):
        _shim(venv_bin / tool, tool)
    return tmp_path


def _run(machine: Path, *args: str, **env: str) -> Run:
    log = machine / "calls.log"
    log.write_text("", encoding="utf-8")
    environ = {"PATH": str(machine / "bin"), "HOME": str(machine), "FAKE_LOG": str(log),
               "NHIAUDIT_VENV": str(machine / "venv"), **env}
    proc = subprocess.run([SH, str(SCRIPT), *args], capture_output=True, text=True, env=environ, cwd=machine,
                          timeout=60)
    return Run(proc.returncode, proc.stderr, log.read_text(encoding="utf-8").splitlines())


def _pip_installs(run: Run) -> list[str]:
    return [c.split()[-1] for c in run.calls if c.startswith("venv-python -m pip install") and " -e " in c]


def test_the_script_parses() -> None:
    proc = subprocess.run([SH, "-n", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_test_says_it_installs_graphviz_before_it_does(machine: Path) -> None:
    run = _run(machine, "test")
    assert run.code == 0, run.stderr
    assert ANNOUNCE in run.stderr
    assert any(c.startswith("apt-get install -y -qq graphviz") for c in run.calls), run.calls
    # The usual test run follows: ruff on every source tree, then the suite.
    assert "ruff check nhiaudit tests benchmarks examples" in run.calls
    assert run.calls[-1] == "pytest -n 2"


def test_no_apt_opt_out_leaves_the_system_alone(machine: Path) -> None:
    run = _run(machine, "test", NHIAUDIT_NO_APT="1")
    assert run.code == 0, run.stderr
    assert not [c for c in run.calls if c.startswith("apt-get")]
    assert "installing" not in run.stderr
    assert "graphviz (dot) is not installed" in run.stderr  # what is skipped instead is said
    assert run.calls[-1] == "pytest -n 2"


def test_no_apt_without_root(machine: Path) -> None:
    run = _run(machine, "test", FAKE_UID="1000")
    assert run.code == 0, run.stderr
    assert not [c for c in run.calls if c.startswith("apt-get")]
    assert "installing" not in run.stderr


def test_demo_installs_without_test_extras_and_test_adds_them(machine: Path) -> None:
    demo = _run(machine, "demo")
    assert demo.code == 0, demo.stderr
    assert _pip_installs(demo) == ["."]
    assert "PYTHONWARNINGS=ignore::UserWarning" in demo.calls  # setuptools' editable-install warning
    assert demo.calls[-1] == ("nhiaudit scan --snapshot examples/demo/snapshot.json "
                              "--policy examples/demo/policy.yaml --as-of 2026-11-28")
    assert demo.stderr == ""

    again = _run(machine, "demo")
    assert _pip_installs(again) == []  # installed once

    test = _run(machine, "test", NHIAUDIT_NO_APT="1")
    assert _pip_installs(test) == [".[test]"]

    after = _run(machine, "demo")
    assert _pip_installs(after) == []  # the test install holds everything the demo needs


def test_unknown_command_is_a_usage_error(machine: Path) -> None:
    run = _run(machine, "frobnicate")
    assert run.code == 2
    assert "usage: ./run.sh demo | test | bench" in run.stderr
    assert run.calls == []


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "./run.sh test"
    assert "```sh\n./run.sh test\n```" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert os.access(ROOT / "run.sh", os.X_OK) and os.access(ROOT / ".ci" / "run", os.X_OK)
