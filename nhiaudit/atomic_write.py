"""Write a file so that readers see the old content or the new one, never a truncated mix.

The text goes to a temporary file beside the target (piece by piece, when it comes in pieces), is flushed
to disk, then renamed over the target. A failure at any step removes the temporary file and leaves the
target as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

_BUFFER = 1 << 20  # pieces of a streamed report are small; write to the disk in large blocks


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8). Raises OSError; the target is then unchanged.

    Targets that are not regular files (/dev/null, /dev/stdout, a FIFO) cannot be renamed over: they are
    written in place. A symlink to a regular file has its target replaced, the link kept.
    """
    write_chunks_atomic(path, (text,))


def write_chunks_atomic(path: Path, chunks: Iterable[str]) -> None:
    """As write_text_atomic, for text produced piece by piece (a large report is never one string). An
    exception from `chunks` propagates unchanged, with the target left as it was (a target written in
    place, such as a FIFO, has then received part of the text)."""
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if mode is not None and not stat.S_ISREG(mode):
        _write_in_place(path, chunks)
        return
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as fh:
            for chunk in chunks:
                fh.write(chunk.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; give the file the mode a plain write would (kept when replacing).
        os.chmod(temp, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _write_in_place(path: Path, chunks: Iterable[str]) -> None:
    # O_NONBLOCK: a FIFO without a reader fails with ENXIO instead of blocking forever.
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        os.set_blocking(fd, True)
        for chunk in chunks:
            view = memoryview(chunk.encode("utf-8"))
            while view:
                view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
