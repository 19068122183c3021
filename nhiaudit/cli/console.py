"""One place that decides colour, width and interactivity for every Rich console the CLI makes.

Conventions honoured, first match wins for colour:
  `--no-color` > `NO_COLOR` (any non-empty value) > `FORCE_COLOR` (non-empty; `0`/`false` turn colour off)
  > `TERM=dumb` (no colour) > the stream is a terminal.
Width: `COLUMNS` when it is a positive number (piped output too), else the terminal's width, else 80.
Interactive (progress may redraw a line): the stream is a terminal and TERM is not dumb; FORCE_COLOR
colours a CI log but never turns it into a progress display.

Imports nothing heavy: `nhiaudit --help` loads this module; Rich is imported when a console is made.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

NO_COLOR_META_KEY = "nhiaudit.no_color"
VERBOSE_META_KEY = "nhiaudit.verbose"
DEFAULT_WIDTH = 80  # what a width we cannot know is assumed to be: layouts are designed for it
MIN_WIDTH = 40  # below this, Rich's boxes and trees cannot lay anything out
_DUMB_TERMS = ("dumb", "unknown")


@dataclass(frozen=True)
class TerminalSettings:
    color: bool
    width: int
    interactive: bool  # a person watches a terminal: transient progress is welcome
    color_system: str | None  # Rich's name ("standard", "256", "truecolor"), None without colour


def _isatty(stream: object) -> bool:
    try:
        return bool(stream is not None and stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # closed, or not a real stream
        return False


def _dumb(environ: Mapping[str, str]) -> bool:
    return environ.get("TERM", "").lower() in _DUMB_TERMS


def color_wanted(stream: object, *, no_color: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    if no_color or environ.get("NO_COLOR", ""):
        return False
    force = environ.get("FORCE_COLOR", "")
    if force:
        return force.lower() not in ("0", "false")
    return not _dumb(environ) and _isatty(stream)


def console_width(stream: object, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    columns = environ.get("COLUMNS", "").strip()
    width = int(columns) if columns.isdigit() else 0
    if not width and _isatty(stream):
        try:
            width = os.get_terminal_size(stream.fileno()).columns  # type: ignore[attr-defined]
        except (AttributeError, OSError, ValueError):
            width = 0
    return max(width or DEFAULT_WIDTH, MIN_WIDTH)


def _color_system(environ: Mapping[str, str]) -> str:
    if environ.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return "truecolor"
    return "256" if "256" in environ.get("TERM", "") else "standard"


def terminal_settings(stream: object, *, no_color: bool | None = None,
                      environ: Mapping[str, str] | None = None) -> TerminalSettings:
    """What output to `stream` should look like; `no_color` None: as the root `--no-color` says."""
    environ = os.environ if environ is None else environ
    color = color_wanted(stream, no_color=no_color_flag() if no_color is None else no_color, environ=environ)
    return TerminalSettings(color=color, width=console_width(stream, environ),
                            interactive=_isatty(stream) and not _dumb(environ),
                            color_system=_color_system(environ) if color else None)


def make_console(stream: TextIO | None = None, *, stderr: bool = False, no_color: bool | None = None,
                 quiet: bool = False, soft_wrap: bool = False, width: int | None = None) -> Console:
    """A Rich console for `stream` (default: sys.stdout, or sys.stderr with `stderr`), never highlighting
    data. Colour, width and interactivity come from terminal_settings, not from Rich's own guesses (Rich
    measures any std stream, so stdout piped would get stderr's terminal width)."""
    from rich.console import Console

    target = stream if stream is not None else (sys.stderr if stderr else sys.stdout)
    settings = terminal_settings(target, no_color=no_color)
    return Console(
        file=stream, stderr=stderr, quiet=quiet, soft_wrap=soft_wrap, highlight=False,
        width=width or settings.width,
        # A terminal stays a terminal without colour (Live redraws need it); styles are dropped, not codes.
        force_terminal=settings.color or settings.interactive,
        force_interactive=settings.interactive,
        color_system=settings.color_system,  # type: ignore[arg-type]
        no_color=not settings.color,
    )


def buffer_console(buffer: TextIO, *, color: bool, width: int, color_system: str | None = "standard") -> Console:
    """A console rendering into a string for a given target: colour and width were decided for the target
    (stdout, a file), not for the buffer."""
    from rich.console import Console

    return Console(file=buffer, width=width, force_terminal=color, force_interactive=False, highlight=False,
                   color_system=(color_system or "standard") if color else None,  # type: ignore[arg-type]
                   no_color=not color, soft_wrap=False)


def render_text(renderables: Iterable[object], *, color: bool, width: int,
                color_system: str | None = "standard", parallel: bool = False) -> str:
    """Renderables as the text a console of that colour and width would print, without the trailing spaces
    Rich pads wrapped lines with (they would follow every copied line and every diff of a saved report).
    Each renderable prints on its own (as one console prints them in turn); with `parallel`, a long list's
    are printed alternately by a forked child (forked.alternately). Only when no other thread runs."""
    items = list(renderables)
    if parallel:
        from nhiaudit.forked import alternately

        text = "".join(alternately(lambda item: _printed([item], color, width, color_system), items))
    else:
        text = _printed(items, color, width, color_system)
    return "\n".join(line.rstrip(" ") for line in text.split("\n"))


def _printed(renderables: list[object], color: bool, width: int, color_system: str | None) -> str:
    import io

    buffer = io.StringIO()
    console = buffer_console(buffer, color=color, width=width, color_system=color_system)
    for renderable in renderables:
        console.print(renderable)
    return buffer.getvalue()


def _meta_flag(key: str) -> bool:
    try:  # recent typer vendors click; older typer runs on click itself
        from typer._click.globals import get_current_context
    except ImportError:
        from click import get_current_context
    ctx = get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(key))


def no_color_flag() -> bool:
    """The root command's --no-color, as recorded in the click context (False outside a command)."""
    return _meta_flag(NO_COLOR_META_KEY)


def verbose_flag() -> bool:
    """The root command's -v/--verbose."""
    return _meta_flag(VERBOSE_META_KEY)
