"""CLI plumbing: stderr console, error-to-exit-status translation."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from nhiaudit.cli.failures import debug_enabled, report_internal_error, report_output_error
from nhiaudit.cli.outputs import refuse_overwriting_inputs, write_output, write_outputs
from nhiaudit.cli.streams import stdout_error
from nhiaudit.errors import CollectionError, InputError, NhiauditError, OutputError, UsageError
from nhiaudit.exit_status import ExitStatus
from nhiaudit.textsafe import markup_safe

if TYPE_CHECKING:  # rich's console is imported by the commands that print, not for `--help`
    from rich.console import Console

__all__ = ["handle_errors", "refuse_overwriting_inputs", "stderr_console", "stdout_console", "write_output",
           "write_outputs"]

P = ParamSpec("P")
R = TypeVar("R")

# Exceptions that carry typer's own meaning (usage errors exit 2, Exit its code): never a bug. Typer vendors
# click in recent versions, so its ClickException is found through a public subclass, not imported.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_CLICK_FLOW = (typer.Exit, typer.Abort, _CLICK_EXCEPTION)


def stderr_console(quiet: bool = False) -> Console:
    """Progress and logs go to stderr; created per command, never at import time."""
    from nhiaudit.cli.console import make_console

    return make_console(stderr=True, quiet=quiet, soft_wrap=True)


def stdout_console() -> Console:
    from nhiaudit.cli.console import make_console

    return make_console()


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn nhiaudit's typed exceptions into a message on stderr and the documented exit status; anything
    unexpected is a bug: one line (the traceback with --debug) and exit 4, never 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except _CLICK_FLOW:
            raise
        except InputError as exc:
            console = stderr_console()
            for problem in exc.problems:
                console.print(f"[red]error[/red]: {markup_safe(problem)}", soft_wrap=True)
            raise typer.Exit(ExitStatus.USAGE_ERROR) from None
        except UsageError as exc:
            stderr_console().print(f"[red]error[/red]: {markup_safe(exc)}", soft_wrap=True)
            raise typer.Exit(ExitStatus.USAGE_ERROR) from None
        except CollectionError as exc:
            stderr_console().print(f"[red]collection failed[/red]: {markup_safe(exc)}", soft_wrap=True)
            raise typer.Exit(ExitStatus.INCOMPLETE) from None
        except OutputError as exc:
            raise typer.Exit(report_output_error(exc)) from None
        except NhiauditError as exc:
            stderr_console().print(f"[red]error[/red]: {markup_safe(exc)}", soft_wrap=True)
            raise typer.Exit(ExitStatus.USAGE_ERROR) from None
        except BrokenPipeError as exc:  # stdout not guarded (e.g. click re-wrapped it): still the reader's choice
            raise typer.Exit(report_output_error(stdout_error(exc))) from None
        except Exception as exc:
            raise typer.Exit(report_internal_error(exc, debug_enabled())) from None

    return wrapper
