"""What the CLI says and returns when something goes wrong outside the typed errors: a bug (exit 4), an
output that could not be written (2, or 141 when stdout's reader left), an interrupt (130)."""

from __future__ import annotations

import contextlib
import sys
import traceback

from nhiaudit.errors import OutputError
from nhiaudit.exit_status import ExitStatus
from nhiaudit.textsafe import one_line, terminal_safe

ISSUES_URL = "https://github.com/nhiaudit/nhiaudit/issues"
DEBUG_META_KEY = "nhiaudit.debug"
_MAX_DETAIL = 300


def debug_enabled() -> bool:
    """--debug on the root command (or NHIAUDIT_DEBUG=1), as recorded in the click context."""
    try:  # recent typer vendors click; older typer runs on click itself
        from typer._click.globals import get_current_context
    except ImportError:
        from click import get_current_context
    ctx = get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(DEBUG_META_KEY))


def _stderr_line(text: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed or full: nowhere to say it
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _one_line(text: str) -> str:
    """Whitespace collapsed, control characters (terminal escapes from hostile data) visibly escaped."""
    return one_line(terminal_safe(" ".join(text.split())), _MAX_DETAIL)


def report_internal_error(exc: BaseException, debug: bool) -> ExitStatus:
    """One line on stderr (the traceback too with --debug); the status is 4, never 1."""
    if debug:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            traceback.print_exception(exc, file=sys.stderr)
    detail = _one_line(str(exc))
    name = type(exc).__name__
    hint = "" if debug else " with --debug output"
    _stderr_line(f"nhiaudit: internal error: {name}{': ' + detail if detail else ''} "
                 f"(this is a bug; please report it at {ISSUES_URL}{hint})")
    return ExitStatus.INTERNAL_ERROR


def report_output_error(exc: OutputError) -> ExitStatus:
    """A broken pipe is the reader's choice (`| head`): no message, 141. Anything else: a message, 2."""
    if exc.broken_pipe:
        return ExitStatus.BROKEN_PIPE
    _stderr_line(f"error: {_one_line(str(exc))}")
    return ExitStatus.USAGE_ERROR
