"""Write a file so that readers see the old content or the new one, never a truncated mix.

The text goes to a temporary file beside the target (piece by piece, when it comes in pieces), is flushed
to disk, then renamed over the target. A failure at any step removes the temporary file and leaves the
target as it was. Text in several pieces is written by a thread while the next piece is made: a write call
lets the interpreter run, so a large streamed report costs about its rendering time, not rendering plus
writing (418 MB of JSON: 0.3-1 s of writes, depending on the disk's backlog).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import queue
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

_BUFFER = 1 << 20  # pieces of a streamed report are small; write to the disk in large blocks
_QUEUED = 4  # encoded pieces waiting for the writing thread: what is rendered ahead stays a few pieces


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
            write_pieces(fh.write, chunks)
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

        def write(data: bytes) -> None:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]

        write_pieces(write, chunks)
    finally:
        os.close(fd)


def write_pieces(write: Callable[[bytes], object], chunks: Iterable[str]) -> None:
    """Each chunk, UTF-8 encoded, through `write`, in order. With more than one chunk, a thread writes while
    this one makes the next (the thread only writes: a process forked meanwhile, such as a report renderer's,
    needs none of its locks). The first exception from `chunks` or from `write` (a full disk) is raised here,
    after the thread has stopped; nothing is written after a failed write."""
    iterator = iter(chunks)
    first, second = next(iterator, None), next(iterator, None)
    if second is None:
        if first is not None:
            write(first.encode("utf-8"))
        return
    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
    failed: list[BaseException] = []

    def drain() -> None:
        while (data := pending.get()) is not None:
            if not failed:
                try:
                    write(data)
                except BaseException as exc:  # raised in the calling thread
                    failed.append(exc)

    writer = threading.Thread(target=drain, name="nhiaudit-writer", daemon=True)
    writer.start()
    try:
        for chunk in itertools.chain((first, second), iterator):
            if failed:
                break
            pending.put(chunk.encode("utf-8"))
    finally:
        pending.put(None)
        writer.join()
    if failed:
        raise failed[0]


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
