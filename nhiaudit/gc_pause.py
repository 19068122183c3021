"""Pausing the cyclic garbage collector around bulk work (light module: estate loading imports it)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Analysis allocates millions of small, long-lived objects and frees almost none: the cyclic
    collector would rescan them again and again (a third of the graph stage). Reference counting
    still frees everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
