"""Stage progress and -v/--verbose on stderr, in a real process: shown on a terminal (a pty), silent on a
pipe, with -q, or when FORCE_COLOR only colours a CI log; -v lists what is read and each stage."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from aws_support import aws_env, moto  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
STAGES = ("[1/5] load", "[2/5] graph", "[3/5] facts and rules", "[5/5] report")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "TTY_COMPATIBLE",
                                                             "TTY_INTERACTIVE", "NHIAUDIT_DEBUG")}
    return env | {"TERM": "xterm"} | extra


def _scan(tmp: Path, *extra: str, root: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, "-m", "nhiaudit", *root, "scan", "--snapshot", str(DEMO / "snapshot.json"),
            "--policy", str(DEMO / "policy.yaml"), "--as-of", "2026-11-28", "--format", "json",
            "-o", str(tmp / "report.json"), *extra]


def _stderr_on_a_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=env,
                            cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def _stderr_on_a_pipe(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    return proc.returncode, proc.stderr


def test_a_terminal_sees_each_stage_then_a_clean_line(tmp_path):
    code, err = _stderr_on_a_pty(_scan(tmp_path), _env())
    assert code == 1
    for stage in STAGES:
        assert stage in err, err[-2000:]
    shown = re.findall(r"\[\d/5\] [a-z ]+", err)
    once = [s for i, s in enumerate(shown) if i == 0 or s != shown[i - 1]]
    assert once == sorted(set(once)), once  # each stage once, in pipeline order (never back to the graph)
    assert "\x1b[2K" in err  # the status line is erased, not left in the scrollback
    assert err.rstrip().endswith("34 open finding(s) at or above high\x1b[0m")


def test_quiet_on_a_terminal_shows_no_progress(tmp_path):
    code, err = _stderr_on_a_pty(_scan(tmp_path, "-q"), _env())
    assert code == 1
    assert "[1/5]" not in err


def test_a_pipe_gets_no_progress_even_with_force_color(tmp_path):
    for env in (_env(), _env(FORCE_COLOR="1")):
        code, err = _stderr_on_a_pipe(_scan(tmp_path), env)
        assert code == 1
        assert "[1/5]" not in err and "\x1b[?25l" not in err  # no status line, no hidden cursor
        assert "open finding(s) at or above high" in err


def test_verbose_says_what_is_read_and_why_then_each_stage(tmp_path):
    code, err = _stderr_on_a_pipe(_scan(tmp_path, root=("-v",)), _env())
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == (f"nhiaudit: reading snapshot {DEMO / 'snapshot.json'}: a saved inventory (from `nhiaudit "
                        "collect`), read instead of a cloud")
    assert any(line.startswith(f"nhiaudit: reading policy {DEMO / 'policy.yaml'}: ") for line in lines)
    for stage in STAGES:
        assert sum(stage in line for line in lines) == 1, stage
    quiet = _stderr_on_a_pipe(_scan(tmp_path, "-q", root=("-v",)), _env())[1]
    assert "nhiaudit: reading" not in quiet and "[1/5]" not in quiet


def test_verbose_collect_names_the_live_sources_before_any_request(tmp_path):
    # An unreachable endpoint: what is read is said first; the collection itself then fails (exit 3 or 2).
    args = [sys.executable, "-m", "nhiaudit", "-v", "collect", "--aws", "--aws-regions", "us-east-1",
            "--timeout", "5", "-o", str(tmp_path / "snap.json")]
    env = _env(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
               AWS_SECRET_ACCESS_KEY="example", AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1")
    code, err = _stderr_on_a_pipe(args, env)
    assert code in (2, 3), err
    first = err.splitlines()[0]
    assert first.startswith("nhiaudit: reading AWS live (boto3's default credential chain): the credentials' own "
                            "account; IAM users, roles")
    assert "Lambda and EC2 in us-east-1" in first


def test_a_live_collection_on_a_terminal_counts_its_requests(tmp_path, aws_env):  # noqa: F811
    # One account is one step of the bar: the request count shows that its collection is moving.
    iam = aws_env.client("iam")
    for n in range(3):
        iam.create_user(UserName=f"svc-{n}")
    args = [sys.executable, "-m", "nhiaudit", "collect", "--aws", "--aws-regions", "us-east-1",
            "-o", str(tmp_path / "snap.json")]
    code, err = _stderr_on_a_pty(args, _env(NO_COLOR="1") | {k: v for k, v in os.environ.items()
                                                                if k.startswith("AWS_")})
    assert code == 0, err[-2000:]
    assert re.search(r"AWS accounts .* \d+ requests", err), err[-2000:]


def test_explain_and_graph_show_their_stages_on_a_terminal(tmp_path):
    demo = ["--snapshot", str(DEMO / "snapshot.json"), "--policy", str(DEMO / "policy.yaml"), "--as-of", "2026-11-28"]
    for command in (["explain", "code-review-bot", *demo], ["graph", *demo, "--format", "dot",
                                                             "-o", str(tmp_path / "g.dot")]):
        code, err = _stderr_on_a_pty([sys.executable, "-m", "nhiaudit", *command], _env())
        assert code == 0, err[-2000:]
        assert "[1/5] load" in err and "[2/5] graph" in err
        assert "\x1b[2K" in err  # erased before the command's own output


def test_no_other_thread_runs_once_the_analysis_may_fork() -> None:
    """The status line animates itself (a refresh thread) while the estate loads, then is redrawn per stage:
    the analysis forks workers, which a process must do with no other thread running."""
    import io
    import threading

    from rich.console import Console

    from nhiaudit.cli.progress import stage_progress

    console = Console(file=io.StringIO(), force_terminal=True, force_interactive=True, width=80)
    before = set(threading.enumerate())  # other tests' servers may be running
    threads = {}
    with stage_progress(console, quiet=False, verbose=False) as timer:
        for stage in ("load", "graph", "facts", "report"):
            threads[stage] = timer.run(stage, lambda: set(threading.enumerate()) - before)
    assert threads["load"]  # the status line's refresh thread
    assert threads["graph"] == threads["facts"] == threads["report"] == set()
    assert set(threading.enumerate()) - before == set()
    shown = console.file.getvalue()
    assert "[2/5] graph" in shown and "[5/5] report" in shown and shown.endswith("\x1b[2K")
