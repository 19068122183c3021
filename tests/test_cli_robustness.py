"""Hostile input and faults through the real CLI: no hang, no crash, no lost output, documented statuses.

Streams, stdout failures and signals need a real process (`python -m nhiaudit`); the rest runs in-process.
Child processes get a memory cap so a regression (reading /dev/zero without a limit) fails instead of
eating the machine.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.exit_status import ExitStatus

ROOT = Path(__file__).resolve().parents[1]
DEMO_SNAPSHOT = str(ROOT / "examples" / "demo" / "snapshot.json")
DEMO_POLICY = ROOT / "examples" / "demo" / "policy.yaml"
SCAN = ["scan", "--snapshot", DEMO_SNAPSHOT, "--as-of", "2026-11-28"]
CHILD_MEMORY = 2 * 1024**3


def run(*args: str, **env: str):
    return CliRunner(env=env or None).invoke(build_app(), list(args))


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def nhiaudit(*args: str, timeout: float = 120, env: dict[str, str] | None = None, preexec=_cap_memory,
             **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "nhiaudit", *args], stderr=subprocess.PIPE, cwd=ROOT,
                          timeout=timeout, env={**os.environ, **(env or {})}, preexec_fn=preexec, **kwargs)


def no_crash_noise(stderr: bytes) -> None:
    text = stderr.decode()
    assert "Traceback" not in text and "Exception ignored" not in text, text


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policy.yaml"
    target.write_bytes(DEMO_POLICY.read_bytes())
    return target


# --- internal errors: exit 4, one line, the traceback only with --debug ---------------------------------


def test_internal_error_is_one_line_and_exit_4(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("engine exploded\non two lines")

    monkeypatch.setattr("nhiaudit.scan.run_scan", broken)
    result = run(*SCAN, "--policy", str(DEMO_POLICY))
    assert result.exit_code == ExitStatus.INTERNAL_ERROR == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nhiaudit: internal error: ValueError: engine exploded on two lines")
    assert "this is a bug" in lines[0] and "--debug" in lines[0]
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr("nhiaudit.scan.run_scan", lambda *a, **k: {}["missing"])
    result = run("--debug", *SCAN, "--policy", str(DEMO_POLICY))
    assert result.exit_code == 4
    assert "Traceback (most recent call last)" in result.stderr and "KeyError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("nhiaudit: internal error: KeyError")


def test_crash_outside_any_command_is_exit_4(monkeypatch):
    """main() itself: an exception that escapes typer (here: while building the app) is still a bug, 4."""
    import nhiaudit.cli as cli

    def broken_app():
        raise RuntimeError("no app")

    monkeypatch.setattr(cli, "build_app", broken_app)
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # main() guards sys.stdout; restore it afterwards
    monkeypatch.setattr(sys, "argv", ["nhiaudit", "rules", "list"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 4


def test_usage_errors_still_exit_2():
    result = run("scan", "--fail-on")
    assert result.exit_code == 2
    assert "internal error" not in result.stderr


def test_ctrl_c_exits_130_quietly(tmp_path):
    fifo = tmp_path / "policy.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "nhiaudit", "policy", "validate", str(fifo)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "NHIAUDIT_INPUT_TIMEOUT": "60"}, preexec_fn=_cap_memory)
    deadline = time.monotonic() + 30
    # Wait until the reader has the FIFO open (then it is blocked in poll, not importing modules).
    while time.monotonic() < deadline and not any(
        os.path.realpath(f"/proc/{proc.pid}/fd/{fd}") == str(fifo)
        for fd in _fds(proc.pid)
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == ExitStatus.INTERRUPTED == 130
    no_crash_noise(stderr)


def _fds(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []


# --- stdout: full, closed, reader gone --------------------------------------------------------------------


def test_stdout_full_is_reported_and_not_a_traceback():
    with open("/dev/full", "wb") as full:
        result = nhiaudit("policy", "schema", stdout=full)
    assert result.returncode == 2
    assert b"cannot write to stdout: No space left on device" in result.stderr
    no_crash_noise(result.stderr)


def test_stdout_full_keeps_findings_status():
    with open("/dev/full", "wb") as full:
        result = nhiaudit(*SCAN, "--policy", str(DEMO_POLICY), "--format", "json", stdout=full)
    assert result.returncode == 1  # findings win over the output error, which is still said
    assert b"cannot write to stdout: No space left on device" in result.stderr
    no_crash_noise(result.stderr)


def test_stdout_full_for_version_flag():
    """--version is printed by an eager callback, outside any command."""
    with open("/dev/full", "wb") as full:
        result = nhiaudit("--version", stdout=full)
    assert result.returncode == 2 and b"No space left on device" in result.stderr
    no_crash_noise(result.stderr)


def test_stdout_closed():
    cmd = f"{sys.executable} -m nhiaudit policy schema >&-"
    result = subprocess.run(cmd, shell=True, cwd=ROOT, stderr=subprocess.PIPE, timeout=120)
    assert result.returncode == 2
    assert b"cannot write to stdout: stdout is closed" in result.stderr
    no_crash_noise(result.stderr)


def test_broken_pipe_is_quiet_141():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: EPIPE on the first write
    try:
        result = nhiaudit("policy", "schema", stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode == ExitStatus.BROKEN_PIPE == 141
    assert result.stderr == b""


def test_head_closing_the_pipe_keeps_findings_status():
    cmd = (f"{sys.executable} -m nhiaudit scan --snapshot {DEMO_SNAPSHOT} --policy {DEMO_POLICY} "
           "--as-of 2026-11-28 --format json | head -c 10; exit ${PIPESTATUS[0]}")
    result = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, timeout=120)
    assert result.stdout == b'{\n  "schem'
    assert result.returncode == 1
    no_crash_noise(result.stderr)


# --- input streams and odd files -------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--policy", "--snapshot", "--import"])
def test_dev_zero_is_refused_quickly(option):
    args = ["scan", "--policy", str(DEMO_POLICY)] if option != "--policy" else ["scan", "--snapshot",
                                                                                  DEMO_SNAPSHOT]
    started = time.monotonic()
    result = nhiaudit(*args, option, "/dev/zero", timeout=60)
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - started < 30
    assert b"/dev/zero" in result.stderr
    no_crash_noise(result.stderr)


def test_fifo_without_writer_times_out(tmp_path):
    fifo = tmp_path / "policy.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = nhiaudit("policy", "validate", str(fifo), env={"NHIAUDIT_INPUT_TIMEOUT": "1"}, timeout=60)
    assert result.returncode == 2
    assert b"no data within 1 s" in result.stderr
    assert time.monotonic() - started < 30


def test_policy_from_stdin_pipe():
    result = nhiaudit("policy", "validate", "/dev/stdin", input=DEMO_POLICY.read_bytes())
    assert result.returncode == 0, result.stderr
    assert b"ok (" in result.stdout


def test_symlink_loop_as_policy(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    result = run("policy", "validate", str(loop))
    assert result.exit_code == 2
    assert "symbolic links" in result.stderr and "internal error" not in result.stderr


def test_directory_and_long_path_as_policy(tmp_path):
    assert run("policy", "validate", str(tmp_path)).exit_code == 2
    result = run("policy", "validate", str(tmp_path / ("x" * 5000)))
    assert result.exit_code == 2 and "too long" in result.stderr


def test_bad_timeout_setting_is_a_usage_error(tmp_path):
    result = run("policy", "validate", str(DEMO_POLICY), NHIAUDIT_INPUT_TIMEOUT="soon")
    assert result.exit_code == 2 and "NHIAUDIT_INPUT_TIMEOUT" in result.stderr


# --- output files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["same", "dot-slash", "symlink", "hardlink"])
def test_output_over_the_policy_is_refused(policy_copy, tmp_path, monkeypatch, how):
    before = policy_copy.read_bytes()
    monkeypatch.chdir(tmp_path)
    target = {"same": str(policy_copy), "dot-slash": "./policy.yaml"}.get(how)
    if how == "symlink":
        (tmp_path / "link.yaml").symlink_to(policy_copy)
        target = "link.yaml"
    elif how == "hardlink":
        os.link(policy_copy, tmp_path / "hard.yaml")
        target = "hard.yaml"
    for option in ("-o", "--output-json", "--output-sarif", "--output-markdown"):
        result = run(*SCAN, "--policy", "policy.yaml", option, target)
        assert result.exit_code == 2, (option, result.stderr)
        assert "is an input of this run" in result.stderr
        assert policy_copy.read_bytes() == before


def test_output_over_the_snapshot_is_refused_by_collect(tmp_path):
    snapshot = tmp_path / "snap.json"
    snapshot.write_bytes(Path(DEMO_SNAPSHOT).read_bytes())
    before = snapshot.read_bytes()
    result = run("collect", "--snapshot", str(snapshot), "-o", str(snapshot))
    assert result.exit_code == 2 and snapshot.read_bytes() == before


def test_two_outputs_to_one_file_are_refused(tmp_path):
    out = tmp_path / "r.json"
    result = run(*SCAN, "--policy", str(DEMO_POLICY), "--output-json", str(out), "--output-sarif", str(out))
    assert result.exit_code == 2 and not out.exists()


def test_one_output_fails_the_others_are_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a regular file, not a directory\n")
    bad = blocker / "report.json"
    sarif = tmp_path / "report.sarif"
    result = run(*SCAN, "--policy", str(DEMO_POLICY), "--format", "json", "-o", str(tmp_path / "main.json"),
                 "--output-json", str(bad), "--output-sarif", str(sarif))
    assert result.exit_code == 1  # findings win over the output error
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert (tmp_path / "main.json").exists()
    assert f"cannot write {bad}: Not a directory" in result.stderr
    assert "1 output(s) not written" in result.stderr
    # Without failing findings, the output error decides: 2.
    result = run(*SCAN, "--policy", str(DEMO_POLICY), "--fail-on", "none", "--output-json", str(bad),
                 "--output-sarif", str(sarif))
    assert result.exit_code == 2


def test_failed_write_leaves_the_old_file_intact(tmp_path):
    """A write that fails midway (file size limit: EFBIG) must not leave a truncated report behind."""
    report = tmp_path / "report.json"
    report.write_text("OLD REPORT\n")

    def small_files() -> None:
        _cap_memory()
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    result = nhiaudit(*SCAN, "--policy", str(DEMO_POLICY), "--output-json", str(report),
                      stdout=subprocess.DEVNULL, preexec=small_files)
    assert result.returncode == 1, result.stderr
    assert report.read_text() == "OLD REPORT\n"
    assert b"cannot write" in result.stderr and b"File too large" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temporary file left
    no_crash_noise(result.stderr)


def test_output_replaces_atomically_and_keeps_mode(tmp_path):
    out = tmp_path / "r.md"
    out.write_text("old\n")
    out.chmod(0o640)
    result = run(*SCAN, "--policy", str(DEMO_POLICY), "--format", "markdown", "-o", str(out))
    assert result.exit_code == 1
    assert out.read_text().startswith("#") and (out.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]


def test_output_to_a_device_is_written_in_place():
    result = run(*SCAN, "--policy", str(DEMO_POLICY), "-o", "/dev/null")
    assert result.exit_code == 1 and "cannot write" not in result.stderr


def test_policy_init_output_unwritable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("policy", "init", "-o", str(blocker / "p.yaml"), "--schema-ref", "x")
    assert result.exit_code == 2 and "Not a directory" in result.stderr


# --- small policy-loader ones ------------------------------------------------------------------------------


def _validate(tmp_path: Path, text: str | bytes):
    path = tmp_path / "p.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path, run("policy", "validate", str(path))


@pytest.mark.parametrize("text", ["version: true\n", "version: 1.0\n", "version: '1'\n"])
def test_version_must_be_the_integer_1(tmp_path, text):
    path, result = _validate(tmp_path, text)
    assert result.exit_code == 2
    assert f"{path}:1:10: version: unsupported policy format version" in result.stderr


def test_booleans_are_not_day_counts(tmp_path):
    path, result = _validate(tmp_path, "version: 1\ndefaults:\n  credentials:\n    max_age_days: true\n"
                                       "    require_expiry: 1\n")
    assert result.exit_code == 2
    assert f"{path}:4:19: defaults.credentials.max_age_days: input should be a valid integer" in result.stderr
    assert f"{path}:5:21: defaults.credentials.require_expiry: input should be a valid boolean" in result.stderr


@pytest.mark.parametrize("text", ["!!python/object:os.system\nversion: 1\n", "!foo {version: 1}\n"])
def test_tag_on_the_root_node_is_named(tmp_path, text):
    path, result = _validate(tmp_path, text)
    assert result.exit_code == 2
    assert f"{path}:1:1: unsupported YAML tag" in result.stderr and "empty" not in result.stderr


def test_nul_byte_reported_at_its_line(tmp_path):
    path, result = _validate(tmp_path, b"version: 1\nsystems: {}\nintegrations: [a\x00b]\n")
    assert result.exit_code == 2
    assert f"{path}:3:17: policy file contains a NUL byte" in result.stderr


def test_control_character_reported_at_its_line(tmp_path):
    path, result = _validate(tmp_path, "version: 1\n# é\nsystems: {x\x01: 1}\n")
    assert result.exit_code == 2
    assert f"{path}:3:12: YAML error: unacceptable character #x0001" in result.stderr


def test_invalid_utf8_reported_at_its_line(tmp_path):
    path, result = _validate(tmp_path, b"version: 1\nsystems:\n  a\xff: {}\n")
    assert result.exit_code == 2
    assert f"{path}:3:4: policy file is not UTF-8 text" in result.stderr


def _alias_bomb(levels: int = 10) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_in_policy_is_bounded(tmp_path):
    started = time.monotonic()
    _, result = _validate(tmp_path, "version: 1\nbomb:\n  " + _alias_bomb().replace("\n", "\n  ")
                          + "\nsystems:\n  x:\n    resources: *l9\n")
    assert result.exit_code == 2
    assert "YAML nodes (aliases expanded)" in result.stderr
    assert time.monotonic() - started < 20


def _rule_dir(tmp_path: Path, extra: str) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    shipped = (ROOT / "rules" / "admin-access.yaml").read_text()
    (rules / "custom.yaml").write_text(shipped.replace("id: admin-access", "id: custom-admin") + extra)
    return rules


def test_alias_bomb_in_rule_parameters_is_bounded(tmp_path):
    bomb = _alias_bomb().replace("\n", "\n  ")
    rules = _rule_dir(tmp_path, "parameters:\n  " + bomb + "last: *l9\n")
    started = time.monotonic()
    result = run("rules", "validate", str(rules))
    assert result.exit_code == 2
    assert "YAML nodes (aliases expanded)" in result.stderr
    assert time.monotonic() - started < 20


def test_recursive_alias_in_rule_file(tmp_path):
    rules = _rule_dir(tmp_path, "parameters:\n  loop: &loop [*loop]\n")
    result = run("rules", "validate", str(rules))
    assert result.exit_code == 2 and "recursive alias" in result.stderr


def test_nul_byte_in_rule_file(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_bytes(b"id: x\ntitle: y\n\x00\n")
    result = run("rules", "validate", str(rules))
    assert result.exit_code == 2 and "bad.yaml:3:1: rule file contains a NUL byte" in result.stderr
