"""Help that says what a value is, not which Python type holds it.

Typer shows an argument as `{old}` in the usage line and `old <path>` below it, and a `str` argument as
`TARGET <str>`. Every command here gets a command class whose arguments show their metavar only (`OLD`,
`[DIR]`, `SHARD.json...`); options name theirs where they are declared (`--policy FILE`).
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand


class _NamedArgument(TyperArgument):
    """An argument shown by its metavar (or its name in capitals), without a type in angle brackets."""

    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "").upper()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return f"{name}..." if self.nargs != 1 and not name.endswith("...") else name


class NamedArgumentsCommand(TyperCommand):
    """A Typer command whose arguments are shown by name (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _NamedArgument  # same fields; only the help methods differ


def tidy_help(app: typer.Typer) -> None:
    """Give every registered command (sub-groups included) the command class above, unless it has its own."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):  # typer fills in its own default
            info.cls = NamedArgumentsCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            tidy_help(group.typer_instance)
