"""stdout that fails loudly once, then quietly.

Writes to a closed stdout (`>&-`), a full device (`>/dev/full`) or a pipe whose reader left (`| head`)
raise OSError from deep inside Rich or click, and Python's own flush at exit prints "Exception ignored ...".
GuardedStdout turns the first failure into an OutputError the CLI reports, then discards further output
and points file descriptor 1 at /dev/null so the interpreter's final flush cannot fail again (the recipe
of the Python docs' note on SIGPIPE).
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any, NoReturn, TextIO

from nhiaudit.errors import OutputError

STDOUT = "to stdout"


def stdout_error(exc: BaseException) -> OutputError:
    """The OutputError for a failed write to stdout."""
    if isinstance(exc, OutputError):
        return exc
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        return OutputError(STDOUT, reason, broken_pipe=exc.errno == errno.EPIPE)
    return OutputError(STDOUT, str(exc) or type(exc).__name__)  # ValueError: I/O operation on closed file


class GuardedStdout:
    """A proxy for sys.stdout (None when the process started with stdout closed)."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self.failure: OutputError | None = None

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # as a text stream does: click probes with bytes
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self.failure is not None or not text:
            return len(text)
        if self._stream is None:
            self._fail(OSError(errno.EBADF, "stdout is closed"))
        try:
            return self._stream.write(text)  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.failure is not None or self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def isatty(self) -> bool:
        return self._stream is not None and self.failure is None and self._stream.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return getattr(self._stream, "errors", None) or "strict"

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)

    def _fail(self, exc: BaseException) -> NoReturn:
        self.failure = stdout_error(exc)
        if self._stream is not None:
            # Only when this stream owns fd 1: a process started with stdout closed may have reused fd 1.
            with contextlib.suppress(OSError, ValueError):
                fd = self._stream.fileno()
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, fd)
                os.close(devnull)
        raise self.failure
