"""The console factory: colour, width and interactivity from NO_COLOR, FORCE_COLOR, COLUMNS, TERM, the
--no-color flag and whether the stream is a terminal (a real pseudo-terminal, not a mock)."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import termios
from collections.abc import Iterator

import pytest

from nhiaudit.cli.console import make_console, terminal_settings


@pytest.fixture
def tty() -> Iterator[io.TextIOWrapper]:
    """The slave side of a pty, 132 columns wide."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 132, 0, 0))
    stream = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115 - closed below
    try:
        yield stream
    finally:
        stream.close()
        os.close(master)


def test_a_terminal_gets_colour_its_width_and_progress(tty):
    settings = terminal_settings(tty, no_color=False, environ={"TERM": "xterm-256color"})
    assert (settings.color, settings.width, settings.interactive, settings.color_system) == (True, 132, True, "256")


@pytest.mark.parametrize("environ", [{"NO_COLOR": "1"}, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, {"TERM": "dumb"},
                                     {"FORCE_COLOR": "0"}])
def test_no_colour_on_a_terminal(tty, environ):
    assert terminal_settings(tty, no_color=False, environ=environ).color is False


def test_the_flag_wins_over_force_color(tty):
    assert terminal_settings(tty, no_color=True, environ={"FORCE_COLOR": "1"}).color is False


def test_dumb_terminal_is_not_interactive(tty):
    assert terminal_settings(tty, no_color=False, environ={"TERM": "dumb"}).interactive is False


def test_columns_overrides_the_terminal(tty):
    assert terminal_settings(tty, no_color=False, environ={"COLUMNS": "90"}).width == 90


def test_a_pipe_is_80_columns_without_colour_or_progress():
    settings = terminal_settings(io.StringIO(), no_color=False, environ={"TERM": "xterm"})
    assert (settings.color, settings.width, settings.interactive) == (False, 80, False)


def test_force_color_colours_a_pipe_but_never_makes_it_interactive():
    settings = terminal_settings(io.StringIO(), no_color=False, environ={"FORCE_COLOR": "1", "COLUMNS": "100"})
    assert (settings.color, settings.width, settings.interactive) == (True, 100, False)


def test_make_console_on_a_terminal_without_colour_writes_no_escape_code(tty, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLUMNS", raising=False)
    console = make_console(tty)
    assert console.is_interactive and console.width == 132
    buffer = io.StringIO()
    console.file = buffer
    console.print("[bold red]alarm[/bold red]")
    assert buffer.getvalue() == "alarm\n"
