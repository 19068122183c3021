"""The `nhiaudit` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import contextlib
import os
import sys

import typer

from nhiaudit import __version__


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nhiaudit {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    from nhiaudit.cli.console import NO_COLOR_META_KEY, VERBOSE_META_KEY
    from nhiaudit.cli.failures import DEBUG_META_KEY

    app = typer.Typer(
        name="nhiaudit",
        help="Audit the gap between your written AI-usage policy and what non-human identities can do.",
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion; typer imports no Rich for them
        pretty_exceptions_enable=False,
        # Plain click help: typer's Rich help imports rich.markdown and pygments (~0.2 s before any output).
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        ctx: typer.Context,
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
        debug: bool = typer.Option(False, "--debug", envvar="NHIAUDIT_DEBUG",
                                   help="On an internal error, print the traceback (for a bug report)."),
        no_color: bool = typer.Option(False, "--no-color",
                                      help="No colour, whatever FORCE_COLOR says (as NO_COLOR=1)."),
        verbose: bool = typer.Option(False, "--verbose", "-v",
                                     help="Say on stderr what is read and why, and each stage as it starts."),
    ) -> None:
        """Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage/input/output error, 3 collection
        incomplete, 4 internal error (a bug), 130 interrupted, 141 stdout's reader went away."""
        ctx.meta[DEBUG_META_KEY] = debug
        ctx.meta[NO_COLOR_META_KEY] = no_color
        ctx.meta[VERBOSE_META_KEY] = verbose

    from nhiaudit.cli import (
        baseline_cmd,
        collect_cmd,
        diff_cmd,
        enforce_cmd,
        explain_cmd,
        graph_cmd,
        policy_cmd,
        rules_cmd,
        scan_cmd,
        snapshot_cmd,
    )

    for module in (scan_cmd, collect_cmd, explain_cmd, graph_cmd, diff_cmd, baseline_cmd, policy_cmd, rules_cmd,
                   snapshot_cmd, enforce_cmd):
        module.register(app)
    from nhiaudit.cli.help_style import tidy_help

    tidy_help(app)  # arguments in --help by name (TARGET, OLD), not by Python type
    return app


def _debug_in_argv(argv: list[str]) -> bool:
    """--debug for failures outside any command (no click context left to ask)."""
    return "--debug" in argv or os.environ.get("NHIAUDIT_DEBUG", "").lower() in ("1", "true", "yes", "on")


def main() -> None:
    """Run the CLI; whatever happens, exit with a documented status (never 1 for a crash)."""
    from nhiaudit.cli.failures import report_internal_error, report_output_error
    from nhiaudit.cli.streams import GuardedStdout
    from nhiaudit.errors import OutputError
    from nhiaudit.exit_status import ExitStatus
    from nhiaudit.gc_pause import exits_without_teardown, process_ends_after

    stdout = GuardedStdout(sys.stdout)
    sys.stdout = stdout  # type: ignore[assignment]
    code: int | str | None
    try:
        with process_ends_after():  # the process exits next: no final full garbage collection
            build_app()()
        code = ExitStatus.OK
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:
        code = ExitStatus.INTERRUPTED
    except OutputError as exc:  # stdout failed outside a command, e.g. while printing --help
        code = report_output_error(exc)
    except Exception as exc:
        code = report_internal_error(exc, _debug_in_argv(sys.argv[1:]))
    with contextlib.suppress(OutputError):
        stdout.flush()  # what Python would flush at exit, where a failure could only print a traceback
    # A stdout failure nobody reported (a library swallowed it, or the final flush): the output is lost, so
    # the run did not succeed. Findings (1) and errors already reported keep their status.
    if stdout.failure is not None and code in (None, ExitStatus.OK, ExitStatus.INCOMPLETE):
        code = report_output_error(stdout.failure)
    if exits_without_teardown() and (code is None or isinstance(code, int)):
        # A large analysis is still held (gc_pause.keep_until_exit): end here rather than free it object
        # by object. Everything was written and flushed; nhiaudit registers no exit handlers.
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(int(code or 0))
    sys.exit(code)
