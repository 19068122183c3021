"""Every `nhiaudit ...` command shown in the docs (code blocks and inline code) and the example CI files names
commands and options that exist, with allowed values, as the real CLI's `--help` describes them.

Read from `--help` (what a user sees) rather than from the parser's internals: an option hidden from help
(a kept alias of an old name) is not one the docs should show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from doc_files import ROOT, Command, command_words, documented_commands
from typer.testing import CliRunner

from nhiaudit.cli import build_app

_OPTION_LINE = re.compile(r"^  (-[^\s,]+(?:, -[^\s,]+)*(?: ?/ ?-[^\s,]+)*)(?: (\S.*?))?(?:\s{2,}|$)")
_COMMAND_LINE = re.compile(r"^  ([a-z][\w-]*)(?:\s{2,}|$)")
_CHOICES = re.compile(r"^[<\[{(]([^<>\[\]{}()]+\|[^<>\[\]{}()]+)[>\]})]$")


@dataclass(frozen=True)
class Help:
    """What `nhiaudit PATH --help` says: options (name -> takes a value, allowed values), sub-commands,
    positional arguments (how many; None: any number)."""

    options: dict[str, tuple[bool, frozenset[str] | None]]
    commands: frozenset[str]
    arguments: int | None


def _parse_help(text: str) -> Help:
    usage = next(line for line in text.splitlines() if line.startswith("Usage:"))
    after = usage.split("[OPTIONS]", 1)[1].split() if "[OPTIONS]" in usage else []
    variadic = any(word.endswith("...") for word in after)
    options: dict[str, tuple[bool, frozenset[str] | None]] = {}
    commands: set[str] = set()
    section = ""
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line.rstrip(":").lower()
            continue
        if section == "options" and (m := _OPTION_LINE.match(line)):
            names = re.split(r", | ?/ ?", m.group(1))
            metavar = m.group(2)
            choices = _CHOICES.match(metavar) if metavar else None
            allowed = frozenset(choices.group(1).split("|")) if choices else None
            for name in names:
                options[name] = (metavar is not None, allowed)
        elif section == "commands" and (m := _COMMAND_LINE.match(line)):
            commands.add(m.group(1))
    return Help(options, frozenset(commands), None if variadic or commands else len(after))


@cache
def _help(path: tuple[str, ...]) -> Help:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(build_app(), [*path, "--help"])
    assert result.exit_code == 0, (path, result.output)
    return _parse_help(result.output)


def _literal(word: str) -> bool:
    """False for words a shell or CI runner fills in (their value is not known here)."""
    return "$" not in word and "{{" not in word


def _problems(command: Command) -> list[str]:
    """What in the documented command the CLI would reject (empty when it names only real things)."""
    path: list[str] = []
    spec = _help(())

    def cmd() -> str:
        return " ".join(["nhiaudit", *path])

    positional = 0
    words = list(command.words)
    while words:
        word = words.pop(0)
        if not _literal(word):
            continue  # e.g. "${baseline[@]}": may expand to options, checked where it is defined
        if word == "--":
            positional += len(words)
            break
        if word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            if name not in spec.options and not name.startswith("--") and name[:2] in spec.options:
                name, eq, value = name[:2], "=", name[2:]  # -ofile
            if name not in spec.options:
                return [f"`{cmd()}` has no option {name}"]
            takes_value, allowed = spec.options[name]
            if eq and not takes_value:
                return [f"{name} is a flag: it takes no value"]
            if takes_value and not eq:
                if not words:
                    continue  # the docs cut the line short (`...`)
                value = words.pop(0)
            if takes_value and allowed and _literal(value) and value not in allowed:
                return [f"{name} {value}: not one of {sorted(allowed)}"]
            continue
        if spec.commands:
            if word not in spec.commands:
                return [f"`{cmd()}` has no command {word!r}"]
            path.append(word)
            spec = _help(tuple(path))
            continue
        positional += 1
    if spec.arguments is not None and positional > spec.arguments:
        return [f"`{cmd()}` takes {spec.arguments} argument(s), the docs give {positional}"]
    return []


def test_the_docs_show_commands_of_every_kind() -> None:
    shown = documented_commands()
    assert len(shown) > 30
    assert {c.words[0] for c in shown} >= {"scan", "collect", "explain", "graph", "diff", "rules", "snapshot"}
    assert any(c.source.name == "README.md" for c in shown)
    assert any(c.text == "nhiaudit rules show ID" for c in shown)  # inline code counts too
    assert any(c.source.suffix in (".yml", ".yaml") for c in shown)


def test_every_documented_command_exists_with_its_options() -> None:
    wrong = [f"{c.where}\n    -> {p}" for c in documented_commands() for p in _problems(c)]
    assert wrong == [], "\n".join(wrong)


def test_the_check_rejects_what_the_cli_rejects() -> None:
    def problems(line: str) -> list[str]:
        return _problems(Command(ROOT / "x.md", 1, line, command_words(line)))

    assert problems("nhiaudit scan --snapshot s.json --policy p.yaml --as-of 2026-11-28 -o out.json") == []
    assert problems("nhiaudit scan --snapshot s.json ... --whatever") == []  # `...`: the rest is elided
    assert problems("nhiaudit diff old.json new.json --format markdown | tee x") == []
    assert problems("nhiaudit scan --no-such-option") != []
    assert problems("nhiaudit scan --format yaml") != []
    assert problems("nhiaudit frobnicate") != []
    assert problems("nhiaudit rules lists") != []
    assert problems("nhiaudit diff a.json b.json c.json") != []
    assert problems("nhiaudit scan --aws=yes") != []
