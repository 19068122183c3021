"""Running git on a scanned tree, which is untrusted: its own configuration must not run anything.

Every call passes `-c` overrides for the settings that make git run programs (fsmonitor, external diff,
textconv, pager, hooks) and reads without prompting; `git log` also gets `--no-ext-diff --no-textconv`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

TIMEOUT = 60.0
_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "core.pager=cat",
         "-c", "diff.external=", "-c", "core.quotepath=off", "-c", "log.showSignature=false")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    return env


def available() -> bool:
    return shutil.which("git") is not None


def _run(root: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", *_SAFE, "-C", str(root), *args], capture_output=True, env=_env(),
                              timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def is_work_tree(root: Path) -> bool:
    if not available():
        return False
    out = _run(root, "rev-parse", "--is-inside-work-tree")
    return out is not None and out.strip() == b"true"


def list_files(root: Path) -> list[str] | None:
    """Tracked files plus untracked ones git does not ignore, relative to `root`; None when git fails."""
    out = _run(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    if out is None:
        return None
    return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})


def log_patches(root: Path, max_commits: int) -> Iterator[bytes] | None:
    """Lines of `git log -p` (every ref, newest first, added lines only with no context), relative to `root`.
    The caller bounds the bytes it reads and closes the generator, which ends git."""
    if not available():
        return None
    args = ["git", *_SAFE, "-C", str(root), "log", "--all", "-p", "--no-color", "--no-ext-diff", "--no-textconv",
            "--no-renames", "--relative", "--unified=0", "--diff-filter=AM", "--format=commit %H",
            f"--max-count={max_commits}"]
    try:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(),
                                   stdin=subprocess.DEVNULL)
    except OSError:
        return None
    return _lines(process)


MAX_LINE_BYTES = 1 << 20  # a longer line (minified code) comes in pieces: only its first piece is a `+` line


def _lines(process: subprocess.Popen) -> Iterator[bytes]:
    try:
        while process.stdout is not None:
            line = process.stdout.readline(MAX_LINE_BYTES)
            if not line:
                break
            yield line
    finally:
        process.kill()
        process.wait()
