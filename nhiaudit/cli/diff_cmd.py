"""`nhiaudit diff` (not built yet)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Nothing registered until this command is built."""
