"""Pausing the cyclic garbage collector around bulk work (light module: estate loading imports it)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Set by the CLI entry point only (process_ends_after): library callers keep the default.
_ENDS_WITH_PROCESS: ContextVar[bool] = ContextVar("nhiaudit_gc_ends_with_process", default=False)
_KEPT: list[object] = []  # see keep_until_exit


@contextmanager
def paused_gc() -> Iterator[None]:
    """Analysis allocates millions of small, long-lived objects and frees almost none: the cyclic
    collector would rescan them again and again (a third of the graph stage). Reference counting
    still frees everything; the collector resumes afterwards.

    Resuming costs one full collection over everything allocated meanwhile (the young generations'
    counters are far past their thresholds). A library caller needs it: cyclic garbage made during the
    pause is reclaimed. Inside `process_ends_after` (the CLI) those objects are frozen instead
    (`gc.freeze`: the collector never scans them again): they live until the process exits a moment later
    anyway, and the run saves that collection (about 5% of a large scan)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if _ENDS_WITH_PROCESS.get():
                gc.freeze()
            gc.enable()


@contextmanager
def process_ends_after() -> Iterator[None]:
    """For a command-line run: the process exits when this block ends, so the collector need not go over
    what paused work allocated (see paused_gc)."""
    token = _ENDS_WITH_PROCESS.set(True)
    try:
        yield
    finally:
        _ENDS_WITH_PROCESS.reset(token)


def keep_until_exit(*objects: object) -> None:
    """Inside `process_ends_after` (the CLI): never free these objects. Freeing an organisation-wide analysis
    object by object when the command returns took seconds (over a second at 100,000 identities); the
    process ends a moment later anyway, and the CLI entry point then exits without tearing down its heap
    (`exits_without_teardown`). Elsewhere (a library caller, tests): nothing is kept."""
    if _ENDS_WITH_PROCESS.get():
        _KEPT.extend(objects)


def exits_without_teardown() -> bool:
    """Whether objects were kept for the end of the process: the CLI then ends it with `os._exit`."""
    return bool(_KEPT)
