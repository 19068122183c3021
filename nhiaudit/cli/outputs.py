"""Where command output goes: stdout or files written atomically, never over one of the run's inputs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from nhiaudit.atomic_write import write_chunks_atomic
from nhiaudit.cli.failures import report_output_error
from nhiaudit.cli.streams import stdout_error
from nhiaudit.errors import OutputError, UsageError


def write_output(text: str | Iterable[str], output: Path | None) -> None:
    """Data goes to --output when given (atomically), else to stdout (flushed now, so a full disk or a
    closed stdout is reported here, not lost at exit). `text` may come in pieces (a streamed report): they
    are written as they come. Raises OutputError; an exception from producing the pieces propagates as is."""
    chunks = _ending_with_newline([text] if isinstance(text, str) else text)
    try:
        if output is None:
            _write_stdout(chunks)
            return
        try:
            write_chunks_atomic(output, chunks)
        except OSError as exc:
            raise OutputError(str(output), exc.strerror or str(exc)) from None
    except _SourceFailed as failed:
        raise failed.error from None


def _write_stdout(chunks: Iterable[str]) -> None:
    if sys.stdout is None:
        raise stdout_error(OSError(9, "stdout is closed"))
    try:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        raise stdout_error(exc) from None


class _SourceFailed(Exception):
    """An exception raised while producing the text, not while writing it: never an OutputError."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _ending_with_newline(chunks: Iterable[str]) -> Iterator[str]:
    last = ""
    iterator = iter(chunks)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            break
        except Exception as exc:
            raise _SourceFailed(exc) from exc
        if chunk:
            last = chunk
            yield chunk
    if not last.endswith("\n"):
        yield "\n"


def write_outputs(outputs: Iterable[tuple[Path | None, Callable[[], str | Iterable[str]]]]) -> list[OutputError]:
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
