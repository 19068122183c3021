"""Work in forked child processes, so that the analysis of a large estate, and writing its report, use more
than one core.

A forked child shares the parent's built graph, permission caches and compiled rules copy-on-write: nothing is
read, parsed or built again, and only each child's results cross over (pickled, from our own child to us).
Fork is used only on Linux (macOS's system libraries are not fork-safe) and only when no other thread runs
(the status line's refresh thread ends before the analysis, cli/progress.py). The analysis is a list of tasks
that this process and the children take in turn (`Tasks`); a report's long lists are rendered a batch each
in turn by this process and one child (`alternately`). A child that dies without a result (killed, out of
memory) is not an error: this process does what it had taken, so a result is never lost, only slower.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from nhiaudit.errors import UsageError

T = TypeVar("T")

JOBS_ENV = "NHIAUDIT_JOBS"
DEFAULT_JOBS_CAP = 2  # each worker holds its own caches: more processes, more memory; 2 halves the analysis


class WorkerLost(Exception):
    """A child ended without a result (killed, or its result could not be pickled)."""


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def requested_jobs() -> int:
    """Processes for the analysis: $NHIAUDIT_JOBS (1 turns parallel analysis off), else up to two cores."""
    raw = os.environ.get(JOBS_ENV, "").strip()
    if not raw:
        return min(DEFAULT_JOBS_CAP, available_cores())
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise UsageError(f"{JOBS_ENV} must be a whole number from 1 to 64, not {raw!r}")
    return int(raw)


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


def only_thread() -> bool:
    """No other thread runs (forking while one does is unsafe: it may hold a lock the child then needs)."""
    return threading.active_count() == 1


@dataclass
class ForkedWork(Generic[T]):
    """`work()` running in a child process; `result()` waits for it and returns its value or raises its error."""

    pid: int
    read_fd: int
    done: bool = False

    @classmethod
    def start(cls, work: Callable[[], T]) -> ForkedWork[T]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            os.close(read_fd)
            _run_child(work, write_fd)
        os.close(write_fd)
        return cls(pid, read_fd)

    def result(self) -> T:
        with os.fdopen(self.read_fd, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.done = True
        if not data:
            raise WorkerLost(f"analysis worker {self.pid} ended without a result (wait status {status})")
        ok, value = pickle.loads(data)  # our own child's bytes, through our own pipe
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """End the child if its result was never collected (the parent failed first)."""
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.close(self.read_fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _run_child(work: Callable[[], object], write_fd: int) -> None:
    status = 0
    try:
        try:
            payload: tuple[bool, object] = (True, work())
        except BaseException as exc:  # the parent re-raises it
            payload = (False, exc)
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an unpicklable error: the parent does this share itself
            data, status = b"", 1
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)
    except BaseException:  # nothing may escape into the parent's code path
        status = 1
    finally:
        os._exit(status)  # no atexit handlers, no flushing of the parent's buffered output


class TaskQueue:
    """Task numbers 0..n-1 that this process and its forked children take one at a time, each exactly once,
    so whichever is free does the next (a child started before this process turns to the tasks gets most).

    A pipe written in full before any fork, its write end then closed: a read of 4 bytes takes one number
    whole (Linux serialises the reads of a pipe and never splits one when 4 bytes are there), and an empty
    pipe reads as its end. Written in one call before anyone reads, so at most MAX_TASKS (the pipe's buffer).
    """

    MAX_TASKS = 1024

    def __init__(self, tasks: int) -> None:
        if not 0 <= tasks <= self.MAX_TASKS:
            raise ValueError(f"{tasks} tasks: at most {self.MAX_TASKS}")
        read_fd, write_fd = os.pipe()
        try:
            os.write(write_fd, b"".join(struct.pack("<I", i) for i in range(tasks)))
        finally:
            os.close(write_fd)
        self._fd: int | None = read_fd

    def take(self) -> int | None:
        """The next task's number, or None when every task is taken."""
        data = os.read(self._fd, 4) if self._fd is not None else b""
        return struct.unpack("<I", data)[0] if data else None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


TASKS = 64  # tasks a stage's work is split into: enough for processes taking them in turn to end together


def runs(items: list[T]) -> list[list[T]]:
    """`items` in at most TASKS contiguous runs of near-equal length (none when there are no items)."""
    return chunks(items, min(TASKS, len(items))) if items else []


def chunks(items: list[T], parts: int) -> list[list[T]]:
    """`items` in `parts` contiguous runs of near-equal length (order kept: results concatenate in order)."""
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        out.append(items[start:end])
        start = end
    return out


class _Results:
    """Where one child puts each task's result as soon as it is done: the pickled bytes appended to an
    in-memory file, then a notice (task, offset, size) on a pipe. Notices are small and written whole (at most
    MAX_TASKS of them fit in a pipe's buffer), so the child never waits for this process to read; this
    process takes results in between its own tasks, decoding them while the child still works."""

    NOTICE = struct.Struct("<IQQ")

    def __init__(self) -> None:
        self.file = _memory_file()
        self.read_fd, self.write_fd = os.pipe()
        self._pending = b""

    def put(self, task: int, data: bytes, offset: int) -> int:
        """In the child: store one result at `offset` (the end of what it stored before); the next offset."""
        view = memoryview(data)
        while view:
            view = view[os.pwrite(self.file, view, offset + len(data) - len(view)):]
        os.write(self.write_fd, self.NOTICE.pack(task, offset, len(data)))
        return offset + len(data)

    def after_fork(self) -> None:
        """In this process, once the child has its end of the pipe."""
        os.close(self.write_fd)
        self.write_fd = -1

    def take(self, wait: bool) -> Iterator[tuple[int, bytes]]:
        """(task, pickled result) of the notices there now, or, with `wait`, of all until the child ends."""
        os.set_blocking(self.read_fd, wait)
        while True:
            try:
                data = os.read(self.read_fd, 1 << 16)
            except BlockingIOError:
                return
            if not data:
                return
            self._pending += data
            whole = len(self._pending) - len(self._pending) % self.NOTICE.size
            for task, offset, size in self.NOTICE.iter_unpack(self._pending[:whole]):
                yield task, _read_at(self.file, offset, size)
            self._pending = self._pending[whole:]

    def close(self) -> None:
        for fd in (self.file, self.read_fd, self.write_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.file = self.read_fd = self.write_fd = -1


def _memory_file() -> int:
    """An anonymous in-memory file; an unlinked temporary file where memfd is missing or refused (a
    sandbox's system-call filter)."""
    with contextlib.suppress(AttributeError, OSError):
        return os.memfd_create("nhiaudit-results", os.MFD_CLOEXEC)
    import tempfile

    with tempfile.TemporaryFile() as handle:  # the descriptor is what is kept
        return os.dup(handle.fileno())


def _read_at(fd: int, offset: int, size: int) -> bytes:
    parts, done = [], 0
    while done < size:
        part = os.pread(fd, size - done, offset + done)
        if not part:
            raise WorkerLost(f"a result of {size} bytes ends after {done}")
        parts.append(part)
        done += len(part)
    return b"".join(parts)


class Tasks(Generic[T]):
    """`do(i)` for every task i < count, being done by `jobs - 1` forked children that take the tasks in turn
    (TaskQueue) from the moment this is made; `finish()` takes the rest here, so that all end together however
    uneven the tasks, and returns the results in task order. A child's results cross over as `encode` makes
    them (`decode` undoes it), each as soon as it is done (_Results), and are decoded here in between this
    process's own tasks. A child lost before its results are all in (killed, out of memory) costs time, not
    results: its missing tasks are done here. A child's error is raised here. Leaving the `with` block ends
    children whose results were not taken in (e.g. when the work done meanwhile fails)."""

    def __init__(self, do: Callable[[int], T], count: int, jobs: int,
                 encode: Callable[[T], object] = lambda r: r, decode: Callable[[Any], T] = lambda r: r) -> None:
        self._do, self._count, self._encode, self._decode = do, count, encode, decode
        self._queue = TaskQueue(count)
        self._done: dict[int, T] = {}
        self._workers: list[tuple[ForkedWork[None], _Results]] = []
        for _ in range(max(0, jobs - 1)):
            results = _Results()
            try:
                worker = ForkedWork.start(functools.partial(self._serve, results))
            except BaseException:
                results.close()
                self.__exit__()
                raise
            self._workers.append((worker, results))
            results.after_fork()

    def _serve(self, results: _Results) -> None:
        """In a child: take tasks until none is left, each result stored as soon as it is done."""
        offset = 0
        while (task := self._queue.take()) is not None:
            data = pickle.dumps(self._encode(self._do(task)), protocol=pickle.HIGHEST_PROTOCOL)
            offset = results.put(task, data, offset)

    def _collect(self, wait: bool) -> None:
        for _, results in self._workers:
            for task, data in results.take(wait):
                self._done[task] = self._decode(pickle.loads(data))  # our own child's bytes

    def finish(self) -> list[T]:
        while (task := self._queue.take()) is not None:
            self._done[task] = self._do(task)
            self._collect(wait=False)
        self._collect(wait=True)
        for worker, _ in self._workers:
            with contextlib.suppress(WorkerLost):
                worker.result()  # raises the child's error
        return [self._done[task] if task in self._done else self._do(task) for task in range(self._count)]

    def __enter__(self) -> Tasks[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        for worker, results in self._workers:
            worker.stop()
            results.close()
        self._queue.close()


def run_tasks(do: Callable[[int], T], count: int, jobs: int,
              encode: Callable[[T], object] = lambda r: r, decode: Callable[[Any], T] = lambda r: r) -> list[T]:
    """Every `do(i)`, i < count, in this process and `jobs - 1` forked children (Tasks); results in task order."""
    with Tasks(do, count, jobs, encode, decode) as tasks:
        return tasks.finish()


@contextlib.contextmanager
def beside(work: Callable[[], T], worth_forking: bool) -> Iterator[Callable[[], T]]:
    """`work()` in a forked child while the block runs, so that it takes the other core; yields the function
    that returns its value (or raises its error). Without fork, with another thread running (the status line's:
    forking then is unsafe) or when not `worth_forking`, `work()` runs here, before the block, as if it had not
    been moved. A child lost without a result (killed) has its work redone here: `work` must not depend on
    what the block changes."""
    if not (worth_forking and requested_jobs() > 1 and can_fork() and only_thread()):
        value = work()
        yield lambda: value
        return
    child = ForkedWork.start(work)

    @functools.cache
    def result() -> T:
        try:
            return child.result()
        except WorkerLost:
            return work()

    try:
        yield result
    finally:
        child.stop()


MIN_ALTERNATE_PARTS = 8  # below this, a report's list is written faster than a child process is forked


def alternately(render: Callable[[T], str], parts: Sequence[T]) -> Iterator[str]:
    """`render(part)` of each part, in order, as they are needed: this process renders the even parts while a
    forked child renders the odd ones and streams them through a pipe, so that writing a large report uses
    two cores. The pipe's buffer bounds what is rendered ahead (a part, plus what the pipe holds): a report
    is never held whole. A child that fails or dies leaves its remaining parts to this process, which then
    raises whatever the rendering raises; a child whose parts are no longer wanted is ended."""
    if len(parts) < MIN_ALTERNATE_PARTS or requested_jobs() < 2 or not can_fork():
        yield from map(render, parts)
        return
    read_fd, write_fd = os.pipe()
    child = ForkedWork.start(functools.partial(_stream_odd_parts, render, parts, write_fd))
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            streaming = True
            for index, part in enumerate(parts):
                text = None
                if index % 2 and streaming:
                    text = _read_part(pipe)
                    streaming = text is not None
                yield render(part) if text is None else text
    finally:
        child.stop()  # its result is never read: it is ended and reaped


def _stream_odd_parts(render: Callable[[T], str], parts: Sequence[T], write_fd: int) -> None:
    """In the child: each odd part, length first. An error ends the stream: the parent renders the rest."""
    with os.fdopen(write_fd, "wb") as pipe:
        for part in parts[1::2]:
            data = render(part).encode("utf-8", "surrogatepass")
            pipe.write(struct.pack("<Q", len(data)))
            pipe.write(data)
            pipe.flush()  # the parent is waiting for this part


def _read_part(pipe: Any) -> str | None:
    """The child's next part, or None when it ended without it."""
    header = pipe.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack("<Q", header)
    data = pipe.read(size)
    return data.decode("utf-8", "surrogatepass") if len(data) == size else None
