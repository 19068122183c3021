"""Size limits for untrusted input files, and the one bounded reader every user file goes through.

A limit checked with stat() alone is bypassed by anything that is not a regular file: /dev/zero,
/dev/stdin, pipes and FIFOs report size 0 and then stream without end (or never, when a FIFO has no
writer). So the reader counts the bytes it actually reads, stops one byte past the limit, and waits for
streams with a deadline.
"""

from __future__ import annotations

import codecs
import errno
import os
import select
import stat
import time
from collections.abc import Generator
from pathlib import Path

from nhiaudit.errors import InputError, UsageError

MAX_POLICY_BYTES = 5 * 1024 * 1024
MAX_RULE_BYTES = 1 * 1024 * 1024
MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024 * 1024
MAX_IMPORT_BYTES = 1 * 1024 * 1024 * 1024
MAX_REPORT_BYTES = 512 * 1024 * 1024  # baselines and `diff` inputs: a few hundred thousand findings fit
MAX_REPORTED_PROBLEMS = 20  # problems listed per input file: enough to fix a generator in one round

INPUT_TIMEOUT_ENV = "NHIAUDIT_INPUT_TIMEOUT"
DEFAULT_INPUT_TIMEOUT = 30.0
"""Seconds a pipe, FIFO or terminal may stay silent before reading it fails (a FIFO without a writer)."""

_CHUNK = 1024 * 1024

_OPEN_ERRORS = {
    errno.ENOENT: "not found",
    errno.ENOTDIR: "not found (a part of the path is not a directory)",
    errno.ELOOP: "cannot be opened: too many levels of symbolic links (a symlink loop?)",
    errno.ENAMETOOLONG: "cannot be opened: the path is too long",
    errno.EACCES: "is not readable (permission denied)",
    errno.EPERM: "is not readable (operation not permitted)",
    errno.ENXIO: "cannot be opened (a socket or a device without a reader/driver)",
    errno.EISDIR: "is a directory, expected a file",
}


def input_timeout() -> float:
    """The stream deadline in seconds, from NHIAUDIT_INPUT_TIMEOUT (default 30)."""
    raw = os.environ.get(INPUT_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_INPUT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{INPUT_TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}")
    return value


def read_bytes_limited(path: Path, max_bytes: int, what: str, timeout: float | None = None) -> bytes:
    """Read a user file of any type (regular, device, pipe, FIFO) as bytes, at most `max_bytes` of them.

    Every failure is an InputError naming the file: missing, a directory, a symlink loop, unreadable,
    larger than the limit, or a stream that stays silent for `timeout` seconds (default: input_timeout()).
    """
    return b"".join(_read_chunks(path, max_bytes, what, timeout))


def read_text_limited(path: Path, max_bytes: int, what: str) -> str:
    """Read a user file as UTF-8 text with a byte limit, whatever the file type.

    Decoding is incremental, so /dev/urandom fails at its first chunk instead of at the limit, and text
    never contains a NUL byte (no text format nhiaudit reads allows one; /dev/zero fails at once): both are
    reported at their line and column.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    where = _Position()
    parts: list[str] = []
    chunks = _read_chunks(path, max_bytes, what, None)
    try:
        for chunk in chunks:
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line, col = where.after(exc.object[: exc.start].decode("utf-8", errors="replace"))
                raise InputError.single(path, f"{what} is not UTF-8 text ({exc.reason})", line, col) from None
            nul = text.find("\0")
            if nul >= 0:
                line, col = where.after(text[:nul])
                raise InputError.single(path, f"{what} contains a NUL byte; it is not a text file", line, col)
            where.advance(text)
            parts.append(text)
        try:
            parts.append(decoder.decode(b"", final=True))
        except UnicodeDecodeError as exc:
            line, col = where.after("")
            raise InputError.single(path, f"{what} is not UTF-8 text ({exc.reason})", line, col) from None
    finally:
        chunks.close()
    return "".join(parts)


class _Position:
    """Line and column (1-based, in characters) after the text read so far."""

    def __init__(self) -> None:
        self.line, self.col = 1, 1

    def after(self, text: str) -> tuple[int, int]:
        newlines = text.count("\n")
        if newlines:
            return self.line + newlines, len(text) - text.rfind("\n")
        return self.line, self.col + len(text)

    def advance(self, text: str) -> None:
        self.line, self.col = self.after(text)


def _read_chunks(path: Path, max_bytes: int, what: str, timeout: float | None) -> Generator[bytes, None, None]:
    deadline = input_timeout() if timeout is None else timeout
    fd = _open(path, what)
    try:
        mode = _fstat(fd, path, what).st_mode
        if stat.S_ISDIR(mode):
            raise InputError.single(path, f"{what} is a directory, expected a file")
        regular = stat.S_ISREG(mode)
        if regular:
            size = os.fstat(fd).st_size
            if size > max_bytes:
                raise InputError.single(path, f"{what} is {size} bytes; the limit is {max_bytes} bytes")
        total = 0
        while True:
            if not regular:
                _wait_readable(fd, deadline, path, what)
            chunk = _read(fd, min(_CHUNK, max_bytes + 1 - total), path, what)
            if chunk is None:  # a non-blocking stream with nothing yet: poll again
                continue
            if not chunk:
                return
            total += len(chunk)
            if total > max_bytes:
                # A regular file that grew after stat(), or a stream (/dev/zero, a pipe) that never ends.
                raise InputError.single(path, f"{what} is larger than the limit of {max_bytes} bytes")
            yield chunk
    finally:
        os.close(fd)


def _open(path: Path, what: str) -> int:
    # O_NONBLOCK: opening a FIFO without a writer would otherwise block here, before any deadline applies.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        return os.open(path, flags)
    except OSError as exc:
        raise InputError.single(path, f"{what} {_reason(exc)}") from None
    except ValueError as exc:  # e.g. an embedded NUL character in the path
        raise InputError.single(repr(str(path)), f"{what}: invalid path ({exc})") from None


def _fstat(fd: int, path: Path, what: str) -> os.stat_result:
    try:
        return os.fstat(fd)
    except OSError as exc:
        raise InputError.single(path, f"{what} {_reason(exc)}") from None


def _wait_readable(fd: int, seconds: float, path: Path, what: str) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise InputError.single(
                path, f"{what}: no data within {seconds:g} s (a pipe or FIFO without a writer?); "
                f"set {INPUT_TIMEOUT_ENV} to wait longer"
            )
        try:
            if poller.poll(max(1, int(left * 1000))):
                return
        except InterruptedError:
            continue


def _read(fd: int, size: int, path: Path, what: str) -> bytes | None:
    try:
        return os.read(fd, size)
    except BlockingIOError:
        return None
    except OSError as exc:
        raise InputError.single(path, f"{what} {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    known = _OPEN_ERRORS.get(exc.errno or 0)
    return known or f"cannot be read: {exc.strerror or exc}"
