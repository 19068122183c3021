"""CLI plumbing: stderr console, error-to-exit-status translation."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from nhiaudit.errors import CollectionError, InputError, NhiauditError, UsageError
from nhiaudit.exit_status import ExitStatus

P = ParamSpec("P")
R = TypeVar("R")


def stderr_console(quiet: bool = False) -> Console:
    """Progress and logs go to stderr; created per command, never at import time."""
    return Console(stderr=True, quiet=quiet, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn nhiaudit's typed exceptions into a message on stderr and the documented exit status."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        console = stderr_console()
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            for problem in exc.problems:
                console.print(f"[red]error[/red]: {escape(str(problem))}", soft_wrap=True)
            raise typer.Exit(ExitStatus.USAGE_ERROR) from None
        except UsageError as exc:
            console.print(f"[red]error[/red]: {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(ExitStatus.USAGE_ERROR) from None
        except CollectionError as exc:
            console.print(f"[red]collection failed[/red]: {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(ExitStatus.INCOMPLETE) from None
        except NhiauditError as exc:
            console.print(f"[red]error[/red]: {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(ExitStatus.USAGE_ERROR) from None

    return wrapper


def write_output(text: str, output: Path | None) -> None:
    """Data goes to --output when given, else to stdout."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
