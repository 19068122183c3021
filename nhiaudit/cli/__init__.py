"""The `nhiaudit` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import typer

from nhiaudit import __version__


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nhiaudit {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="nhiaudit",
        help="Audit the gap between your written AI-usage policy and what non-human identities can do.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    ) -> None:
        """Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage/input error, 3 collection incomplete."""

    from nhiaudit.cli import (
        collect_cmd,
        diff_cmd,
        explain_cmd,
        graph_cmd,
        policy_cmd,
        rules_cmd,
        scan_cmd,
    )

    for module in (scan_cmd, collect_cmd, explain_cmd, graph_cmd, diff_cmd, policy_cmd, rules_cmd):
        module.register(app)
    return app


def main() -> None:
    build_app()()
