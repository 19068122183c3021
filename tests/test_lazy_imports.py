"""`nhiaudit --help` and a scan import only what they use (a test on imports, not on time).

Heavy packages are imported where they are used: cloud SDKs by live collection, networkx by `graph` and
`explain`, pydantic and rich by the commands that need them, never cel's REPL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"
# What no command that does not use it may import.
HEAVY = ("boto3", "botocore", "google", "azure", "networkx", "prompt_toolkit", "pygments", "httpx",
         "markdown_it")
# --help needs none of the analysis either.
NOT_FOR_HELP = (*HEAVY, "pydantic", "pydantic_core", "rich", "yaml", "cel")
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)\s*$", re.MULTILINE)


def _imported(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPROFILEIMPORTTIME"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "nhiaudit", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)
    return proc, {name.split(".")[0] for name in _IMPORTED.findall(proc.stderr)}


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    proc, modules = _imported(["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage" in proc.stdout
    assert "nhiaudit" in modules and "typer" in modules  # the parse really saw the imports
    assert sorted(modules & set(NOT_FOR_HELP)) == []


def test_scan_of_a_snapshot_imports_no_sdk_graph_library_or_repl(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc, modules = _imported(["scan", "--snapshot", str(DEMO / "snapshot.json"), "--policy",
                               str(DEMO / "policy.yaml"), "--as-of", "2026-11-28", "--format", "json", "-o",
                               str(report), "-q"], tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]  # the demo has findings
    assert report.stat().st_size > 0
    assert "pydantic" in modules
    assert sorted(modules & set(HEAVY)) == []
