"""Stage progress on stderr: a transient status line on a terminal (load, graph, facts and rules, findings,
report), one line per stage with -v/--verbose, nothing otherwise or with -q.

It hooks the StageTimer the pipeline already calls at each stage boundary, so nothing is added to the hot
path: a handful of calls per run. Per-account progress is the connectors' (a bar per provider on the same
console, drawn below this status line).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

T = TypeVar("T")

# Timer stage names, in pipeline order, and what each does. Facts are computed lazily while the rules run,
# so they are one stage; it has no timer boundary of its own and starts when the graph ends.
STAGES: dict[str, str] = {
    "load": "reading the rules, the policy and the estate",
    "graph": "building the access graph",
    "facts": "deriving facts and evaluating the rules",
    "findings": "applying exceptions to the findings",
    "report": "assembling the report",
}
_AFTER = {"graph": "facts"}
# From here on the analysis may fork workers (forked.py), which needs this process to run no other thread:
# the status line stops animating itself (its refresh thread) and is redrawn at each stage instead.
_FORKING_STAGES = ("graph", "facts", "findings", "report")
_LABEL = {"facts": "facts and rules"}


def stage_line(stage: str) -> str:
    """`[3/5] facts and rules: deriving facts and evaluating the rules`."""
    names = list(STAGES)
    position = f"[{names.index(stage) + 1}/{len(names)}] " if stage in STAGES else ""
    return f"{position}{_LABEL.get(stage, stage)}: {STAGES.get(stage, '')}".rstrip(": ")


@dataclass
class ProgressTimer:
    """analysis.StageTimer's interface (`seconds`, `run`), reporting each stage as it starts through
    `announce` (None: silent). Not a subclass: `collect` would import the whole analysis for it."""

    seconds: dict[str, float] = field(default_factory=dict)
    announce: Callable[[str], None] | None = None
    _current: str | None = field(default=None, repr=False)

    def run(self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._enter(name)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            if name in _AFTER:
                self._enter(_AFTER[name])

    def _enter(self, stage: str) -> None:
        if stage != self._current:
            self._current = stage
            if self.announce is not None:
                self.announce(stage)


class _Announcer:
    """Updates the status line (terminal) and prints one line per first entry of a stage (verbose)."""

    def __init__(self, console: Console, status: tuple[Live, Spinner] | None, verbose: bool) -> None:
        self._console = console
        self._status = status
        self._verbose = verbose
        self._seen: set[str] = set()
        self._start = time.monotonic()

    def __call__(self, stage: str) -> None:
        line = stage_line(stage)
        if self._status is not None:  # drawn now: a stage shorter than a spinner frame is still seen
            live, spinner = self._status
            if stage in _FORKING_STAGES and live.auto_refresh:
                live = self._without_refresh_thread(live, spinner)
            spinner.update(text=line)
            live.refresh()
        if self._verbose and stage not in self._seen:
            self._seen.add(stage)
            # Elapsed seconds help read a log; stderr is not the report, which stays byte-identical.
            self._console.print(f"nhiaudit: {line} (at {time.monotonic() - self._start:.1f}s)", markup=False,
                                highlight=False)

    def _without_refresh_thread(self, live: Live, spinner: Spinner) -> Live:
        from rich.live import Live

        thread = getattr(live, "_refresh_thread", None)
        live.stop()  # tells its refresh thread to end, without waiting for it
        if thread is not None:
            thread.join(timeout=5)
        manual = Live(spinner, console=self._console, transient=True, auto_refresh=False)
        manual.start()
        self._status = (manual, spinner)
        return manual

    def close(self) -> None:
        if self._status is not None:
            self._status[0].stop()


@contextmanager
def stage_progress(console: Console, *, quiet: bool, verbose: bool | None = None,
                   plan: Sequence[str] = ()) -> Iterator[ProgressTimer]:
    """A ProgressTimer for the run. The status line exists only when stderr is interactive (a terminal, TERM
    not dumb; FORCE_COLOR does not make a CI log one) and not -q; it is gone when the block ends, before
    the report is written or an error printed. Verbose (not -q): `plan` first, then a line per stage."""
    from nhiaudit.cli.console import verbose_flag
    from nhiaudit.textsafe import terminal_safe

    verbose = verbose_flag() if verbose is None else verbose
    if quiet or console.quiet or not (console.is_interactive or verbose):
        yield ProgressTimer()
        return
    if verbose:
        for line in plan:  # paths and ids come from the command line: shown, never interpreted
            console.print(f"nhiaudit: reading {terminal_safe(line)}", markup=False, highlight=False)
    if not console.is_interactive:
        yield ProgressTimer(announce=_Announcer(console, None, verbose))
        return
    from rich.live import Live
    from rich.spinner import Spinner

    spinner = Spinner("dots", text="", style="status.spinner")
    live = Live(spinner, console=console, transient=True, refresh_per_second=12.5)
    announcer = _Announcer(console, (live, spinner), verbose)
    live.start()
    try:
        yield ProgressTimer(announce=announcer)
    finally:
        announcer.close()
