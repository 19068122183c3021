"""Where command output goes: stdout or files written atomically, never over one of the run's inputs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from nhiaudit.atomic_write import write_text_atomic
from nhiaudit.cli.failures import report_output_error
from nhiaudit.cli.streams import stdout_error
from nhiaudit.errors import OutputError, UsageError


def write_output(text: str, output: Path | None) -> None:
    """Data goes to --output when given (atomically), else to stdout (flushed now, so a full disk or a
    closed stdout is reported here, not lost at exit). Raises OutputError."""
    text = text if text.endswith("\n") else text + "\n"
    if output is None:
        try:
            if sys.stdout is None:
                raise OSError(9, "stdout is closed")
            sys.stdout.write(text)
            sys.stdout.flush()
        except (OSError, ValueError) as exc:
            raise stdout_error(exc) from None
        return
    try:
        write_text_atomic(output, text)
    except OSError as exc:
        raise OutputError(str(output), exc.strerror or str(exc)) from None


def write_outputs(outputs: Iterable[tuple[Path | None, Callable[[], str]]]) -> list[OutputError]:
    """Write every output even when one fails; report each failure on stderr and return them."""
    failures: list[OutputError] = []
    for path, render in outputs:
        try:
            write_output(render(), path)
        except OutputError as exc:
            report_output_error(exc)
            failures.append(exc)
    return failures


def refuse_overwriting_inputs(outputs: Sequence[Path | None], inputs: Iterable[Path | None],
                              input_dirs: Iterable[Path] = ()) -> None:
    """UsageError, before any work, when an output would replace an input (compared after resolving
    symlinks and `./`, and by inode for hard links) or two outputs name the same file. Files in
    `input_dirs` (rule directories) count as inputs."""
    candidates = [p for p in inputs if p is not None]
    for directory in input_dirs:
        try:
            candidates.extend(p for p in directory.iterdir() if p.is_file())
        except OSError:
            continue  # a bad rule directory is reported by the rule loader
    seen: list[Path] = []
    for output in outputs:
        if output is None or _is_stream(output):
            continue
        for source in candidates:
            if _same_file(output, source):
                raise UsageError(f"refusing to write {output}: it is an input of this run ({source})")
        for other in seen:
            if _same_file(output, other):
                raise UsageError(f"refusing to write {output}: another output of this run is written there too")
        seen.append(output)


def _is_stream(path: Path) -> bool:
    """/dev/null, /dev/stdout, a FIFO: written in place, never replaced, so no input can be lost."""
    try:
        return os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path)
    except (OSError, ValueError):
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
    except (OSError, ValueError):
        pass
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False  # one of them does not exist (yet): only the path comparison applies
